"""Pure report logic: parsing, validation codes, late, which week to offer, stale drafts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import Policy
from bot.domain import report as dom
from bot.domain.forms import is_idle
from bot.domain.report import Err

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def test_parse_visited() -> None:
    assert dom.parse_visited("12") == 12
    assert dom.parse_visited(" ０ ") == 0
    assert dom.parse_visited("abc") is Err.NOT_NUMBER
    assert dom.parse_visited("1.5") is Err.NOT_NUMBER
    assert dom.parse_visited("-3") is Err.OUT_OF_RANGE
    assert dom.parse_visited("1000") is Err.OUT_OF_RANGE


def test_findings() -> None:
    assert dom.check_findings("  x ") == "x"
    assert dom.check_findings("") is Err.EMPTY
    assert dom.check_findings("a" * 2001) is Err.TOO_LONG


def test_form_validation_codes() -> None:
    base = {
        "week": "2026-W48",
        "date": "2026-11-23",
        "places": ["religious"],
        "visited": 1,
        "outcome": "normal",
    }
    form = dom.form_from_draft(base)
    assert not isinstance(form, Err) and form.findings is None
    assert dom.form_from_draft({**base, "date": "2026-11-30"}) is Err.BAD_DATE
    assert dom.form_from_draft({**base, "places": ["church"]}) is Err.BAD_PLACE
    assert dom.form_from_draft({**base, "outcome": "issues"}) is Err.MISSING


def test_late_and_offer() -> None:
    policy = Policy()
    assert not dom.is_late("2026-W48", MONDAY, policy, TZ)
    tuesday_night = MONDAY + timedelta(days=1, hours=10)
    assert dom.is_late("2026-W48", tuesday_night, policy, TZ)
    assert dom.offer_previous(MONDAY, policy, TZ, previous_reported=False) == "2026-W47"
    assert dom.offer_previous(MONDAY, policy, TZ, previous_reported=True) is None
    assert dom.offer_previous(tuesday_night, policy, TZ, previous_reported=False) is None
    # A village that joined after last week's due time is not offered last week.
    joined_this_week = MONDAY - timedelta(hours=1)
    assert (
        dom.offer_previous(MONDAY, policy, TZ, previous_reported=False, joined_at=joined_this_week)
        is None
    )
    joined_earlier = MONDAY - timedelta(days=10)
    assert (
        dom.offer_previous(MONDAY, policy, TZ, previous_reported=False, joined_at=joined_earlier)
        == "2026-W47"
    )


def test_days_reference_states_stale() -> None:
    assert dom.patrol_days("2026-W48", date(2026, 11, 24)) == [
        date(2026, 11, 23),
        date(2026, 11, 24),
    ]
    assert dom.reference("2026-W08", "方庄村") == "W08-方庄村"
    assert [dom.report_state(x) for x in (None, True, False)] == ["missing", "late", "on_time"]
    # The one idle rule of every form's draft (sweep and runtime alike).
    assert is_idle(MONDAY - timedelta(hours=24), MONDAY)
    assert not is_idle(MONDAY - timedelta(hours=23, minutes=59), MONDAY)
