"""/mine: the menu and the liaison's recent reports."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import Env


async def test_mine_lists_weeks_and_opens_a_report(env: Env) -> None:
    wang = await env.bind("王建国")
    calls = await wang.command("/mine")
    buttons = [
        b["callback_data"]
        for row in calls[-1].params["reply_markup"]["inline_keyboard"]
        for b in row
    ]
    assert buttons == ["mine:r", "mine:a", "mine:i"]
    await wang.command("/report")
    await wang.press("补报上周（第47周）")
    await wang.press("11月20日")
    await wang.press("宗教活动场所")
    await wang.press("选好了 / 完成")
    await wang.send("2")
    await wang.press("一切正常")
    await wang.press("提交")
    await wang.command("/mine")
    calls = await wang.press("巡查报告")
    text = calls[-1].text
    assert "第48周：待报" in text and "第47周：迟报" in text
    # Issue 9: the village joined on 15 Nov, so week 46 (due 10 Nov) is not shown as 未报.
    assert "第46周" not in text
    calls = await wang.press("看第47周")
    assert "W47-方庄村" in calls[-1].text and "王建国" in calls[-1].text


async def test_mine_open_and_edit_this_week_en(env: Env) -> None:
    wang = await env.bind("王建国", language_code="en")
    await wang.command("/report")
    await wang.press("This week (week 48)")
    await wang.press("Today")
    await wang.press("Other")
    await wang.press("Done")
    await wang.send("1")
    await wang.press("All normal")
    await wang.press("Submit")
    env.clock.advance(timedelta(hours=1))
    await wang.command("/mine")
    calls = await wang.press("Patrol reports")
    assert "Week 48: on time" in calls[-1].text
    await wang.press("Open week 48")
    await wang.press("Edit")  # opens the report form on the stored report
    await wang.press("Edit")
    await wang.press("Visited")
    await wang.send("9")
    calls = await wang.press("Submit")
    assert "W48-方庄村 updated" in calls[-1].text
    row = await env.db.fetchone("SELECT visited, version FROM weekly_reports")
    assert row["visited"] == 9 and row["version"] == 2


async def test_mine_forged_report_id_refused(env: Env) -> None:
    wang = await env.bind("王建国")
    li = await env.bind("李秀英")
    await wang.command("/report")
    await wang.press("报本周（第48周）")
    await wang.press("今天")
    await wang.press("宗教活动场所")
    await wang.press("选好了 / 完成")
    await wang.send("2")
    await wang.press("一切正常")
    await wang.press("提交")
    rid = await env.db.fetchval("SELECT id FROM weekly_reports")
    await li.command("/mine")
    msg = env.api.last_message(li.chat_id)
    for data in (f"mine:r:{rid}", f"rpo:{rid}"):
        calls = await li.press_data(data, msg)
        popups = [c.params.get("text", "") for c in calls if c.method == "answerCallbackQuery"]
        assert any("不能" in p for p in popups), data
