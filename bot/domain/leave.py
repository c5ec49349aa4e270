"""Leave of a liaison: date ranges, who is on leave on a day, and which weeks are excused.

Pure code: dates and instants come in as arguments. A village's week is excused when it has
no report and an approved leave of its liaison covers the week's due day (the day the report
was owed); excused weeks count neither as reported nor as missing wherever rates are computed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from bot.domain import vocab
from bot.i18n import Translator

MAX_DAYS = 92  # a quarter: longer absences are a roster change, not leave
MAX_PAST_DAYS = 7  # leave may be recorded a week after it began (forgot to ask)
MAX_REASON = 200
STAND_IN = "stand_in"  # user_data key: the leave whose village a substitute files for


class LeaveState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class RangeErr(StrEnum):
    UNREADABLE = "unreadable"
    ORDER = "order"
    TOO_LONG = "too_long"
    PAST = "past"


@dataclass(frozen=True)
class Leave:
    id: int
    person_id: int
    township_id: int
    village_id: int | None
    start: date
    end: date
    reason: str | None
    substitute_id: int | None
    state: LeaveState
    requested_by: int
    person: str = ""
    village: str = ""
    substitute: str | None = None

    def covers(self, day: date) -> bool:
        """Return whether this leave is approved and includes the day."""
        return self.state is LeaveState.APPROVED and self.start <= day <= self.end


# Quick choices on the date step, in button order.
QUICK_RANGES = ("today", "tomorrow", "this_week", "next_week")


def quick_range(choice: str, today: date) -> tuple[date, date]:
    """Return the dates a quick choice stands for (weeks run Monday to Sunday)."""
    monday = today - timedelta(days=today.weekday())
    if choice == "today":
        return today, today
    if choice == "tomorrow":
        return today + timedelta(days=1), today + timedelta(days=1)
    if choice == "this_week":
        return today, monday + timedelta(days=6)
    if choice == "next_week":
        return monday + timedelta(days=7), monday + timedelta(days=13)
    raise ValueError(choice)


# 2026-11-25, 2026年11月25日, 11月25日, 11-25, 11.25, 11/25 (year, month, day in CJK as escapes).
_DATE = re.compile(
    r"(?:(\d{4})\s*[-/.\u5e74]\s*)?(\d{1,2})\s*[-/.\u6708]\s*(\d{1,2})\s*[\u65e5\u53f7]?"
)


def _resolve(year: str | None, month: str, day: str, today: date) -> date | None:
    try:
        if year:
            return date(int(year), int(month), int(day))
        found = date(today.year, int(month), int(day))
    except ValueError:
        return None
    # "1月3日" typed in late December means next January.
    if (today - found).days > 180:
        found = found.replace(year=today.year + 1)
    return found


def parse_range(text: str, today: date) -> tuple[date, date] | RangeErr:
    """Read "11月25日至11月30日", "11-25 11-30", "2026-11-25~2026-12-02" or one date."""
    found = _DATE.findall(text)
    if not found or len(found) > 2:
        return RangeErr.UNREADABLE
    days = [_resolve(y, m, d, today) for y, m, d in found]
    if any(d is None for d in days):
        return RangeErr.UNREADABLE
    start, end = days[0], days[-1]
    assert start is not None and end is not None
    return check_range(start, end, today)


def check_range(start: date, end: date, today: date) -> tuple[date, date] | RangeErr:
    """Validate a range: in order, not too long, not long past."""
    if end < start:
        return RangeErr.ORDER
    if (end - start).days + 1 > MAX_DAYS:
        return RangeErr.TOO_LONG
    if (today - start).days > MAX_PAST_DAYS or end < today:
        return RangeErr.PAST
    return start, end


def check_reason(text: str) -> str | None:
    """Return the reason trimmed to its limit (None when empty)."""
    text = " ".join(text.split())
    return text[:MAX_REASON] or None


def span(t: Translator, start: date, end: date) -> str:
    """Return "11月24日至11月30日" (one day: just the day)."""
    if start == end:
        return vocab.day_month(t, start)
    return t("leave.range", start=vocab.day_month(t, start), end=vocab.day_month(t, end))


def on_leave(leaves: list[Leave], day: date) -> dict[int, Leave]:
    """Return {person id: leave} of the approved leaves covering the day."""
    return {lv.person_id: lv for lv in leaves if lv.covers(day)}


def excused_villages(
    leaves: list[Leave], liaisons_by_village: dict[int, list[int]], day: date
) -> dict[int, Leave]:
    """Return {village id: leave} where every active liaison of the village is on leave."""
    away = on_leave(leaves, day)
    found: dict[int, Leave] = {}
    for village_id, people in liaisons_by_village.items():
        if people and all(p in away for p in people):
            # The leave ending last is the one worth showing ("on leave until …").
            found[village_id] = max((away[p] for p in people), key=lambda lv: lv.end)
    return found
