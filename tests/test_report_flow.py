"""/report end to end: the 5-tap path, issues with evidence, bad inputs, edit, restart, late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.storage import reports as repo
from tests.conftest import Env, make_env
from tests.steps import report_to_visited

# Monday 16 Nov 2026 09:00 local (W47), a week before the default start.
PREV_MONDAY = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)


async def _count(env: Env, sql: str, *params: object) -> int:
    return await env.db.fetchval(sql, params)


async def _fill_normal(user, visited: str = "7") -> None:  # type: ignore[no-untyped-def]
    await user.press("今天")
    await user.press("宗教活动场所")
    await user.press("选好了 / 完成")
    await user.send(visited)
    await user.press("一切正常")


async def test_report_normal_path_zh(env: Env) -> None:
    user = await env.bind("王建国")
    # Monday before the due time, last week missing: offered last week or this week.
    calls = await user.command("/report")
    assert "上周" in calls[-1].text
    await user.press("报本周（第48周）")
    await _fill_normal(user)
    text = user.texts()[-1]
    assert "W48-方庄村" in text and "宗教活动场所" in text and "7" in text
    calls = await user.press("提交")
    assert "已提交" in calls[-1].text and "W48-方庄村" in calls[-1].text
    rows = await env.db.fetchall("SELECT * FROM weekly_reports")
    assert len(rows) == 1 and rows[0]["late"] == 0 and rows[0]["visited"] == 7
    assert await _count(env, "SELECT COUNT(*) FROM weekly_report_history") == 1


async def test_five_taps_when_same_as_last_week(tmp_path: Path) -> None:
    env, driver = await make_env(tmp_path, start=PREV_MONDAY)
    try:
        user = await env.bind("王建国")
        await user.command("/report")
        await user.press("报本周（第47周）")
        await _fill_normal(user, "12")
        await user.press("提交")
        env.clock.advance(timedelta(days=7))
        # From /report to a stored report: at most 5 taps or answers.
        taps = 0
        calls = await user.command("/report")
        assert "哪天" in calls[-1].text
        for label in ("今天", "和上次一样", "12（同上次）", "一切正常", "提交"):
            calls = await user.press(label)
            taps += 1
        assert taps <= 5 and "W48-方庄村" in calls[-1].text
        row = await env.db.fetchone("SELECT * FROM weekly_reports WHERE week = '2026-W48'")
        assert row is not None and row["visited"] == 12 and row["late"] == 0
    finally:
        await driver.__aexit__(None, None, None)
        await env.db.close()
    env.api.assert_no_violations()


def _popup(calls) -> str:  # type: ignore[no-untyped-def]
    return " ".join(c.params.get("text", "") for c in calls if c.method == "answerCallbackQuery")


def _buttons(env: Env, user) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    msg = env.api.last_message(user.chat_id) or {}
    rows = (msg.get("reply_markup") or {}).get("inline_keyboard", [])
    return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


async def test_issues_path_with_evidence_and_dispute_en(env: Env) -> None:
    user = await env.bind("王建国", language_code="en")
    await user.command("/report")
    await user.press("This week (week 48)")
    await user.press("Today")
    await user.press("Minority households")
    await user.press("Private enterprises")
    await user.press("Done")
    await user.press("5")
    await user.press("Issues found")
    await user.send("Two families quarrel over a field boundary.")
    await user.press("Yes")  # unstable
    await user.press("No")  # follow-up
    await user.press("Yes")  # dispute
    await user.send_photo()
    await user.send_photo()
    await user.send_voice()
    calls = await user.share_location(34.1, 113.2)
    assert "2 photo(s)" in calls[-1].text and "voice" in calls[-1].text
    await user.press("Done")
    summary = user.texts()[-1]
    assert "Two families" in summary and "Dispute: Yes" in summary and "1 location" in summary
    calls = await user.press("Submit")
    assert "Submitted: W48-方庄村" in calls[-1].text
    report_id = await env.db.fetchval("SELECT id FROM weekly_reports")
    assert ("Raise a dispute alert", f"alert:fromreport:{report_id}") in _buttons(env, user)
    row = await env.db.fetchone("SELECT * FROM weekly_reports")
    assert row["dispute"] == 1 and row["unstable"] == 1 and row["follow_up"] == 0
    kinds = [
        r["kind"]
        for r in await env.db.fetchall(
            "SELECT kind FROM attachments WHERE owner_kind = 'report' AND owner_id = ? ORDER BY id",
            (report_id,),
        )
    ]
    assert kinds == ["photo", "photo", "voice", "location"]
    rep = await repo.get_report(env.db, report_id)
    assert rep is not None and rep.findings.startswith("Two families")


async def test_bad_inputs_reprompt_and_keep_answers(env: Env) -> None:
    user = await env.bind("王建国")
    await user.command("/report")
    calls = await user.send("随便写点")  # text where buttons are expected
    assert "请点下面的按钮" in calls[-1].text
    await user.press("报本周（第48周）")
    await user.press("今天")
    calls = await user.press("选好了 / 完成")  # nothing chosen
    assert "至少选一个" in _popup(calls)
    await user.press("宗教活动场所")
    await user.press("选好了 / 完成")
    for bad, words in (("abc", "请输入数字"), ("-3", "0 到 999"), ("1000", "0 到 999")):
        calls = await user.send(bad)
        assert words in calls[-1].text, bad
    calls = await user.send_photo()
    assert "需要一个数字" in calls[-1].text
    await user.send("８")  # full-width digits are fine
    await user.press("发现问题")
    calls = await user.send_photo()
    assert "需要文字" in calls[-1].text
    calls = await user.send("长" * 5000)
    assert "太长了" in calls[-1].text and "2000" in calls[-1].text
    await user.send("有人在村口聚集")
    await user.press("否")
    await user.press("否")
    await user.press("否")
    calls = await user.send("这是文字")
    assert "只收照片" in calls[-1].text
    for _ in range(5):
        await user.send_photo()
    calls = await user.send_photo()
    assert "最多只能5张" in calls[-1].text
    await user.press("完成")
    summary = user.texts()[-1]
    assert "照片5张" in summary and "走访户数（人）：8" in summary and "有人在村口聚集" in summary
    await user.press("提交")
    assert await _count(env, "SELECT COUNT(*) FROM attachments WHERE kind = 'photo'") == 5
    # No dispute flagged: no alert button.
    assert not any(d.startswith("alert:") for _, d in _buttons(env, user))


async def test_edit_from_summary_and_cancel(env: Env) -> None:
    user = await env.bind("王建国")
    await user.command("/report")
    await user.press("报本周（第48周）")
    await _fill_normal(user)
    await user.press("修改")
    await user.press("走访户数")
    await user.send("15")
    summary = user.texts()[-1]
    assert "走访户数（人）：15" in summary and "提交" in str(_buttons(env, user))
    await user.press("修改")
    await user.press("结果")
    await user.press("发现问题")
    await user.send("发现外来传教人员")
    await user.press("是")
    await user.press("是")
    await user.press("否")
    await user.press("跳过")
    summary = user.texts()[-1]
    assert "发现外来传教人员" in summary and "走访户数（人）：15" in summary
    calls = await user.command("/cancel")
    assert "已取消" in calls[-1].text
    assert await _count(env, "SELECT COUNT(*) FROM weekly_reports") == 0


async def test_double_submit_and_duplicated_update_store_one(env: Env) -> None:
    user = await env.bind("王建国")
    await user.command("/report")
    await user.press("报本周（第48周）")
    await _fill_normal(user)
    summary = env.api.last_message(user.chat_id)
    submit = next(d for t, d in _buttons(env, user) if t == "提交")
    await user.press_data(submit, summary)
    calls = await user.press_data(submit, summary)
    assert "已经提交" in _popup(calls)
    # The same update delivered again (Telegram redelivery) is skipped.
    await env.driver.deliver(env.driver.delivered[-1])
    assert await _count(env, "SELECT COUNT(*) FROM weekly_reports") == 1
    assert await _count(env, "SELECT COUNT(*) FROM weekly_report_history") == 1


async def test_existing_report_shown_and_edited_with_history(env: Env) -> None:
    user = await env.bind("王建国")
    await user.command("/report")
    await user.press("报本周（第48周）")
    await _fill_normal(user)
    await user.press("提交")
    calls = await user.command("/report")
    assert "已经提交" in calls[-1].text and "W48-方庄村" in calls[-1].text
    await user.press("修改")
    await user.press("巡查场所")
    await user.press("少数民族家庭")
    await user.press("选好了 / 完成")
    calls = await user.press("提交")
    assert "已修改" in calls[-1].text
    row = await env.db.fetchone("SELECT * FROM weekly_reports")
    assert row["version"] == 2 and "minority" in row["places"]
    hist = await repo.history(env.db, row["id"])
    assert [h[0] for h in hist] == [1, 2]
    assert await _count(env, "SELECT COUNT(*) FROM weekly_reports") == 1


async def test_second_liaison_of_village_sees_who_reported(env: Env) -> None:
    wang = await env.bind("王建国")
    await wang.command("/report")
    await wang.press("报本周（第48周）")
    await _fill_normal(wang)
    await wang.press("提交")
    village = await env.db.fetchval("SELECT id FROM villages WHERE name = '方庄村'")
    township = await env.db.fetchval("SELECT township_id FROM villages WHERE id = ?", (village,))
    async with env.db.transaction() as tx:
        await tx.execute(
            "INSERT INTO people (name, role, township_id, village_id, telegram_id, created_at)"
            " VALUES ('王二', 'liaison', ?, ?, 424242, '2026-11-01T00:00:00.000000Z')",
            (township, village),
        )
    other = env.user("王二", user_id=424242)
    calls = await other.command("/report")
    assert "王建国" in calls[-1].text and "已由" in calls[-1].text


async def test_kill_9_mid_report_then_finish(tmp_path: Path) -> None:
    env, _driver = await make_env(tmp_path)
    user = await env.bind("王建国")
    await user.command("/report")
    await user.press("报本周（第48周）")
    await user.press("今天")
    await user.press("非公企业")
    # kill -9: no shutdown, no flush; only what was written after each update survives.
    await env.db.close()
    env2, driver2 = await make_env(tmp_path)
    try:
        user2 = env2.user("王建国", user_id=user.id)
        # Telegram's update ids keep growing across a restart; the new fake API starts at 1.
        env2.api._next_update_id = env.api._next_update_id
        calls = await user2.command("/report")
        assert "非公企业" in str(calls[-1].params.get("reply_markup"))
        await user2.press("选好了 / 完成")
        await user2.send("3")
        await user2.press("一切正常")
        calls = await user2.press("提交")
        assert "W48-方庄村" in calls[-1].text
        row = await env2.db.fetchone("SELECT * FROM weekly_reports")
        assert row["places"] == '["enterprise"]' and row["visited"] == 3
    finally:
        await driver2.__aexit__(None, None, None)
        await env2.db.close()
    env2.api.assert_no_violations()


async def test_late_and_previous_week(env: Env) -> None:
    user = await env.bind("王建国")
    await user.command("/report")
    calls = await user.press("补报上周（第47周）")
    assert "第47周" in calls[-1].text
    await user.press(
        "11月20日",
    )
    await user.press("宗教活动场所")
    await user.press("选好了 / 完成")
    await user.send("4")
    await user.press("一切正常")
    assert "迟报" in user.texts()[-1]
    calls = await user.press("提交")
    assert "W47-方庄村" in calls[-1].text and "迟报" in calls[-1].text
    # Now this week; after the due time (Tuesday 18:00) it is late.
    env.clock.advance(timedelta(days=1, hours=10))
    calls = await user.command("/report")
    assert "哪天" in calls[-1].text  # W47 exists: no offer
    await user.press("今天")
    await user.press("宗教活动场所")
    await user.press("选好了 / 完成")
    await user.press("4（同上次）")
    await user.press("一切正常")
    await user.press("提交")
    rows = {
        r["week"]: r["late"] for r in await env.db.fetchall("SELECT week, late FROM weekly_reports")
    }
    assert rows == {"2026-W47": 1, "2026-W48": 1}


async def test_previous_week_not_offered_after_due(env: Env) -> None:
    env.clock.advance(timedelta(days=1, hours=10))  # Tuesday 19:00
    user = await env.bind("王建国")
    calls = await user.command("/report")
    assert "哪天" in calls[-1].text


async def test_dispute_button_reaches_the_alert_form(env: Env) -> None:
    user = await env.bind("王建国")
    await report_to_visited(user)
    await user.send("2")
    await user.press("发现问题")
    await user.send("两村因浇地用水争吵")
    await user.press("是")
    await user.press("是")
    await user.press("是")
    await user.press("跳过")
    await user.press("提交")
    calls = await user.press("发起矛盾纠纷预警")
    said = " ".join(c.text or "" for c in calls) + _popup(calls)
    assert "出了点问题" not in said and "过期" not in said and said.strip()


async def test_new_network_is_not_asked_for_last_week(env: Env) -> None:
    from datetime import timedelta

    await env.seed(ago=timedelta(0))  # the roster arrived this Monday morning
    user = await env.bind("王建国")
    calls = await user.command("/report")
    assert "上周" not in calls[-1].text
    assert "今天" in calls[-1].buttons
