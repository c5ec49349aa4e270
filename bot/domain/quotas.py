"""Quota rules of the policy: periods, progress and the moments reminders are due (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config import QuotaRule
from bot.domain.calendar import Period, period_of

# The two quota reminder moments (issue 5): two thirds of a period, and three days before its end.
MOMENT_TWO_THIRDS = "two_thirds"
MOMENT_THREE_DAYS = "three_days"
DAYS_BEFORE_END = 3
# A moment missed by downtime (or held by quiet hours) is still sent within this time, not later.
CATCH_UP = timedelta(hours=24)


@dataclass(frozen=True)
class QuotaProgress:
    """How far one quota rule is in one period (for one village when the rule is per village)."""

    rule_index: int
    kinds: list[str]
    scope: str  # "township" | "village"
    period: Period
    count: int
    min: int
    village_id: int | None
    village: str | None

    @property
    def met(self) -> bool:
        """Return whether the minimum is reached."""
        return self.count >= self.min


@dataclass(frozen=True)
class Counted:
    """A submission that counts: its kind, village and local submission date."""

    kind: str
    village_id: int | None
    day: date


def rule_period(rule: QuotaRule, today: date) -> Period:
    """Return the period of a rule that contains a local date."""
    return period_of(rule.period, today)


def progress(
    rules: Iterable[QuotaRule],
    today: date,
    counted: Iterable[Counted],
    villages: Iterable[tuple[int, str]],
) -> list[QuotaProgress]:
    """Return progress of every rule in its current period (village rules: one row per village)."""
    items = list(counted)
    village_list = list(villages)
    result: list[QuotaProgress] = []
    for index, rule in enumerate(rules):
        period = rule_period(rule, today)
        inside = [c for c in items if c.kind in rule.kinds and period.start <= c.day < period.end]
        whole = QuotaProgress(
            rule_index=index,
            kinds=list(rule.kinds),
            scope=rule.scope,
            period=period,
            count=len(inside),
            min=rule.min,
            village_id=None,
            village=None,
        )
        if rule.scope == "village":
            for vid, vname in village_list:
                n = sum(1 for c in inside if c.village_id == vid)
                result.append(replace(whole, count=n, village_id=vid, village=vname))
        else:
            result.append(whole)
    return result


def reminder_moments(period: Period, tz: ZoneInfo) -> dict[str, datetime]:
    """Return when each quota reminder of a period is due (local instants)."""
    start = period.start_at(tz)
    end = period.end_at(tz)
    two_thirds = start + (end - start) * 2 / 3
    three_days = datetime.combine(
        period.end - timedelta(days=DAYS_BEFORE_END), time(9, 0), tzinfo=tz
    )
    return {MOMENT_TWO_THIRDS: two_thirds, MOMENT_THREE_DAYS: three_days}


def due_moment(
    period: Period, now: datetime, tz: ZoneInfo, since: datetime | None = None
) -> str | None:
    """Return the reminder moment of a period that is due at `now`, if any.

    Only the latest moment passed counts (a missed earlier one is superseded, never sent late
    next to it). It is caught up for CATCH_UP at most (downtime, quiet hours), and not at all
    for a township that was not on the roster yet then (`since`: a fresh database, a roster
    imported after the moment).
    """
    if not (period.start_at(tz) <= now < period.end_at(tz)):
        return None
    passed = [(at, name) for name, at in reminder_moments(period, tz).items() if at <= now]
    if not passed:
        return None
    at, name = max(passed)
    if now - at >= CATCH_UP or (since is not None and since > at):
        return None
    return name
