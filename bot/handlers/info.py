"""Information submissions: /info, review (Adopt / Return), revision from /mine, /review."""

from __future__ import annotations

import functools
import secrets
from datetime import datetime, timedelta
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
from bot.forms import codec
from bot.handlers.common import (
    Callback,
    answer,
    button,
    guard,
    keyboard,
    may_act_on,
    refuse,
    safe_answer_query,
)
from bot.i18n import Translator
from bot.storage import drafts as mirror
from bot.storage.db import Tx
from bot.storage.outbox import enqueue
from bot.storage.submissions import Attachment, Submission, SubmissionRepo

# Conversation states (strings survive JSON persistence unchanged).
KIND, TITLE, BODY, FILES, CONFIRM, EDIT = "kind", "title", "body", "files", "confirm", "edit"
COMMENT = "comment"
END = ConversationHandler.END

DRAFT = "info"
FORM = "info"  # this form in form_drafts (the 24 h drop: bot/reminders/drafts.py)
RETURN_DRAFT = "info_return"
STALE_AFTER = timedelta(hours=24)
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


# --- the draft ---------------------------------------------------------------------------


def _draft(context: BotContext) -> dict[str, Any] | None:
    return drafts(context).get(DRAFT)


async def _touch(update: Update, context: BotContext, draft: dict[str, Any]) -> None:
    """Store the draft in user_data and mirror it in form_drafts (for the 24 h drop)."""
    now = _now(context)
    draft.setdefault("token", secrets.token_hex(4))
    draft["updated_at"] = now.isoformat()
    drafts(context)[DRAFT] = draft
    assert context.actor is not None and update.effective_chat is not None
    await mirror.touch_draft(
        context.deps.db, FORM, draft["token"], context.actor.id, update.effective_chat.id, now
    )


def _drop(context: BotContext) -> None:
    drafts(context).pop(DRAFT, None)


async def _close(
    context: BotContext, state: str, record_id: int | None = None, tx: Tx | None = None
) -> None:
    """Close the mirror of the current draft (submitted, cancelled or dropped)."""
    token = (_draft(context) or {}).get("token")
    if not token:
        return
    if tx is not None:
        await mirror.close_draft(tx, FORM, token, state, _now(context), record_id)
        return
    async with context.deps.db.transaction() as own:
        await mirror.close_draft(own, FORM, token, state, _now(context), record_id)


async def _dropped_by_due_work(context: BotContext) -> bool:
    """Return whether the 24 h due work already dropped this draft (and told the user)."""
    token = (_draft(context) or {}).get("token")
    if not token:
        return False
    row = await mirror.get_draft(context.deps.db, FORM, token)
    return row is not None and row.state == "dropped"


async def _gone(update: Update, context: BotContext) -> str | int | None:
    """Return the state to go to when the draft is gone or idle for 24 h, else None.

    An idle draft is dropped with a notice. One the due work already dropped (and announced)
    goes without a second notice: its buttons are refused as expired, a message starts clean.
    """
    draft = _draft(context)
    if draft is not None and await _dropped_by_due_work(context):
        _drop(context)
        if update.callback_query is not None:
            await safe_answer_query(update.callback_query, context.t("common.stale"), alert=True)
            return END
        return await _start_clean(update, context)
    if draft is not None:
        idle = _now(context) - datetime.fromisoformat(draft["updated_at"])
        if idle <= STALE_AFTER:
            return None
        await _close(context, "dropped")
    _drop(context)
    await answer(update, context, context.t("info.expired"))
    return END


def _draft_step(step: Callback) -> Callback:
    """Guard a /info step for liaisons and end the conversation when its draft is gone or stale."""

    @guard(Role.LIAISON, end_conversation=True)
    @functools.wraps(step)
    async def checked(update: Update, context: BotContext) -> Any:
        if (state := await _gone(update, context)) is not None:
            return state
        return await step(update, context)

    return checked


def _count(files: list[dict[str, Any]], kind: str) -> int:
    """Count the draft's files of one kind ("photo" or "document")."""
    return sum(1 for f in files if f["kind"] == kind)


