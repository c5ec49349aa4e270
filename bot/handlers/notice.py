"""/notice: a commissioner (their township) or county officer (townships they pick) composes a
notice, previews it and sends it; declared on the form runtime (bot/forms/).

Delivery, confirmations and reminders live in bot/reminders/notices.py, the recipients' and
sender's buttons and the reply form in bot/handlers/notices.py.
"""

from __future__ import annotations

from typing import Any

from telegram import Message, Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import BotContext
from bot.domain import notice as dom
from bot.domain.notice import AUDIENCE_KEYS, Audience, NoticeDraft, NoticeFile
from bot.domain.people import Role
from bot.forms import Choice, Collect, Done, Form, Invalid, Multi, Stay, Summary, Text, fixed
from bot.reminders import notices as delivery
from bot.storage import notices as store
from bot.storage.db import Tx

SENDERS = (Role.COMMISSIONER, Role.COUNTY)
DEADLINE_KEYS = {
    "today": "notice.dl.today",
    "tomorrow": "notice.dl.tomorrow",
    "three_days": "notice.dl.three_days",
    "week": "notice.dl.week",
}
TEXT_ERRORS = {"empty": "notice.err.empty", "too_long": "notice.err.too_long"}


def file_of(message: Message) -> NoticeFile | None:
    """Return the photo (largest size) or document a message carries."""
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


def text_parser(limit: int) -> Any:
    """Return a parser: the stripped text, or Invalid with the error's key."""

    def parse(text: str) -> str | Invalid:
        checked = dom.check_text(text, limit)
        if isinstance(checked, dom.TextErr):
            return Invalid(TEXT_ERRORS[checked], {"max": limit})
        return checked

    return parse


def add_file(context: BotContext, draft: Any, message: Message) -> Stay:
    """Take one more photo or document (at most MAX_FILES)."""
    if len(draft.files) >= dom.MAX_FILES:
        return Stay(context.t("notice.err.files_max", max=dom.MAX_FILES))
    file = file_of(message)
    assert file is not None
    draft.files.append(file)
    return Stay(context.t("notice.file_added", n=len(draft.files)))


def _captioned(context: BotContext, draft: NoticeDraft, message: Message) -> Stay | None:
    """A photo or file with a caption: the caption is the text, the file its attachment."""
    body = text_parser(dom.MAX_BODY)(message.caption or "")
    if isinstance(body, Invalid):
        return Stay(context.t(body.key, **body.args))
    draft.body = body
    draft.files.append(file_of(message))  # type: ignore[arg-type]
    return None


def _townships(context: BotContext, draft: NoticeDraft) -> list[tuple[str, str]]:
    return [(str(tid), name) for tid, name in draft.choices]


def _all_townships(context: BotContext, draft: NoticeDraft, value: str) -> None:
    draft.townships = [str(tid) for tid, _ in draft.choices]


def _deadlines(context: BotContext, draft: NoticeDraft) -> list[tuple[str, str]]:
    t, deps = context.t, context.deps
    found = [
        (key, t(DEADLINE_KEYS[key], at=t.datetime(at)))
        for key, at in dom.deadline_choices(deps.clock.now(), deps.tz)
    ]
    return [*found, ("none", t("notice.dl.none"))]


def _set_deadline(context: BotContext, draft: NoticeDraft, value: str) -> None:
    choices = dict(dom.deadline_choices(context.deps.clock.now(), context.deps.tz))
    draft.deadline = choices.get(value)
    draft.deadline_set = True


def _files_done(context: BotContext, draft: NoticeDraft) -> None:
    draft.files_done = True


def _files_label(context: BotContext, draft: NoticeDraft) -> str:
    return context.t("notice.btn.next" if draft.files else "notice.btn.skip")


def _files_ask(context: BotContext, draft: NoticeDraft) -> str:
    return context.t("notice.ask.files", n=len(draft.files), max=dom.MAX_FILES)


def recipients(draft: NoticeDraft) -> int:
    """Return how many people the draft would reach (counted when the form was opened)."""
    if draft.audience is None:
        return 0
    return sum(
        draft.counts.get(str(tid), {}).get(draft.audience.value, 0) for tid in draft.townships or []
    )


def _summary(context: BotContext, draft: NoticeDraft) -> str:
    names = [name for tid, name in draft.choices if tid in draft.township_ids()]
    return dom.render_summary(context.t, draft, names, recipients(draft))


