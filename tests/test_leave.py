"""Leave end to end: ask, approve, decline, put directly, no nagging, excused weeks, substitute."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.emulator import FakeGroup
from bot.storage.leave import create_leave, excused_weeks
from tests.conftest import Env, make_env
from tests.test_info import submit
from tests.test_weekly import local, overdue, reminders

TZ = ZoneInfo("Asia/Shanghai")
NAMES = ("王建国", "李秀英", "张伟", "冯兴敏")


async def bind_all(env: Env) -> dict:
    return {name: await env.bind(name) for name in NAMES}


async def ask_leave(liaison, when: str = "本周") -> None:
    await liaison.command("/leave")
    await liaison.press(when)
    await liaison.press("跳过")
    await liaison.press("不指定代班人")
    await liaison.press("提交")


async def test_approved_leave_no_reminders_and_week_excused(env: Env) -> None:
    users = await bind_all(env)
    group = FakeGroup(env.api, env.driver, -1009990001, title="河口乡统战群")
    boss = users["冯兴敏"]
    await boss.in_group(group).command("/bindgroup")
    wang = users["王建国"]
    await ask_leave(wang)
    await env.deliver()
    assert any("请假申请" in t and "王建国" in t for t in boss.texts())
    await boss.press("✅ 批准")
    await env.deliver()
    assert any("批准了你的请假" in t for t in wang.texts())
    assert any("已批准" in t and "冯兴敏处理" in t for t in boss.texts())
    # Tuesday's reminders and Wednesday's overdue notice skip him; the others get theirs.
    for moment in (local(2026, 11, 24, 9), local(2026, 11, 24, 16)):
        env.clock.set(moment)
        await env.tick()
    assert not reminders(env, wang.id) and len(reminders(env, users["李秀英"].id)) == 2
    env.clock.set(local(2026, 11, 24, 17))
    await boss.command("/overdue")
    text = boss.texts()[-1]
    assert "方庄村" in text and "请假（至11月29日）" in text and "共5个村" in text
    env.clock.set(local(2026, 11, 25, 9))
    await env.tick()
    # /stats counts the month's weeks now due (47 and 48): 方庄村's week 48 is excused.
    await boss.command("/stats")
    stats = boss.texts()[-1]
    assert "联络员请假1周，未计入。" in stats and "· 方庄村：上报0/1" in stats
    assert not overdue(env, wang.id) and overdue(env, users["李秀英"].id)
    lists = [t for t in boss.texts() if "超过截止" in t or "未上报" in t]
    assert lists and all("方庄村" not in t for t in lists if "大朱村" in t)
    digest = [t for t in env.api.texts(group.id) if "第48周" in t][-1]
    assert "请假：1个（方庄村）" in digest and "0/5" in digest
    await wang.command("/mine")
    assert "我的请假" in wang.texts()[-1] and "已批准" in wang.texts()[-1]


async def test_declined_leave_changes_nothing(env: Env) -> None:
    users = await bind_all(env)
    wang, boss = users["王建国"], users["冯兴敏"]
    await ask_leave(wang)
    await env.deliver()
    await boss.press("❌ 不批准")
    await env.deliver()
    assert any("没有批准你的请假" in t for t in wang.texts())
    # The buttons are gone; pressing an old one again is refused as already decided.
    calls = await boss.press_data("lv:ap:1", boss.last_message()["message_id"])
    assert any("已经处理过了" in str(c.params.get("text")) for c in calls)
    assert not any("批准了你的请假" in t for t in wang.texts())
    env.clock.set(local(2026, 11, 24, 9))
    await env.tick()
    assert reminders(env, wang.id)
    await boss.command("/stats")
    assert "应开展巡查6次" in boss.texts()[-1] and "请假" not in boss.texts()[-1]


async def test_pending_leave_changes_nothing_and_others_cannot_decide(env: Env) -> None:
    users = await bind_all(env)
    wang = users["王建国"]
    await ask_leave(wang)
    await env.deliver()
    request = users["冯兴敏"].last_message()
    calls = await users["李秀英"].press_data("lv:ap:1", request["message_id"])
    assert any(c.method == "answerCallbackQuery" for c in calls)
    env.clock.set(local(2026, 11, 24, 9))
    await env.tick()
    assert reminders(env, wang.id)


async def test_commissioner_puts_leave_with_a_substitute_whose_report_counts(env: Env) -> None:
    users = await bind_all(env)
    boss, wang, li = users["冯兴敏"], users["王建国"], users["李秀英"]
    await boss.command("/leave")
    await boss.press("方庄村 · 王建国")
    await boss.press("本周")
    await boss.send("参加县里培训")
    await boss.press("高河村 · 李秀英")
    await boss.press("提交")
    await env.deliver()
    assert any("冯兴敏为你登记了请假" in t for t in wang.texts())
    assert any("由你代填" in t and "方庄村" in t for t in li.texts())
    env.clock.set(local(2026, 11, 24, 9))
    await env.tick()
    assert not reminders(env, wang.id)
    assert any("请代方庄村填报" in t for t in li.texts())
    await li.press("📝 代填报告")
    await li.press("📝 填写报告")
    await li.press("报本周（第48周）")
    await li.press("今天")
    await li.press("宗教活动场所")
    await li.press("选好了 / 完成")
    await li.send("3")
    await li.press("一切正常")
    await li.press("提交")
    row = await env.db.fetchone(
        "SELECT r.person_id, v.name FROM weekly_reports r JOIN villages v ON v.id = r.village_id"
        " WHERE r.week = '2026-W48'"
    )
    li_person = await env.person("李秀英")
    assert row is not None and row["name"] == "方庄村" and row["person_id"] == li_person.id
    # Standing in ended with the report: her own /report is for 高河村 again.
    await li.command("/report")
    assert "stand_in" not in env.app.user_data[li.id]
    env.clock.set(local(2026, 11, 24, 16))
    await env.tick()
    assert sum("请代方庄村填报" in t for t in li.texts()) == 1


async def test_excused_weeks_for_exports(env: Env) -> None:
    users = await bind_all(env)
    await ask_leave(users["王建国"], when="下周")
    await env.deliver()
    await users["冯兴敏"].press("✅ 批准")
    wang = await env.person("王建国")
    assert wang is not None
    weeks = ["2026-W48", "2026-W49", "2026-W50"]
    found = await excused_weeks(env.db, env.deps.policy, env.deps.tz, weeks)
    assert list(found) == [(wang.village_id, "2026-W49")]
    assert found[(wang.village_id, "2026-W49")].end.isoformat() == "2026-12-06"
    other = await excused_weeks(env.db, env.deps.policy, env.deps.tz, weeks, township_id=999)
    assert other == {}


async def test_no_quota_nudge_during_leave(tmp_path: Path) -> None:
    env, driver = await make_env(tmp_path, start=datetime(2026, 11, 20, 12, 0, tzinfo=TZ))
    try:
        wang, li, zhang = [await env.bind(n) for n in ("王建国", "李秀英", "张伟")]
        await env.bind("冯兴敏")
        await submit(env, wang, "工作动态")
        person = await env.person("李秀英")
        assert person is not None and person.township_id is not None
        async with env.db.transaction() as tx:
            await create_leave(
                tx,
                person_id=person.id,
                township_id=person.township_id,
                village_id=person.village_id,
                start=date(2026, 11, 20),
                end=date(2026, 11, 22),
                reason=None,
                substitute_id=None,
                requested_by=person.id,
                now=env.clock.now(),
                approved=True,
            )
        env.clock.set(datetime(2026, 11, 21, 7, 0, tzinfo=TZ))  # two thirds of November
        await env.tick()
        nudged = [u for u in (li, zhang) if any("本期" in t and "/info" in t for t in u.texts())]
        assert nudged == [zhang]
    finally:
        await driver.__aexit__(None, None, None)
        await env.db.close()
    env.api.assert_no_violations()
