"""Review of information submissions: the card to the commissioners, Adopt, Return with a
comment (the "info_return" form, declared on bot/forms/; info_return.mmd is generated from it)
and /review. The liaison's form and /mine: bot/handlers/info.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.domain.info import MAX_COMMENT, STATE_KEYS, kind_label, reference
from bot.domain.people import Role
from bot.domain.text import clip, split_text
from bot.forms import END, Done, Form, Invalid, Text, codec
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
from bot.notify import notify, refresh_copies
from bot.storage.db import Tx
from bot.storage.submissions import Submission, SubmissionRepo

REVIEWERS = (Role.COMMISSIONER, Role.LEADER)


def submissions(context: BotContext) -> SubmissionRepo:
    return SubmissionRepo(context.deps.db)


async def pressed(
    update: Update, context: BotContext, tag: str, *, own: bool = False, pending: bool = False
) -> Submission | None:
    """Load the submission a pressed "info:<tag>:<id>" names (pending=True: "…:<id>:<version>"
    while that version waits for review); refuse it when forged, out of the actor's scope,
    (own=True) someone else's, or (pending=True) reviewed already."""
    query, actor = update.callback_query, context.actor
    numbers = codec.ids(query.data if query else None, "info", tag, 2 if pending else 1)
    if numbers is None:
        await refuse(update, context, "common.stale")
        return None
    sub = await submissions(context).get(numbers[0])
    mine = sub is not None and actor is not None and sub.person_id == actor.id
    if sub is None or not (mine if own else may_act_on(actor, sub.township_id)):
        await refuse(update, context, "common.not_allowed")
        return None
    if pending and (sub.state != "pending" or sub.version != numbers[1]):
        await safe_answer_query(query, context.t("info.review.already"), alert=True)
        return None
    return sub


async def show_list(
    update: Update,
    context: BotContext,
    subs: list[Submission],
    texts: tuple[str, str],
    item: Callable[[Submission], str],
    tag: str,
) -> None:
    """Answer texts[1] with a button "info:<tag>:<id>" per submission; texts[0] when none."""
    rows = [[button(clip(item(s), 60), f"info:{tag}:{s.id}")] for s in subs]
    await answer(update, context, texts[1] if subs else texts[0], keyboard(*rows))


# --- the card to the commissioners --------------------------------------------------------


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


def _review_markup(t: Translator, sub: Submission, attachments: int) -> InlineKeyboardMarkup:
    decide = [
        button(t("info.btn.adopt"), f"info:ok:{sub.id}:{sub.version}"),
        button(t("info.btn.return"), f"info:ret:{sub.id}:{sub.version}"),
    ]
    markup = keyboard(
        decide, [button(t("info.btn.open"), f"info:o:{sub.id}")] if attachments else []
    )
    assert markup is not None
    return markup


async def notify_reviewers(context: BotContext, tx: Tx, now: datetime, sub: Submission) -> None:
    """Queue the submission to every commissioner of its township, with Adopt / Return."""
    files = await SubmissionRepo.count_attachments(tx, sub.id)
    people = await context.deps.people.in_township(sub.township_id, (Role.COMMISSIONER,), tx=tx)
    await notify(
        context.deps,
        tx,
        now,
        people,
        lambda t, _: {
            "text": _review_text(t, sub, files),
            "reply_markup": _review_markup(t, sub, files).to_dict(),
        },
        key=lambda person: f"info:review:{sub.id}:{sub.version}:{person.id}",
        ref_kind="submission",
        ref_id=sub.id,
    )


# --- Adopt and Return ----------------------------------------------------------------------


def _outcome(
    t: Translator, sub: Submission, names: dict[str, str], comment: str | None
) -> dict[str, Any] | str:
    """Return the liaison's notice of a review outcome."""
    if comment is None:
        return t("info.adopted_notice", **names)
    revise = {"text": t("info.btn.revise"), "callback_data": f"info:rev:{sub.id}"}
    return {
        "text": t("info.returned_notice", comment=comment, **names),
        "reply_markup": {"inline_keyboard": [[revise]]},
    }


async def _record_review(
    context: BotContext, tx: Tx, sub: Submission, version: int, comment: str | None
) -> bool:
    """Adopt (no comment) or return a submission; tell its liaison, close reviewers' copies."""
    deps, reviewer = context.deps, context.actor
    assert reviewer is not None
    now = deps.clock.now()
    state = "adopted" if comment is None else "returned"
    if not await submissions(context).review(
        tx,
        now,
        sub.id,
        state=state,
        reviewer_id=reviewer.id,
        comment=comment,
        expect_version=version,
    ):
        return False  # reviewed already, or the button shows an older version
    names = {"ref": reference(sub.id), "title": sub.title, "name": reviewer.name}
    liaison = await deps.people.get(sub.person_id, tx=tx)
    await notify(
        deps,
        tx,
        now,
        [liaison] if liaison else [],
        lambda t, _: _outcome(t, sub, names, comment),
        key=lambda _: f"info:{state}:{sub.id}" + (f":{sub.version}" if comment else ""),
    )
    closed = "info.review.closed_returned" if comment else "info.review.closed_adopted"
    await refresh_copies(
        deps, tx, now, "submission", sub.id, lambda t, _: clip(t(closed, **names), 4000)
    )
    return True


