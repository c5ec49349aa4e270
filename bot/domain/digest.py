"""Weekly moments that fall due, and the texts of reminders, overdue lists and the digest.

Pure code: data and a Translator in, localized text out; time is always an argument.
The digest goes to a group chat, so it carries counts and village names only — never a
description, a person's name or a place below the village (DOMAIN.md, Sensitivity).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import Policy
from bot.domain.calendar import (
    due_at,
    local_now,
    moment_in_week,
    overdue_at,
    reminder_times,
    shift_week,
    week_key,
)
from bot.domain.vocab import period_label, severity, week_label
from bot.i18n import Translator

# Work missed during downtime is still done when less late than this; older is dropped.
CATCH_UP = timedelta(hours=24)

# The alerts and submissions of a digest are those of the days before its post.
DIGEST_WINDOW = timedelta(days=7)


# --- what is due ---------------------------------------------------------------------------


def _weeks_around(now: datetime, tz: ZoneInfo) -> list[str]:
    # A moment of week W can fall in week W+1 once a holiday moved it; look one week back.
    current = week_key(local_now(now, tz).date())
    return [shift_week(current, -1), current]


@dataclass(frozen=True)
class DueReminder:
    week: str
    index: int  # which reminder of the week (0-based), part of the idempotency key
    at: datetime
    due: datetime


# A reminder caught up after downtime is skipped when the week's next reminder is this close:
# the liaison gets one nudge then, not two identical ones minutes apart.
CATCH_UP_GAP = timedelta(hours=1)
ON_TIME = timedelta(minutes=5)


def due_reminders(now: datetime, policy: Policy, tz: ZoneInfo) -> list[DueReminder]:
    """Return, per week whose deadline is still ahead, the latest reminder moment passed.

    Earlier moments of the same week missed during downtime are superseded by the latest one
    (one nudge, not two at once); a moment whose deadline has passed too is dropped; a late
    one is also dropped when the next reminder moment is less than CATCH_UP_GAP away.
    """
    found = []
    for week in _weeks_around(now, tz):
        due = due_at(week, policy, tz)
        if now >= due:
            continue
        moments = reminder_times(week, policy, tz)
        passed = [(i, at) for i, at in enumerate(moments) if at <= now]
        if not passed:
            continue
        i, at = max(passed, key=lambda p: (p[1], p[0]))
        upcoming = [m for m in moments if m > now]
        if now - at > ON_TIME and upcoming and min(upcoming) - now < CATCH_UP_GAP:
            continue
        found.append(DueReminder(week, i, at, due))
    return found


def weeks_past_due(now: datetime, policy: Policy, tz: ZoneInfo) -> list[str]:
    """Return the weeks (of those around now) whose report deadline has passed."""
    return [w for w in _weeks_around(now, tz) if now >= due_at(w, policy, tz)]


def due_overdue(now: datetime, policy: Policy, tz: ZoneInfo) -> list[tuple[str, datetime]]:
    """Return (report week, moment) of overdue notices due now and less than a day late."""
    found = []
    for week in _weeks_around(now, tz):
        at = overdue_at(week, policy, tz)
        if at <= now < at + CATCH_UP:
            found.append((week, at))
    return found


def due_digests(now: datetime, policy: Policy, tz: ZoneInfo) -> list[tuple[str, datetime]]:
    """Return (patrol week reported on, moment) of digests due now and less than a day late.

    The patrol week is the one whose report fell due last before the post: the digest of
    Wednesday 25 Nov covers week 48, due Tuesday 24 Nov — the week the overdue list names.
    """
    found = []
    for week in _weeks_around(now, tz):
        at = moment_in_week(week, policy.digest.post, tz)
        if at <= now < at + CATCH_UP:
            found.append((patrol_week_before(at, policy, tz), at))
    return found


def patrol_week_before(moment: datetime, policy: Policy, tz: ZoneInfo) -> str:
    """Return the latest week whose report fell due at or before a moment."""
    week = week_key(local_now(moment, tz).date())
    for back in range(4):
        candidate = shift_week(week, -back)
        if due_at(candidate, policy, tz) <= moment:
            return candidate
    return shift_week(week, -1)


# --- digest contents -----------------------------------------------------------------------


@dataclass(frozen=True)
class VillageLine:
    name: str
    reported: bool
    late: bool = False
    excused: bool = False  # no report, liaison on approved leave on the due day


@dataclass(frozen=True)
class OpenAlertLine:
    village: str
    severity: str
    age: timedelta


@dataclass(frozen=True)
class QuotaLine:
    kinds: list[str]  # locale keys of the kinds counted
    period: str  # "month" | "quarter"
    period_key: str  # "2026-11"
    count: int
    min: int
    village: str | None = None

    @property
    def met(self) -> bool:
        """Return whether the minimum is reached."""
        return self.count >= self.min


@dataclass(frozen=True)
class Digest:
    township: str
    week: str
    start: date  # Monday of the week
    villages: list[VillageLine]
    opened: int = 0
    acknowledged: int = 0
    resolved: int = 0
    escalated: int = 0
    open_now: list[OpenAlertLine] = field(default_factory=list)
    median_ack_seconds: float | None = None
    quotas: list[QuotaLine] = field(default_factory=list)
    # The span the alerts and submissions were counted in (the 7 days before the post).
    since: datetime | None = None
    until: datetime | None = None
    submitted: int | None = None  # information submissions in that span

    @property
    def reported(self) -> int:
        """Return how many villages reported."""
        return sum(1 for v in self.villages if v.reported)

    @property
    def late(self) -> int:
        """Return how many villages reported after the deadline."""
        return sum(1 for v in self.villages if v.reported and v.late)

    @property
    def missing(self) -> list[str]:
        """Return the names of villages without a report."""
        return [v.name for v in self.villages if not v.reported and not v.excused]

    @property
    def excused(self) -> list[str]:
        """Return the names of villages excused by leave (neither reported nor missing)."""
        return [v.name for v in self.villages if not v.reported and v.excused]


def duration(seconds: float, t: Translator) -> str:
    """Return a short localized duration: minutes under an hour, hours under a day, else days."""
    minutes = max(0, int(seconds // 60))
    if minutes < 60:
        return t("digest.dur.minutes", n=minutes)
    hours = minutes // 60
    if hours < 24:
        return t("digest.dur.hours", h=hours, m=minutes % 60)
    return t("digest.dur.days", d=hours // 24, h=hours % 24)


def render_digest(d: Digest, t: Translator) -> str:
    """Return the digest text (may exceed one message; the outbox splits it at lines)."""
    total = len(d.villages) - len(d.excused)  # excused weeks count in no rate
    lines = [t("digest.title", township=d.township, week=week_label(t, d.week))]
    if d.since is not None and d.until is not None:
        lines.append(t("digest.window", since=t.datetime(d.since), until=t.datetime(d.until)))
    lines += [
        "",
        t("digest.reports_head"),
        t("digest.reported", n=d.reported, total=total, rate=t.percent(d.reported, total)),
        t("digest.on_time", n=d.reported - d.late, late=d.late),
    ]
    if d.missing:
        lines.append(t("digest.missing_head", n=len(d.missing)))
        lines.extend(f"· {name}" for name in d.missing)
    elif total:
        lines.append(t("digest.none_missing"))
    if d.excused:
        names = t("common.list_sep").join(d.excused)
        lines.append(t("leave.digest_excused", n=len(d.excused), villages=names))
    lines += [
        "",
        t("digest.alerts_head"),
        t(
            "digest.alerts_counts",
            opened=d.opened,
            acknowledged=d.acknowledged,
            resolved=d.resolved,
            escalated=d.escalated,
        ),
        t("digest.median_ack", time=duration(d.median_ack_seconds, t))
        if d.median_ack_seconds is not None
        else t("digest.median_ack_none"),
    ]
    if d.open_now:
        lines.append(t("digest.open_head", n=len(d.open_now)))
        lines.extend(
            t(
                "digest.open_line",
                village=a.village,
                severity=severity(t, a.severity),
                age=duration(a.age.total_seconds(), t),
            )
            for a in d.open_now
        )
    else:
        lines.append(t("digest.open_none"))
    lines += ["", t("digest.quotas_head")]
    if d.submitted is not None:
        lines.append(t("digest.submitted_window", n=d.submitted))
    if not d.quotas:
        lines.append(t("digest.quotas_none"))
    for q in d.quotas:
        kinds = t("common.list_sep").join(t(k) for k in q.kinds)
        lines.append(
            t(
                "digest.quota_line",
                mark="✅" if q.met else "⏳",
                kinds=kinds,
                village=f"{q.village} · " if q.village else "",
                period=period_label(t, q.period, q.period_key),
                count=q.count,
                min=q.min,
            )
        )
    return "\n".join(lines)


# --- reminders and overdue -----------------------------------------------------------------


def render_reminder(t: Translator, week: str, due: datetime, village: str) -> str:
    """Return the text of a reminder to a liaison whose village has not reported."""
    return t("weekly.reminder", village=village, week=week.split("-W")[1], due=t.datetime(due))


def render_overdue_notice(t: Translator, week: str, due: datetime, village: str) -> str:
    """Return the text of an overdue notice to a liaison."""
    return t(
        "weekly.overdue_notice", village=village, week=week.split("-W")[1], due=t.datetime(due)
    )


@dataclass(frozen=True)
class MissingVillage:
    name: str
    liaisons: Sequence[tuple[str, str | None]]  # (name, phone)


def render_overdue_list(
    t: Translator,
    township: str,
    week: str,
    due: datetime,
    missing: Sequence[MissingVillage],
    total: int,
) -> str:
    """Return the commissioners' list of villages missing a report, with liaison contacts."""
    lines = [
        t(
            "weekly.overdue_list_head",
            township=township,
            week=week.split("-W")[1],
            due=t.datetime(due),
            n=len(missing),
            total=total,
        ),
        "",
    ]
    for v in missing:
        people = t("common.list_sep").join(
            t("weekly.contact", name=name, phone=phone or "—") for name, phone in v.liaisons
        ) or t("weekly.no_liaison")
        lines.append(t("weekly.overdue_list_line", village=v.name, people=people))
    return "\n".join(lines)
