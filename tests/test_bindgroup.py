"""/bindgroup: only the township's commissioner, in a group; moving; the bot being removed."""

from __future__ import annotations

from bot.emulator import FakeGroup
from tests.conftest import Env


async def test_bindgroup_rules_moving_and_removal(env: Env) -> None:
    boss = await env.bind("冯兴敏")
    liaison = await env.bind("王建国")
    leader = await env.bind("赵志强")
    group = FakeGroup(env.api, env.driver, -1001234567890, title="河口乡统战工作群")

    calls = await group.add_bot(boss)
    assert any("/bindgroup" in (c.text or "") for c in calls)

    # In private it explains where to use it.
    calls = await boss.command("/bindgroup")
    assert any("工作群" in (c.text or "") for c in calls)
    # Not a commissioner: refused, nothing bound.
    for who in (liaison, leader):
        calls = await who.in_group(group).command("/bindgroup")
        assert any("统战委员" in (c.text or "") for c in calls)
    stranger = env.user("路人")
    await stranger.in_group(group).command("/bindgroup")
    assert (
        await env.db.fetchval("SELECT digest_chat_id FROM townships WHERE name = '河口乡'") is None
    )

    calls = await boss.in_group(group).command("/bindgroup")
    assert any("周报群" in (c.text or "") and "河口乡" in (c.text or "") for c in calls)
    row = await env.db.fetchone(
        "SELECT digest_chat_id, digest_chat_title, digest_bound_by, digest_bound_at FROM townships"
        " WHERE name = '河口乡'"
    )
    person = await env.person("冯兴敏")
    assert row["digest_chat_id"] == group.id and row["digest_bound_by"] == person.id
    assert row["digest_chat_title"] == "河口乡统战工作群" and row["digest_bound_at"]

    # Binding again elsewhere moves it; the old group is told.
    other = FakeGroup(env.api, env.driver, -4001, title="新群")
    await boss.in_group(other).command("/bindgroup")
    await env.deliver()
    assert (
        await env.db.fetchval("SELECT digest_chat_id FROM townships WHERE name = '河口乡'")
        == other.id
    )
    assert any("不再接收" in t for t in env.api.texts(group.id))
    history = await env.db.fetchall("SELECT chat_id, end_reason FROM digest_bindings ORDER BY id")
    assert [(r[0], r[1]) for r in history] == [(group.id, "moved"), (other.id, None)]

    # Removing the bot from the bound group unbinds it and tells the commissioner.
    await other.remove_bot(boss)
    await env.deliver()
    assert (
        await env.db.fetchval("SELECT digest_chat_id FROM townships WHERE name = '河口乡'") is None
    )
    assert any("移出" in t and "新群" in t for t in env.api.texts(boss.id))
    assert (
        await env.db.fetchval(
            "SELECT end_reason FROM digest_bindings WHERE chat_id = ?", (other.id,)
        )
        == "bot_removed"
    )

    # Removing the bot from an unbound group changes nothing and tells nobody.
    before = len(env.api.texts(boss.id))
    await group.remove_bot(boss, kicked=False)
    await env.deliver()
    assert len(env.api.texts(boss.id)) == before


async def test_group_migrating_to_supergroup_keeps_binding(env: Env) -> None:
    boss = await env.bind("冯兴敏")
    group = FakeGroup(env.api, env.driver, -5001, title="群")
    await boss.in_group(group).command("/bindgroup")
    message = {
        "message_id": env.api.next_message_id(group.id),
        "from": boss.user,
        "chat": group.chat,
        "date": int(env.api.clock()),
        "migrate_to_chat_id": -1005001,
    }
    await env.driver.deliver({"update_id": env.api.new_update_id(), "message": message})
    assert (
        await env.db.fetchval("SELECT digest_chat_id FROM townships WHERE name = '河口乡'")
        == -1005001
    )


async def test_other_township_commissioner_cannot_take_the_group(env: Env) -> None:
    """Issue 9: a commissioner of 金汇镇 bound 河口乡's group and took its digest."""
    from tests.conftest import DATA

    await env.seed(DATA / "roster_two.csv")
    hekou = await env.bind("冯兴敏")
    jinhui = await env.bind("钱进")
    group = FakeGroup(env.api, env.driver, -1001234567891, title="河口乡统战工作群")
    await hekou.in_group(group).command("/bindgroup")
    calls = await jinhui.in_group(group).command("/bindgroup")
    assert any("河口乡的统战委员" in (c.text or "") for c in calls)
    calls = await jinhui.in_group(group).command("/bindgroup", "off")
    assert any("河口乡的统战委员" in (c.text or "") for c in calls)
    rows = await env.db.fetchall(
        "SELECT name FROM townships WHERE digest_chat_id = ? ORDER BY name", (group.id,)
    )
    assert [r[0] for r in rows] == ["河口乡"]
    # The owner can release it.
    calls = await hekou.in_group(group).command("/bindgroup", "off")
    assert any("不再接收" in (c.text or "") for c in calls)
    assert (
        await env.db.fetchval(
            "SELECT COUNT(*) FROM townships WHERE digest_chat_id = ?", (group.id,)
        )
        == 0
    )
