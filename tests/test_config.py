"""Settings and policy: defaults, overrides, and clear errors for malformed files."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from bot.config import ConfigError, Policy, Settings, load_policy, load_settings
from bot.reminders.delivery import backoff


def test_policy_defaults_match_the_product_spec() -> None:
    p = Policy()
    assert str(p.weekly_report.due) == "TUE 18:00"
    assert [str(m) for m in p.weekly_report.reminders] == ["TUE 09:00", "TUE 16:00"]
    assert str(p.weekly_report.overdue) == "WED 09:00" and str(p.digest.post) == "WED 09:00"
    assert (p.escalation.critical, p.escalation.high, p.escalation.medium, p.escalation.low) == (
        10,
        30,
        120,
        1440,
    )
    assert (p.resolution.critical, p.resolution.low) == (4, 168)
    assert p.quiet_hours.start == time(22) and p.quiet_hours.end == time(7)
    assert [q.min for q in p.quotas] == [3, 1]


def test_policy_file_overrides(tmp_path: Path) -> None:
    f = tmp_path / "p.toml"
    f.write_text(
        '[weekly_report]\ndue = "WED 12:00"\n[escalation]\ncritical = 5\n'
        '[calendar]\nholidays = ["2026-10-01"]\nworkdays = [2026-10-10]\n',
        encoding="utf-8",
    )
    p = load_policy(f)
    assert str(p.weekly_report.due) == "WED 12:00" and p.escalation.critical == 5
    assert p.escalation.high == 30  # untouched defaults stay
    assert p.calendar.holidays == [date(2026, 10, 1)] and p.calendar.workdays == [
        date(2026, 10, 10)
    ]


@pytest.mark.parametrize(
    ("content", "key", "reason"),
    [
        ('[escalation]\ncritical = "x"\n', "escalation.critical", "integer"),
        ('[weekly_report]\ndue = "FUNDAY 18:00"\n', "weekly_report.due", "weekday"),
        ('[quiet_hours]\nstart = "25:00"\n', "quiet_hours.start", "time"),
        ("[escalation]\ncritcal = 3\n", "escalation.critcal", "unknown key"),
        ('[[quotas]]\nkinds = ["gossip"]\nmin = 1\n', "quotas.0.kinds.0", "work_update"),
        ("[escalation]\nhigh = -1\n", "escalation.high", "greater than 0"),
        ("not toml at all ===", "", "not valid TOML"),
    ],
)
def test_malformed_policy_names_file_key_and_reason(
    tmp_path: Path, content: str, key: str, reason: str
) -> None:
    f = tmp_path / "policy.toml"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_policy(f)
    msg = str(exc.value)
    assert str(f) in msg and key in msg and reason in msg and "\n" not in msg


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_policy(tmp_path / "nope.toml")


def test_settings_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_API_URL", "http://127.0.0.1:8081/")
    s = Settings(_env_file=None)
    assert s.method_base_url == "http://127.0.0.1:8081/bot"
    assert s.file_base_url == "http://127.0.0.1:8081/file/bot"
    assert s.database_path == Path("data/liaison.sqlite3") and s.timezone == "Asia/Shanghai"


def test_tick_seconds_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(_env_file=None).tick_seconds == 20
    monkeypatch.setenv("TICK_SECONDS", "0.5")
    assert Settings(_env_file=None).tick_seconds == 0.5
    monkeypatch.setenv("TICK_SECONDS", "600")
    with pytest.raises(ConfigError, match="TICK_SECONDS"):
        load_settings()


def test_outbox_retry_seconds_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(_env_file=None).outbox_retry_seconds == 5
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 9)] == [5, 10, 20, 300]
    monkeypatch.setenv("OUTBOX_RETRY_SECONDS", "0.25")
    assert Settings(_env_file=None).outbox_retry_seconds == 0.25
    assert [backoff(n, 0.25).total_seconds() for n in (1, 2, 3)] == [0.25, 0.5, 1]
    monkeypatch.setenv("OUTBOX_RETRY_SECONDS", "0")
    with pytest.raises(ConfigError, match="OUTBOX_RETRY_SECONDS"):
        load_settings()
