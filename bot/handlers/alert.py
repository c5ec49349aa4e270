"""Dispute alerts from the liaison's side: the /alert form (declared on bot/forms/; alert.mmd
is generated from it), raising one from a weekly report, and updates to one's alerts from
/mine (the "alert_update" conversation). The commissioner's side: bot/handlers/alert_desk.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import BotContext, drafts
from bot.domain.alert import (
    CATEGORIES,
    MAX_DESCRIPTION,
    MAX_PHOTOS,
    MAX_PLACE,
    SEVERITIES,
    Alert,
    AlertDraft,
    check_text,
    parse_people,
)
from bot.domain.people import Person, Role
from bot.domain.vocab import ALERT_STATE_KEYS as STATE_KEYS
from bot.domain.vocab import CATEGORY_KEYS, SEVERITY_KEYS
from bot.forms import Choice, Collect, Done, Form, Invalid, Stay, Summary, Text, codec, fixed
from bot.handlers import alert_desk
from bot.handlers.alert_desk import (
    TEXT_ERRORS,
    action_reprompt,
    alert_in_scope,
    cancel_row,
    drop_state,
    load_state,
    now_iso,
    timeline_text,
)
from bot.handlers.common import (
    answer,
    button,
    confirm,
    conversation,
    guard,
    keyboard,
    may_act_on,
    refuse,
    safe_answer_query,
    send_confirmations,
)
from bot.i18n import Translator
from bot.reminders import escalation as notify
from bot.storage import alerts as repo
from bot.storage.db import Tx
from bot.storage.reports import get_report
from bot.views import alert as alert_view

UPDATE = 20  # the liaison update conversation's one state
END = ConversationHandler.END
PEOPLE_CHOICES = (2, 5, 10, 30, 100)

SEVERITY_HINT_KEYS = {
    "critical": "alert.sev_hint.critical",
    "high": "alert.sev_hint.high",
    "medium": "alert.sev_hint.medium",
    "low": "alert.sev_hint.low",
}
PEOPLE_ERRORS = {"not_a_number": "alert.err.people_nan", "out_of_range": "alert.err.people_range"}

# --- the liaison's form (declared; bot/forms/ walks it) ----------------------------------


def _summary(context: BotContext, form: AlertDraft) -> str:
    t = context.t
    located = form.latitude is not None and form.longitude is not None
    where = [
        form.place_text,
        t("alert.card.location", lat=f"{form.latitude:.5f}", lon=f"{form.longitude:.5f}")
        if located
        else None,
    ]
    what = form.description or ""
    if form.voice_file_id:
        what = (what + "\n" if what else "") + t("alert.card.voice")
    return t(
        "alert.summary",
        category=t(CATEGORY_KEYS[form.category or "other"]),
        severity=t(SEVERITY_KEYS[form.severity or "low"]),
        people=form.people_count if form.people_count is not None else "—",
        place=" · ".join(x for x in where if x) or "—",
        description=what or "—",
        photos=len(form.photos),
    )


def _severity_text(context: BotContext, form: AlertDraft) -> str:
    t = context.t
    lines = [t("alert.ask_severity")]
    lines += [f"• {t(SEVERITY_KEYS[s])}: {t(SEVERITY_HINT_KEYS[s])}" for s in SEVERITIES]
    return "\n".join(lines)


def _what_text(context: BotContext, form: AlertDraft) -> str:
    text = context.t("alert.ask_what")
    if form.description:
        text += "\n\n" + context.t("alert.carried", text=form.description)
    return text


def _limit(limit: int) -> Callable[[str], str | Invalid]:
    def parse(text: str) -> str | Invalid:
        error = check_text(text, limit)
        return Invalid(TEXT_ERRORS[error], {"limit": limit}) if error else text.strip()

    return parse


def _people(text: str) -> int | Invalid:
    value, error = parse_people(text)
    if value is None:
        return Invalid(PEOPLE_ERRORS[error or "not_a_number"])
    return value


def _location(context: BotContext, form: AlertDraft, message: Message) -> None:
    assert message.location is not None
    form.latitude, form.longitude = message.location.latitude, message.location.longitude


def _voice(context: BotContext, form: AlertDraft, message: Message) -> None:
    assert message.voice is not None
    form.voice_file_id = message.voice.file_id


def _photo(context: BotContext, form: AlertDraft, message: Message) -> Stay:
    if len(form.photos) >= MAX_PHOTOS:
        return Stay(context.t("alert.err.photos_max", n=MAX_PHOTOS))
    best = message.photo[-1]
    form.photos.append([best.file_id, best.file_unique_id])
    return Stay(context.t("alert.photo_added", n=len(form.photos)))


def _here(context: BotContext, form: AlertDraft, value: str) -> None:
    assert context.actor is not None
    form.place_text = context.actor.village


async def _submit(context: BotContext, form: AlertDraft, tx: Tx) -> Done | Stay:
    """Store the alert and queue it for the township (the runtime closes the draft)."""
    actor, deps = context.actor, context.deps
    if form.missing() or actor is None or actor.village_id is None or actor.township_id is None:
        return Stay(context.t("alert.err.use_buttons"))
    now = deps.clock.now()
    if form.report_id is not None:
        report = await get_report(tx, form.report_id)
        if report is None or report.village_id != actor.village_id or report.alert_id is not None:
            form.report_id = None
    alert_id = await repo.create_alert(
        tx,
        now,
        form,
        person_id=actor.id,
        township_id=actor.township_id,
        village_id=actor.village_id,
    )
    alert = await repo.get_alert(tx, alert_id)
    assert alert is not None
    await notify.deliver_new(deps, tx, alert, now)
    return Done(alert_id, context.t("alert.submitted", ref=alert.ref))


ALERT = Form(
    name="alert",
    prefix="alf",
    model=AlertDraft,
    steps=[
        Choice(
            "category",
            "alert.ask_category",
            fixed(CATEGORIES, CATEGORY_KEYS),
            label="alert.f.category",
        ),
        Choice(
            "severity", _severity_text, fixed(SEVERITIES, SEVERITY_KEYS), label="alert.f.severity"
        ),
        Text(
            "people_count",
            "alert.ask_people",
            _people,
            options=lambda c, f: [(str(n), c.t("alert.people_n", n=n)) for n in PEOPLE_CHOICES],
            convert=int,
            columns=len(PEOPLE_CHOICES),
            wrong="alert.err.people_nan",
            label="alert.f.people",
        ),
        Text(
            "place",
            "alert.ask_place",
            _limit(MAX_PLACE),
            store="place_text",
            accept={"location": _location},
            options=lambda c, f: [
                ("here", c.t("alert.btn.in_village", village=c.actor.village if c.actor else "—"))
            ],
            apply=_here,
            done=lambda f: bool(f.place_text) or f.latitude is not None,
            wrong="alert.err.place",
            label="alert.f.place",
        ),
        Text(
            "what",
            _what_text,
            _limit(MAX_DESCRIPTION),
            store="description",
            accept={"voice": _voice},
            options=lambda c, f: [("keep", c.t("alert.btn.keep_text"))] if f.description else [],
            apply=lambda c, f, v: None,
            done=lambda f: bool(f.description) or f.voice_file_id is not None,
            wrong="alert.err.what",
            label="alert.f.what",
        ),
        Collect(
            name="photos",
            ask="alert.ask_photos",
            flow=False,
            accept={"photo": _photo},
            done_label="alert.btn.photos_done",
            wrong="alert.err.photo",
        ),
    ],
    summary=Summary(
        render=_summary,
        edit=("category", "severity", "people_count", "place", "what"),
        extras=(("alert.btn.add_photos", "photos"),),
    ),
    submit=_submit,
    keys={
        "cancelled": "alert.cancelled",
        "dropped": "alert.draft_dropped",
        "submit": "alert.btn.submit",
        "edit": "alert.btn.edit",
        "cancel": "alert.btn.cancel",
        "ask_edit": "alert.ask_edit",
        "use_buttons": "alert.err.use_buttons",
    },
)


async def start_alert(update: Update, context: BotContext) -> object:
    """/alert: continue a half-filled alert, or start a new one."""
    resumed = await ALERT.resume(update, context, note=context.t("alert.resumed"))
    return resumed if resumed is not None else await ALERT.begin(update, context, AlertDraft())


ALERT.restart = start_alert


async def from_report(update: Update, context: BotContext) -> object:
    """The weekly report's "Raise a dispute alert": check the report is the liaison's own."""
    query = update.callback_query
    assert query is not None
    actor = context.actor
    found = codec.ids(query.data, "alert", "fromreport")
    report = await get_report(context.deps.db, found[0]) if found else None
    if report is None or not may_act_on(actor, report.township_id, report.village_id):
        await refuse(update, context, "common.not_allowed")
        return END
    if report.alert_id is not None:
        await safe_answer_query(
            query, context.t("alert.already_linked", ref=f"A-{report.alert_id}"), alert=True
        )
        return END
    await safe_answer_query(query)
    draft = AlertDraft(description=report.findings or None, report_id=report.id)
    return await ALERT.begin(update, context, draft)


# --- liaison updates from /mine -------------------------------------------------------------


@guard(Role.LIAISON)
async def mine_alerts(update: Update, context: BotContext) -> None:
    """The /mine menu's "Alerts": the liaison's recent alerts, each openable."""
    actor, t = context.actor, context.t
    assert actor is not None
    items = await repo.of_liaison(context.deps.db, actor.id)
    if not items:
        await answer(update, context, t("alert.mine_empty"))
        return
    lines = [t("alert.mine_head")]
    rows = []
    for a in items:
        lines.append(
            t(
                "alert.mine_line",
                ref=a.ref,
                time=t.datetime(a.created_at),
                category=t(CATEGORY_KEYS.get(a.category, "alert.cat.other")),
                state=t(STATE_KEYS[a.state]),
            )
        )
        rows.append([button(f"{a.ref} · {t(STATE_KEYS[a.state])}", f"al:mine:{a.id}")])
    await answer(update, context, "\n".join(lines), keyboard(*rows))


@guard(Role.LIAISON)
async def mine_open(update: Update, context: BotContext) -> None:
    """Show one of the liaison's alerts with "Add an update" while it is open."""
    alert = await alert_in_scope(update, context, "mine", (Role.LIAISON,))
    if alert is None:
        return
    t = context.t
    rows = [[button(t("alert.btn.timeline_mine"), f"al:mtl:{alert.id}")]]
    if alert.state != "resolved":
        rows.insert(0, [button(t("alert.btn.add_update"), f"al:upd:{alert.id}")])
    await answer(update, context, alert_view.card_text(t, alert), keyboard(*rows))


