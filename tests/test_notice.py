"""Notices end to end: compose, deliver, confirm, remind, deadline list, replies, scope."""

from __future__ import annotations

from datetime import timedelta

from bot.storage import notices as store
from bot.storage.leave import create_leave
from tests.conftest import DATA, Env

ROSTER = DATA / "roster_notice.csv"
LIAISONS = ("王建国", "李秀英", "张伟", "吴芳", "钱多", "郑一")
BOSSES = ("冯兴敏", "何平", "高远", "孙丽")


async def bind_all(env: Env) -> dict:
    await env.seed(ROSTER)
    return {name: await env.bind(name) for name in (*LIAISONS, *BOSSES)}


def copy_of(sender) -> str:
    """Return the sender's copy of the notice as it stands now."""
    return [t for t in sender.texts() if "你发出的通知" in t][-1]


def got_notice(user, ref: str = "N-1") -> bool:
    return any(f"通知 {ref}" in t and "📢" in t for t in user.texts())


async def compose(
    sender,
    text: str = "本周五前走访所有宗教活动场所。",
    townships: tuple[str, ...] = (),
    audience: str = "联络员",
    deadline: str = "明天",
    replies: bool = True,
) -> list:
    await sender.command("/notice")
    for name in townships:
        await sender.press(name)
    if townships:
        await sender.press("选好了")
    await sender.send(text)
    await sender.press("不加附件")
    await sender.press(audience)
    await sender.press(deadline)
    await sender.press("允许回复" if replies else "不需要回复")
    return await sender.press("📤 发送")


async def test_county_notice_reaches_liaisons_of_two_townships_only(env: Env) -> None:
    users = await bind_all(env)
    calls = await compose(users["孙丽"], townships=("河口乡", "金汇镇"))
    assert any("N-1" in (c.text or "") and "5人" in (c.text or "") for c in calls)
    await env.deliver()
    for name in ("王建国", "李秀英", "张伟", "吴芳", "钱多"):
        assert got_notice(users[name]), name
    for name in ("郑一", "冯兴敏", "何平", "高远"):
        assert not got_notice(users[name]), name
    assert "已确认 0/5" in copy_of(users["孙丽"])


async def test_confirmations_update_the_senders_count(env: Env) -> None:
    users = await bind_all(env)
    await compose(users["冯兴敏"])
    await env.deliver()
    sender = users["冯兴敏"]
    assert "已确认 0/3" in copy_of(sender)
    await users["王建国"].press("✅ 收到")
    await env.deliver()
    assert "已确认 1/3" in copy_of(sender)
    card = users["王建国"].last_message()
    labels = [b["text"] for row in card["reply_markup"]["inline_keyboard"] for b in row]
    assert "已确认 09:00" in labels and "💬 回复" in labels
    # A second press changes nothing.
    await users["王建国"].press("已确认 09:00")
    await users["李秀英"].press("✅ 收到")
    await env.deliver()
    assert "已确认 2/3" in copy_of(sender)
    await sender.press("未确认名单（1）")
    assert "张伟" in sender.texts()[-1] and "王建国" not in sender.texts()[-1]
    # Remind: once an hour.
    await sender.press("🔔 提醒未确认")
    await env.deliver()
    assert any("提醒" in t and "N-1" in t for t in users["张伟"].texts())
    assert not any("提醒" in t for t in users["王建国"].texts())
    calls = await sender.press("🔔 提醒未确认")
    assert any("每小时最多提醒一次" in str(c.params.get("text")) for c in calls)
    env.clock.advance(hours=1)
    await sender.press("🔔 提醒未确认")
    await env.deliver()
    assert sum("🔔 提醒" in t for t in users["张伟"].texts()) == 2


async def test_half_time_reminder_only_unconfirmed_and_held_by_quiet_hours(env: Env) -> None:
    users = await bind_all(env)
    # Monday 09:00, deadline today 18:00: half time is 13:30.
    await compose(users["冯兴敏"], deadline="今天")
    await env.deliver()
    await users["王建国"].press("✅ 收到")
    env.clock.advance(hours=4, minutes=29)
    await env.tick()
    assert not any("🔔" in t for t in users["李秀英"].texts())
    env.clock.advance(minutes=1)
    await env.tick()
    assert any("🔔" in t for t in users["李秀英"].texts())
    assert any("🔔" in t for t in users["张伟"].texts())
    assert not any("🔔" in t for t in users["王建国"].texts())
    env.clock.advance(hours=2)
    await env.tick()
    assert sum("🔔" in t for t in users["李秀英"].texts()) == 1


async def test_quiet_hours_hold_the_half_time_reminder(env: Env) -> None:
    users = await bind_all(env)
    env.clock.advance(hours=8)  # Monday 17:00; deadline Tuesday 18:00 → half time 05:30 Tuesday
    await compose(users["冯兴敏"], deadline="明天")
    await env.deliver()
    env.clock.advance(hours=12, minutes=40)  # Tuesday 05:40: half time passed, but quiet
    await env.tick()
    assert not any("🔔" in t for t in users["张伟"].texts())
    env.clock.advance(hours=1, minutes=20)  # 07:00
    await env.tick()
    assert any("🔔" in t for t in users["张伟"].texts())