def _cancel_row(t: Translator) -> list:
    return [button(t("info.btn.cancel"), "info:cancel")]


async def _ask_kind(update: Update, context: BotContext) -> str:
    t = context.t
    rows = [[button(kind_label(t, k), f"info:k:{k}")] for k in KINDS]
    await answer(update, context, t("info.ask_kind"), keyboard(*rows, _cancel_row(t)))
    return KIND


async def _ask_title(update: Update, context: BotContext) -> str:
    t = context.t
    await answer(update, context, t("info.ask_title", max=MAX_TITLE), keyboard(_cancel_row(t)))
    return TITLE


async def _ask_body(update: Update, context: BotContext) -> str:
    t = context.t
    await answer(update, context, t("info.ask_body", max=MAX_BODY), keyboard(_cancel_row(t)))
    return BODY


async def _ask_files(update: Update, context: BotContext) -> str:
    t = context.t
    draft = _draft(context) or {}
    label = t("info.btn.files_done") if draft.get("files") else t("info.btn.skip")
    await answer(
        update,
        context,
        t("info.ask_files", photos=MAX_PHOTOS),
        keyboard([button(label, "info:fdone")], _cancel_row(t)),
    )
    return FILES


def _summary_text(t: Translator, draft: dict[str, Any]) -> str:
    files = draft.get("files", [])
    photos = _count(files, "photo")
    docs = len(files) - photos
    head = (
        t("info.summary_revise", ref=reference(draft["revise_of"]))
        if draft.get("revise_of")
        else t("info.summary")
    )
    return t(
        "info.summary_body",
        head=head,
        kind=kind_label(t, draft["kind"]),
        title=draft["title"],
        body=clip(join_body(draft["parts"]), 3000),
        photos=photos,
        documents=docs,
    )


async def _show_summary(update: Update, context: BotContext) -> str:
    t = context.t
    draft = _draft(context)
    assert draft is not None
    draft["editing"] = True
    await _touch(update, context, draft)
    markup = keyboard(
        [button(t("info.btn.submit"), "info:submit")],
        [button(t("info.btn.edit"), "info:edit"), button(t("info.btn.cancel"), "info:cancel")],
    )
    await answer(update, context, _summary_text(t, draft), markup)
    return CONFIRM


async def _next_step(
    update: Update, context: BotContext, draft: dict[str, Any], ask_next: Callback
) -> str:
    """Go back to the summary when editing a finished draft, else ask the next question."""
    if draft.get("editing"):
        return await _show_summary(update, context)
    return await ask_next(update, context)


# --- /info steps -----------------------------------------------------------------------


@guard(Role.LIAISON, end_conversation=True)
async def start_info(update: Update, context: BotContext) -> str:
    """Start a new submission."""
    return await _start_clean(update, context)


async def _start_clean(update: Update, context: BotContext) -> str:
    """Start a new, empty draft (the one it replaces is closed) and ask for its kind."""
    await _close(context, "cancelled")
    draft = {
        "kind": None,
        "title": None,
        "parts": [],
        "files": [],
        "revise_of": None,
        "editing": False,
    }
    await _touch(update, context, draft)
    return await _ask_kind(update, context)


@_draft_step
async def on_kind(update: Update, context: BotContext) -> str | int:
    """Store the chosen kind."""
    fields = _args(update, "k", 1)
    if not fields or fields[0] not in KINDS:
        await safe_answer_query(update.callback_query)  # type: ignore[arg-type]
        return KIND
    draft = _draft(context)
    assert draft is not None
    draft["kind"] = fields[0]
    await _touch(update, context, draft)
    await answer(
        update,
        context,
        context.t("info.kind_chosen", kind=kind_label(context.t, fields[0])),
        edit=True,
    )
    return await _next_step(update, context, draft, _ask_title)


@_draft_step
async def kind_text(update: Update, context: BotContext) -> str | int:
    """Re-prompt when something other than a kind button arrives."""
    await answer(update, context, context.t("info.err.use_buttons"))
    return await _ask_kind(update, context)


