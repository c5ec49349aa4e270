"""End-to-end: quota progress across period boundaries and the quota reminders."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.config import Policy
from bot.storage.submissions import SubmissionRepo, quota_progress
from tests.conftest import Env, make_env
from tests.test_info import submit

TZ = ZoneInfo("Asia/Shanghai")


async def _env(tmp_path: Path, start: datetime, policy: Policy | None = None):
    return await make_env(tmp_path, policy=policy, start=start.astimezone(TZ))


async def _close(env: Env, driver) -> None:
    await driver.__aexit__(None, None, None)
    await env.db.close()
    env.api.assert_no_violations()


async def _progress(env: Env) -> list:
    person = await env.person("王建国")
    assert person is not None and person.township_id is not None
    today = env.clock.now().astimezone(TZ).date()
    return await quota_progress(env.db, env.deps.policy, person.township_id, today, TZ)


async def test_progress_across_a_month_boundary(tmp_path: Path) -> None:
    env, driver = await _env(tmp_path, datetime(2026, 11, 30, 22, 0, tzinfo=TZ))
    try:
        liaison = await env.bind("王建国")
        await submit(env, liaison, "工作动态")
        await submit(env, liaison, "亮点特色")
        nov = await _progress(env)
        assert [(p.period.key, p.count, p.min, p.met) for p in nov] == [
            ("2026-11", 1, 3, False),
            ("2026-Q4", 1, 1, True),
        ]
        env.clock.advance(minutes=180)  # 1 Dec 01:00 local
        await submit(env, liaison, "工作动态")
        dec = await _progress(env)
        assert [(p.period.key, p.count) for p in dec] == [("2026-12", 1), ("2026-Q4", 1)]
        assert dec[0].period.days_left(env.clock.now().astimezone(TZ).date()) == 31
    finally:
        await _close(env, driver)


async def test_progress_across_a_quarter_boundary_and_returned_ones(tmp_path: Path) -> None:
    env, driver = await _env(tmp_path, datetime(2026, 12, 31, 20, 0, tzinfo=TZ))
    try:
        liaison = await env.bind("王建国")
        boss = await env.bind("冯兴敏")
        sid = await submit(env, liaison, "经验总结")
        await submit(env, liaison, "工作动态")
        assert [p.count for p in await _progress(env)] == [1, 1]
        # Returned and not resubmitted: it no longer counts.
        await env.deliver()
        await boss.press("退回", boss.api.messages(boss.chat_id)[-2])
        await boss.send("请修改")
        assert [p.count for p in await _progress(env)] == [1, 0]
        env.clock.advance(minutes=5 * 60)  # 1 Jan 2027 01:00: a new month and quarter
        q1 = await _progress(env)
        assert [(p.period.key, p.count) for p in q1] == [("2027-01", 0), ("2027-Q1", 0)]
        # Resubmitted in January: it counts from its first submission (December), not January.
        await env.deliver()
        await liaison.press("修改后重报")
        await liaison.press("报送")
        sub = await SubmissionRepo(env.db).get(sid)
        assert sub is not None and sub.state == "pending" and sub.version == 2
        assert [p.count for p in await _progress(env)] == [0, 0]
        env.clock.set(datetime(2026, 12, 31, 23, 0, tzinfo=TZ))
        assert [p.count for p in await _progress(env)] == [1, 1]
    finally:
        await _close(env, driver)


def _reminders(env: Env, user) -> list[str]:
    return [t for t in user.texts() if "📊" in t]


def _nudges(user) -> list[str]:
    return [t for t in user.texts() if "本期" in t and "/info" in t]


async def test_two_reminders_once_each_held_in_quiet_hours(tmp_path: Path) -> None:
    env, driver = await _env(tmp_path, datetime(2026, 11, 20, 12, 0, tzinfo=TZ))
    try:
        wang = await env.bind("王建国")
        li = await env.bind("李秀英")
        boss = await env.bind("冯兴敏")
        await submit(env, wang, "工作动态")
        await env.tick()
        assert _reminders(env, boss) == []
        env.clock.set(datetime(2026, 11, 21, 0, 30, tzinfo=TZ))  # two thirds, but quiet hours
        await env.tick()
        assert _reminders(env, boss) == []
        env.clock.set(datetime(2026, 11, 21, 7, 0, tzinfo=TZ))
        await env.tick()
        await env.tick()
        sent = _reminders(env, boss)
        assert len(sent) == 1 and "三分之二" in sent[0] and "1/3" in sent[0]
        assert "高河村" in sent[0] and "方庄村" not in sent[0]
        assert len(_nudges(li)) == 1 and _nudges(wang) == []
        env.clock.set(datetime(2026, 11, 28, 9, 0, tzinfo=TZ))
        await env.tick()
        await env.tick()
        sent = _reminders(env, boss)
        assert len(sent) == 2 and "还剩 3 天" in sent[1]
        assert len(_nudges(li)) == 2
        env.clock.set(datetime(2026, 11, 29, 9, 0, tzinfo=TZ))
        await env.tick()
        assert len(_reminders(env, boss)) == 2 and len(_nudges(li)) == 2
    finally:
        await _close(env, driver)


async def test_no_reminder_when_the_quota_is_met(tmp_path: Path) -> None:
    env, driver = await _env(tmp_path, datetime(2026, 11, 20, 12, 0, tzinfo=TZ))
    try:
        wang = await env.bind("王建国")
        li = await env.bind("李秀英")
        boss = await env.bind("冯兴敏")
        for i in range(3):
            await submit(env, wang, "工作动态", title=f"动态{i}")
        for when in (
            datetime(2026, 11, 21, 9, 0, tzinfo=TZ),
            datetime(2026, 11, 28, 9, 0, tzinfo=TZ),
        ):
            env.clock.set(when)
            await env.tick()
        assert _reminders(env, boss) == [] and _nudges(li) == []
    finally:
        await _close(env, driver)


async def test_no_nudge_for_a_roster_imported_after_the_moment(tmp_path: Path) -> None:
    env, driver = await _env(tmp_path, datetime(2026, 11, 21, 9, 0, tzinfo=TZ))
    try:
        await env.seed(ago=timedelta(hours=1))  # 08:00, after the two-thirds moment (00:00)
        li = await env.bind("李秀英")
        boss = await env.bind("冯兴敏")
        await env.tick()
        assert _reminders(env, boss) == [] and _nudges(li) == []
        env.clock.set(datetime(2026, 11, 28, 9, 0, tzinfo=TZ))  # the next moment is theirs
        await env.tick()
        assert len(_reminders(env, boss)) == 1 and len(_nudges(li)) == 1
    finally:
        await _close(env, driver)


async def test_a_moment_missed_by_days_is_not_caught_up(tmp_path: Path) -> None:
    env, driver = await _env(tmp_path, datetime(2026, 11, 25, 10, 0, tzinfo=TZ))
    try:
        li = await env.bind("李秀英")  # roster from the 17th; the bot was down since the 20th
        boss = await env.bind("冯兴敏")
        await env.tick()
        await env.tick()
        assert _reminders(env, boss) == [] and _nudges(li) == []
    finally:
        await _close(env, driver)
