"""Reminders, overdue notices and the commissioners' list, across a whole week with a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import Policy
from bot.domain.calendar import due_at, reminder_times
from bot.storage.db import to_db_time
from tests.conftest import Env, make_env

TZ = ZoneInfo("Asia/Shanghai")
LIAISONS = ["王建国", "李秀英", "张伟", "刘洋", "陈静", "杨磊"]


def local(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=TZ)


async def add_report(env: Env, name: str, week: str = "2026-W48", late: bool = False) -> None:
    """Store a weekly report for a person's village (as the report feature would)."""
    person = await env.person(name)
    assert person is not None
    now = to_db_time(env.clock.now())
    async with env.db.transaction() as tx:
        await tx.execute(
            "INSERT INTO weekly_reports (village_id, township_id, week, person_id, patrol_date,"
            " places, visited, outcome, late, submitted_at, updated_at)"
            " VALUES (?, ?, ?, ?, '2026-11-24', '[]', 1, 'normal', ?, ?, ?)",
            (person.village_id, person.township_id, week, person.id, int(late), now, now),
        )


async def at(env: Env, when: datetime) -> None:
    env.clock.set(when)
    await env.tick()


def last_with(env: Env, user_id: int, *words: str) -> dict:
    """Return the newest bot message in a chat containing one of the words."""
    found = [m for m in env.api.messages(user_id) if any(w in m.get("text", "") for w in words)]
    assert found, f"no message with {words} in {user_id}"
    return found[-1]


def reminders(env: Env, user_id: int) -> list[str]:
    return [
        t for t in env.api.texts(user_id) if "巡查情况还没有上报" in t or "patrol report for" in t
    ]


def overdue(env: Env, user_id: int) -> list[str]:
    return [t for t in env.api.texts(user_id) if "超过截止" in t or "overdue (deadline" in t]


async def bind_all(env: Env) -> dict:
    users = {n: await env.bind(n) for n in LIAISONS}
    users["冯兴敏"] = await env.bind("冯兴敏")
    return users


