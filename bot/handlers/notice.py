"""/notice: a commissioner (their township) or county officer (townships they pick) composes a
notice, previews it and sends it; delivery, confirmations and reminders live in
bot/reminders/notices.py, the recipients' and sender's buttons in bot/handlers/notices.py.

Steps (notice.mmd): townships (county only) → text → files → audience → deadline → replies →
summary (Send / Edit a field / Cancel). Every button carries the draft's token.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import BotContext
from bot.domain import notice as dom
from bot.domain.notice import AUDIENCE_KEYS, Audience, NoticeDraft, NoticeFile
from bot.domain.people import Role
from bot.handlers.common import answer, guard, keyboard, refuse, safe_answer_query
from bot.handlers.drafting import Drafts
from bot.reminders import notices as delivery
from bot.storage import drafts as mirror
from bot.storage import notices as store

END = ConversationHandler.END
SENDERS = (Role.COMMISSIONER, Role.COUNTY)
DRAFTS = Drafts("notice", "ntc")
# Steps in order; each is also the conversation state while it is asked.
STEPS = ("townships", "body", "files", "audience", "deadline", "replies")
SUMMARY, EDIT = "summary", "edit"
EDIT_KEYS = {
    "townships": "notice.edit.townships",
    "body": "notice.edit.body",
    "files": "notice.edit.files",
    "audience": "notice.edit.audience",
    "deadline": "notice.edit.deadline",
    "replies": "notice.edit.replies",
}
DEADLINE_KEYS = {
    "today": "notice.dl.today",
    "tomorrow": "notice.dl.tomorrow",
    "three_days": "notice.dl.three_days",
    "week": "notice.dl.week",
}
TEXT_ERRORS = {"empty": "notice.err.empty", "too_long": "notice.err.too_long"}


def _form(draft: dict[str, Any]) -> NoticeDraft:
    return NoticeDraft.model_validate(draft["form"])


def _store(draft: dict[str, Any], form: NoticeDraft) -> None:
    draft["form"] = form.model_dump(mode="json")


def _missing(draft: dict[str, Any]) -> str:
    """Return the first step not answered yet, or the summary."""
    form = _form(draft)
    done = {
        "townships": bool(form.townships),
        "body": form.body is not None,
        "files": draft.get("files_done", False),
        "audience": form.audience is not None,
        "deadline": form.deadline_set,
        "replies": form.replies is not None,
    }
    return next((s for s in STEPS if not done[s]), SUMMARY)


def _cancel_row(draft: dict[str, Any], t: Any, step: str) -> list:
    return [DRAFTS.button(draft, t("notice.btn.cancel"), step, "cancel")]


async def _ask(update: Update, context: BotContext, draft: dict[str, Any], step: str) -> str:
    """Show a step's question with its buttons; return the step as the conversation state."""
    t, deps = context.t, context.deps
    form = _form(draft)
    markup: InlineKeyboardMarkup
    if step == "townships":
        rows = []
        for tw in await deps.people.townships():
            mark = "☑️ " if tw.id in form.townships else ""
            rows.append([DRAFTS.button(draft, mark + tw.name, step, "tw", str(tw.id))])
        rows.append(
            [
                DRAFTS.button(draft, t("notice.btn.all"), step, "all"),
                DRAFTS.button(draft, t("notice.btn.done"), step, "ok"),
            ]
        )
        text, markup = t("notice.ask.townships"), keyboard(*rows, _cancel_row(draft, t, step))
    elif step == "body":
        text, markup = t("notice.ask.body", max=dom.MAX_BODY), keyboard(_cancel_row(draft, t, step))
    elif step == "files":
        label = "notice.btn.next" if form.files else "notice.btn.skip"
        text = t("notice.ask.files", n=len(form.files), max=dom.MAX_FILES)
        markup = keyboard([DRAFTS.button(draft, t(label), step, "ok")], _cancel_row(draft, t, step))
    elif step == "audience":
        rows = [[DRAFTS.button(draft, t(AUDIENCE_KEYS[a]), step, "set", a.value)] for a in Audience]
        text, markup = t("notice.ask.audience"), keyboard(*rows, _cancel_row(draft, t, step))
    elif step == "deadline":
        now = deps.clock.now()
        rows = [
            [DRAFTS.button(draft, t(DEADLINE_KEYS[k], at=t.datetime(at)), step, "set", k)]
            for k, at in dom.deadline_choices(now, deps.tz)
        ]
        rows.append([DRAFTS.button(draft, t("notice.dl.none"), step, "set", "none")])
        text, markup = t("notice.ask.deadline"), keyboard(*rows, _cancel_row(draft, t, step))
    elif step == "replies":
        rows = [
            [
                DRAFTS.button(draft, t("notice.btn.replies_yes"), step, "set", "1"),
                DRAFTS.button(draft, t("notice.btn.replies_no"), step, "set", "0"),
            ]
        ]
        text, markup = t("notice.ask.replies"), keyboard(*rows, _cancel_row(draft, t, step))
    elif step == EDIT:
        fields = [s for s in STEPS if s != "townships" or context.actor.role is Role.COUNTY]  # type: ignore[union-attr]
        rows = [[DRAFTS.button(draft, t(EDIT_KEYS[s]), EDIT, "field", s)] for s in fields]
        rows.append([DRAFTS.button(draft, t("notice.btn.back"), EDIT, "back")])
        text, markup = t("notice.ask.edit"), keyboard(*rows)
    else:
        names = await store.township_names(deps.db, form.townships)
        people = await store.audience_of(
            deps.db,
            form.audience or Audience.LIAISONS,
            form.townships,
            context.actor.id,  # type: ignore[union-attr]
        )
        text = dom.render_summary(t, form, names, len(people))
        markup = keyboard(
            [
                DRAFTS.button(draft, t("notice.btn.send"), SUMMARY, "send"),
                DRAFTS.button(draft, t("notice.btn.edit"), SUMMARY, "edit"),
            ],
            _cancel_row(draft, t, SUMMARY),
        )
        step = SUMMARY
    await answer(update, context, text, markup, edit=update.callback_query is not None)
    draft["step"] = step
    return step


