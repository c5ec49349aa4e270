"""/register: the register of united-front subjects (统战对象台账).

A liaison sees their own village's entries and reports a change (add an entry, correct a field,
propose closing one) through a form on the runtime (register.mmd is generated from it); the
township's commissioners confirm or reject it with one tap, and only then does it enter the
register. Officers search it instead (bot/handlers/register_search.py) and record holiday
visits from an entry's card (bot/handlers/register_visit.py). Entries are never shown in groups.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel
from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.config import Policy
from bot.context import BotContext
from bot.domain.people import Person, Role
from bot.domain.register import category_name, field_name
from bot.domain.vocab import day_month
from bot.forms import Choice, Done, Form, Invalid, Stay, Step, Summary, Text, codec
from bot.handlers import register_search, register_visit
from bot.handlers.common import answer, button, guard, keyboard, refuse, safe_answer_query
from bot.handlers.register_search import OFFICERS, search
from bot.i18n import Translator
from bot.notify import notify
from bot.storage import register as store
from bot.storage.db import Tx
from bot.views.register import FORM_KEYS, MAX_SHOWN, cat_name, cats, text_answer

CLOSE_REASONS = {
    "moved": "register.reason.moved",
    "deceased": "register.reason.deceased",
    "venue_closed": "register.reason.venue_closed",
}
KIND_KEYS = {
    "add": "register.kind.add",
    "correct": "register.kind.correct",
    "close": "register.kind.close",
}


# --- the liaison's change form ----------------------------------------------------------------


class ChangeDraft(BaseModel):
    """A proposed change being written (the runtime stores it as JSON)."""

    entries: list[tuple[str, str]] = []  # (entry id, label) of the village's open entries
    kind: str | None = None
    entry_id: str | None = None
    category: str | None = None
    name: str | None = None
    field: str | None = None
    value: str | None = None
    reason: str | None = None


def _kinds(context: BotContext, draft: ChangeDraft) -> list[tuple[str, str]]:
    kinds = ["add", "correct", "close"] if draft.entries else ["add"]
    return [(k, context.t(KIND_KEYS[k])) for k in kinds]


def _category_options(context: BotContext, draft: ChangeDraft) -> list[tuple[str, str]]:
    return [(c.code, category_name(c, context.t)) for c in cats(context.deps.policy).values()]


def _entry_options(context: BotContext, draft: ChangeDraft) -> list[tuple[str, str]]:
    return draft.entries[:30]


def _field_options(context: BotContext, draft: ChangeDraft) -> list[tuple[str, str]]:
    code = dict(draft.entries).get(draft.entry_id or "", "")
    cat = cats(context.deps.policy).get(code.partition("|")[0]) if code else None
    fields = cat.fields if cat else ("name", "phone")
    return [(f, field_name(cat, f, context.t)) for f in fields]


def _reason_options(context: BotContext, draft: ChangeDraft) -> list[tuple[str, str]]:
    return [(k, context.t(v)) for k, v in CLOSE_REASONS.items()]


def _set_reason(context: BotContext, draft: ChangeDraft, value: str) -> None:
    draft.reason = context.t(CLOSE_REASONS[value]) if value in CLOSE_REASONS else None


def _typed_reason(context: BotContext, draft: ChangeDraft, message: Message) -> Stay | None:
    found = text_answer(message.text or "")
    if isinstance(found, Invalid):
        return Stay(context.t(found.key, **found.args))
    draft.reason = found
    return None


def _label(draft: ChangeDraft) -> str:
    return dict(draft.entries).get(draft.entry_id or "", "").partition("|")[2]


def _change_lines(
    t: Translator, policy: Policy, kind: str, fields: dict[str, Any], entry: str
) -> str:
    """Return a change's kind and what it changes: of a draft and of a stored change alike."""
    if kind == "add":
        category = cat_name(policy, t, fields.get("category") or "")
        body = t("register.sum.add", category=category, name=fields.get("name") or "—")
    elif kind == "correct":
        body = t("register.sum.correct", entry=entry, value=fields.get("value") or "—")
    else:
        body = t("register.sum.close", entry=entry, reason=fields.get("reason") or "—")
    return t("register.sum.kind", kind=t(KIND_KEYS[kind])) + "\n" + body


def _summary(context: BotContext, draft: ChangeDraft) -> str:
    lines = _change_lines(
        context.t, context.deps.policy, draft.kind or "add", draft.model_dump(), _label(draft)
    )
    return context.t("register.sum.head") + "\n" + lines


def _decision_buttons(t: Translator, change_id: int) -> InlineKeyboardMarkup:
    """✅ Confirm / ❌ Reject for a proposed change (the card and the pending list alike)."""
    markup = keyboard(
        [
            button(t("register.btn.confirm"), f"rg:ok:{change_id}"),
            button(t("register.btn.reject"), f"rg:no:{change_id}"),
        ]
    )
    assert markup is not None
    return markup


