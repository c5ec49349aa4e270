"""Pace sends to Telegram's limits, with alerts and replies first and bulk sends last.

Telegram allows about 30 new messages a second overall, one a second per chat and 20 a
minute per group; other calls (edits, answering a button) are not counted. One limiter is
shared by replies (through PTB's rate-limiter hook) and the outbox (through `slot`), so a
fan-out runs at the ceiling and still never delays an alert or a reply by more than one
free slot: waiters are served by lane, not by arrival, and the other lanes start their sends
spread over the second, so a slot ages out every ~30 ms for whoever is first in line. (The
urgent lane can also be given slots of its own, `reserve`; measured, priority alone keeps a
reply during a fan-out under 0.1 s, and a reserved slot costs the fan-out 1/30 of its pace.)

A slot counts from the moment a request starts until one period after its answer arrived.
Telegram sees the request somewhere in between, so its own count over any period can never
exceed ours, whatever the network's latency.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

# Lanes, best first. The outbox's lanes share these numbers (bot.storage.outbox.Lane).
URGENT, NORMAL, BULK = 0, 1, 2
# A person waiting for an answer to what they just did goes first of all. Telegram's ~30 a
# second is its limit for bulk notifications: replies alone are not held to it (they follow
# people's own taps, and a 429 is waited out), but while a bulk send is under way they take
# their place in the same count, so that the sum stays within it.
REPLY = -1

_NOT_COUNTED_SENDS = frozenset({"sendChatAction"})
_COUNTED_EXTRA = frozenset({"copyMessage", "copyMessages", "forwardMessage", "forwardMessages"})


def counts_as_message(method: str) -> bool:
    """Return whether a Bot API method posts a new message (what flood limits count)."""
    return (method.startswith("send") and method not in _NOT_COUNTED_SENDS) or (
        method in _COUNTED_EXTRA
    )


def retry_seconds(exc: RetryAfter) -> float:
    """Return a 429's retry_after in seconds."""
    wait = exc.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