@guard(Role.LIAISON)
async def mine_timeline(update: Update, context: BotContext) -> None:
    """The liaison's view of the timeline of their alert."""
    alert = await alert_in_scope(update, context, "mtl", (Role.LIAISON,))
    if alert is None:
        return
    await answer(update, context, await timeline_text(context, alert))


@guard(Role.LIAISON, end_conversation=True)
async def start_update(update: Update, context: BotContext) -> int:
    """Add an update: collect text and photos until Send."""
    alert = await alert_in_scope(update, context, "upd", (Role.LIAISON,))
    if alert is None:
        return END
    t = context.t
    if alert.state == "resolved":
        await safe_answer_query(
            update.callback_query,
            t("alert.update_closed", ref=alert.ref),
            alert=True,
        )
        return END
    drafts(context)["alert_update"] = {
        "id": alert.id,
        "text": "",
        "photos": [],
        "updated_at": now_iso(context),
    }
    await answer(update, context, t("alert.ask_update", ref=alert.ref), _update_markup(t))
    return UPDATE


def _update_markup(t: Translator) -> InlineKeyboardMarkup | None:
    return keyboard([button(t("alert.btn.send_update"), "alu:send")], cancel_row(t, "alu:cancel"))


@guard(Role.LIAISON, end_conversation=True)
async def on_update_text(update: Update, context: BotContext) -> int:
    """Text of an update (several messages are joined)."""
    data = load_state(context, "alert_update")
    message = update.effective_message
    assert message is not None
    if data is None:
        return END
    t = context.t
    text = ((data.get("text") or "") + "\n" + (message.text or "")).strip()
    error = check_text(text, MAX_DESCRIPTION)
    if error:
        await answer(
            update, context, t(TEXT_ERRORS[error], limit=MAX_DESCRIPTION), _update_markup(t)
        )
        return UPDATE
    data["text"], data["updated_at"] = text, now_iso(context)
    await answer(update, context, t("alert.update_noted"), _update_markup(t))
    return UPDATE