@_draft_step
async def on_title(update: Update, context: BotContext) -> str | int:
    """Store the title (one line, at most 60 characters)."""
    text = update.effective_message.text if update.effective_message else None
    code = title_error(text)
    if code:
        await answer(
            update,
            context,
            context.t(_TITLE_ERRORS[code], max=MAX_TITLE, n=len((text or "").strip())),
        )
        return TITLE
    draft = _draft(context)
    assert draft is not None and text is not None
    draft["title"] = text.strip()
    await _touch(update, context, draft)
    return await _next_step(update, context, draft, _ask_body)


@_draft_step
async def title_other(update: Update, context: BotContext) -> str | int:
    """Re-prompt when a title step gets a photo, sticker or file."""
    await answer(update, context, context.t("info.err.title_text", max=MAX_TITLE))
    return TITLE


def _body_markup(t: Translator) -> Any:
    return keyboard([button(t("info.btn.done"), "info:bdone")], _cancel_row(t))


@_draft_step
async def on_body(update: Update, context: BotContext) -> str | int:
    """Add one message to the body; the liaison presses Done when it is complete."""
    t = context.t
    text = (update.effective_message.text if update.effective_message else None) or ""
    draft = _draft(context)
    assert draft is not None
    if body_error(draft["parts"], text) == "too_long":
        have = len(join_body(draft["parts"]))
        await answer(
            update,
            context,
            t("info.err.body_too_long", max=MAX_BODY, have=have, n=len(text)),
            _body_markup(t),
        )
        return BODY
    if not text.strip():
        await answer(update, context, t("info.err.body_text"), _body_markup(t))
        return BODY
    draft["parts"].append(text)
    await _touch(update, context, draft)
    await answer(
        update,
        context,
        t("info.body_received", n=len(join_body(draft["parts"])), max=MAX_BODY),
        _body_markup(t),
    )
    return BODY


@_draft_step
async def body_other(update: Update, context: BotContext) -> str | int:
    """Re-prompt when the body step gets something other than text."""
    await answer(update, context, context.t("info.err.body_text"), _body_markup(context.t))
    return BODY


@_draft_step
async def body_done(update: Update, context: BotContext) -> str | int:
    """Finish the body, then ask for attachments (or go back to the summary)."""
    draft = _draft(context)
    assert draft is not None
    await safe_answer_query(update.callback_query)  # type: ignore[arg-type]
    if body_error(draft["parts"]) == "empty":
        await answer(update, context, context.t("info.err.body_empty"), _body_markup(context.t))
        return BODY
    return await _next_step(update, context, draft, _ask_files)


@_draft_step
async def on_file(update: Update, context: BotContext) -> str | int:
    """Keep a photo (at most five) or a document (at most 20 MB) by its file_id."""
    t = context.t
    msg = update.effective_message
    draft = _draft(context)
    assert draft is not None and msg is not None
    files = draft["files"]
    done = keyboard([button(t("info.btn.files_done"), "info:fdone")], _cancel_row(t))
    if msg.photo:
        if _count(files, "photo") >= MAX_PHOTOS:
            await answer(update, context, t("info.err.too_many_photos", max=MAX_PHOTOS), done)
            return FILES
        best = msg.photo[-1]
        files.append(
            {
                "kind": "photo",
                "file_id": best.file_id,
                "file_unique_id": best.file_unique_id,
                "meta": {"size": best.file_size},
            }
        )
    elif msg.document:
        doc = msg.document
        if doc.file_size is not None and doc.file_size > MAX_DOCUMENT_BYTES:
            await answer(
                update,
                context,
                t(
                    "info.err.document_too_big",
                    name=doc.file_name or "",
                    mb=MAX_DOCUMENT_BYTES // (1024 * 1024),
                ),
                done,
            )
            return FILES
        if _count(files, "document") >= MAX_FILES:
            await answer(update, context, t("info.err.too_many_documents", max=MAX_FILES), done)
            return FILES
        files.append(
            {
                "kind": "document",
                "file_id": doc.file_id,
                "file_unique_id": doc.file_unique_id,
                "meta": {
                    "file_name": doc.file_name,
                    "mime_type": doc.mime_type,
                    "size": doc.file_size,
                },
            }
        )
    await _touch(update, context, draft)
    await answer(update, context, t("info.file_received", n=len(files)), done)
    return FILES


