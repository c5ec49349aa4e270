"""Review of information submissions: Adopt / Return (with a comment, the "info_return"
conversation, drawn in info_review.mmd) and /review. The liaison's form: bot/handlers/info.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import BotContext, drafts
from bot.domain.info import (
    MAX_COMMENT,
    STATE_KEYS,
    kind_label,
    reference,
)
from bot.domain.people import Person, Role
from bot.domain.text import clip, split_text
from bot.forms import codec
from bot.handlers.common import (
    answer,
    button,
    conversation,
    guard,
    keyboard,
    may_act_on,
    refuse,
    safe_answer_query,
)
from bot.i18n import Translator
from bot.storage.outbox import enqueue
from bot.storage.submissions import Attachment, Submission, SubmissionRepo

COMMENT = "comment"  # the reviewer's return conversation
END = ConversationHandler.END
RETURN_DRAFT = "info_return"
REVIEWERS = (Role.COMMISSIONER, Role.LEADER)


def button_fields(update: Update, tag: str, n: int) -> list[str] | None:
    """Return the n fields after "info:<tag>:" of a pressed button, None when malformed."""
    data = update.callback_query.data if update.callback_query else None
    fields = codec.split(data, "info", n + 1)
    if not fields or fields[0] != tag:
        return None
    return fields[1:]


def submissions(context: BotContext) -> SubmissionRepo:
    return SubmissionRepo(context.deps.db)


def time_now(context: BotContext) -> datetime:
    return context.deps.clock.now()


# --- review -----------------------------------------------------------------------------


def _review_text(t: Translator, sub: Submission, attachments: int) -> str:
    head = "info.review.new" if sub.version == 1 else "info.review.revised"
    return t(
        head,
        ref=reference(sub.id),
        kind=kind_label(t, sub.kind),
        village=sub.village or "",
        person=sub.person or "",
        title=sub.title,
        body=sub.body,
        version=sub.version,
        files=attachments,
        at=t.datetime(sub.submitted_at),
    )


def _review_markup(t: Translator, sub: Submission, attachments: int) -> dict[str, Any]:
    rows = [
        [
            {"text": t("info.btn.adopt"), "callback_data": f"info:ok:{sub.id}:{sub.version}"},
            {"text": t("info.btn.return"), "callback_data": f"info:ret:{sub.id}:{sub.version}"},
        ]
    ]
    if attachments:
        rows.append([{"text": t("info.btn.open"), "callback_data": f"info:o:{sub.id}"}])
    return {"inline_keyboard": rows}


async def notify_reviewers(context: BotContext, tx: Any, now: datetime, sub: Submission) -> None:
    """Queue the submission to every commissioner of its township, with Adopt / Return."""
    files = await SubmissionRepo.count_attachments(tx, sub.id)
    for person in await context.deps.people.in_township(
        sub.township_id, (Role.COMMISSIONER,), tx=tx
    ):
        if person.telegram_id is None:
            continue
        t = context.deps.i18n.for_person(person)
        await enqueue(
            tx,
            now,
            chat_id=person.telegram_id,
            person_id=person.id,
            payload={
                "text": _review_text(t, sub, files),
                "reply_markup": _review_markup(t, sub, files),
            },
            dedup_key=f"info:review:{sub.id}:{sub.version}:{person.id}",
            ref_kind="submission",
            ref_id=sub.id,
        )


async def _close_review_messages(
    context: BotContext, tx: Any, now: datetime, sub: Submission, reviewer: Person, key: str
) -> None:
    """Replace the buttons on every commissioner's copy with the outcome."""
    for sent in await context.deps.outbox.for_ref("submission", sub.id, tx=tx):
        if sent.message_id is None or sent.person_id is None or sent.state != "sent":
            continue
        person = await context.deps.people.get(sent.person_id, tx=tx)
        if person is None or person.role not in REVIEWERS:
            continue
        t = context.deps.i18n.for_person(person)
        await enqueue(
            tx,
            now,
            chat_id=sent.chat_id,
            method="editMessageText",
            person_id=person.id,
            payload={
                "message_id": sent.message_id,
                "text": clip(
                    t(key, ref=reference(sub.id), title=sub.title, name=reviewer.name), 4000
                ),
            },
            dedup_key=f"info:close:{sub.id}:{sub.version}:{sent.outbox_id}",
        )