async def _submit(context: BotContext, draft: NoticeDraft, tx: Tx) -> Done | Stay:
    """Store the notice with its recipients and queue it to them and the sender's copy."""
    deps, t, actor = context.deps, context.t, context.actor
    assert actor is not None
    if actor.role is not Role.COUNTY:
        draft.townships = [str(actor.township_id)]  # the scope, decided on the server
    now = deps.clock.now()
    if draft.deadline is not None and draft.deadline <= now:
        draft.deadline, draft.deadline_set = None, False
        return Stay(t("notice.err.deadline_passed"))
    chosen = [t for t in draft.township_ids() if t in {tid for tid, _ in draft.choices}]
    draft.townships = [str(t) for t in chosen]
    people = await store.audience_of(tx, draft.audience or Audience.LIAISONS, chosen, actor.id)
    if not people:
        return Stay(t("notice.err.nobody"))
    notice_id = await store.create_notice(tx, actor.id, draft, people, now)
    await delivery.deliver(deps, tx, notice_id, now)
    return Done(notice_id, t("notice.sent", ref=dom.reference(notice_id), n=len(people)))


NOTICE = Form(
    name="notice",
    prefix="ntc",
    model=NoticeDraft,
    roles=SENDERS,
    steps=[
        Multi(
            name="townships",
            ask="notice.ask.townships",
            options=_townships,
            quick=lambda c, d: [("all", c.t("notice.btn.all"))],
            apply=_all_townships,
            when=lambda d: d.county,
            done_label="notice.btn.done",
            empty="notice.err.no_township",
            label="notice.edit.townships",
        ),
        Text(
            "body",
            lambda c, d: c.t("notice.ask.body", max=dom.MAX_BODY),
            text_parser(dom.MAX_BODY),
            accept={"photo": _captioned, "document": _captioned},
            wrong="notice.err.use_text",
            label="notice.edit.body",
        ),
        Collect(
            name="files",
            ask=_files_ask,
            accept={"photo": add_file, "document": add_file},
            done_label=_files_label,
            finish=_files_done,
            done=lambda d: d.files_done,
            reset=lambda d: d.files.clear(),
            wrong="notice.err.use_files",
            label="notice.edit.files",
        ),
        Choice(
            "audience",
            "notice.ask.audience",
            fixed([a.value for a in Audience], {a.value: k for a, k in AUDIENCE_KEYS.items()}),
            convert=Audience,
            label="notice.edit.audience",
        ),
        Choice(
            "deadline",
            "notice.ask.deadline",
            _deadlines,
            apply=_set_deadline,
            done=lambda d: d.deadline_set,
            label="notice.edit.deadline",
        ),
        Choice(
            "replies",
            "notice.ask.replies",
            lambda c, d: [
                ("1", c.t("notice.btn.replies_yes")),
                ("0", c.t("notice.btn.replies_no")),
            ],
            convert=lambda v: v == "1",
            columns=2,
            label="notice.edit.replies",
        ),
    ],
    summary=Summary(
        render=_summary,
        edit=("townships", "body", "files", "audience", "deadline", "replies"),
        back="notice.btn.back",
    ),
    submit=_submit,
    keys={
        "cancelled": "notice.cancelled",
        "dropped": "notice.draft_dropped",
        "submit": "notice.btn.send",
        "edit": "notice.btn.edit",
        "cancel": "notice.btn.cancel",
        "ask_edit": "notice.ask.edit",
        "use_buttons": "notice.err.use_buttons",
        "old_button": "forms.old_button",
    },
)


async def start(update: Update, context: BotContext) -> object:
    """/notice: continue a half-written notice, or open a new one."""
    resumed = await NOTICE.resume(update, context, note=context.t("notice.resumed"))
    if resumed is not None:
        return resumed
    actor, deps = context.actor, context.deps
    assert actor is not None
    county = actor.role is Role.COUNTY
    towns = [
        (tw.id, tw.name)
        for tw in await deps.people.townships()
        if county or tw.id == actor.township_id
    ]
    counts = await store.audience_counts(deps.db, [tid for tid, _ in towns], actor.id)
    draft = NoticeDraft(
        county=county,
        choices=towns,
        townships=None if county else [str(actor.township_id)],
        counts=counts,
    )
    return await NOTICE.begin(update, context, draft)


NOTICE.restart = start


def get_handlers() -> list[BaseHandler]:
    """Return the /notice composer conversation."""
    return [NOTICE.conversation([CommandHandler("notice", NOTICE.guarded(start))])]
