"""Outbox order: urgent lanes first, each chat in the order written, retries hold one chat only."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.storage.outbox import Lane, OutboxRepo, enqueue
from tests.conftest import Env

FIRST_CHAT = 800_000


async def _queue(env: Env, chat_id: int, text: str, lane: Lane = Lane.NORMAL) -> int:
    async with env.db.transaction() as tx:
        ids = await enqueue(tx, env.clock.now(), chat_id=chat_id, payload={"text": text}, lane=lane)
    return ids[0]


async def _queue_reminders(env: Env, count: int) -> None:
    now = env.clock.now()
    async with env.db.transaction() as tx:
        for i in range(count):
            await enqueue(
                tx, now, chat_id=FIRST_CHAT + i, payload={"text": f"提醒 {i}"}, lane=Lane.BULK
            )


def _sent_texts(env: Env) -> list[str]:
    return [c.params["text"] for c in env.api.sent(method="sendMessage") if c.ok]


async def test_an_alert_goes_before_every_reminder_not_yet_sent(env: Env) -> None:
    await _queue_reminders(env, 1000)
    await _queue(env, 4242, "紧急预警 A-1", Lane.URGENT)
    await env.deliver()
    texts = _sent_texts(env)
    assert len(texts) == 1001
    assert texts[0] == "紧急预警 A-1"


async def test_an_alert_raised_during_a_fan_out_overtakes_the_rest_of_it(env: Env) -> None:
    await _queue_reminders(env, 1000)
    worker = env.deps.delivery
    assert worker is not None
    marks: dict[str, Any] = {}
    hundredth = asyncio.Event()
    sends = 0
    original = env.api.handle

    def handle(method: str, params: Any, files: Any = None) -> Any:
        nonlocal sends
        answer = original(method, params, files)
        if method == "sendMessage":
            sends += 1
            if sends == 100:
                hundredth.set()
        return answer

    env.api.handle = handle  # type: ignore[method-assign]

    async def raise_alert() -> None:
        await hundredth.wait()
        marks["alert_id"] = await _queue(env, 4242, "紧急预警 A-2", Lane.URGENT)
        # Reminders the worker had in hand when the alert was written may still finish first.
        marks["busy"] = set(worker._busy)
        rows = await env.db.fetchall("SELECT chat_id FROM outbox WHERE state = 'sent'")
        marks["sent"] = {r[0] for r in rows}

    raiser = asyncio.create_task(raise_alert())
    await env.deliver()
    await raiser
    chats = [c.chat_id for c in env.api.sent(method="sendMessage") if c.ok]
    alert_at = chats.index(4242)
    before = set(chats[:alert_at])
    # Only reminders sent or in hand when the alert was written went before it, and of those
    # in hand, no more than the worker takes at once.
    assert 100 <= len(marks["sent"]) < 500  # raised in the middle of the fan-out
    assert alert_at >= 100 and before <= marks["sent"] | marks["busy"]
    assert len(before - marks["sent"]) <= worker.max_in_flight
    assert len(chats) == 1001


async def test_each_chat_keeps_its_order_and_a_retry_holds_back_that_chat_only(env: Env) -> None:
    env.api.fail("sendMessage", chat_id=111, kind="5xx", times=1)
    for i in range(3):
        await _queue(env, 111, f"甲{i}")
    await _queue(env, 222, "乙0")
    await env.deliver()
    assert env.api.texts(222) == ["乙0"]
    assert env.api.texts(111) == []  # 甲0 waits for its retry; 甲1 and 甲2 wait behind it
    env.clock.advance(seconds=6)
    await env.deliver()
    assert env.api.texts(111) == ["甲0", "甲1", "甲2"]


async def test_a_row_scheduled_for_later_does_not_hold_back_an_alert(env: Env) -> None:
    async with env.db.transaction() as tx:
        await enqueue(
            tx,
            env.clock.now(),
            chat_id=333,
            payload={"text": "明早提醒"},
            lane=Lane.BULK,
            not_before=env.clock.now().replace(year=2027),
        )
    await _queue(env, 333, "紧急预警", Lane.URGENT)
    await env.deliver()
    assert env.api.texts(333) == ["紧急预警"]


async def test_an_older_reminder_in_the_alert_chat_goes_with_the_alert(env: Env) -> None:
    await _queue_reminders(env, 50)
    await _queue(env, 4242, "旧提醒", Lane.BULK)
    await _queue(env, 4242, "紧急预警", Lane.URGENT)
    await env.deliver()
    texts = _sent_texts(env)
    # The chat's order is kept, and the whole chat moves to the alert's lane.
    assert texts[0] == "旧提醒"
    assert texts.index("紧急预警") <= 1 + env.deps.delivery.max_in_flight


async def test_a_row_is_sending_only_while_its_request_runs(env: Env) -> None:
    row = await _queue(env, 444, "在途")
    seen: list[str] = []
    original = env.api.handle

    def handle(method: str, params: Any, files: Any = None) -> Any:
        if method == "sendMessage":
            seen.append("request")
        return original(method, params, files)

    env.api.handle = handle  # type: ignore[method-assign]
    repo = OutboxRepo(env.db)
    assert (await repo.counts()).get("sending", 0) == 0
    await env.deliver()
    assert seen == ["request"]
    assert await env.db.fetchval("SELECT state FROM outbox WHERE id = ?", (row,)) == "sent"
