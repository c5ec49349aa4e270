"""Notices down the network: the draft, deadlines, reminder rules and the texts people read.

Pure code: time is an argument, texts come from a Translator. A notice goes from a
commissioner (their township) or a county officer (the townships they pick) to liaisons,
commissioners or both; each recipient confirms with one button; the sender sees the count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from bot.domain import vocab
from bot.i18n import Translator

MAX_BODY = 3000  # leaves room in one message for the heading and the deadline line
MAX_REPLY = 2000
MAX_FILES = 10
REMIND_EVERY = timedelta(hours=1)  # the sender's Remind works at most once an hour
DEADLINE_HOUR = time(18, 0)


class Audience(StrEnum):
    LIAISONS = "liaisons"
    COMMISSIONERS = "commissioners"
    BOTH = "both"


AUDIENCE_KEYS = {
    Audience.LIAISONS: "notice.aud.liaisons",
    Audience.COMMISSIONERS: "notice.aud.commissioners",
    Audience.BOTH: "notice.aud.both",
}


class TextErr(StrEnum):
    EMPTY = "empty"
    TOO_LONG = "too_long"


def check_text(text: str | None, limit: int) -> str | TextErr:
    """Return the text stripped, or why it cannot be taken."""
    text = (text or "").strip()
    if not text:
        return TextErr.EMPTY
    if len(text) > limit:
        return TextErr.TOO_LONG
    return text


class NoticeFile(BaseModel):
    kind: str  # "photo" | "document"
    file_id: str
    file_unique_id: str | None = None
    name: str | None = None


class NoticeDraft(BaseModel):
    """What the composer has collected so far (the form runtime stores it as JSON)."""

    county: bool = False  # the sender picks townships
    choices: list[tuple[int, str]] = Field(default_factory=list)  # townships in the sender's scope
    counts: dict[str, dict[str, int]] = Field(default_factory=dict)  # township → audience → n
    townships: list[str] | None = None  # ids as the buttons carry them

    def township_ids(self) -> list[int]:
        """Return the chosen townships' ids."""
        return [int(t) for t in self.townships or []]

    body: str | None = None
    files: list[NoticeFile] = Field(default_factory=list)
    files_done: bool = False
    audience: Audience | None = None
    deadline: datetime | None = None
    deadline_set: bool = False  # "no deadline" was chosen (deadline stays None)
    replies: bool | None = None


class ReplyDraft(BaseModel):
    """A recipient's reply to a notice."""

    notice_id: int
    ref: str
    text: str | None = None
    files: list[NoticeFile] = Field(default_factory=list)


def reference(notice_id: int) -> str:
    """Return the short reference people quote ("N-12")."""
    return f"N-{notice_id}"


def deadline_choices(now: datetime, tz: ZoneInfo) -> list[tuple[str, datetime]]:
    """Return (choice, instant) for the deadline buttons: today, tomorrow, in 3 days, a week.

    "Today 18:00" is offered only while more than an hour is left before it.
    """
    today = now.astimezone(tz).date()
    found = []
    for key, days in (("today", 0), ("tomorrow", 1), ("three_days", 3), ("week", 7)):
        at = datetime.combine(today + timedelta(days=days), DEADLINE_HOUR, tzinfo=tz)
        if at - now > timedelta(hours=1):
            found.append((key, at))
    return found


def half_time(created: datetime, deadline: datetime) -> datetime:
    """Return the moment halfway between sending and the deadline."""
    return created + (deadline - created) / 2


def next_remind_at(last: datetime | None) -> datetime | None:
    """Return when the sender may remind again (None: now)."""
    return None if last is None else last + REMIND_EVERY


def may_remind(last: datetime | None, now: datetime) -> bool:
    """Return whether the once-an-hour rule lets the sender remind now."""
    at = next_remind_at(last)
    return at is None or now >= at


@dataclass(frozen=True)
class Notice:
    id: int
    sender_id: int
    sender: str
    sender_place: str  # their township or village ("" for a county officer)
    body: str
    audience: Audience
    townships: list[int]
    deadline: datetime | None
    replies: bool
    created_at: datetime
    last_reminded_at: datetime | None
    total: int = 0
    confirmed: int = 0
    sender_role: str = ""

    @property
    def ref(self) -> str:
        """Return the notice's reference."""
        return reference(self.id)

    def state(self, now: datetime) -> str:
        """Return done (all confirmed), closed (deadline passed) or open."""
        if self.total and self.confirmed >= self.total:
            return "done"
        if self.deadline is not None and now >= self.deadline:
            return "closed"
        return "open"


STATE_KEYS = {
    "open": "notice.state.open",
    "done": "notice.state.done",
    "closed": "notice.state.closed",
}


def render_card(t: Translator, n: Notice, files: int = 0) -> str:
    """Return the text a recipient gets."""
    place = n.sender_place or vocab.role(t, n.sender_role)
    lines = [t("notice.card.head", ref=n.ref, sender=n.sender, place=place), "", n.body]
    if files:
        lines += ["", t("notice.card.files", n=files)]
    if n.deadline is not None:
        lines += ["", t("notice.card.deadline", at=t.datetime(n.deadline))]
    return "\n".join(lines)


def render_sender_copy(t: Translator, n: Notice, townships: Sequence[str]) -> str:
    """Return the sender's copy: what was sent, to whom, and the live count."""
    lines = [
        t(
            "notice.copy.head",
            ref=n.ref,
            audience=t(AUDIENCE_KEYS[n.audience]),
            townships=t("common.list_sep").join(townships),
        ),
        "",
        n.body,
        "",
        t("notice.copy.count", n=n.confirmed, total=n.total),
    ]
    if n.deadline is not None:
        lines.append(t("notice.sum.deadline", at=t.datetime(n.deadline)))
    return "\n".join(lines)


def render_summary(
    t: Translator, draft: NoticeDraft, townships: Sequence[str], recipients: int
) -> str:
    """Return the preview shown before Send."""
    aud = t(AUDIENCE_KEYS[draft.audience]) if draft.audience else "—"
    deadline = t.datetime(draft.deadline) if draft.deadline else t("notice.no_deadline")
    return "\n".join(
        [
            t("notice.sum.head"),
            "",
            draft.body or "",
            "",
            t("notice.sum.files", n=len(draft.files)),
            t("notice.sum.to", audience=aud, townships=t("common.list_sep").join(townships)),
            t("notice.sum.recipients", n=recipients),
            t("notice.sum.deadline", at=deadline),
            t("notice.sum.replies_yes" if draft.replies else "notice.sum.replies_no"),
        ]
    )
