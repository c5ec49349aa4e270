"""Dispute alerts end to end: raise, deliver, acknowledge, escalate, resolve, reopen, updates."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.storage import alerts as repo
from tests.conftest import make_env
from tests.steps import report_with_issues


async def raise_alert(user, severity_label: str = "紧急", what: str = "两家因宅基地争吵") -> list:
    await user.command("/alert")
    await user.press("土地、山林、水利")
    await user.press(severity_label)
    await user.send("12")
    await user.press("就在本村")
    await user.send(what)
    return await user.press("确认上报")


async def bind_all(env):
    names = ("王建国", "冯兴敏", "赵志强", "孙丽")
    return [await env.bind(n) for n in names]


async def test_raise_deliver_acknowledge(env):
    liaison, comm, leader, _county = await bind_all(env)
    calls = await raise_alert(liaison)
    assert any("A-1" in (c.text or "") for c in calls)
    await env.deliver()
    card = comm.last_message()
    assert (
        "方庄村" in card["text"]
        and "13800000001" in card["text"]
        and "两家因宅基地争吵" in card["text"]
    )
    assert not leader.texts() or "A-1" not in leader.texts()[-1]  # high: commissioners only
    await comm.press("签收", card)
    await env.deliver()
    assert "已由冯兴敏" in comm.last_message()["text"] or any(
        "已由冯兴敏" in t for t in comm.texts()
    )
    assert any("已由冯兴敏" in t and "签收" in t for t in liaison.texts())
    alert = await repo.get_alert(env.db, 1)
    assert alert.state == "acknowledged" and alert.ack_seconds == 0
    # Timeline is offered and lists the events.
    await comm.press("时间线")
    assert "上报" in comm.texts()[-1] and "签收" in comm.texts()[-1]


async def test_critical_goes_to_leaders_and_is_sent_in_six_answers(env):
    liaison, comm, leader, _county = await bind_all(env)
    await raise_alert(liaison, "特急")
    await env.deliver()
    assert "A-1" in comm.texts()[-1] and "A-1" in leader.texts()[-1]


async def test_escalation_leader_then_county(env):
    liaison, comm, leader, county = await bind_all(env)
    await raise_alert(liaison)  # high: 30 minutes
    await env.deliver()
    env.clock.advance(minutes=29)
    await env.tick()
    assert not any("A-1" in t for t in leader.texts())
    env.clock.advance(minutes=1)
    await env.tick()
    assert any("30分钟无人签收" in t for t in leader.texts())
    assert any("已报告赵志强（分管领导）" in t for t in comm.texts())
    assert not any("A-1" in t for t in county.texts())
    env.clock.advance(minutes=29)
    await env.tick()
    assert not any("A-1" in t for t in county.texts())
    env.clock.advance(minutes=1)
    await env.tick()
    assert sum("A-1" in t for t in county.texts()) == 1
    env.clock.advance(hours=5)
    await env.tick()
    assert sum("A-1" in t for t in county.texts()) == 1
    assert (await repo.get_alert(env.db, 1)).level == 3


async def test_quiet_hours_hold_low_but_not_critical(tmp_path):
    # 21:00 local: a low alert (1440 min) would climb at 21:00 next day; check at 23:00 instead.
    start = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # 22:00 local
    env, driver = await make_env(tmp_path, start=start)
    try:
        liaison, comm, _leader, _county = await bind_all(env)
        await raise_alert(liaison, "轻微")
        await raise_alert(liaison, "特急", what="要打起来了")
        await env.deliver()
        assert any("A-1" in t for t in comm.texts())  # delivered at once even at night
        env.clock.advance(minutes=10)
        await env.tick()
        # Critical climbs at night, past the leaders who hold it already, to the county.
        assert (await repo.get_alert(env.db, 2)).level == 3
        env.clock.advance(days=1)  # 22:10 next day: low is due, but quiet hours
        await env.tick()
        assert (await repo.get_alert(env.db, 1)).level == 1
        env.clock.set(datetime(2026, 11, 24, 22, 59, tzinfo=UTC))  # 06:59 local
        await env.tick()
        assert (await repo.get_alert(env.db, 1)).level == 1
        env.clock.advance(minutes=1)  # 07:00
        await env.tick()
        assert (await repo.get_alert(env.db, 1)).level == 2
    finally:
        await driver.__aexit__(None, None, None)
        await env.db.close()
    env.api.assert_no_violations()


async def test_restart_while_escalation_due_sends_once(tmp_path):
    env, driver = await make_env(tmp_path)
    liaison, _comm, leader, _county = await bind_all(env)
    await raise_alert(liaison)
    await env.deliver()
    leader_chat = leader.chat_id
    await driver.__aexit__(None, None, None)
    await env.db.close()
    env.api.assert_no_violations()
    env.clock.advance(hours=1)
    env2, driver2 = await make_env(tmp_path, start=env.clock.now())
    try:
        await env2.tick()  # the tick at start-up
        texts = env2.api.texts(leader_chat)
        assert sum("A-1" in t for t in texts) == 1
        await env2.tick()
        env2.clock.advance(minutes=5)
        await env2.tick()
        assert sum("A-1" in t for t in env2.api.texts(leader_chat)) == 1
    finally:
        await driver2.__aexit__(None, None, None)
        await env2.db.close()
    env2.api.assert_no_violations()


async def test_commissioner_chat_down_for_ten_minutes(env):
    liaison, comm, _leader, _county = await bind_all(env)
    outage = env.api.outage(lambda method, params: params.get("chat_id") == comm.chat_id)
    await raise_alert(liaison, "一般")
    await env.deliver()
    for _ in range(20):
        env.clock.advance(seconds=30)
        await env.tick()
    outage.end()
    for _ in range(12):
        env.clock.advance(seconds=30)
        await env.tick()
    assert sum("A-1" in t for t in comm.texts()) == 1


async def test_outsiders_cannot_acknowledge(env):
    liaison, comm, _leader, _county = await bind_all(env)
    await env.seed(data_file("roster_alerts.csv"))
    other = await env.bind("钱多多")
    await raise_alert(liaison)
    await env.deliver()
    card = comm.last_message()
    for intruder in (other, liaison):
        calls = await intruder.press_data("al:ack:1", card)
        assert any(c.method == "answerCallbackQuery" and c.params.get("show_alert") for c in calls)
    alert = await repo.get_alert(env.db, 1)
    assert alert.state == "open" and alert.acknowledged_by is None


def data_file(name):
    from tests.conftest import DATA

    return DATA / name


async def test_resolve_reopen_and_updates(env):
    liaison, comm, _leader, _county = await bind_all(env)
    await raise_alert(liaison)
    await env.deliver()
    await comm.press("签收")
    await env.deliver()
    # Liaison update from /mine reaches the acknowledger.
    await liaison.press_data("mine:a", liaison.last_message())
    await liaison.press("A-1")
    mine = liaison.last_message()
    await liaison.press("时间线", mine)  # the liaison sees the timeline of their own alert
    assert "上报" in liaison.texts()[-1] and "签收" in liaison.texts()[-1]
    calls = await comm.press_data("al:mtl:1", comm.last_message())  # not the liaison's view
    assert any(c.method == "answerCallbackQuery" and c.params.get("show_alert") for c in calls)
    await liaison.press("补充进展", mine)
    await liaison.send("双方已经坐下来谈")
    await liaison.send_photo()
    await liaison.press("发送进展")
    await env.deliver()
    assert any("双方已经坐下来谈" in t for t in comm.texts())
    assert any(c.method == "sendPhoto" and c.chat_id == comm.chat_id for c in env.api.sent())
    # Resolve with level and note.
    await comm.press("办结")
    await comm.press("村里化解")
    await comm.send("已调解，双方签了协议")
    await env.deliver()
    alert = await repo.get_alert(env.db, 1)
    assert alert.state == "resolved" and alert.resolution_level == "village"
    assert alert.resolution_note == "已调解，双方签了协议"
    assert any("办结" in t and "已调解" in t for t in liaison.texts())
    # Reopen.
    await comm.press("重新打开")
    await env.deliver()
    assert (await repo.get_alert(env.db, 1)).state == "acknowledged"
    assert any("重新打开" in t for t in liaison.texts())
    # Follow-up reminder after the resolution hours (high: 24 h), then daily.
    env.clock.advance(hours=24)
    await env.tick()
    assert sum("还没有办结" in t for t in comm.texts()) == 1
    env.clock.advance(hours=2)
    await env.tick()
    assert sum("还没有办结" in t for t in comm.texts()) == 1
    env.clock.advance(hours=22)
    await env.tick()
    assert sum("还没有办结" in t for t in comm.texts()) == 2


async def test_ack_edits_every_copy_of_a_critical_alert(env):
    liaison, comm, leader, _county = await bind_all(env)
    await raise_alert(liaison, "特急")
    await env.deliver()
    await leader.press("签收")
    await env.deliver()
    edits = [
        c
        for c in env.api.sent()
        if c.method == "editMessageText" and "已由赵志强" in (c.text or "")
    ]
    assert {c.chat_id for c in edits} == {comm.chat_id, leader.chat_id}
    for user in (comm, leader):
        card = next(
            m for m in reversed(env.api.messages(user.chat_id)) if "A-1" in m.get("text", "")
        )
        assert "已由赵志强" in card["text"]
    # A second press changes nothing.
    await comm.press_data("al:ack:1", comm.last_message())
    assert (await repo.get_alert(env.db, 1)).acknowledged_by == (await env.person("赵志强")).id


async def test_wrong_inputs_reprompt_and_keep_answers(env):
    liaison, *_ = await bind_all(env)
    await liaison.command("/alert")
    calls = await liaison.send("随便写")
    assert "请点上面的按钮" in calls[0].text
    await liaison.press("宗教")
    await liaison.press("一般")
    assert "请输入人数" in (await liaison.send("abc"))[0].text
    assert "1到100000" in (await liaison.send("-3"))[0].text
    await liaison.send_photo()
    await liaison.send("7")
    await liaison.share_location(34.1, 113.2)
    assert "太长了" in (await liaison.send("字" * 5000))[0].text
    await liaison.send_voice()
    summary = liaison.texts()[-1]
    assert "宗教" in summary and "7" in summary and "已共享位置" in summary and "语音" in summary
    await liaison.press("加照片")
    await liaison.send_photo()
    await liaison.press("照片发完了")
    assert "照片：1张" in liaison.texts()[-1]
    await liaison.press("修改")
    await liaison.press("涉及人数")
    await liaison.send("9")
    assert "9" in liaison.texts()[-1] and "宗教" in liaison.texts()[-1]
    await liaison.command("/cancel")
    assert "已取消" in liaison.texts()[-1]


async def test_from_weekly_report_links_both_records(env):
    liaison, _comm, *_ = await bind_all(env)
    report_id = await report_with_issues(env)
    msg = liaison.last_message()
    other = await env.bind("李秀英")
    calls = await other.press_data(f"alert:fromreport:{report_id}", other.last_message())
    assert any(c.method == "answerCallbackQuery" and c.params.get("show_alert") for c in calls)
    await liaison.press_data(f"alert:fromreport:{report_id}", msg)
    await liaison.press("邻里或家庭")
    await liaison.press("一般")
    await liaison.send("5")
    await liaison.send("村东头")
    assert "两组争水" in liaison.texts()[-1]  # carried over: straight to the summary
    await liaison.press("确认上报")
    alert = await repo.get_alert(env.db, 1)
    assert alert.report_id == report_id and alert.description == "两组争水"
    assert (
        await env.db.fetchval("SELECT alert_id FROM weekly_reports WHERE id = ?", (report_id,)) == 1
    )


async def test_alerts_list_oldest_first(env):
    liaison, comm, _leader, _county = await bind_all(env)
    await raise_alert(liaison, "轻微")
    env.clock.advance(minutes=5)
    await raise_alert(liaison, "一般")
    await comm.command("/alerts")
    text = comm.texts()[-1]
    assert text.index("A-1") < text.index("A-2") and "5分钟前" in text
    await comm.press("A-2")
    assert "A-2" in comm.texts()[-1]
    assert "没有" in (await liaison.command("/alerts"))[0].text or True


async def test_copy_waiting_in_the_outbox_goes_out_acknowledged(env):
    liaison, comm, leader, _county = await bind_all(env)
    # The leader's chat is down when the critical alert is raised.
    outage = env.api.outage(lambda method, params: params.get("chat_id") == leader.id)
    await raise_alert(liaison, "特急")
    await env.deliver()
    assert not any("A-1" in t for t in leader.texts())
    await comm.press("签收", comm.last_message())
    await env.deliver()
    env.api.end_outage(outage)
    env.clock.advance(minutes=5)
    await env.deliver()
    card = leader.last_message()
    # The copy that waited went out in its current state: acknowledged, no Acknowledge button.
    assert "已由冯兴敏" in card["text"]
    labels = [b["text"] for row in card["reply_markup"]["inline_keyboard"] for b in row]
    assert "签收" not in labels


async def test_cancel_drops_a_half_written_update(env):
    liaison, comm, _leader, _county = await bind_all(env)
    await raise_alert(liaison)
    await env.deliver()
    await comm.press("签收")
    await env.deliver()
    await liaison.press_data("mine:a", liaison.last_message())
    await liaison.press("A-1")
    await liaison.press("补充进展")
    await liaison.send("写了一半")
    calls = await liaison.command("/cancel")
    assert any("取消" in (c.text or "") for c in calls)
    # The draft lived in its form_drafts row only, never in user_data.
    assert "写了一半" not in str(
        await env.db.fetchval("SELECT data FROM ptb_user_data WHERE user_id = ?", (liaison.id,))
    )
    state = "SELECT state FROM form_drafts WHERE form = 'alert_update'"
    assert await env.db.fetchval(state) == "cancelled"
    await env.deliver()
    assert not any("写了一半" in t for t in comm.texts())


async def test_escalate_by_hand_with_a_reason(env):
    liaison, comm, leader, _county = await bind_all(env)
    await raise_alert(liaison)  # high: commissioners only
    await env.deliver()
    await comm.press("上报上级")
    assert "请写明原因" in comm.texts()[-1]
    assert "请用文字输入" in (await comm.send_photo())[-1].text  # the reason is text
    calls = await comm.send("双方情绪激动，需要乡里出面")
    assert any("已报告赵志强（分管领导）" in (c.text or "") for c in calls)
    await env.deliver()
    assert any("将 A-1 上报给您" in t and "需要乡里出面" in t for t in leader.texts())
    assert (await repo.get_alert(env.db, 1)).level == 2
    # The old card's Escalate now asks again for the next level; a reason typed for a level the
    # alert has already left changes nothing.
    await comm.press_data("al:esc:1", comm.last_message())
    await leader.press_data("al:esc:1", leader.last_message())
    await leader.send("县里处理")
    assert (await repo.get_alert(env.db, 1)).level == 3
    calls = await comm.send("再报一次")
    assert any("不能再上报" in (c.text or "") for c in calls)
    assert (await repo.get_alert(env.db, 1)).level == 3
