"""Notice buttons and /notices: confirm, reply, who has not confirmed, remind, the timeline.

Callback data names only a notice id ("nt:ok:12"); whether the presser may act on it is
decided here, from the stored recipients and sender, never from the button.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.context import BotContext
from bot.domain import notice as dom
from bot.domain.notice import Notice, ReplyDraft
from bot.domain.people import Role
from bot.domain.text import split_text
from bot.domain.vocab import day_month
from bot.forms import END, Collect, Done, Form, Stay, Summary, Text, codec
from bot.handlers.common import answer, button, guard, keyboard, refuse, safe_answer_query
from bot.handlers.notice import add_file, text_parser
from bot.i18n import Translator
from bot.reminders import notices as delivery
from bot.storage import leave as leave_store
from bot.storage import notices as store
from bot.storage.db import Tx

RECIPIENTS = (Role.LIAISON, Role.COMMISSIONER)
LISTED = 8
EVENT_KEYS = {
    "sent": "notice.ev.sent",
    "confirmed": "notice.ev.confirmed",
    "reminded": "notice.ev.reminded",
    "replied": "notice.ev.replied",
    "deadline": "notice.ev.deadline",
}


def _notice_id(update: Update, tag: str) -> int | None:
    """Return the id of "nt:<tag>:<id>", or None for anything malformed."""
    found = codec.ids(update.callback_query.data if update.callback_query else None, "nt", tag)
    return found[0] if found else None


async def _as_recipient(update: Update, context: BotContext, tag: str) -> tuple[Notice, Any] | None:
    """Load the pressed notice if the presser is one of its recipients; refuse otherwise."""
    notice_id = _notice_id(update, tag)
    n = await store.get_notice(context.deps.db, notice_id) if notice_id is not None else None
    if n is None or context.actor is None:
        await refuse(update, context, "common.stale")
        return None
    ok, confirmed_at = await store.is_recipient(context.deps.db, n.id, context.actor.id)
    if not ok:
        await refuse(update, context, "common.not_allowed")
        return None
    return n, confirmed_at


async def _as_sender(update: Update, context: BotContext, tag: str) -> Notice | None:
    """Load the pressed notice if the presser sent it; refuse otherwise."""
    notice_id = _notice_id(update, tag)
    n = await store.get_notice(context.deps.db, notice_id) if notice_id is not None else None
    if n is None:
        await refuse(update, context, "common.stale")
        return None
    if context.actor is None or context.actor.id != n.sender_id:
        await refuse(update, context, "common.not_allowed")
        return None
    return n


def _markup(context: BotContext, data: dict[str, Any]) -> InlineKeyboardMarkup:
    markup = InlineKeyboardMarkup.de_json(data, context.bot)
    assert markup is not None
    return markup


async def _answer_long(
    update: Update, context: BotContext, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Answer with a text of any length: split at lines, the buttons on the last part."""
    parts = split_text(text)
    for i, part in enumerate(parts):
        await answer(update, context, part, markup if i == len(parts) - 1 else None)


@guard()
async def on_confirm(update: Update, context: BotContext) -> None:
    """✅ 收到: record who and when, update the sender's count, turn the button into 已确认."""
    found = await _as_recipient(update, context, "ok")
    if found is None:
        return
    n, confirmed_at = found
    deps, t, actor = context.deps, context.t, context.actor
    assert actor is not None
    if confirmed_at is None:
        now = deps.clock.now()
        async with deps.db.transaction() as tx:
            if await store.confirm(tx, n.id, actor.id, now):
                confirmed_at = now
                await delivery.cancel_reminders(tx, n.id, actor.id)
                await delivery.refresh_copy(deps, tx, n.id, now)
            else:
                confirmed_at = (await store.is_recipient(tx, n.id, actor.id))[1]
        deps.wake_outbox()
    assert update.callback_query is not None
    await safe_answer_query(update.callback_query, t("notice.confirmed_popup", ref=n.ref))
    await _set_markup(update, context, delivery.card_markup(t, n, confirmed_at))


