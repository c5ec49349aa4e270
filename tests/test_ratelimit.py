"""The send limiter: a slot kept for urgent sends, bulk sends spaced over the second."""

from __future__ import annotations

import asyncio

from bot.ratelimit import BULK, REPLY, URGENT, SendLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _send(limiter: SendLimiter, chat: int, lane: int) -> None:
    async with limiter.slot(chat, "sendMessage", lane):
        pass


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_bulk_sends_leave_the_reserved_slot_to_an_urgent_one() -> None:
    clock = Clock()
    limiter = SendLimiter(overall=5, reserve=1, monotonic=clock)
    limiter.spacing = 0.0  # the reserve alone (spacing is tested below)
    for chat in range(4):  # four bulk sends fill what bulk may use this second
        await _send(limiter, chat, BULK)
    bulk = asyncio.create_task(_send(limiter, 10, BULK))
    await _settle()
    assert not bulk.done()  # the fifth slot is not for bulk
    await asyncio.wait_for(_send(limiter, 11, URGENT), timeout=1)  # but a reply gets it now
    urgent = asyncio.create_task(_send(limiter, 12, URGENT))
    await _settle()
    assert not urgent.done()  # now the second is full for everyone
    clock.now += 1.0  # the oldest sends age out
    limiter._pulse()
    await asyncio.wait_for(asyncio.gather(urgent, bulk), timeout=1)


async def test_bulk_sends_start_evenly_spaced_not_in_a_burst() -> None:
    clock = Clock()
    limiter = SendLimiter(overall=30, reserve=1, monotonic=clock)
    assert abs(limiter.spacing - 0.8 / 29) < 1e-9
    await _send(limiter, 1, BULK)
    second = asyncio.create_task(_send(limiter, 2, BULK))
    await _settle()
    assert not second.done()  # room in the second, but too soon after the last bulk send
    await asyncio.wait_for(_send(limiter, 3, URGENT), timeout=1)  # urgent sends are not spaced
    clock.now += limiter.spacing
    limiter._pulse()
    await asyncio.wait_for(second, timeout=1)


async def test_replies_alone_are_not_held_to_the_bulk_limit() -> None:
    clock = Clock()
    limiter = SendLimiter(overall=3, monotonic=clock)
    for chat in range(10):  # ten people answered within the same instant
        await asyncio.wait_for(_send(limiter, chat, REPLY), timeout=1)


async def test_during_a_broadcast_replies_share_the_count_and_go_first() -> None:
    clock = Clock()
    limiter = SendLimiter(overall=3, reserve=1, monotonic=clock)
    limiter.spacing = 0.0
    await _send(limiter, 1, BULK)
    await _send(limiter, 2, BULK)
    await asyncio.wait_for(_send(limiter, 3, REPLY), timeout=1)  # the reserved slot
    order: list[str] = []

    async def send(chat: int, lane: int, name: str) -> None:
        await _send(limiter, chat, lane)
        order.append(name)

    bulk = asyncio.create_task(send(4, BULK, "bulk"))
    urgent = asyncio.create_task(send(5, URGENT, "alert"))
    await _settle()
    reply = asyncio.create_task(send(6, REPLY, "reply"))
    await _settle()
    assert order == []  # the second is full: even a reply waits while the broadcast runs
    clock.now += 1.0
    limiter._pulse()
    await asyncio.wait_for(asyncio.gather(urgent, reply), timeout=1)
    assert order == ["reply", "alert"] and not bulk.done()  # two taken: none left for bulk
    clock.now += 1.0
    limiter._pulse()
    await asyncio.wait_for(bulk, timeout=1)
