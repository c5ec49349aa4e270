"""Weeks, due times, working days, quiet hours and reporting periods, all in local time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config import CalendarPolicy, Policy, QuietHours, WeeklyMoment


def week_key(day: date) -> str:
    """Return the ISO week of a local date as "2026-W48"."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_monday(key: str) -> date:
    """Return the Monday of an ISO week key."""
    year, week = key.split("-W")
    return date.fromisocalendar(int(year), int(week), 1)


def shift_week(key: str, weeks: int) -> str:
    """Return the week key `weeks` weeks away."""
    return week_key(week_monday(key) + timedelta(weeks=weeks))


def week_number(key: str) -> int:
    """Return the week number of a key ("2026-W48" → 48)."""
    return int(key.split("-W")[1])


def local_now(now: datetime, tz: ZoneInfo) -> datetime:
    """Return an instant in local time."""
    return now.astimezone(tz)


def is_working_day(day: date, cal: CalendarPolicy) -> bool:
    """Return whether a date is a working day (weekends and holidays off, 调休 on)."""
    if day in cal.workdays:
        return True
    if day in cal.holidays:
        return False
    return day.weekday() < 5


def next_working_day(day: date, cal: CalendarPolicy) -> date:
    """Return the date itself if it is a working day, else the next one."""
    for _ in range(60):
        if is_working_day(day, cal):
            return day
        day += timedelta(days=1)
    return day


def moment_in_week(key: str, moment: WeeklyMoment, tz: ZoneInfo) -> datetime:
    """Return the aware local instant of a weekly moment within a given week."""
    day = week_monday(key) + timedelta(days=moment.weekday)
    return datetime.combine(day, moment.at, tzinfo=tz)


def shifted_moment(
    key: str,
    moment: WeeklyMoment,
    policy: Policy,
    tz: ZoneInfo,
    *,
    anchor: WeeklyMoment | None = None,
) -> datetime:
    """Return a weekly moment moved with the due date when that falls on a non-working day.

    The due day moves to the next working day; moments anchored to it (reminders on the due
    day) move by the same number of days, keeping their clock time.
    """
    anchor = anchor or policy.weekly_report.due
    base_due = week_monday(key) + timedelta(days=anchor.weekday)
    shift = next_working_day(base_due, policy.calendar) - base_due
    return moment_in_week(key, moment, tz) + shift


def due_at(key: str, policy: Policy, tz: ZoneInfo) -> datetime:
    """Return when a week's patrol report is due (moved off holidays)."""
    return shifted_moment(key, policy.weekly_report.due, policy, tz)


def reminder_times(key: str, policy: Policy, tz: ZoneInfo) -> list[datetime]:
    """Return the week's reminder instants, moved with the due date."""
    return [shifted_moment(key, m, policy, tz) for m in policy.weekly_report.reminders]


def overdue_at(key: str, policy: Policy, tz: ZoneInfo) -> datetime:
    """Return when missing reports of a week are declared overdue (moved with the due date)."""
    due = due_at(key, policy, tz)
    plain = moment_in_week(key, policy.weekly_report.overdue, tz)
    plain_due = moment_in_week(key, policy.weekly_report.due, tz)
    return plain + (due - plain_due)


def in_quiet_hours(when: datetime, quiet: QuietHours, tz: ZoneInfo) -> bool:
    """Return whether an instant falls in the quiet hours (which may span midnight)."""
    t = when.astimezone(tz).time()
    if quiet.start == quiet.end:
        return False
    if quiet.start < quiet.end:
        return quiet.start <= t < quiet.end
    return t >= quiet.start or t < quiet.end


def end_of_quiet(when: datetime, quiet: QuietHours, tz: ZoneInfo) -> datetime:
    """Return the instant itself outside quiet hours, else when the quiet hours end."""
    if not in_quiet_hours(when, quiet, tz):
        return when
    local = when.astimezone(tz)
    end = datetime.combine(local.date(), quiet.end, tzinfo=tz)
    if end <= local:
        end += timedelta(days=1)
    return end


@dataclass(frozen=True)
class Period:
    """A reporting period [start, end) of local dates, e.g. a month or a quarter."""

    kind: str  # "month" | "quarter" | "week"
    key: str  # "2026-11", "2026-Q4", "2026-W48"
    start: date
    end: date  # exclusive

    def start_at(self, tz: ZoneInfo) -> datetime:
        """Return the local midnight that starts the period."""
        return datetime.combine(self.start, time(0), tzinfo=tz)

    def end_at(self, tz: ZoneInfo) -> datetime:
        """Return the local midnight that ends the period."""
        return datetime.combine(self.end, time(0), tzinfo=tz)

    def days_left(self, today: date) -> int:
        """Return whole days left including today."""
        return max(0, (self.end - today).days)


def period_of(kind: str, day: date) -> Period:
    """Return the month, quarter or ISO week containing a local date."""
    if kind == "month":
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
        return Period("month", f"{day:%Y-%m}", start, end)
    if kind == "quarter":
        q = (day.month - 1) // 3
        start = date(day.year, 3 * q + 1, 1)
        end = date(day.year + 1, 1, 1) if q == 3 else date(day.year, 3 * q + 4, 1)
        return Period("quarter", f"{day.year}-Q{q + 1}", start, end)
    if kind == "week":
        monday = day - timedelta(days=day.weekday())
        return Period("week", week_key(day), monday, monday + timedelta(days=7))
    raise ValueError(f"unknown period kind {kind!r}")