async def _submission_in_scope(
    update: Update, context: BotContext, fields: list[str] | None
) -> Submission | None:
    """Load the submission a button names (id first); refuse when forged or out of scope."""
    numbers = [codec.parse_int(f) for f in fields or []]
    if not numbers or None in numbers:
        await refuse(update, context, "common.stale")
        return None
    sub = await submissions(context).get(numbers[0] or 0)
    if sub is None or not may_act_on(context.actor, sub.township_id):
        await refuse(update, context, "common.not_allowed")
        return None
    return sub


async def _already_reviewed(update: Update, context: BotContext) -> None:
    await safe_answer_query(
        update.callback_query,
        context.t("info.review.already"),
        alert=True,
    )


async def _load_for_review(
    update: Update, context: BotContext, prefix: str
) -> tuple[Submission, int] | None:
    """Parse "prefix:id:version", check scope and that it still waits for review."""
    fields = button_fields(update, prefix, 2)
    sub = await _submission_in_scope(update, context, fields)
    if sub is None or fields is None:
        return None
    version = int(fields[1])
    if sub.state != "pending" or sub.version != version:
        await _already_reviewed(update, context)
        return None
    return sub, version


def _outcome_notice(
    t: Translator, sub: Submission, reviewer: Person, comment: str | None
) -> tuple[dict[str, Any], str]:
    """Return the liaison's notice of a review outcome and its dedup key."""
    fields = {"ref": reference(sub.id), "title": sub.title, "name": reviewer.name}
    if comment is None:
        return {"text": t("info.adopted_notice", **fields)}, f"info:adopted:{sub.id}"
    revise = {"text": t("info.btn.revise"), "callback_data": f"info:rev:{sub.id}"}
    payload = {
        "text": t("info.returned_notice", comment=comment, **fields),
        "reply_markup": {"inline_keyboard": [[revise]]},
    }
    return payload, f"info:returned:{sub.id}:{sub.version}"


async def _record_review(
    context: BotContext, sub: Submission, version: int, comment: str | None
) -> bool:
    """Adopt (no comment) or return a submission; tell its liaison, close reviewers' copies."""
    reviewer = context.actor
    assert reviewer is not None
    now = time_now(context)
    adopted = comment is None
    async with context.deps.db.transaction() as tx:
        if not await submissions(context).review(
            tx,
            now,
            sub.id,
            state="adopted" if adopted else "returned",
            reviewer_id=reviewer.id,
            comment=comment,
            expect_version=version,
        ):
            return False  # reviewed already, or the button shows an older version
        liaison = await context.deps.people.get(sub.person_id, tx=tx)
        if liaison is not None and liaison.telegram_id is not None:
            payload, dedup_key = _outcome_notice(
                context.deps.i18n.for_person(liaison), sub, reviewer, comment
            )
            await enqueue(
                tx,
                now,
                chat_id=liaison.telegram_id,
                person_id=liaison.id,
                payload=payload,
                dedup_key=dedup_key,
            )
        closed = "info.review.closed_adopted" if adopted else "info.review.closed_returned"
        await _close_review_messages(context, tx, now, sub, reviewer, closed)
    return True


@guard(*REVIEWERS)
async def on_adopt(update: Update, context: BotContext) -> None:
    """Adopt a submission and tell the liaison."""
    found = await _load_for_review(update, context, "ok")
    if found is None:
        return
    sub, version = found
    if not await _record_review(context, sub, version, comment=None):
        await _already_reviewed(update, context)
        return
    context.deps.wake_outbox()
    await answer(
        update,
        context,
        context.t("info.review.adopted", ref=reference(sub.id), title=sub.title),
        edit=True,
    )


def _return_cancel_markup(t: Translator) -> InlineKeyboardMarkup | None:
    return keyboard([button(t("info.btn.cancel"), "info:rc")])


@guard(*REVIEWERS, end_conversation=True)
async def start_return(update: Update, context: BotContext) -> str | int:
    """Ask the reviewer why the submission goes back."""
    found = await _load_for_review(update, context, "ret")
    if found is None:
        return END
    sub, version = found
    drafts(context)[RETURN_DRAFT] = {
        "id": sub.id,
        "version": version,
        "updated_at": time_now(context).isoformat(),
    }
    t = context.t
    await answer(
        update,
        context,
        t("info.review.ask_comment", ref=reference(sub.id), title=sub.title),
        _return_cancel_markup(t),
    )
    return COMMENT


async def _ask_comment_again(update: Update, context: BotContext) -> str:
    t = context.t
    await answer(
        update, context, t("info.review.comment_invalid", max=MAX_COMMENT), _return_cancel_markup(t)
    )
    return COMMENT


