"""Information submissions: /info, review (Adopt / Return), revision from /mine, /review."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
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
    KIND_KEYS,
    KINDS,
    MAX_BODY,
    MAX_COMMENT,
    MAX_DOCUMENT_BYTES,
    MAX_FILES,
    MAX_PHOTOS,
    MAX_TITLE,
    STATE_KEYS,
    SubmissionDraft,
    body_error,
    join_body,
    kind_label,
    reference,
    title_error,
)
from bot.domain.people import Person, Role
from bot.domain.text import clip, split_text
from bot.forms import Choice, Collect, Done, Form, Invalid, Stay, Summary, Text, codec
from bot.handlers.common import (
    answer,
    button,
    guard,
    keyboard,
    may_act_on,
    refuse,
    safe_answer_query,
)
from bot.i18n import Translator
from bot.storage.db import Tx
from bot.storage.outbox import enqueue
from bot.storage.submissions import Attachment, Submission, SubmissionRepo

COMMENT = "comment"  # the reviewer's return conversation
END = ConversationHandler.END

RETURN_DRAFT = "info_return"
REVIEWERS = (Role.COMMISSIONER, Role.LEADER)
OVERSIGHT = (Role.COMMISSIONER, Role.LEADER, Role.COUNTY)

_TITLE_ERRORS = {
    "empty": "info.err.title_empty",
    "multiline": "info.err.title_multiline",
    "too_long": "info.err.title_too_long",
}


def _args(update: Update, tag: str, n: int) -> list[str] | None:
    """Return the n fields after "info:<tag>:" of a pressed button, None when malformed."""
    data = update.callback_query.data if update.callback_query else None
    fields = codec.split(data, "info", n + 1)
    if not fields or fields[0] != tag:
        return None
    return fields[1:]


def _repo(context: BotContext) -> SubmissionRepo:
    return SubmissionRepo(context.deps.db)


def _now(context: BotContext) -> datetime:
    return context.deps.clock.now()


# --- the liaison's form (declared; bot/forms/ walks it) ----------------------------------


class InfoDraft(BaseModel):
    """What a liaison has answered so far."""

    kind: str | None = None
    title: str | None = None
    parts: list[str] = Field(default_factory=list)
    body_done: bool = False
    files: list[dict[str, Any]] = Field(default_factory=list)
    files_done: bool = False
    revise_of: int | None = None


def _count(files: list[dict[str, Any]], kind: str) -> int:
    """Count the draft's files of one kind ("photo" or "document")."""
    return sum(1 for f in files if f["kind"] == kind)


def _summary(context: BotContext, draft: InfoDraft) -> str:
    t = context.t
    photos = _count(draft.files, "photo")
    head = (
        t("info.summary_revise", ref=reference(draft.revise_of))
        if draft.revise_of
        else t("info.summary")
    )
    return t(
        "info.summary_body",
        head=head,
        kind=kind_label(t, draft.kind or ""),
        title=draft.title or "",
        body=clip(join_body(draft.parts), 3000),
        photos=photos,
        documents=len(draft.files) - photos,
    )


def _title(text: str) -> str | Invalid:
    code = title_error(text)
    if code:
        return Invalid(_TITLE_ERRORS[code], {"max": MAX_TITLE, "n": len(text.strip())})
    return text.strip()


def _add_part(context: BotContext, draft: InfoDraft, message: Message) -> Stay:
    t, text = context.t, message.text or ""
    if body_error(draft.parts, text) == "too_long":
        have = len(join_body(draft.parts))
        return Stay(t("info.err.body_too_long", max=MAX_BODY, have=have, n=len(text)))
    if not text.strip():
        return Stay(t("info.err.body_text"))
    draft.parts.append(text)
    return Stay(t("info.body_received", n=len(join_body(draft.parts)), max=MAX_BODY))


def _body_done(context: BotContext, draft: InfoDraft) -> Stay | None:
    if body_error(draft.parts) == "empty":
        return Stay(context.t("info.err.body_empty"))
    draft.body_done = True
    return None


def _add_photo(context: BotContext, draft: InfoDraft, message: Message) -> Stay:
    t = context.t
    if _count(draft.files, "photo") >= MAX_PHOTOS:
        return Stay(t("info.err.too_many_photos", max=MAX_PHOTOS))
    best = message.photo[-1]
    meta = {"size": best.file_size}
    file = {"kind": "photo", "file_id": best.file_id, "file_unique_id": best.file_unique_id}
    draft.files.append({**file, "meta": meta})
    return Stay(t("info.file_received", n=len(draft.files)))