@guard(Role.LIAISON, end_conversation=True)
async def on_update_photo(update: Update, context: BotContext) -> int:
    """A photo for an update."""
    data = load_state(context, "alert_update")
    message = update.effective_message
    assert message is not None and message.photo
    if data is None:
        return END
    t = context.t
    if len(data["photos"]) >= MAX_PHOTOS:
        await answer(update, context, t("alert.err.photos_max", n=MAX_PHOTOS), _update_markup(t))
        return UPDATE
    best = message.photo[-1]
    data["photos"].append([best.file_id, best.file_unique_id])
    if message.caption:
        data["text"] = ((data.get("text") or "") + "\n" + message.caption).strip()[:MAX_DESCRIPTION]
    data["updated_at"] = now_iso(context)
    await answer(update, context, t("alert.photo_added", n=len(data["photos"])), _update_markup(t))
    return UPDATE


@guard(Role.LIAISON, end_conversation=True)
async def on_update_button(update: Update, context: BotContext) -> int:
    """Send or cancel an update."""
    query = update.callback_query
    assert query is not None
    data = load_state(context, "alert_update")
    t = context.t
    if data is None:
        await safe_answer_query(query, t("common.stale"), alert=True)
        return END
    if query.data == "alu:cancel":
        drop_state(context, "alert_update")
        await answer(update, context, t("alert.cancelled"), edit=True)
        return END
    if not data.get("text") and not data.get("photos"):
        await safe_answer_query(query, t("alert.update_empty"), alert=True)
        return UPDATE
    deps, actor = context.deps, context.actor
    assert actor is not None
    alert = await repo.get_alert(deps.db, int(data["id"]))
    if alert is None or not may_act_on(actor, alert.township_id, alert.village_id):
        drop_state(context, "alert_update")
        await refuse(update, context, "common.not_allowed")
        return END
    now = deps.clock.now()
    async with deps.db.transaction() as tx:
        await _store_update(deps, tx, alert, actor, now, data)
        await confirm(context, tx, t("alert.update_sent", ref=alert.ref))
    drop_state(context, "alert_update")
    await send_confirmations(update, context)
    return END


