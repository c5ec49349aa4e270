"""Outbox delivery: outages, 429, permanent failures, restarts, splitting; never twice."""

from __future__ import annotations

from datetime import timedelta

from bot.storage.outbox import OR_SEND, OutboxRepo, enqueue
from tests.conftest import Env


async def _queue(
    env: Env, chat_id: int, text: str, person_id: int | None = None, key: str | None = None
) -> list[int]:
    async with env.db.transaction() as tx:
        return await enqueue(
            tx,
            env.clock.now(),
            chat_id=chat_id,
            payload={"text": text},
            person_id=person_id,
            dedup_key=key,
        )


async def test_message_survives_an_outage_of_an_hour_and_arrives_once(env: Env) -> None:
    boss = await env.bind("冯兴敏")
    outage = env.api.outage(lambda method, params: method == "sendMessage")
    await _queue(env, boss.id, "紧急：测试预警")
    for _ in range(20):  # an hour of retries with backoff
        await env.deliver()
        env.clock.advance(minutes=3)
    assert "紧急：测试预警" not in env.api.texts(boss.id)
    env.api.end_outage(outage)
    env.clock.advance(minutes=5)
    await env.deliver()
    await env.deliver()
    assert env.api.texts(boss.id).count("紧急：测试预警") == 1
    assert (await OutboxRepo(env.db).counts()).get("pending", 0) == 0


async def test_429_honours_retry_after(env: Env) -> None:
    boss = await env.bind("冯兴敏")
    env.api.fail("sendMessage", chat_id=boss.id, kind="429", retry_after=7)
    await _queue(env, boss.id, "限速测试")
    await env.deliver()
    assert "限速测试" not in env.api.texts(boss.id)
    env.clock.advance(seconds=5)
    await env.deliver()
    assert "限速测试" not in env.api.texts(boss.id)
    env.clock.advance(seconds=3)
    await env.deliver()
    assert env.api.texts(boss.id).count("限速测试") == 1


async def test_blocked_user_is_recorded_and_commissioner_told(env: Env) -> None:
    boss = await env.bind("冯兴敏")
    liaison = await env.bind("王建国")
    person = await env.person("王建国")
    assert person is not None
    env.api.fail("sendMessage", chat_id=liaison.id, kind="403", times=None)
    await _queue(env, liaison.id, "请提交本周巡查报告", person_id=person.id)
    await _queue(env, liaison.id, "第二条提醒", person_id=person.id)
    await env.deliver()
    rows = await env.db.fetchall(
        "SELECT state, last_error FROM outbox WHERE chat_id = ?", (liaison.id,)
    )
    assert [r["state"] for r in rows] == ["failed", "failed"]
    assert "Forbidden" in rows[0]["last_error"]
    notices = [t for t in env.api.texts(boss.id) if "无法送达" in t]
    assert len(notices) == 1 and "王建国" in notices[0] and "13800000001" in notices[0]


async def test_chat_not_found_is_permanent(env: Env) -> None:
    await env.seed()
    await _queue(env, 999_888_777, "无人")
    env.api.fail("sendMessage", chat_id=999_888_777, kind="chat_not_found")
    await env.deliver()
    state = await env.db.fetchval("SELECT state FROM outbox WHERE chat_id = 999888777")
    assert state == "failed"


async def test_dedup_key_enqueues_once(env: Env) -> None:
    boss = await env.bind("冯兴敏")
    assert await _queue(env, boss.id, "一次", key="k:1")
    assert await _queue(env, boss.id, "一次", key="k:1") == []
    await env.deliver()
    assert env.api.texts(boss.id).count("一次") == 1


async def test_rows_left_mid_send_are_sent_after_restart(env: Env) -> None:
    boss = await env.bind("冯兴敏")
    ids = await _queue(env, boss.id, "重启前")
    repo = OutboxRepo(env.db)
    assert await repo.claim(ids[0])  # the process died right after claiming
    assert await repo.release_claims() == 1
    await env.deliver()
    assert env.api.texts(boss.id).count("重启前") == 1


async def test_long_text_is_split_never_truncated(env: Env) -> None:
    boss = await env.bind("冯兴敏")
    lines = [f"第{i}行：" + "内容" * 40 for i in range(200)]
    await _queue(env, boss.id, "\n".join(lines), key="long:1")
    await env.deliver()
    parts = [
        c.params["text"]
        for c in env.api.sent(chat_id=boss.id, method="sendMessage")
        if c.params["text"].startswith("第")
    ]
    assert len(parts) >= 4 and all(len(p) <= 4096 for p in parts)
    assert "\n".join(parts) == "\n".join(lines)


async def test_network_errors_back_off_and_retry(env: Env) -> None:
    boss = await env.bind("冯兴敏")
    env.api.fail("sendMessage", chat_id=boss.id, kind="network", times=2)
    await _queue(env, boss.id, "网络")
    await env.deliver()
    env.clock.advance(timedelta(seconds=6))
    await env.deliver()
    env.clock.advance(timedelta(seconds=11))
    await env.deliver()
    assert env.api.texts(boss.id).count("网络") == 1


async def test_failure_notice_speaks_the_commissioners_telegram_language(env: Env) -> None:
    boss = await env.bind("冯兴敏", language_code="en")
    liaison = await env.bind("王建国")
    person = await env.person("王建国")
    assert person is not None
    env.api.fail("sendMessage", chat_id=liaison.id, kind="403", times=None)
    await _queue(env, liaison.id, "提醒", person_id=person.id)
    await env.deliver()
    notices = [t for t in env.api.texts(boss.id) if "could not be delivered" in t]
    assert len(notices) == 1 and "blocked the bot" in notices[0]


async def test_an_edit_that_cannot_be_applied_arrives_as_a_new_message(env: Env) -> None:
    """A confirmation edits the card pressed; if that card is gone, it is sent anew, once."""
    liaison = await env.bind("王建国")
    async with env.db.transaction() as tx:
        await enqueue(
            tx,
            env.clock.now(),
            chat_id=liaison.id,
            payload={"text": "已提交，编号 1", "message_id": 99_999, OR_SEND: True},
            method="editMessageText",
        )
    await env.deliver()
    await env.deliver()
    edits = [c for c in env.api.calls if c.method == "editMessageText"]
    assert edits and edits[0].status == 400  # no such message in the chat
    sent = [
        c
        for c in env.api.calls
        if c.method == "sendMessage" and c.params["text"] == "已提交，编号 1"
    ]
    assert len(sent) == 1 and "message_id" not in sent[0].params and OR_SEND not in sent[0].params
    assert (await OutboxRepo(env.db).counts()) == {"sent": 1}


async def test_an_edit_without_the_fallback_mark_fails_for_good(env: Env) -> None:
    """An ordinary edit (an alert card's copy) of a message that is gone is not re-sent, and
    nobody is told the person cannot be reached: they can."""
    boss = await env.bind("冯兴敏")
    liaison = await env.bind("王建国")
    mark = len(env.api.calls)
    async with env.db.transaction() as tx:
        await enqueue(
            tx,
            env.clock.now(),
            chat_id=liaison.id,
            payload={"text": "已签收", "message_id": 99_999},
            method="editMessageText",
        )
    await env.deliver()
    assert not [
        c for c in env.api.calls if c.method == "sendMessage" and "已签收" in c.params["text"]
    ]
    assert (await OutboxRepo(env.db).counts()).get("failed") == 1
    await env.deliver()
    assert not [
        c
        for c in env.api.calls[mark:]
        if c.method == "sendMessage" and c.params["chat_id"] == boss.id
    ]
