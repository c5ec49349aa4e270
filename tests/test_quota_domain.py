"""Pure quota logic: periods, progress per rule, and reminder moments."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.config import QuotaRule
from bot.domain.calendar import period_of
from bot.domain.info import SubmissionDraft, body_error, join_body, title_error
from bot.domain.quotas import Counted, due_moment, progress, reminder_moments

TZ = ZoneInfo("Asia/Shanghai")
RULES = [
    QuotaRule(kinds=["work_update"], scope="township", period="month", min=3),
    QuotaRule(kinds=["experience_summary", "highlight"], scope="township", period="quarter", min=1),
    QuotaRule(kinds=["public_opinion"], scope="village", period="month", min=1),
]


def test_progress_counts_kinds_in_the_current_period_only() -> None:
    counted = [
        Counted("work_update", 1, date(2026, 11, 30)),
        Counted("work_update", 2, date(2026, 12, 1)),
        Counted("highlight", 1, date(2026, 10, 2)),
        Counted("public_opinion", 1, date(2026, 12, 3)),
    ]
    nov = progress(RULES, date(2026, 11, 30), counted, [(1, "A"), (2, "B")])
    assert [(p.rule_index, p.count, p.village) for p in nov] == [
        (0, 1, None),
        (1, 1, None),
        (2, 0, "A"),
        (2, 0, "B"),
    ]
    dec = progress(RULES, date(2026, 12, 3), counted, [(1, "A"), (2, "B")])
    assert dec[0].count == 1 and dec[0].period.key == "2026-12"
    assert dec[1].period.key == "2026-Q4" and dec[1].count == 1
    assert [p.count for p in dec[2:]] == [1, 0] and dec[2].met and not dec[3].met
    jan = progress(RULES, date(2027, 1, 2), counted, [])
    assert jan[1].period.key == "2027-Q1" and jan[1].count == 0


def test_reminder_moments() -> None:
    nov = period_of("month", date(2026, 11, 5))
    moments = reminder_moments(nov, TZ)
    assert moments["two_thirds"] == datetime(2026, 11, 21, 0, 0, tzinfo=TZ)
    assert moments["three_days"] == datetime(2026, 11, 28, 9, 0, tzinfo=TZ)
    assert due_moment(nov, datetime(2026, 11, 20, 12, tzinfo=TZ), TZ) is None
    assert due_moment(nov, datetime(2026, 11, 21, 7, tzinfo=TZ), TZ) == "two_thirds"
    assert due_moment(nov, datetime(2026, 11, 29, tzinfo=TZ), TZ) == "three_days"
    assert due_moment(nov, datetime(2026, 12, 1, tzinfo=TZ), TZ) is None


def test_a_missed_moment_is_caught_up_for_a_day_at_most() -> None:
    nov = period_of("month", date(2026, 11, 5))
    assert due_moment(nov, datetime(2026, 11, 21, 23, 59, tzinfo=TZ), TZ) == "two_thirds"
    assert due_moment(nov, datetime(2026, 11, 22, tzinfo=TZ), TZ) is None
    assert due_moment(nov, datetime(2026, 11, 25, tzinfo=TZ), TZ) is None
    # Both moments missed: only the latest, never the earlier one as well.
    assert due_moment(nov, datetime(2026, 11, 28, 10, tzinfo=TZ), TZ) == "three_days"


def test_no_moment_before_the_township_was_on_the_roster() -> None:
    nov = period_of("month", date(2026, 11, 5))
    at = datetime(2026, 11, 21, 8, tzinfo=TZ)
    assert due_moment(nov, at, TZ, since=datetime(2026, 11, 1, tzinfo=TZ)) == "two_thirds"
    assert due_moment(nov, at, TZ, since=datetime(2026, 11, 21, 1, tzinfo=TZ)) is None


def test_validation_codes() -> None:
    assert title_error("") == "empty"
    assert title_error("x" * 61) == "too_long"
    assert title_error("a\nb") == "multiline"
    assert title_error("标题") is None
    assert body_error(["x" * 3000], "y" * 1000) == "too_long"
    assert body_error(["  "]) == "empty"
    assert join_body(["a", " ", "b"]) == "a\n\nb"
    try:
        SubmissionDraft(kind="gossip", title="t", body="b")
    except ValueError as exc:
        assert "bad_kind" in str(exc)
    else:
        raise AssertionError("bad kind accepted")
