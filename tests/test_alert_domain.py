"""Pure alert rules: parsing answers, escalation timing, quiet hours, follow-up reminders."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import Policy
from bot.domain.alert import (
    Alert,
    AlertDraft,
    check_text,
    escalation_due_at,
    followup_reminder,
    parse_people,
    should_escalate,
)

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 local


def make(**kw) -> Alert:
    base = dict(
        id=1,
        township_id=1,
        village_id=1,
        person_id=1,
        category="land",
        severity="high",
        people_count=3,
        place_text="x",
        latitude=None,
        longitude=None,
        description="d",
        voice_file_id=None,
        state="open",
        level=1,
        level_since=T0,
        created_at=T0,
        acknowledged_at=None,
        acknowledged_by=None,
        ack_seconds=None,
        resolved_at=None,
        resolved_by=None,
        resolution_level=None,
        resolution_note=None,
        report_id=None,
        escalated=False,
        followup_since=None,
        village="v",
        township="t",
        liaison="l",
        liaison_phone=None,
    )
    base.update(kw)
    return Alert(**base)


def test_parse_people():
    assert parse_people("12") == (12, None)
    assert parse_people("约12人") == (12, None)
    assert parse_people("abc") == (None, "not_a_number")
    assert parse_people("1.5") == (None, "not_a_number")
    assert parse_people("-3") == (None, "out_of_range")
    assert parse_people("0") == (None, "out_of_range")


def test_check_text_and_missing():
    assert check_text("  ", 10) == "empty"
    assert check_text("x" * 11, 10) == "too_long"
    assert check_text("ok", 10) is None
    assert AlertDraft().missing() == "category"
    assert (
        AlertDraft(
            category="land",
            severity="low",
            people_count=1,
            latitude=1.0,
            longitude=2.0,
            voice_file_id="v",
        ).missing()
        is None
    )


def test_escalation_timing_per_severity():
    policy = Policy()
    assert escalation_due_at(make(severity="critical"), policy) == T0 + timedelta(minutes=10)
    assert escalation_due_at(make(severity="low"), policy) == T0 + timedelta(minutes=1440)
    assert escalation_due_at(make(level=3), policy) is None
    assert escalation_due_at(make(state="acknowledged"), policy) is None
    assert not should_escalate(make(), T0 + timedelta(minutes=29), policy, TZ)
    assert should_escalate(make(), T0 + timedelta(minutes=30), policy, TZ)


def test_quiet_hours_hold_all_but_critical():
    policy = Policy()
    night = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 23:00 local
    low = make(severity="low", level_since=night - timedelta(days=1))
    assert not should_escalate(low, night, policy, TZ)
    crit = make(severity="critical", level_since=night - timedelta(minutes=10))
    assert should_escalate(crit, night, policy, TZ)


def test_followup_daily():
    policy = Policy()
    acked = make(state="acknowledged", acknowledged_at=T0, followup_since=T0)
    assert followup_reminder(acked, T0 + timedelta(hours=23), policy) is None
    assert followup_reminder(acked, T0 + timedelta(hours=24), policy) == 0
    assert followup_reminder(acked, T0 + timedelta(hours=47), policy) == 0
    assert followup_reminder(acked, T0 + timedelta(hours=48), policy) == 1
    assert (
        followup_reminder(replace(acked, state="resolved"), T0 + timedelta(days=9), policy) is None
    )