async def _submit(context: BotContext, draft: ChangeDraft, tx: Tx) -> Done | Stay:
    deps, actor, t = context.deps, context.actor, context.t
    assert actor is not None
    if actor.township_id is None or actor.village_id is None:
        return Done(None, t("common.not_allowed"))
    entry_id = int(draft.entry_id) if draft.entry_id else None
    if draft.kind == "add":
        payload: dict[str, Any] = {"category": draft.category, "name": draft.name, "fields": {}}
    elif draft.kind == "correct":
        payload = {"field": draft.field, "value": draft.value}
    else:
        payload = {"reason": draft.reason}
    if entry_id is not None:
        found = await store.entry(deps.db, entry_id)
        if found is None or found.village_id != actor.village_id:
            return Done(None, t("common.not_allowed"))
    now = deps.clock.now()
    change_id = await store.propose(
        tx,
        kind=draft.kind or "add",
        township_id=actor.township_id,
        village_id=actor.village_id,
        entry_id=entry_id,
        payload=payload,
        person_id=actor.id,
        now=now,
    )
    officers = await deps.people.in_township(actor.township_id, (Role.COMMISSIONER,), tx=tx)
    summary = _summary(context, draft)

    def render(tr: Translator, person: Person) -> dict[str, Any]:
        text = tr("register.change_card", village=actor.village or "", name=actor.name)
        markup = _decision_buttons(tr, change_id)
        return {"text": f"{text}\n{summary}", "reply_markup": markup.to_dict()}

    await notify(deps, tx, now, officers, render, key=lambda p: f"rgc:{change_id}:{p.id}")
    return Done(change_id, t("register.proposed"))


CHANGE = Form(
    name="register",
    prefix="rgf",
    model=ChangeDraft,
    roles=(Role.LIAISON,),
    steps=[
        Choice("kind", "register.ask.kind", _kinds, label="register.f.kind"),
        Choice(
            "category",
            "register.ask.category",
            _category_options,
            when=lambda d: d.kind == "add",
            label="register.f.category",
        ),
        Text(
            "name",
            "register.ask.name",
            text_answer,
            when=lambda d: d.kind == "add",
            label="register.f.name",
        ),
        Choice(
            "entry_id",
            "register.ask.entry",
            _entry_options,
            when=lambda d: d.kind in ("correct", "close"),
            label="register.f.entry",
        ),
        Choice(
            "field",
            "register.ask.field",
            _field_options,
            when=lambda d: d.kind == "correct",
            label="register.f.field",
        ),
        Text(
            "value",
            "register.ask.value",
            text_answer,
            when=lambda d: d.kind == "correct",
            label="register.f.value",
        ),
        Step(
            name="reason",
            ask="register.ask.reason",
            options=_reason_options,
            apply=_set_reason,
            accept={"text": _typed_reason},
            when=lambda d: d.kind == "close",
            done=lambda d: d.reason is not None,
            reset=lambda d: setattr(d, "reason", None),
            wrong="register.err.use_text",
            label="register.f.reason",
        ),
    ],
    summary=Summary(render=_summary, edit=("kind",)),
    submit=_submit,
    keys=FORM_KEYS,
)


# --- what people see ---------------------------------------------------------------------------


def _entry_line(t: Translator, entry: store.Entry, last: str | None) -> str:
    phone = entry.fields.get("phone")
    extra = t("register.phone_mark", phone=phone) if phone else ""
    seen = (
        t("register.last_visit", date=day_month(t, date.fromisoformat(last)))
        if last
        else t("register.never_visited")
    )
    closed = t("register.closed_mark") if not entry.is_open else ""
    return f"• {entry.name}{extra} {seen}{closed}"


async def _village_list(context: BotContext, actor: Person) -> str:
    t, deps = context.t, context.deps
    assert actor.village_id is not None
    entries = await store.village_entries(deps.db, actor.village_id)
    last = await store.last_visits(deps.db, actor.village_id)
    if not entries:
        return t("register.village_empty", village=actor.village or "")
    lines = [t("register.village_head", village=actor.village or "", count=len(entries))]
    current = None
    for e in sorted(entries, key=lambda e: (not _is_venue(context, e), e.category, e.name)):
        if e.category != current:
            current = e.category
            lines.append(t("register.cat_head", category=cat_name(deps.policy, t, e.category)))
        lines.append(_entry_line(t, e, last.get(e.id)))
    return "\n".join(lines)


def _is_venue(context: BotContext, entry: store.Entry) -> bool:
    cat = cats(context.deps.policy).get(entry.category)
    return bool(cat and cat.is_venue)