@guard(*REVIEWERS)
async def on_adopt(update: Update, context: BotContext) -> None:
    """Adopt a submission and tell the liaison."""
    sub = await pressed(update, context, "ok", pending=True)
    if sub is None:
        return
    async with context.deps.db.transaction() as tx:
        adopted = await _record_review(context, tx, sub, sub.version, comment=None)
    if not adopted:
        await safe_answer_query(update.callback_query, context.t("info.review.already"), alert=True)
        return
    context.deps.wake_outbox()
    text = context.t("info.review.adopted", ref=reference(sub.id), title=sub.title)
    await answer(update, context, text, edit=True)


class ReturnDraft(BaseModel):
    """A reviewer returning one version of a submission, and the comment once typed."""

    sid: int
    version: int
    title: str
    comment: str | None = None


def _comment(text: str) -> str | Invalid:
    text = text.strip()
    if not text or len(text) > MAX_COMMENT:
        return Invalid("info.review.comment_invalid", {"max": MAX_COMMENT})
    return text


async def _return(context: BotContext, draft: ReturnDraft, tx: Tx) -> Done:
    """Return the submission with the comment; the liaison may revise it."""
    sub = await submissions(context).get(draft.sid, tx)
    # Scope again: the roster may have changed while the reviewer was typing.
    if sub is None or not may_act_on(context.actor, sub.township_id):
        return Done(None, context.t("common.not_allowed"))
    if not await _record_review(context, tx, sub, draft.version, draft.comment):
        return Done(None, context.t("info.review.already"))
    return Done(sub.id, context.t("info.review.returned", ref=reference(sub.id)))


RETURN = Form(
    name="info_return",
    prefix="inr",
    model=ReturnDraft,
    roles=REVIEWERS,
    steps=[
        Text(
            "comment",
            lambda c, d: c.t("info.review.ask_comment", ref=reference(d.sid), title=d.title),
            _comment,
            wrong=lambda c, d: c.t("info.review.comment_invalid", max=MAX_COMMENT),
        )
    ],
    summary=None,  # the comment returns the submission at once
    submit=_return,
    keys={
        "cancelled": "info.review.return_cancelled",
        "dropped": "info.review.return_dropped",
        "cancel": "info.btn.cancel",
    },
)


async def start_return(update: Update, context: BotContext) -> object:
    """Ask the reviewer why the submission goes back."""
    sub = await pressed(update, context, "ret", pending=True)
    if sub is None:
        return END
    draft = ReturnDraft(sid=sub.id, version=sub.version, title=sub.title)
    return await RETURN.begin(update, context, draft)


# --- /review ---------------------------------------------------------------------------------


@guard(*REVIEWERS)
async def review_list(update: Update, context: BotContext) -> None:
    """List submissions waiting for review in the reviewer's township, oldest first."""
    assert context.actor is not None
    t = context.t
    pending = await submissions(context).pending(context.actor.township_id)
    await show_list(
        update,
        context,
        pending[:30],
        (t("info.review.none"), t("info.review.list", n=len(pending))),
        lambda s: t(
            "info.review.item",
            ref=reference(s.id),
            village=s.village or "",
            kind=kind_label(t, s.kind),
            title=s.title,
        ),
        "o",
    )


@guard(*REVIEWERS)
async def review_open(update: Update, context: BotContext) -> None:
    """Show one submission with its attachments and the Adopt / Return buttons."""
    t, chat = context.t, update.effective_chat
    sub = await pressed(update, context, "o")
    if sub is None or chat is None:
        return
    await safe_answer_query(update.callback_query)
    files = await submissions(context).attachments(sub.id)
    text, markup = _review_text(t, sub, len(files)), None
    if sub.state != "pending":
        text += "\n\n" + t("info.state_line", state=t(STATE_KEYS[sub.state]))
    else:
        markup = _review_markup(t, sub, 0)
    for f in files:
        if f.kind == "photo" and f.file_id:
            await context.bot.send_photo(chat.id, f.file_id)
        elif f.file_id:
            await context.bot.send_document(chat.id, f.file_id)
    parts = split_text(text)
    for part in parts[:-1]:
        await answer(update, context, part)
    await answer(update, context, parts[-1], markup)


# --- wiring ------------------------------------------------------------------------------


def get_handlers() -> list[BaseHandler]:
    """Return the return-with-comment form, then the review buttons and /review."""
    return [
        RETURN.conversation(
            [CallbackQueryHandler(RETURN.guarded(start_return), pattern=r"^info:ret:")]
        ),
        CallbackQueryHandler(on_adopt, pattern=r"^info:ok:"),
        CallbackQueryHandler(review_open, pattern=r"^info:o:"),
        CommandHandler("review", review_list),
    ]
