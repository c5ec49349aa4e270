"""The door: strangers and unbound groups get one answer a minute; unstorable texts refused."""

from __future__ import annotations

from bot.emulator import FakeGroup
from tests.conftest import Env


async def test_a_group_flood_gets_one_answer_a_minute_and_liaisons_are_not_slowed(
    env: Env,
) -> None:
    liaison = await env.bind("王建国")
    group = FakeGroup(env.api, env.driver, -1009876543210, title="随便一个群")
    stranger = env.user("路人").in_group(group)
    before = len(env.api.sent(chat_id=group.id))
    for _ in range(40):
        await stranger.command("/report")
    assert len(env.api.sent(chat_id=group.id)) - before == 1
    calls = await liaison.command("/help")
    assert any("/report" in (c.text or "") for c in calls)
    env.clock.advance(minutes=1)
    await stranger.command("/report")
    assert len(env.api.sent(chat_id=group.id)) - before == 2


async def test_roster_people_in_an_unbound_group_are_limited_but_bindgroup_goes_through(
    env: Env,
) -> None:
    boss = await env.bind("冯兴敏")
    group = FakeGroup(env.api, env.driver, -1001234567899, title="河口乡统战工作群")
    await group.add_bot(boss)  # membership changes are always seen (and greeted)
    in_group = boss.in_group(group)
    assert await in_group.command("/report")  # told to use it in private
    assert await in_group.command("/report") == []  # not again within the minute
    calls = await in_group.command("/bindgroup")
    assert any("周报群" in (c.text or "") for c in calls)


async def test_a_stranger_is_answered_once_a_minute_but_an_invite_code_is_always_read(
    env: Env,
) -> None:
    await env.seed()
    user = env.user("王建国")
    calls = await user.send("你好")
    assert any("邀请码" in (c.text or "") for c in calls)
    assert await user.send("在吗") == []
    calls = await user.command("/start", env.codes["王建国"])
    assert any("绑定成功" in (c.text or "") for c in calls)
    # Bound now: every message is answered again.
    assert await user.command("/help")


async def test_a_text_with_a_lone_surrogate_is_refused_and_later_updates_work(env: Env) -> None:
    liaison = await env.bind("王建国")
    await liaison.command("/alert")
    calls = await liaison.send("坏字符 \ud83d 在这里")
    assert any("无法识别的字符" in (c.text or "") for c in calls)
    calls = await liaison.command("/help")
    assert any("/report" in (c.text or "") for c in calls)