@_draft_step
async def files_other(update: Update, context: BotContext) -> str | int:
    """Re-prompt when the attachment step gets text or something else."""
    await answer(update, context, context.t("info.err.files_only"))
    return await _ask_files(update, context)


@_draft_step
async def files_done(update: Update, context: BotContext) -> str | int:
    """Finish attachments and show the summary."""
    await safe_answer_query(update.callback_query)  # type: ignore[arg-type]
    return await _show_summary(update, context)


@_draft_step
async def on_edit(update: Update, context: BotContext) -> str | int:
    """Offer the parts of the draft that can be changed."""
    t = context.t
    draft = _draft(context)
    assert draft is not None
    rows = [
        [button(t("info.btn.edit_title"), "info:e:title")],
        [button(t("info.btn.edit_body"), "info:e:body")],
    ]
    if not draft.get("revise_of"):
        rows.insert(0, [button(t("info.btn.edit_kind"), "info:e:kind")])
        rows.append([button(t("info.btn.edit_files"), "info:e:files")])
    await answer(update, context, t("info.edit_what"), keyboard(*rows, _cancel_row(t)), edit=True)
    return EDIT


@_draft_step
async def on_edit_choice(update: Update, context: BotContext) -> str | int:
    """Go back to one step; the rest of the draft is kept."""
    fields = _args(update, "e", 1)
    draft = _draft(context)
    assert draft is not None
    await safe_answer_query(update.callback_query)  # type: ignore[arg-type]
    choice = fields[0] if fields else ""
    if choice == "kind" and not draft.get("revise_of"):
        return await _ask_kind(update, context)
    if choice == "title":
        return await _ask_title(update, context)
    if choice == "body":
        draft["parts"] = []
        await _touch(update, context, draft)
        return await _ask_body(update, context)
    if choice == "files" and not draft.get("revise_of"):
        draft["files"] = []
        await _touch(update, context, draft)
        return await _ask_files(update, context)
    return EDIT


@_draft_step
async def buttons_only(update: Update, context: BotContext) -> str | int:
    """Re-prompt on the summary and edit steps, where only buttons make sense."""
    await answer(update, context, context.t("info.err.use_buttons"))
    return await _show_summary(update, context)


@_draft_step
async def on_submit(update: Update, context: BotContext) -> str | int:
    """Store the submission (or the revision) and send it to the township's commissioners."""
    actor = context.actor
    assert actor is not None and actor.township_id is not None
    draft = _draft(context)
    assert draft is not None
    try:
        valid = SubmissionDraft(
            kind=draft["kind"], title=draft["title"] or "", body=join_body(draft["parts"])
        )
    except Exception:
        await answer(update, context, context.t("info.err.incomplete"))
        return await _show_summary(update, context)
    now = _now(context)
    repo = _repo(context)
    async with context.deps.db.transaction() as tx:
        if draft.get("revise_of"):
            sid = int(draft["revise_of"])
            version = await repo.resubmit(tx, now, sid, actor.id, valid.title, valid.body)
            if version is None:
                sid = 0
        else:
            sid = await repo.create(
                tx,
                now,
                township_id=actor.township_id,
                village_id=actor.village_id,
                person_id=actor.id,
                kind=valid.kind,
                title=valid.title,
                body=valid.body,
                attachments=[
                    Attachment(
                        f["kind"], f["file_id"], f.get("file_unique_id"), f.get("meta") or {}
                    )
                    for f in draft["files"]
                ],
            )
            version = 1
        if sid:
            sub = await repo.get(sid, tx)
            assert sub is not None
            await _notify_reviewers(context, tx, now, sub)
            await _close(context, "submitted", sid, tx)
        else:
            await _close(context, "cancelled", None, tx)
    _drop(context)
    if not sid:
        await answer(update, context, context.t("info.revise_not_possible"), edit=True)
        return END
    context.deps.wake_outbox()
    key = "info.resubmitted" if version > 1 else "info.submitted"
    await answer(update, context, context.t(key, ref=reference(sid)), edit=True)
    return END