async def _set_markup(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    query = update.callback_query
    if query is None or query.message is None or not query.message.date.timestamp():
        return
    try:
        await query.edit_message_reply_markup(reply_markup=_markup(context, data))
    except TelegramError:  # an unchanged or vanished message needs no edit
        return


@guard()
async def on_confirmed(update: Update, context: BotContext) -> None:
    """The 已确认 button: say when."""
    found = await _as_recipient(update, context, "okd")
    if found is None:
        return
    n, confirmed_at = found
    t = context.t
    text = (
        t("notice.confirmed_at", ref=n.ref, at=t.datetime(confirmed_at))
        if confirmed_at
        else t("notice.not_confirmed", ref=n.ref)
    )
    await safe_answer_query(update.callback_query, text)


@guard()
async def on_who(update: Update, context: BotContext) -> None:
    """List who has not confirmed yet (sender only); people on leave are marked."""
    n = await _as_sender(update, context, "who")
    if n is None:
        return
    deps, t = context.deps, context.t
    people = await store.unconfirmed(deps.db, n.id)
    away = await leave_store.on_leave(deps.db, deps.clock.now().astimezone(deps.tz).date())
    lines = [t("notice.who_head", ref=n.ref, n=len(people), total=n.total)]
    lines += delivery.render_people(t, people, away)
    if not people:
        lines = [t("notice.deadline_all", ref=n.ref, total=n.total)]
    await _answer_long(update, context, "\n".join(lines))


@guard()
async def on_remind(update: Update, context: BotContext) -> None:
    """Remind the unconfirmed, at most once an hour per notice (sender only)."""
    n = await _as_sender(update, context, "rem")
    if n is None:
        return
    deps, t = context.deps, context.t
    query = update.callback_query
    assert query is not None
    now = deps.clock.now()
    if not dom.may_remind(n.last_reminded_at, now):
        at = dom.next_remind_at(n.last_reminded_at)
        assert at is not None
        await safe_answer_query(query, t("notice.remind_wait", at=t.time(at)), alert=True)
        return
    assert context.actor is not None
    key = f"notice-rem:{n.id}:{now.timestamp():.0f}"
    async with deps.db.transaction() as tx:
        count = await delivery.remind(deps, tx, n, now, by=context.actor.id, key=key)
        await store.set_reminded(tx, n.id, now)
    deps.wake_outbox()
    await safe_answer_query(query, t("notice.reminded", n=count), alert=True)


def _event_line(t: Translator, e: store.Event) -> str:
    who = t("notice.who", name=e.person, place=e.place) if e.person and e.place else e.person
    key = EVENT_KEYS.get(e.kind, "notice.ev.sent")
    n = e.detail.get("n", e.detail.get("recipients", e.detail.get("missing", 0)))
    return t(key, at=t.datetime(e.at), who=who or "", n=n)


@guard()
async def on_timeline(update: Update, context: BotContext) -> None:
    """Show a notice and its timeline: all of it to the sender, their own part to a recipient."""
    notice_id = _notice_id(update, "tl")
    deps, t, actor = context.deps, context.t, context.actor
    assert actor is not None
    n = await store.get_notice(deps.db, notice_id) if notice_id is not None else None
    if n is None:
        await refuse(update, context, "common.stale")
        return
    is_sender = actor.id == n.sender_id
    ok, confirmed_at = await store.is_recipient(deps.db, n.id, actor.id)
    if not (is_sender or ok):
        await refuse(update, context, "common.not_allowed")
        return
    events = await store.timeline(deps.db, n.id)
    if not is_sender:
        events = [e for e in events if e.kind in ("sent", "deadline") or e.person == actor.name]
    files = len(await store.files_of(deps.db, "notice", n.id))
    lines = [dom.render_card(t, n, files), "", t("notice.tl_head", ref=n.ref)]
    lines += [_event_line(t, e) for e in events]
    if is_sender:
        markup = _markup(context, delivery.copy_markup(t, n))
        lines.append(t("notice.copy.count", n=n.confirmed, total=n.total))
    else:
        markup = _markup(context, delivery.card_markup(t, n, confirmed_at))
    await safe_answer_query(update.callback_query)
    await _answer_long(update, context, "\n".join(lines), markup)


@guard()
async def notices_command(update: Update, context: BotContext) -> None:
    """/notices: the notices the person sent and those sent to them, with their state."""
    deps, t, actor = context.deps, context.t, context.actor
    assert actor is not None
    now = deps.clock.now()
    sent = await store.sent_by(deps.db, actor.id, LISTED)
    received = await store.received_by(deps.db, actor.id, LISTED)
    lines: list[str] = []
    buttons = []
    if sent:
        lines.append(t("notice.list.sent_head"))
        for n in sent:
            lines.append(
                t(
                    "notice.list.sent_line",
                    ref=n.ref,
                    date=day_month(t, n.created_at),
                    n=n.confirmed,
                    total=n.total,
                    state=t(dom.STATE_KEYS[n.state(now)]),
                    head=n.body.splitlines()[0][:20],
                )
            )
            buttons.append(button(n.ref, f"nt:tl:{n.id}"))
    if received:
        if lines:
            lines.append("")
        lines.append(t("notice.list.received_head"))
        for n, mine in received:
            state = (
                t("notice.list.mine_done", at=t.datetime(mine))
                if mine
                else t("notice.list.mine_open")
            )
            lines.append(
                t(
                    "notice.list.received_line",
                    ref=n.ref,
                    date=day_month(t, n.created_at),
                    sender=n.sender,
                    state=state,
                    head=n.body.splitlines()[0][:20],
                )
            )
            buttons.append(button(n.ref, f"nt:tl:{n.id}"))
    if not lines:
        lines.append(t("notice.list.none"))
    rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
    await answer(update, context, "\n".join(lines), keyboard(*rows))


# --- replies ---------------------------------------------------------------------------------


def _reply_summary(context: BotContext, draft: ReplyDraft) -> str:
    return context.t(
        "notice.reply_preview", ref=draft.ref, text=draft.text or "", n=len(draft.files)
    )


async def _reply_submit(context: BotContext, draft: ReplyDraft, tx: Tx) -> Done | Stay:
    """Record the reply on the timeline and queue it (with its files) to the sender."""
    deps, actor = context.deps, context.actor
    assert actor is not None
    n = await store.get_notice(tx, draft.notice_id)
    ok, _ = await store.is_recipient(tx, draft.notice_id, actor.id)
    if n is None or not ok or not n.replies or draft.text is None:
        return Done(None, context.t("common.not_allowed"))
    now = deps.clock.now()
    event_id = await store.add_event(tx, n.id, now, "replied", actor.id, {"text": draft.text})
    await store.add_files(tx, now, "notice_reply", event_id, draft.files)
    await delivery.deliver_reply(deps, tx, n, actor, event_id, draft.text, draft.files, now)
    return Done(event_id, context.t("notice.reply_sent", ref=n.ref, name=n.sender))


REPLY = Form(
    name="notice_reply",
    prefix="ntr",
    model=ReplyDraft,
    roles=RECIPIENTS,
    steps=[
        Text(
            "text",
            lambda c, d: c.t("notice.reply_ask", ref=d.ref),
            text_parser(dom.MAX_REPLY),
            wrong="notice.err.reply_input",
            label="notice.edit.body",
        ),
        Collect(
            name="files",
            ask=lambda c, d: c.t("notice.ask.files", n=len(d.files), max=dom.MAX_FILES),
            flow=False,
            accept={"photo": add_file, "document": add_file},
            done_label="notice.btn.done",
            wrong="notice.err.use_files",
        ),
    ],
    summary=Summary(
        render=_reply_summary, edit=("text",), extras=(("notice.btn.add_files", "files"),)
    ),
    submit=_reply_submit,
    keys={
        "cancelled": "notice.reply_cancelled",
        "dropped": "notice.draft_dropped",
        "submit": "notice.btn.send",
        "edit": "notice.btn.edit",
        "cancel": "notice.btn.cancel",
        "ask_edit": "notice.ask.edit",
        "use_buttons": "notice.err.reply_input",
        "old_button": "forms.old_button",
    },
)


async def start_reply(update: Update, context: BotContext) -> object:
    """回复: take one text (and optionally photos or files) back to the sender."""
    found = await _as_recipient(update, context, "re")
    if found is None:
        return END
    n, _ = found
    if not n.replies:
        await refuse(update, context, "common.not_allowed")
        return END
    await safe_answer_query(update.callback_query)
    return await REPLY.begin(update, context, ReplyDraft(notice_id=n.id, ref=n.ref))


def get_handlers() -> list[BaseHandler]:
    """Return the reply form, the notice buttons and /notices."""
    reply = REPLY.conversation(
        [CallbackQueryHandler(REPLY.guarded(start_reply), pattern=r"^nt:re:")]
    )
    return [
        reply,
        CommandHandler("notices", notices_command, filters=filters.ChatType.PRIVATE),
        CallbackQueryHandler(on_confirm, pattern=r"^nt:ok:"),
        CallbackQueryHandler(on_confirmed, pattern=r"^nt:okd:"),
        CallbackQueryHandler(on_who, pattern=r"^nt:who:"),
        CallbackQueryHandler(on_remind, pattern=r"^nt:rem:"),
        CallbackQueryHandler(on_timeline, pattern=r"^nt:tl:"),
    ]