def _add_document(context: BotContext, draft: InfoDraft, message: Message) -> Stay:
    t, doc = context.t, message.document
    assert doc is not None
    if doc.file_size is not None and doc.file_size > MAX_DOCUMENT_BYTES:
        mb = MAX_DOCUMENT_BYTES // (1024 * 1024)
        return Stay(t("info.err.document_too_big", name=doc.file_name or "", mb=mb))
    if _count(draft.files, "document") >= MAX_FILES:
        return Stay(t("info.err.too_many_documents", max=MAX_FILES))
    meta = {"file_name": doc.file_name, "mime_type": doc.mime_type, "size": doc.file_size}
    file = {"kind": "document", "file_id": doc.file_id, "file_unique_id": doc.file_unique_id}
    draft.files.append({**file, "meta": meta})
    return Stay(t("info.file_received", n=len(draft.files)))


def _files_done(context: BotContext, draft: InfoDraft) -> None:
    draft.files_done = True


def _reset_body(draft: InfoDraft) -> None:
    draft.parts, draft.body_done = [], False


def _reset_files(draft: InfoDraft) -> None:
    draft.files, draft.files_done = [], False


async def _submit(context: BotContext, draft: InfoDraft, tx: Tx) -> Done | Stay:
    """Store the submission (or the revision) and queue it to the township's commissioners."""
    actor = context.actor
    assert actor is not None and actor.township_id is not None
    try:
        valid = SubmissionDraft(
            kind=draft.kind or "", title=draft.title or "", body=join_body(draft.parts)
        )
    except ValidationError:
        return Stay(context.t("info.err.incomplete"))
    now, repo = _now(context), _repo(context)
    if draft.revise_of:
        sid = draft.revise_of
        if await repo.resubmit(tx, now, sid, actor.id, valid.title, valid.body) is None:
            return Done(None, context.t("info.revise_not_possible"))
    else:
        files = [
            Attachment(f["kind"], f["file_id"], f.get("file_unique_id"), f.get("meta") or {})
            for f in draft.files
        ]
        sid = await repo.create(
            tx,
            now,
            township_id=actor.township_id,
            village_id=actor.village_id,
            person_id=actor.id,
            kind=valid.kind,
            title=valid.title,
            body=valid.body,
            attachments=files,
        )
    sub = await repo.get(sid, tx)
    assert sub is not None
    await _notify_reviewers(context, tx, now, sub)
    key = "info.resubmitted" if draft.revise_of else "info.submitted"
    return Done(sid, context.t(key, ref=reference(sid)))


def _not_revising(draft: InfoDraft) -> bool:
    return not draft.revise_of


INFO = Form(
    name="info",
    prefix="inf",
    model=InfoDraft,
    steps=[
        Choice(
            "kind",
            "info.ask_kind",
            lambda c, d: [(k, kind_label(c.t, k)) for k in KINDS],
            when=_not_revising,
            label="info.btn.edit_kind",
        ),
        Text(
            "title",
            lambda c, d: c.t("info.ask_title", max=MAX_TITLE),
            _title,
            wrong=lambda c, d: c.t("info.err.title_text", max=MAX_TITLE),
            label="info.btn.edit_title",
        ),
        Collect(
            name="body",
            ask=lambda c, d: c.t("info.ask_body", max=MAX_BODY),
            accept={"text": _add_part},
            done_label="info.btn.done",
            finish=_body_done,
            done=lambda d: d.body_done,
            reset=_reset_body,
            wrong="info.err.body_text",
            label="info.btn.edit_body",
        ),
        Collect(
            name="files",
            ask=lambda c, d: c.t("info.ask_files", photos=MAX_PHOTOS),
            accept={"photo": _add_photo, "document": _add_document},
            done_label=lambda c, d: c.t("info.btn.files_done" if d.files else "info.btn.skip"),
            finish=_files_done,
            done=lambda d: d.files_done,
            when=_not_revising,
            reset=_reset_files,
            wrong="info.err.files_only",
            label="info.btn.edit_files",
        ),
    ],
    summary=Summary(render=_summary, edit=("kind", "title", "body", "files")),
    submit=_submit,
    keys={
        "cancelled": "info.cancelled",
        "dropped": "info.expired",
        "submit": "info.btn.submit",
        "edit": "info.btn.edit",
        "cancel": "info.btn.cancel",
        "ask_edit": "info.edit_what",
        "use_buttons": "info.err.use_buttons",
    },
)


async def start_info(update: Update, context: BotContext) -> object:
    """/info: start a new submission (a half-filled one is replaced)."""
    return await INFO.begin(update, context, InfoDraft())


INFO.restart = start_info


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