async def _store_update(
    deps: Any, tx: Any, alert: Alert, actor: Person, now: datetime, data: dict[str, Any]
) -> None:
    """Record the update and forward it (text, then photos) to whoever acknowledged the alert."""
    photos = data.get("photos") or []
    event_id = await repo.add_event(
        tx,
        alert.id,
        now,
        "update",
        actor.id,
        {"text": data.get("text") or "", "photos": len(photos)},
    )
    await repo.add_attachments(tx, now, "alert_update", event_id, photos)
    await notify.forward_update(
        deps, tx, alert, actor, now, event_id, data.get("text") or "", [f for f, _u in photos]
    )


@guard(end_conversation=True)
async def update_cancel(update: Update, context: BotContext) -> int:
    """Cancel a liaison's update to an alert (/cancel), dropping what was typed."""
    drop_state(context, "alert_update")
    await answer(update, context, context.t("alert.cancelled"))
    return END


# --- wiring ----------------------------------------------------------------------------------


def get_handlers() -> list[BaseHandler]:
    """Return the alert form, the liaison's updates, then the commissioner's desk."""
    text = filters.TEXT & ~filters.COMMAND
    form = ALERT.conversation(
        [
            CommandHandler("alert", ALERT.guarded(start_alert)),
            CallbackQueryHandler(ALERT.guarded(from_report), pattern=r"^alert:fromreport:"),
        ]
    )
    updates = conversation(
        "alert_update",
        [CallbackQueryHandler(start_update, pattern=r"^al:upd:\d+$")],
        {
            UPDATE: [
                MessageHandler(filters.PHOTO, on_update_photo),
                MessageHandler(text, on_update_text),
                CallbackQueryHandler(on_update_button, pattern=r"^alu:(send|cancel)$"),
                MessageHandler(~filters.COMMAND, action_reprompt("alert.err.update", UPDATE)),
            ],
        },
        [CommandHandler("cancel", update_cancel)],
    )
    return [
        form,
        updates,
        *alert_desk.get_handlers(),
        CallbackQueryHandler(mine_open, pattern=r"^al:mine:"),
        CallbackQueryHandler(mine_timeline, pattern=r"^al:mtl:"),
        CallbackQueryHandler(mine_alerts, pattern=r"^mine:a$"),
    ]