class SendLimiter(BaseRateLimiter[dict[str, Any]]):
    """Overall, per-chat and per-group limits; waiters served by lane, then arrival."""

    def __init__(
        self,
        *,
        overall: int = 30,
        period: float = 1.0,
        per_chat_interval: float = 1.0,
        reserve: int = 0,
        group_max: int = 20,
        group_period: float = 60.0,
        max_retries: int = 5,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.overall = overall
        self.period = period
        self.per_chat_interval = per_chat_interval
        # Slots only the urgent lane (replies, alerts, confirmations) may take.
        self.reserve = max(0, min(reserve, overall - 1))
        # Sends of the other lanes start spread over the second, not in a burst at its start,
        # so slots age out one by one and an urgent send never waits long for one. A little
        # under the even share: the count of the last second stays the limit, and a late wake
        # does not carry over into every later send.
        self.spacing = 0.8 * period / max(1, overall - self.reserve)
        self._last_paced_start = float("-inf")
        self._bulk_in_flight = 0
        self._bulk_seen_at = float("-inf")  # when the last bulk send was answered
        self.group_max = group_max
        self.group_period = group_period
        self.max_retries = max_retries
        self._now = monotonic
        self._in_flight = 0
        self._window: deque[float] = deque()  # answer times of counted sends, last period
        self._waiters: list[tuple[int, int]] = []  # heap of (lane, arrival)
        self._arrivals = itertools.count()
        self._pulse_event = asyncio.Event()
        self._chat_locks: dict[int | str, asyncio.Lock] = {}
        self._chat_free_at: dict[int | str, float] = {}  # one message a second per chat
        self._held_until: dict[int | str, float] = {}  # Telegram answered 429
        self._groups: dict[int | str, deque[float]] = {}

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    # ------------------------------------------------------------------ PTB's hook (replies)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, Any] | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Send a reply within the limits; a 429 is waited out and retried, not dropped."""
        if rate_limit_args and rate_limit_args.get("paced"):
            # The outbox took its slot itself and handles a 429 by rescheduling the row.
            return await callback(*args, **kwargs)
        chat_id = data.get("chat_id")
        attempt = 0
        while True:
            try:
                async with self.slot(chat_id, endpoint, REPLY, pace_chat=False):
                    return await callback(*args, **kwargs)
            except RetryAfter as exc:
                attempt += 1
                seconds = retry_seconds(exc)
                if attempt > self.max_retries:
                    raise
                log.warning(
                    "%s: Telegram asked to wait %.0f s (try %d of %d)",
                    endpoint,
                    seconds,
                    attempt,
                    self.max_retries,
                )
                self.hold_chat(chat_id, seconds)

    # ------------------------------------------------------------------ slots

    def hold_chat(self, chat_id: Any, seconds: float) -> None:
        """Send nothing more to a chat for a while (Telegram answered 429)."""
        if chat_id is None:
            return
        key = _chat(chat_id)
        self._held_until[key] = max(self._held_until.get(key, 0.0), self._now() + seconds)

    @asynccontextmanager
    async def slot(
        self, chat_id: Any, method: str, lane: int, *, pace_chat: bool = True
    ) -> AsyncIterator[None]:
        """Wait for room for one call, hold it while the call runs, then count it.

        Replies (pace_chat=False) may follow each other in a chat quickly, as Telegram allows
        short bursts there; the outbox keeps to one message a second per chat (except the
        urgent lane's confirmations and alerts).
        """
        if chat_id is None or not counts_as_message(method):
            yield
            return
        key = _chat(chat_id)
        lock = self._chat_locks.get(key)
        if lock is None:
            lock = self._chat_locks[key] = asyncio.Lock()
        try:
            async with lock:
                await self._chat_room(key, pace_chat)
                await self._overall_room(lane)
                try:
                    yield
                finally:
                    self._release(key, lane)
        finally:
            if not lock.locked() and self._chat_locks.get(key) is lock:
                del self._chat_locks[key]

    async def _chat_room(self, key: int | str, pace_chat: bool) -> None:
        while True:
            wait = self._held_until.get(key, 0.0) - self._now()
            if pace_chat:
                wait = max(wait, self._chat_free_at.get(key, 0.0) - self._now())
            group = self._groups.get(key)
            if group is not None:
                while group and self._now() - group[0] >= self.group_period:
                    group.popleft()
                if len(group) >= self.group_max:
                    wait = max(wait, group[0] + self.group_period - self._now())
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    def _bulk_under_way(self) -> bool:
        return self._bulk_in_flight > 0 or self._now() - self._bulk_seen_at < self.period

    async def _overall_room(self, lane: int) -> None:
        if lane == REPLY and not self._waiters and not self._bulk_under_way():
            self._in_flight += 1  # no broadcast to share the second with: answer at once
            return
        me = (lane, next(self._arrivals))
        heapq.heappush(self._waiters, me)
        try:
            while True:
                timeout: float | None = None
                if self._waiters[0] == me:
                    limit = self.overall if lane <= URGENT else self.overall - self.reserve
                    timeout = self._wait_for_room(limit)
                    if lane > URGENT:
                        spaced = self._last_paced_start + self.spacing - self._now()
                        timeout = None if timeout is None else max(timeout, spaced)
                    if timeout is not None and timeout <= 0:
                        heapq.heappop(self._waiters)
                        self._in_flight += 1
                        if lane > URGENT:
                            self._last_paced_start = self._now()
                            self._bulk_in_flight += 1
                        self._pulse()  # the next in line may find room too
                        return
                await self._wait_pulse(timeout)
        except BaseException:
            if me in self._waiters:
                self._waiters.remove(me)
                heapq.heapify(self._waiters)
                self._pulse()
            raise

    def _wait_for_room(self, limit: int) -> float | None:
        """Return 0 when fewer than `limit` slots are taken, else how long until enough of
        them age out; None when only an answer still to come can free one."""
        now = self._now()
        window = self._window
        while window and now - window[0] >= self.period:
            window.popleft()
        excess = self._in_flight + len(window) - limit  # slots that must free first, minus one
        if excess < 0:
            return 0.0
        if excess >= len(window):
            return None  # nothing ages out before an answer arrives
        return window[excess] + self.period - now

    def _release(self, key: int | str, lane: int) -> None:
        now = self._now()
        self._in_flight -= 1
        if lane > URGENT:
            self._bulk_in_flight -= 1
            self._bulk_seen_at = now
        self._window.append(now)
        if self.per_chat_interval > 0:
            free_at = now + self.per_chat_interval
            self._chat_free_at[key] = max(self._chat_free_at.get(key, 0.0), free_at)
        if isinstance(key, str) or key < 0:
            self._groups.setdefault(key, deque()).append(now)
        if len(self._chat_free_at) > 10_000:
            self._chat_free_at = {k: t for k, t in self._chat_free_at.items() if t > now}
            self._held_until = {k: t for k, t in self._held_until.items() if t > now}
            self._groups = {k: g for k, g in self._groups.items() if g and now - g[-1] < 60}
        self._pulse()

    def _pulse(self) -> None:
        self._pulse_event.set()
        self._pulse_event = asyncio.Event()

    async def _wait_pulse(self, seconds: float | None) -> None:
        event = self._pulse_event
        with suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)


def _chat(chat_id: Any) -> int | str:
    try:
        return int(chat_id)
    except (TypeError, ValueError):
        return str(chat_id)  # "@channelname"