async def _notify_reviewers(context: BotContext, tx: Any, now: datetime, sub: Submission) -> None:
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
    sub = await _repo(context).get(numbers[0] or 0)
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
    fields = _args(update, prefix, 2)
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
    now = _now(context)
    adopted = comment is None
    async with context.deps.db.transaction() as tx:
        if not await _repo(context).review(
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
        "updated_at": _now(context).isoformat(),
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
    sub = await _repo(context).get(int(pending["id"]))
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
    pending = await _repo(context).pending(actor.township_id)
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
    sub = await _submission_in_scope(update, context, _args(update, "o", 1))
    if sub is None:
        return
    await safe_answer_query(update.callback_query)
    files = await _repo(context).attachments(sub.id)
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


# --- the liaison's own submissions (/mine → "mine:i") ------------------------------------


async def _own_submission(update: Update, context: BotContext, tag: str) -> Submission | None:
    """Load the submission a pressed "info:<tag>:<id>" names if the actor wrote it, else refuse."""
    fields = _args(update, tag, 1)
    found = codec.parse_int(fields[0]) if fields else None
    sub = await _repo(context).get(found) if found is not None else None
    if sub is None or context.actor is None or sub.person_id != context.actor.id:
        await refuse(update, context, "common.not_allowed")
        return None
    return sub


@guard(Role.LIAISON)
async def mine_list(update: Update, context: BotContext) -> None:
    """List the liaison's latest submissions and their state."""
    actor = context.actor
    assert actor is not None
    t = context.t
    subs = await _repo(context).of_person(actor.id)
    if not subs:
        await answer(update, context, t("info.mine.none"))
        return
    rows = [
        [
            button(
                clip(
                    t(
                        "info.mine.item",
                        ref=reference(s.id),
                        state=t(STATE_KEYS[s.state]),
                        title=s.title,
                    ),
                    60,
                ),
                f"info:m:{s.id}",
            )
        ]
        for s in subs
    ]
    await answer(update, context, t("info.mine.list"), keyboard(*rows))


@guard(Role.LIAISON)
async def mine_open(update: Update, context: BotContext) -> None:
    """Show one of the liaison's submissions; a returned one can be revised."""
    t = context.t
    sub = await _own_submission(update, context, "m")
    if sub is None:
        return
    text = t(
        "info.mine.detail",
        ref=reference(sub.id),
        kind=kind_label(t, sub.kind),
        title=sub.title,
        state=t(STATE_KEYS[sub.state]),
        version=sub.version,
        body=clip(sub.body, 3500),
    )
    markup = None
    if sub.state == "returned":
        text += "\n\n" + t("info.mine.comment", comment=sub.review_comment or "")
        markup = keyboard([button(t("info.btn.revise"), f"info:rev:{sub.id}")])
    await answer(update, context, text, markup)


async def start_revise(update: Update, context: BotContext) -> object:
    """Start revising a returned submission: the summary with its title and body to edit."""
    sub = await _own_submission(update, context, "rev")
    if sub is None:
        return END
    if sub.state != "returned":
        await refuse(update, context, "info.revise_not_possible")
        return END
    await safe_answer_query(update.callback_query)
    draft = InfoDraft(
        kind=sub.kind,
        title=sub.title,
        parts=[sub.body],
        body_done=True,
        files_done=True,
        revise_of=sub.id,
    )
    note = context.t("info.mine.comment", comment=sub.review_comment or "")
    return await INFO.begin(update, context, draft, note=note)


# --- wiring ------------------------------------------------------------------------------

_TEXT = filters.TEXT & ~filters.COMMAND


def _conversation(
    name: str,
    entry_points: list[BaseHandler],
    states: dict[object, list[BaseHandler]],
    fallbacks: list[BaseHandler],
) -> ConversationHandler:
    """Build a conversation that survives restarts and can be started again at any step."""
    return ConversationHandler(
        entry_points=entry_points,
        states=states,
        fallbacks=fallbacks,
        name=name,
        persistent=True,
        allow_reentry=True,
    )


def get_handlers() -> list[BaseHandler]:
    """Return the /info and review conversations, then the plain commands and buttons."""
    info = INFO.conversation(
        [
            CommandHandler("info", INFO.guarded(start_info)),
            CallbackQueryHandler(INFO.guarded(start_revise), pattern=r"^info:rev:"),
        ]
    )
    returning = _conversation(
        "info_return",
        entry_points=[CallbackQueryHandler(start_return, pattern=r"^info:ret:")],
        states={
            COMMENT: [
                MessageHandler(_TEXT, on_comment),
                MessageHandler(~filters.COMMAND, comment_other),
            ],
        },
        fallbacks=[
            CallbackQueryHandler(cancel_return, pattern=r"^info:rc$"),
            CommandHandler("cancel", cancel_return),
        ],
    )
    return [
        info,
        returning,
        CallbackQueryHandler(on_adopt, pattern=r"^info:ok:"),
        CallbackQueryHandler(review_open, pattern=r"^info:o:"),
        CallbackQueryHandler(mine_open, pattern=r"^info:m:"),
        CallbackQueryHandler(mine_list, pattern=r"^mine:i$"),
        CommandHandler("review", review_list),
    ]


__all__ = ["KIND_KEYS", "get_handlers"]