async def _next(update: Update, context: BotContext, draft: dict[str, Any]) -> str:
    """Save and go on: back to the summary when editing, else the first unanswered step."""
    if draft.get("editing"):
        draft["editing"] = False
    await DRAFTS.touch(update, context)
    return await _ask(update, context, draft, _missing(draft))


@guard(*SENDERS, end_conversation=True)
async def start(update: Update, context: BotContext) -> str:
    """Open a new notice draft."""
    actor = context.actor
    assert actor is not None
    townships = [] if actor.role is Role.COUNTY else [actor.township_id]
    draft = await DRAFTS.start(
        update, context, form=NoticeDraft(townships=townships).model_dump(mode="json")
    )
    return await _ask(update, context, draft, _missing(draft))


@guard(*SENDERS, end_conversation=True)
async def on_button(update: Update, context: BotContext) -> str | int:
    """Every button of the composer: check the token, then do what it says."""
    press = DRAFTS.press(update)
    draft = await DRAFTS.alive_or_say(update, context)
    if draft is None:
        return END
    if press is None or press.token != draft["token"]:
        await refuse(update, context, "common.stale")
        return draft.get("step", SUMMARY)
    form = _form(draft)
    t, deps = context.t, context.deps
    if press.action == "cancel":
        await DRAFTS.close(context, "cancelled")
        await answer(update, context, t("notice.cancelled"), edit=True)
        return END
    if press.step == "townships" and context.actor.role is Role.COUNTY:  # type: ignore[union-attr]
        valid = {tw.id for tw in await deps.people.townships()}
        if press.action == "tw" and press.value.isdigit() and int(press.value) in valid:
            chosen = set(form.townships) ^ {int(press.value)}
            form.townships = sorted(chosen)
        elif press.action == "all":
            form.townships = sorted(valid)
        elif press.action == "ok":
            if not form.townships:
                await safe_answer_query(update.callback_query, t("notice.err.no_township"), True)  # type: ignore[arg-type]
                return "townships"
            _store(draft, form)
            return await _next(update, context, draft)
        _store(draft, form)
        await DRAFTS.touch(update, context)
        return await _ask(update, context, draft, "townships")
    if press.step == "files" and press.action == "ok":
        draft["files_done"] = True
        return await _next(update, context, draft)
    if press.step == "audience" and press.action == "set" and press.value in set(Audience):
        form.audience = Audience(press.value)
    elif press.step == "deadline" and press.action == "set":
        choices = dict(dom.deadline_choices(deps.clock.now(), deps.tz))
        if press.value != "none" and press.value not in choices:
            await refuse(update, context, "common.stale")  # a choice that has passed meanwhile
            return await _ask(update, context, draft, "deadline")
        form.deadline = choices.get(press.value)
        form.deadline_set = True
    elif press.step == "replies" and press.action == "set" and press.value in ("0", "1"):
        form.replies = press.value == "1"
    elif press.step == SUMMARY and press.action == "send":
        return await _send(update, context, draft)
    elif press.step == SUMMARY and press.action == "edit":
        return await _ask(update, context, draft, EDIT)
    elif press.step == EDIT and press.action == "back":
        return await _ask(update, context, draft, SUMMARY)
    elif press.step == EDIT and press.action == "field" and press.value in STEPS:
        return await _edit_field(update, context, draft, press.value)
    else:
        await refuse(update, context, "common.stale")
        return draft.get("step", SUMMARY)
    _store(draft, form)
    return await _next(update, context, draft)


async def _edit_field(
    update: Update, context: BotContext, draft: dict[str, Any], field: str
) -> str:
    """Ask one field again; its answer leads back to the summary."""
    form = _form(draft)
    if field == "files":
        form.files = []
    elif field == "townships" and context.actor.role is Role.COUNTY:  # type: ignore[union-attr]
        draft["editing"] = True
        return await _ask(update, context, draft, "townships")
    _store(draft, form)
    draft["editing"] = True
    return await _ask(update, context, draft, field)