async def start(update: Update, context: BotContext) -> object:
    """/register: a liaison's village list and change form; an officer's search."""
    actor = context.actor
    assert actor is not None
    if actor.role is Role.LIAISON:
        if actor.village_id is None:
            await refuse(update, context, "common.not_allowed")
            return None
        resumed = await CHANGE.resume(update, context, note=context.t("register.resumed"))
        if resumed is not None:
            return resumed
        markup = keyboard([button(context.t("register.btn.change"), "rg:chg")])
        await answer(update, context, await _village_list(context, actor), markup)
        return None
    if actor.role not in OFFICERS:
        await refuse(update, context, "common.not_allowed")
        return None
    await search(update, context, actor, " ".join(context.args or []).strip())
    return None


@guard(Role.LIAISON)
async def on_change(update: Update, context: BotContext) -> object:
    """➕ Report a change: open the change form with the village's entries."""
    actor = context.actor
    assert actor is not None and actor.village_id is not None
    await safe_answer_query(update.callback_query)
    entries = await store.village_entries(context.deps.db, actor.village_id)
    options = [(str(e.id), f"{e.category}|{e.name}") for e in entries]
    return await CHANGE.begin(update, context, ChangeDraft(entries=options))


@guard(Role.COMMISSIONER)
async def on_pending(update: Update, context: BotContext) -> None:
    """List the township's pending changes, each with Confirm / Reject."""
    deps, actor, t = context.deps, context.actor, context.t
    assert actor is not None and actor.township_id is not None
    await safe_answer_query(update.callback_query)
    changes = await store.pending_changes(deps.db, actor.township_id)
    if not changes:
        await answer(update, context, t("register.no_pending"))
        return
    for change in changes[:MAX_SHOWN]:
        text = await _change_text(context, change)
        await answer(update, context, text, _decision_buttons(t, change["id"]))


async def _change_text(context: BotContext, change: dict[str, Any]) -> str:
    t, deps = context.t, context.deps
    who = await deps.people.get(change["proposed_by"])
    head = t(
        "register.change_card", village=who.village if who else "", name=who.name if who else ""
    )
    entry = await store.entry(deps.db, change["entry_id"]) if change["entry_id"] else None
    label = entry.name if entry else ""
    lines = _change_lines(t, deps.policy, change["kind"], change["payload"], label)
    return f"{head}\n{lines}"


async def _decide(update: Update, context: BotContext, confirm: bool) -> None:
    tag = "ok" if confirm else "no"
    found = codec.ids(update.callback_query.data if update.callback_query else None, "rg", tag)
    deps, actor, t = context.deps, context.actor, context.t
    assert actor is not None
    change = await store.change(deps.db, found[0]) if found else None
    if change is None or change["township_id"] != actor.township_id:
        await refuse(update, context, "common.not_allowed")
        return
    now = deps.clock.now()
    async with deps.db.transaction() as tx:
        decided = await store.decide(tx, change["id"], confirm=confirm, person_id=actor.id, now=now)
        proposer = await deps.people.get(change["proposed_by"], tx=tx)
        if decided and proposer is not None:
            key = "register.told_confirmed" if confirm else "register.told_rejected"

            def render(tr: Translator, person: Person) -> str:
                return tr(key, name=actor.name)

            await notify(deps, tx, now, [proposer], render, key=lambda p: f"rgd:{change['id']}")
    if not decided:
        await safe_answer_query(update.callback_query, t("register.already_decided"), alert=True)
        return
    deps.wake_outbox()
    await safe_answer_query(update.callback_query)
    done = "register.confirmed" if confirm else "register.rejected"
    message = update.callback_query.message if update.callback_query else None
    text = getattr(message, "text", None) or ""
    if message is not None:
        try:
            await context.bot.edit_message_text(
                f"{text}\n{t(done, name=actor.name)}",
                chat_id=message.chat.id,
                message_id=message.message_id,
            )
        except Exception:  # the card may be too old to edit; the decision stands
            await answer(update, context, t(done, name=actor.name))


@guard(Role.COMMISSIONER)
async def on_confirm(update: Update, context: BotContext) -> None:
    """✅ Confirm a proposed change: it enters the register."""
    await _decide(update, context, True)


@guard(Role.COMMISSIONER)
async def on_reject(update: Update, context: BotContext) -> None:
    """❌ Reject a proposed change: nothing changes."""
    await _decide(update, context, False)


def get_handlers() -> list[BaseHandler]:
    """Return /register, its forms and its buttons."""
    return [
        CHANGE.conversation(
            [
                CommandHandler(
                    "register", guard(*OFFICERS, Role.LIAISON, end_conversation=True)(start)
                ),
                CallbackQueryHandler(on_change, pattern=r"^rg:chg$"),
            ]
        ),
        *register_visit.get_handlers(),
        *register_search.get_handlers(),
        CallbackQueryHandler(on_pending, pattern=r"^rg:pend$"),
        CallbackQueryHandler(on_confirm, pattern=r"^rg:ok:"),
        CallbackQueryHandler(on_reject, pattern=r"^rg:no:"),
    ]