@guard(Role.LIAISON, end_conversation=True)
async def on_cancel(update: Update, context: BotContext) -> int:
    """Drop the draft."""
    await _close(context, "cancelled")
    _drop(context)
    await answer(
        update, context, context.t("info.cancelled"), edit=update.callback_query is not None
    )
    return END


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
    if not fields or not all(f.isdigit() for f in fields):
        await refuse(update, context, "common.stale")
        return None
    sub = await _repo(context).get(int(fields[0]))
    if sub is None or not may_act_on(context.actor, sub.township_id):
        await refuse(update, context, "common.not_allowed")
        return None
    return sub


async def _already_reviewed(update: Update, context: BotContext) -> None:
    await safe_answer_query(
        update.callback_query,
        context.t("info.review.already"),  # type: ignore[arg-type]
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


def _return_cancel_markup(t: Translator) -> InlineKeyboardMarkup:
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
    await safe_answer_query(update.callback_query)  # type: ignore[arg-type]
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
    sub = await _repo(context).get(int(fields[0])) if fields and fields[0].isdigit() else None
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


@guard(Role.LIAISON, end_conversation=True)
async def start_revise(update: Update, context: BotContext) -> str | int:
    """Start revising a returned submission: the summary with its title and body to edit."""
    sub = await _own_submission(update, context, "rev")
    if sub is None:
        return END
    if sub.state != "returned":
        await safe_answer_query(
            update.callback_query,
            context.t("info.revise_not_possible"),  # type: ignore[arg-type]
            alert=True,
        )
        return END
    await _close(context, "cancelled")  # one form at a time: the one it replaces is closed
    draft = {
        "kind": sub.kind,
        "title": sub.title,
        "parts": [sub.body],
        "files": [],
        "revise_of": sub.id,
        "editing": True,
    }
    await _touch(update, context, draft)
    await safe_answer_query(update.callback_query)  # type: ignore[arg-type]
    await answer(update, context, context.t("info.mine.comment", comment=sub.review_comment or ""))
    return await _show_summary(update, context)


# --- wiring ------------------------------------------------------------------------------

_TEXT = filters.TEXT & ~filters.COMMAND


def _conversation(
    name: str,
    entry_points: list[BaseHandler],
    states: dict[str, list[BaseHandler]],
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
    cancel = [
        CommandHandler("cancel", on_cancel),
        CallbackQueryHandler(on_cancel, pattern=r"^info:cancel$"),
    ]
    info = _conversation(
        "info",
        entry_points=[
            CommandHandler("info", start_info),
            CallbackQueryHandler(start_revise, pattern=r"^info:rev:"),
        ],
        states={
            KIND: [
                CallbackQueryHandler(on_kind, pattern=r"^info:k:"),
                MessageHandler(~filters.COMMAND, kind_text),
            ],
            TITLE: [MessageHandler(_TEXT, on_title), MessageHandler(~filters.COMMAND, title_other)],
            BODY: [
                MessageHandler(_TEXT, on_body),
                CallbackQueryHandler(body_done, pattern=r"^info:bdone$"),
                MessageHandler(~filters.COMMAND, body_other),
            ],
            FILES: [
                MessageHandler(filters.PHOTO | filters.Document.ALL, on_file),
                CallbackQueryHandler(files_done, pattern=r"^info:fdone$"),
                MessageHandler(~filters.COMMAND, files_other),
            ],
            CONFIRM: [
                CallbackQueryHandler(on_submit, pattern=r"^info:submit$"),
                CallbackQueryHandler(on_edit, pattern=r"^info:edit$"),
                MessageHandler(~filters.COMMAND, buttons_only),
            ],
            EDIT: [
                CallbackQueryHandler(on_edit_choice, pattern=r"^info:e:"),
                MessageHandler(~filters.COMMAND, buttons_only),
            ],
        },
        fallbacks=cancel,
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