@guard(*SENDERS, end_conversation=True)
async def on_text(update: Update, context: BotContext) -> str | int:
    """The notice's text (or a photo or file with a caption as the text)."""
    draft = await DRAFTS.alive_or_say(update, context)
    if draft is None:
        return END
    message = update.effective_message
    assert message is not None
    checked = dom.check_text(message.text or message.caption, dom.MAX_BODY)
    if isinstance(checked, dom.TextErr):
        await answer(update, context, context.t(TEXT_ERRORS[checked], max=dom.MAX_BODY))
        return await _ask(update, context, draft, "body")
    form = _form(draft)
    form.body = checked
    file = _file_of(message)
    if file is not None:
        form.files.append(file)
    _store(draft, form)
    return await _next(update, context, draft)


def _file_of(message: Any) -> NoticeFile | None:
    if message.photo:
        best = message.photo[-1]
        return NoticeFile(kind="photo", file_id=best.file_id, file_unique_id=best.file_unique_id)
    if message.document:
        doc = message.document
        return NoticeFile(
            kind="document",
            file_id=doc.file_id,
            file_unique_id=doc.file_unique_id,
            name=doc.file_name,
        )
    return None


@guard(*SENDERS, end_conversation=True)
async def on_file(update: Update, context: BotContext) -> str | int:
    """One more photo or document for the notice."""
    draft = await DRAFTS.alive_or_say(update, context)
    if draft is None:
        return END
    form = _form(draft)
    if len(form.files) >= dom.MAX_FILES:
        await answer(update, context, context.t("notice.err.files_max", max=dom.MAX_FILES))
        return await _ask(update, context, draft, "files")
    file = _file_of(update.effective_message)
    assert file is not None
    form.files.append(file)
    _store(draft, form)
    await DRAFTS.touch(update, context)
    return await _ask(update, context, draft, "files")


def _reprompt(step: str) -> Any:
    @guard(*SENDERS, end_conversation=True)
    async def callback(update: Update, context: BotContext) -> str | int:
        draft = await DRAFTS.alive_or_say(update, context)
        if draft is None:
            return END
        key = "notice.err.use_text" if step == "body" else "notice.err.use_buttons"
        if step == "files":
            key = "notice.err.use_files"
        await answer(update, context, context.t(key))
        return await _ask(update, context, draft, draft.get("step", step))

    return callback


@guard(*SENDERS, end_conversation=True)
async def on_cancel(update: Update, context: BotContext) -> int:
    """/cancel inside the composer."""
    await DRAFTS.close(context, "cancelled")
    await answer(update, context, context.t("notice.cancelled"))
    return END


async def _send(update: Update, context: BotContext, draft: dict[str, Any]) -> str | int:
    """Store the notice with its recipients and queue it, all in one transaction."""
    deps, t, actor = context.deps, context.t, context.actor
    assert actor is not None
    form = _form(draft)
    if actor.role is not Role.COUNTY:
        form.townships = [actor.township_id]  # type: ignore[list-item]  # scope, server-side
    now = deps.clock.now()
    if form.deadline is not None and form.deadline <= now:
        await safe_answer_query(update.callback_query, t("notice.err.deadline_passed"), True)  # type: ignore[arg-type]
        form.deadline_set = False
        form.deadline = None
        _store(draft, form)
        return await _next(update, context, draft)
    async with deps.db.transaction() as tx:
        people = await store.audience_of(
            tx, form.audience or Audience.LIAISONS, form.townships, actor.id
        )
        if not people:
            await safe_answer_query(update.callback_query, t("notice.err.nobody"), True)  # type: ignore[arg-type]
            return SUMMARY
        notice_id = await store.create_notice(tx, actor.id, form, people, now)
        await delivery.deliver(deps, tx, notice_id, now)
        await mirror.close_draft(tx, DRAFTS.form, draft["token"], "submitted", now, notice_id)
    DRAFTS.forget(context)
    deps.wake_outbox()
    text = t("notice.sent", ref=dom.reference(notice_id), n=len(people))
    await answer(update, context, text, edit=True)
    return END


def get_handlers() -> list[BaseHandler]:
    """Return the /notice composer conversation."""
    text = filters.TEXT & ~filters.COMMAND
    files = filters.PHOTO | filters.Document.ALL
    other = ~filters.COMMAND
    buttons = CallbackQueryHandler(on_button, pattern=r"^ntc:")

    def step(name: str, *inputs: BaseHandler) -> list[BaseHandler]:
        return [buttons, *inputs, MessageHandler(other, _reprompt(name))]

    return [
        ConversationHandler(
            entry_points=[CommandHandler("notice", start, filters=filters.ChatType.PRIVATE)],
            states={
                "townships": step("townships"),
                "body": step("body", MessageHandler(text | files, on_text)),
                "files": step("files", MessageHandler(files, on_file)),
                "audience": step("audience"),
                "deadline": step("deadline"),
                "replies": step("replies"),
                SUMMARY: step(SUMMARY),
                EDIT: step(EDIT),
            },
            fallbacks=[CommandHandler("cancel", on_cancel)],
            name="notice",
            persistent=True,
            allow_reentry=True,
        )
    ]
