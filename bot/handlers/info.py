"""Information submissions from the liaison's side: the /info form (declared on bot/forms/;
info.mmd is generated from it), the liaison's own submissions in /mine and revising a returned
one. Review (Adopt / Return, /review): bot/handlers/info_review.py.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, ValidationError
from telegram import Message, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
)

from bot.context import BotContext
from bot.domain.info import (
    KINDS,
    MAX_BODY,
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
from bot.domain.people import Role
from bot.domain.text import clip
from bot.forms import Choice, Collect, Done, Form, Invalid, Stay, Summary, Text
from bot.handlers import info_review
from bot.handlers.common import answer, button, guard, keyboard, refuse, safe_answer_query
from bot.handlers.info_review import notify_reviewers, pressed, show_list, submissions
from bot.storage.attachments import Attachment
from bot.storage.db import Tx

END = ConversationHandler.END

_TITLE_ERRORS = {
    "empty": "info.err.title_empty",
    "multiline": "info.err.title_multiline",
    "too_long": "info.err.title_too_long",
}


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


def _add_file(context: BotContext, draft: InfoDraft, message: Message) -> Stay:
    """Keep a photo or a document (within the limits) among the draft's files."""
    t, doc = context.t, message.document
    if doc and doc.file_size is not None and doc.file_size > MAX_DOCUMENT_BYTES:
        mb = MAX_DOCUMENT_BYTES // (1024 * 1024)
        return Stay(t("info.err.document_too_big", name=doc.file_name or "", mb=mb))
    kind, most = ("document", MAX_FILES) if doc else ("photo", MAX_PHOTOS)
    if _count(draft.files, kind) >= most:
        key = "info.err.too_many_documents" if doc else "info.err.too_many_photos"
        return Stay(t(key, max=most))
    file = doc or message.photo[-1]
    meta = {"file_name": doc.file_name, "mime_type": doc.mime_type} if doc else {}
    draft.files.append(
        {
            "kind": kind,
            "file_id": file.file_id,
            "file_unique_id": file.file_unique_id,
            "meta": {**meta, "size": file.file_size},
        }
    )
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
    now, repo = context.deps.clock.now(), submissions(context)
    if draft.revise_of:
        sid = draft.revise_of
        if await repo.resubmit(tx, now, sid, actor.id, valid.title, valid.body) is None:
            return Done(None, context.t("info.revise_not_possible"))
    else:
        files = [Attachment(**f) for f in draft.files]
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
    await notify_reviewers(context, tx, now, sub)
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
            accept={"photo": _add_file, "document": _add_file},
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


# --- the liaison's own submissions (/mine → "mine:i") ------------------------------------


@guard(Role.LIAISON)
async def mine_list(update: Update, context: BotContext) -> None:
    """List the liaison's latest submissions and their state."""
    assert context.actor is not None
    t = context.t
    await show_list(
        update,
        context,
        await submissions(context).of_person(context.actor.id),
        (t("info.mine.none"), t("info.mine.list")),
        lambda s: t(
            "info.mine.item", ref=reference(s.id), state=t(STATE_KEYS[s.state]), title=s.title
        ),
        "m",
    )


@guard(Role.LIAISON)
async def mine_open(update: Update, context: BotContext) -> None:
    """Show one of the liaison's submissions; a returned one can be revised."""
    t = context.t
    sub = await pressed(update, context, "m", own=True)
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
    sub = await pressed(update, context, "rev", own=True)
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


def get_handlers() -> list[BaseHandler]:
    """Return the /info form, the review handlers, then the liaison's own submissions."""
    info = INFO.conversation(
        [
            CommandHandler("info", INFO.guarded(start_info)),
            CallbackQueryHandler(INFO.guarded(start_revise), pattern=r"^info:rev:"),
        ]
    )
    return [
        info,
        *info_review.get_handlers(),
        CallbackQueryHandler(mine_open, pattern=r"^info:m:"),
        CallbackQueryHandler(mine_list, pattern=r"^mine:i$"),
    ]