@guard(*REVIEWERS, end_conversation=True)
async def on_comment(update: Update, context: BotContext) -> str | int:
    """Return the submission with the reviewer's comment; the liaison may revise it."""
    text = ((update.effective_message.text if update.effective_message else None) or "").strip()
    pending = drafts(context).get(RETURN_DRAFT)
    if pending is None:
        return END
    if not text or len(text) > MAX_COMMENT:
        return await _ask_comment_again(update, context)
    actor = context.actor
    assert actor is not None
    sub = await submissions(context).get(int(pending["id"]))
    # Scope again: the roster may have changed while the reviewer was typing.
    if sub is None or not may_act_on(actor, sub.township_id):
        drafts(context).pop(RETURN_DRAFT, None)
        await refuse(update, context, "common.not_allowed")
        return END
    ok = await _record_review(context, sub, int(pending["version"]), comment=text)
    drafts(context).pop(RETURN_DRAFT, None)
    if not ok:
        await answer(update, context, context.t("info.review.already"))
        return END
    context.deps.wake_outbox()
    await answer(update, context, context.t("info.review.returned", ref=reference(sub.id)))
    return END


@guard(*REVIEWERS, end_conversation=True)
async def comment_other(update: Update, context: BotContext) -> str:
    """Re-prompt for a text comment."""
    return await _ask_comment_again(update, context)


@guard(*REVIEWERS, end_conversation=True)
async def cancel_return(update: Update, context: BotContext) -> int:
    """Give up returning; the submission stays pending."""
    drafts(context).pop(RETURN_DRAFT, None)
    await answer(
        update,
        context,
        context.t("info.review.return_cancelled"),
        edit=update.callback_query is not None,
    )
    return END


@guard(*REVIEWERS)
async def review_list(update: Update, context: BotContext) -> None:
    """List submissions waiting for review in the reviewer's township, oldest first."""
    actor = context.actor
    assert actor is not None
    t = context.t
    pending = await submissions(context).pending(actor.township_id)
    if not pending:
        await answer(update, context, t("info.review.none"))
        return
    rows = [
        [
            button(
                clip(
                    t(
                        "info.review.item",
                        ref=reference(s.id),
                        village=s.village or "",
                        kind=kind_label(t, s.kind),
                        title=s.title,
                    ),
                    60,
                ),
                f"info:o:{s.id}",
            )
        ]
        for s in pending[:30]
    ]
    await answer(update, context, t("info.review.list", n=len(pending)), keyboard(*rows))


@guard(*REVIEWERS)
async def review_open(update: Update, context: BotContext) -> None:
    """Show one submission with its attachments and the Adopt / Return buttons."""
    t = context.t
    sub = await _submission_in_scope(update, context, button_fields(update, "o", 1))
    if sub is None:
        return
    await safe_answer_query(update.callback_query)
    files = await submissions(context).attachments(sub.id)
    text = _review_text(t, sub, len(files))
    if sub.state != "pending":
        text += "\n\n" + t("info.state_line", state=t(STATE_KEYS[sub.state]))
        markup = None
    else:
        rows = _review_markup(t, sub, 0)["inline_keyboard"]
        markup = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in r]
                for r in rows
            ]
        )
    await _send_files(update, context, files)
    parts = split_text(text)
    for part in parts[:-1]:
        await answer(update, context, part)
    await answer(update, context, parts[-1], markup)


async def _send_files(update: Update, context: BotContext, files: list[Attachment]) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    for f in files:
        if f.kind == "photo":
            await context.bot.send_photo(chat.id, f.file_id)
        else:
            await context.bot.send_document(chat.id, f.file_id)


# --- wiring ------------------------------------------------------------------------------


def get_handlers() -> list[BaseHandler]:
    """Return the return-with-comment conversation, then the review buttons and /review."""
    returning = conversation(
        "info_return",
        entry_points=[CallbackQueryHandler(start_return, pattern=r"^info:ret:")],
        states={
            COMMENT: [
                MessageHandler(filters.TEXT & ~filters.COMMAND, on_comment),
                MessageHandler(~filters.COMMAND, comment_other),
            ],
        },
        fallbacks=[
            CallbackQueryHandler(cancel_return, pattern=r"^info:rc$"),
            CommandHandler("cancel", cancel_return),
        ],
    )
    return [
        returning,
        CallbackQueryHandler(on_adopt, pattern=r"^info:ok:"),
        CallbackQueryHandler(review_open, pattern=r"^info:o:"),
        CommandHandler("review", review_list),
    ]