async def test_whole_week_reminders_only_to_the_missing_then_overdue(env: Env) -> None:
    users = await bind_all(env)
    wu = env.user("吴芳", user_id=555000111)  # 金汇镇, bound through the roster's telegram_id
    await add_report(env, "王建国")
    # Monday: nothing due.
    for h in (10, 15, 20):
        await at(env, local(2026, 11, 23, h))
    assert not any(reminders(env, u.id) for u in users.values())

    # Tuesday 09:00: first reminder to everyone missing, with the report button.
    await at(env, local(2026, 11, 24, 9, 0))
    for name in LIAISONS[1:]:
        got = reminders(env, users[name].id)
        assert len(got) == 1, name
        msg = last_with(env, users[name].id, "巡查情况还没有上报")
        buttons = [b for row in msg["reply_markup"]["inline_keyboard"] for b in row]
        assert buttons[0]["callback_data"] == "rpstart"
    assert reminders(env, users["王建国"].id) == []
    assert len(reminders(env, wu.id)) == 1
    assert reminders(env, users["冯兴敏"].id) == []

    # More ticks in between send nothing again.
    for m in (1, 20, 300):
        await at(env, local(2026, 11, 24, 9, 0) + timedelta(minutes=m))
    assert len(reminders(env, users["李秀英"].id)) == 1

    # 李秀英 reports; the 16:00 reminder skips her.
    await add_report(env, "李秀英")
    await at(env, local(2026, 11, 24, 16, 0))
    assert len(reminders(env, users["李秀英"].id)) == 1
    assert len(reminders(env, users["张伟"].id)) == 2
    assert reminders(env, users["王建国"].id) == []

    # Deadline 18:00, then Wednesday 09:00: overdue notices and the commissioner's list.
    await at(env, local(2026, 11, 24, 18, 30))
    await add_report(env, "张伟", late=True)
    await at(env, local(2026, 11, 25, 9, 0))
    for name in ("刘洋", "陈静", "杨磊"):
        got = overdue(env, users[name].id)
        assert len(got) == 1, name
        msg = last_with(env, users[name].id, "超过截止")
        assert msg["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "rpstart"
    for name in ("王建国", "李秀英", "张伟"):
        assert overdue(env, users[name].id) == []
    lists = [t for t in env.api.texts(users["冯兴敏"].id) if "逾期名单" in t]
    assert len(lists) == 1
    text = lists[0]
    assert "3/6" in text
    for expected in ("刘振屯村", "刘洋", "13800000004", "马庄村", "陈静", "大黄村", "杨磊"):
        assert expected in text
    for absent in ("方庄村", "高河村", "大朱村", "白沙社区"):
        assert absent not in text
    # More ticks the same day: nothing twice.
    for h in (10, 14, 23):
        await at(env, local(2026, 11, 25, h))
    assert len([t for t in env.api.texts(users["冯兴敏"].id) if "逾期名单" in t]) == 1
    assert len(overdue(env, users["陈静"].id)) == 1


async def test_reminder_in_quiet_hours_is_held_until_they_end(tmp_path: Path) -> None:
    policy = Policy.model_validate(
        {"weekly_report": {"reminders": ["MON 23:00"], "due": "TUE 18:00", "overdue": "WED 09:00"}}
    )
    env, driver = await make_env(tmp_path, policy=policy)
    try:
        user = await env.bind("王建国")
        await at(env, local(2026, 11, 23, 23, 0))
        assert reminders(env, user.id) == []
        await at(env, local(2026, 11, 24, 6, 59))
        assert reminders(env, user.id) == []
        await at(env, local(2026, 11, 24, 7, 0))
        assert len(reminders(env, user.id)) == 1
    finally:
        await driver.__aexit__(None, None, None)
        await env.db.close()
    env.api.assert_no_violations()


async def test_held_reminder_is_dropped_when_the_liaison_reports_meanwhile(tmp_path: Path) -> None:
    policy = Policy.model_validate({"weekly_report": {"reminders": ["MON 23:00"]}})
    env, driver = await make_env(tmp_path, policy=policy)
    try:
        user = await env.bind("王建国")
        await at(env, local(2026, 11, 23, 23, 0))
        await add_report(env, "王建国")
        await at(env, local(2026, 11, 24, 7, 30))
        assert reminders(env, user.id) == []
    finally:
        await driver.__aexit__(None, None, None)
        await env.db.close()
    env.api.assert_no_violations()


async def test_overdue_is_not_held_by_quiet_hours(tmp_path: Path) -> None:
    policy = Policy.model_validate({"weekly_report": {"overdue": "TUE 23:00"}})
    env, driver = await make_env(tmp_path, policy=policy)
    try:
        user = await env.bind("王建国")
        boss = await env.bind("冯兴敏")
        await at(env, local(2026, 11, 24, 23, 0))
        assert len(overdue(env, user.id)) == 1
        assert any("逾期名单" in t for t in env.api.texts(boss.id))
    finally:
        await driver.__aexit__(None, None, None)
        await env.db.close()
    env.api.assert_no_violations()


async def test_english_liaison_gets_english_reminder(env: Env) -> None:
    user = await env.bind("王建国", language_code="en")
    await user.command(
        "/help"
    )  # Telegram's language_code is noted on the first update after binding
    await at(env, local(2026, 11, 24, 9, 0))
    msg = last_with(env, user.id, "Reminder")
    assert "Reminder" in msg["text"] and "方庄村" in msg["text"]
    # No earlier report: the form, and the button says why.
    assert (
        msg["reply_markup"]["inline_keyboard"][0][0]["text"] == "📝 First time: fill in the report"
    )


async def test_reminder_button_starts_the_report(env: Env) -> None:
    user = await env.bind("王建国")
    await at(env, local(2026, 11, 24, 9, 0))
    msg = last_with(env, user.id, "巡查情况还没有上报")
    calls = await user.press("首次请填写报告", msg)
    assert any(c.method == "answerCallbackQuery" for c in calls)
    # The report form opens at its first step (the patrol date, or last week's offer).
    assert any(c.method == "sendMessage" and c.buttons for c in calls)
    state = await env.db.fetchval("SELECT state FROM ptb_conversations WHERE name = 'report'")
    assert state is not None


@pytest.mark.parametrize("holiday", ["2026-11-24"])
async def test_holiday_on_the_due_day_moves_due_and_reminders(tmp_path: Path, holiday: str) -> None:
    policy = Policy.model_validate({"calendar": {"holidays": [holiday]}})
    assert due_at("2026-W48", policy, TZ) == local(2026, 11, 25, 18, 0)
    assert reminder_times("2026-W48", policy, TZ) == [
        local(2026, 11, 25, 9),
        local(2026, 11, 25, 16),
    ]
    env, driver = await make_env(tmp_path, policy=policy)
    try:
        user = await env.bind("王建国")
        boss = await env.bind("冯兴敏")
        await at(env, local(2026, 11, 24, 9, 0))
        await at(env, local(2026, 11, 24, 16, 0))
        assert reminders(env, user.id) == []
        await at(env, local(2026, 11, 25, 9, 0))
        assert len(reminders(env, user.id)) == 1
        assert overdue(env, user.id) == []  # overdue moved to Thursday 09:00 too
        await at(env, local(2026, 11, 25, 16, 0))
        assert len(reminders(env, user.id)) == 2
        await at(env, local(2026, 11, 26, 8, 59))
        assert overdue(env, user.id) == []
        await at(env, local(2026, 11, 26, 9, 0))
        assert len(overdue(env, user.id)) == 1
        assert any("逾期名单" in t for t in env.api.texts(boss.id))
    finally:
        await driver.__aexit__(None, None, None)
        await env.db.close()
    env.api.assert_no_violations()


async def test_reminder_sent_at_utc_instants(env: Env) -> None:
    # Sanity: the default 09:00 Shanghai reminder is 01:00 UTC.
    assert reminder_times("2026-W48", Policy(), TZ)[0] == datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def test_catch_up_reminder_is_skipped_when_the_next_one_is_close() -> None:
    from bot.domain.digest import due_reminders

    policy = Policy()
    # Down from before 09:00 until 15:30: the 09:00 nudge would be followed by 16:00's in 30 min.
    assert due_reminders(local(2026, 11, 24, 15, 30), policy, TZ) == []
    # Back at 12:00: the 09:00 reminder is still worth sending, late.
    [late] = due_reminders(local(2026, 11, 24, 12, 0), policy, TZ)
    assert late.index == 0
    # On time (the regular tick): always sent.
    [on_time] = due_reminders(local(2026, 11, 24, 16, 0) + timedelta(seconds=20), policy, TZ)
    assert on_time.index == 1
