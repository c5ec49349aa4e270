"""Pure rules of notices and leave: deadlines, half time, the once-an-hour rule, date ranges."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain import leave as lv
from bot.domain import notice as nt

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 11, 23)


def test_deadline_choices_drop_today_when_too_close() -> None:
    morning = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
    assert [k for k, _ in nt.deadline_choices(morning, TZ)] == [
        "today",
        "tomorrow",
        "three_days",
        "week",
    ]
    late = datetime(2026, 11, 23, 17, 30, tzinfo=TZ)
    choices = dict(nt.deadline_choices(late, TZ))
    assert "today" not in choices
    assert choices["tomorrow"] == datetime(2026, 11, 24, 18, 0, tzinfo=TZ)


def test_half_time_and_remind_once_an_hour() -> None:
    sent = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    assert nt.half_time(sent, sent + timedelta(hours=9)) == sent + timedelta(hours=4, minutes=30)
    assert nt.may_remind(None, sent)
    assert not nt.may_remind(sent, sent + timedelta(minutes=59))
    assert nt.may_remind(sent, sent + timedelta(hours=1))


def test_check_text_limits() -> None:
    assert nt.check_text("  ok ", 10) == "ok"
    assert nt.check_text("   ", 10) is nt.TextErr.EMPTY
    assert nt.check_text("x" * 11, 10) is nt.TextErr.TOO_LONG


@pytest.mark.parametrize(
    "choice,expected",
    [
        ("today", (MONDAY, MONDAY)),
        ("tomorrow", (date(2026, 11, 24), date(2026, 11, 24))),
        ("this_week", (MONDAY, date(2026, 11, 29))),
        ("next_week", (date(2026, 11, 30), date(2026, 12, 6))),
    ],
)
def test_quick_ranges(choice: str, expected: tuple[date, date]) -> None:
    assert lv.quick_range(choice, MONDAY) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        ("11月25日至11月30日", (date(2026, 11, 25), date(2026, 11, 30))),
        ("11-25 11-30", (date(2026, 11, 25), date(2026, 11, 30))),
        ("2026-11-25~2026-12-02", (date(2026, 11, 25), date(2026, 12, 2))),
        ("12月1日", (date(2026, 12, 1), date(2026, 12, 1))),
        ("1月3日", (date(2027, 1, 3), date(2027, 1, 3))),
        ("下周", lv.RangeErr.UNREADABLE),
        ("11月30日至11月25日", lv.RangeErr.ORDER),
        ("11-25 2027-03-30", lv.RangeErr.TOO_LONG),
        ("10-01 10-05", lv.RangeErr.PAST),
        ("13-45", lv.RangeErr.UNREADABLE),
    ],
)
def test_parse_range(text: str, expected: object) -> None:
    assert lv.parse_range(text, MONDAY) == expected


def _leave(person: int, start: date, end: date, state: str = "approved") -> lv.Leave:
    return lv.Leave(
        id=person,
        person_id=person,
        township_id=1,
        village_id=person,
        start=start,
        end=end,
        reason=None,
        substitute_id=None,
        state=lv.LeaveState(state),
        requested_by=person,
    )


def test_excused_only_when_every_liaison_of_the_village_is_away() -> None:
    day = date(2026, 11, 24)
    leaves = [
        _leave(1, MONDAY, date(2026, 11, 29)),
        _leave(2, MONDAY, date(2026, 11, 29)),
        _leave(3, MONDAY, date(2026, 11, 29), "pending"),
        _leave(4, date(2026, 11, 25), date(2026, 11, 29)),
    ]
    villages = {10: [1], 20: [2, 5], 30: [3], 40: [4]}
    assert set(lv.excused_villages(leaves, villages, day)) == {10}
    assert set(lv.on_leave(leaves, day)) == {1, 2}
