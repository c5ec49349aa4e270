"""Escalation tells the truth and never stalls; evidence goes with every card (issue 9)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.storage import alerts as repo
from tests.conftest import DATA, Env, make_env


async def voice_only_critical(user, photos: int = 2) -> None:
    """Raise a critical alert whose 'what happened' is only a voice note, with a location."""
    await user.command("/alert")
    await user.press("土地、山林、水利")
    await user.press("特急")
    await user.send("30")
    await user.share_location(31.2, 121.4)
    await user.send_voice(duration=7)
    if photos:
        await user.press("加照片")
        for _ in range(photos):
            await user.send_photo()
        await user.press("照片发完了")
    await user.press("确认上报")


def sent(env: Env, user, method: str) -> list:
    return env.api.sent(user.id, method=method, ok=True)


def card_id(user, ref: str = "A-1") -> int:
    return next(m for m in user.api.messages(user.id) if ref in m.get("text", ""))["message_id"]


async def test_voice_only_critical_alert_delivers_voice_to_every_level(env: Env) -> None:
    liaison = await env.bind("王建国")
    comm, leader, county = [await env.bind(n) for n in ("冯兴敏", "赵志强", "孙丽")]
    await voice_only_critical(liaison)
    await env.deliver()
    for who in (comm, leader):
        card = next(m for m in env.api.messages(who.id) if "A-1" in m.get("text", ""))
        assert "随后发送：照片2张、语音1条、位置" in card["text"], card["text"]
        assert "31.2" not in card["text"]  # no raw coordinates
        [voice] = sent(env, who, "sendVoice")
        assert voice.result["reply_to_message"]["message_id"] == card["message_id"]
        [album] = sent(env, who, "sendMediaGroup")
        assert len(album.result) == 2
        [venue] = sent(env, who, "sendVenue")
        assert "方庄村" in venue.params["title"]
    assert sent(env, county, "sendVoice") == []
    env.clock.advance(minutes=10)
    await env.tick()
    assert sent(env, county, "sendVoice")
    assert any("已10分钟无人签收" in t for t in county.texts())
    # Delivered once each, however often the tick runs.
    await env.tick()
    assert len(sent(env, comm, "sendVoice")) == 1 and len(sent(env, county, "sendVoice")) == 1


async def test_critical_at_2230_reaches_the_county_at_2240(tmp_path: Path) -> None:
    start = datetime(2026, 11, 23, 14, 30, tzinfo=UTC)  # 22:30 local
    env, driver = await make_env(tmp_path, start=start)
    try:
        liaison = await env.bind("王建国")
        comm, leader, county = [await env.bind(n) for n in ("冯兴敏", "赵志强", "孙丽")]
        await voice_only_critical(liaison, photos=0)
        await env.deliver()
        env.clock.advance(minutes=9)
        await env.tick()
        assert not any("A-1" in t for t in county.texts())
        env.clock.advance(minutes=1)  # 22:40
        await env.tick()
        [head] = [t for t in county.texts() if "A-1" in t]
        assert "已10分钟无人签收" in head
        # The leader already held it: not told it was reported to him, told it went to the county.
        assert not any("报告您" in t or "已报告赵志强" in t for t in leader.texts())
        assert any("已报告孙丽（县委统战部）" in t for t in leader.texts())
        assert any("已报告孙丽（县委统战部）" in t for t in comm.texts())
        await comm.press("时间线")
        timeline = comm.texts()[-1]
        assert "冯兴敏（统战委员）" in timeline and "赵志强（分管领导）" in timeline
        assert "孙丽（县委统战部）" in timeline and "分管领导已收到" in timeline
    finally:
        await driver.__aexit__(None, None, None)
        await env.db.close()
    env.api.assert_no_violations()


async def test_township_without_leader_reaches_the_county_at_one_interval(env: Env) -> None:
    await env.seed(DATA / "roster_two.csv")
    liaison = await env.bind("吴芳")
    comm, county = await env.bind("钱进"), await env.bind("孙丽")
    await liaison.command("/alert")
    await liaison.press("土地、山林、水利")
    await liaison.press("一般")  # 120 minutes
    await liaison.send("5")
    await liaison.press("就在本村")
    await liaison.send("两户争水")
    await liaison.press("确认上报")
    await env.deliver()
    env.clock.advance(minutes=119)
    await env.tick()
    assert not any("A-1" in t for t in county.texts())
    env.clock.advance(minutes=1)
    await env.tick()
    assert any("A-1" in t and "120分钟无人签收" in t for t in county.texts())
    [told] = [t for t in comm.texts() if "已报告" in t]
    assert "孙丽（县委统战部）" in told and "分管领导" not in told and "120分钟" in told
    alert = await repo.get_alert(env.db, 1)
    assert alert.level == 3
    events = await repo.events(env.db, 1)
    assert [e.detail for e in events if e.kind == "skipped"] == [{"level": 2, "why": "nobody"}]


async def test_no_commissioner_reachable_goes_straight_up(env: Env) -> None:
    liaison = await env.bind("王建国")
    leader = await env.bind("赵志强")  # the commissioner never bound the bot
    await liaison.command("/alert")
    await liaison.press("土地、山林、水利")
    await liaison.press("紧急")
    await liaison.send("5")
    await liaison.press("就在本村")
    await liaison.send("两户争水")
    await liaison.press("确认上报")
    await env.deliver()
    [card] = [t for t in leader.texts() if "A-1" in t]
    assert "统战委员无人可以接收" in card
    assert (await repo.get_alert(env.db, 1)).level == 2