async def test_deadline_list_names_who_never_confirmed(env: Env) -> None:
    users = await bind_all(env)
    await compose(users["冯兴敏"], deadline="明天")
    await env.deliver()
    await users["王建国"].press("✅ 收到")
    env.clock.advance(hours=33, minutes=1)  # Tuesday 18:01
    await users["李秀英"].press("✅ 收到")  # at the deadline, too late
    await env.tick()
    lists = [t for t in users["冯兴敏"].texts() if "已到截止时间" in t]
    assert len(lists) == 1
    assert "李秀英" in lists[0] and "张伟" in lists[0] and "王建国" not in lists[0]
    assert "2/3" in lists[0]
    await env.tick()
    assert len([t for t in users["冯兴敏"].texts() if "已到截止时间" in t]) == 1


async def test_reply_reaches_the_sender(env: Env) -> None:
    users = await bind_all(env)
    await compose(users["冯兴敏"])
    await env.deliver()
    liaison = users["王建国"]
    await liaison.press("💬 回复")
    await liaison.send("方庄村有两处场所，周四走访。")
    await liaison.press("📎 添加附件")
    await liaison.send_photo()
    await liaison.press("选好了")
    await liaison.press("📤 发送")
    await env.deliver()
    sender = users["冯兴敏"]
    reply = [t for t in sender.texts() if "回复" in t and "两处场所" in t]
    assert reply and "王建国" in reply[0] and "13800000001" in reply[0]
    photos = [c for c in env.api.sent(sender.id, ok=True) if c.method == "sendPhoto"]
    assert photos
    await sender.press("时间线")
    assert "王建国（方庄村）回复" in sender.texts()[-1]


async def test_forged_confirm_from_another_township_is_refused(env: Env) -> None:
    users = await bind_all(env)
    await compose(users["冯兴敏"])
    await env.deliver()
    stranger = users["吴芳"]
    await stranger.send("你好")
    target = stranger.last_message()
    calls = await stranger.press_data("nt:ok:1", target)
    assert any(c.method == "answerCallbackQuery" and c.params.get("show_alert") for c in calls)
    notice = await store.get_notice(env.db, 1)
    assert notice is not None and notice.confirmed == 0
    ok, _ = await store.is_recipient(env.db, 1, (await env.person("吴芳")).id)
    assert not ok
    # Nor can they read its timeline, list who is missing or remind.
    for data in ("nt:tl:1", "nt:who:1", "nt:rem:1", "nt:re:1", "nt:ok:99999999999999999999"):
        calls = await stranger.press_data(data, target)
        assert all("本周五" not in str(c.params.get("text")) for c in calls)


async def test_notices_lists_sent_and_received(env: Env) -> None:
    users = await bind_all(env)
    await compose(users["冯兴敏"])
    await env.deliver()
    await users["王建国"].press("✅ 收到")
    await users["冯兴敏"].command("/notices")
    assert "N-1" in users["冯兴敏"].texts()[-1] and "1/3" in users["冯兴敏"].texts()[-1]
    await users["张伟"].command("/notices")
    assert "N-1" in users["张伟"].texts()[-1] and "未确认" in users["张伟"].texts()[-1]
    await users["张伟"].press("N-1")
    assert "时间线" in users["张伟"].texts()[-1]


async def test_commissioner_audience_is_own_township_only(env: Env) -> None:
    users = await bind_all(env)
    await compose(users["冯兴敏"], audience="联络员和统战委员")
    await env.deliver()
    for name in ("王建国", "李秀英", "张伟"):
        assert got_notice(users[name])
    for name in ("吴芳", "钱多", "郑一", "何平", "高远", "孙丽"):
        assert not got_notice(users[name])


async def test_half_time_reminder_skips_a_recipient_on_leave(env: Env) -> None:
    users = await bind_all(env)
    li = await env.person("李秀英")
    assert li is not None and li.township_id is not None
    today = env.clock.now().astimezone(env.deps.tz).date()
    async with env.db.transaction() as tx:
        await create_leave(
            tx,
            person_id=li.id,
            township_id=li.township_id,
            village_id=li.village_id,
            start=today,
            end=today + timedelta(days=3),
            reason=None,
            substitute_id=None,
            requested_by=li.id,
            now=env.clock.now(),
            approved=True,
        )
    await compose(users["冯兴敏"], deadline="今天")
    await env.deliver()
    assert got_notice(users["李秀英"])  # the notice itself still reaches her
    env.clock.advance(hours=4, minutes=30)
    await env.tick()
    assert any("🔔" in t for t in users["张伟"].texts())
    assert not any("🔔" in t for t in users["李秀英"].texts())
    await users["冯兴敏"].press("未确认名单（3）")
    assert "请假（至11月26日）" in users["冯兴敏"].texts()[-1]


async def test_a_burst_of_confirmations_costs_one_pending_edit(env: Env) -> None:
    users = await bind_all(env)
    await compose(users["冯兴敏"])
    await env.deliver()
    for name in ("王建国", "李秀英", "张伟"):
        await users[name].press("✅ 收到")
    pending = await env.db.fetchval(
        "SELECT COUNT(*) FROM outbox WHERE ref_kind = 'notice_copy_edit' AND state = 'pending'"
    )
    assert pending == 1
    await env.deliver()
    assert "已确认 3/3" in copy_of(users["冯兴敏"])
    await users["冯兴敏"].command("/notices")
    assert "已全部确认" in users["冯兴敏"].texts()[-1]
