"""The delivery worker: sends outbox rows within Telegram's limits, retrying what can succeed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import warnings
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Any

from telegram import InputFile, InputMediaPhoto, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import ExtBot
from telegram.warnings import PTBUserWarning

from bot.clock import Clock
from bot.domain.people import Role
from bot.i18n import I18n
from bot.ratelimit import SendLimiter, counts_as_message, retry_seconds
from bot.storage.db import Database
from bot.storage.outbox import (
    FILE_KEY,
    NEW_ROWS,
    OR_SEND,
    Lane,
    OutboxItem,
    OutboxRepo,
    enqueue,
)
from bot.storage.people import PeopleRepo

log = logging.getLogger(__name__)

# The worker sends stored Bot API calls generically through do_api_request on purpose;
# PTB's hint to use the typed method instead is noise here.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.", category=PTBUserWarning)

# Longest pause between attempts while Telegram is unreachable: retries go on forever,
# since an alert must not be lost to an outage of an hour.
MAX_BACKOFF = timedelta(minutes=5)
FAILURE_NOTICE = "delivery_failure"
# Chats planned at once, and how long a plan is followed before asking the database again
# (so retries that fell due and newly queued rows take their place in lane order).
PLAN_SIZE = 500
REPLAN_AFTER = 1.0
# Longest sleep when nothing is due (new rows wake the worker at once).
IDLE_CHECK = 5.0


def backoff(attempts: int, first: float = 5.0) -> timedelta:
    """Return the pause before the next attempt: 5 s, 10 s, 20 s … (from `first`) capped at
    5 minutes."""
    return min(timedelta(seconds=first * 2 ** max(0, attempts - 1)), MAX_BACKOFF)


class DeliveryWorker:
    """Send due outbox rows, each chat's in order, urgent lanes first, within the limits.

    Rows of different chats are sent concurrently (up to `max_in_flight` of the normal and
    bulk lanes, urgent rows on top); the shared SendLimiter keeps the pace. A row is marked
    'sending' just before its request and settled right after, so a crash can repeat only
    the few rows in flight. Every new urgent row interrupts a bulk pass at once.
    """

    def __init__(
        self,
        db: Database,
        bot: ExtBot[Any],
        clock: Clock,
        i18n: I18n,
        *,
        limiter: SendLimiter | None = None,
        max_in_flight: int = 16,
        retry_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.repo = OutboxRepo(db)
        self.people = PeopleRepo(db)
        self.bot = bot
        self.clock = clock
        self.i18n = i18n
        self.limiter = limiter
        self.max_in_flight = max_in_flight
        self.retry_seconds = retry_seconds  # the first pause of the backoff
        self._monotonic = monotonic
        self._busy: set[int] = set()  # chats with a row in hand
        self._tasks: set[asyncio.Task[None]] = set()
        self._bulk_in_flight = 0
        self._changed = asyncio.Event()  # a send finished, a row was queued, or stop
        self._wake = asyncio.Event()
        # Counts urgent rows queued or sent: a pass stops starting bulk rows once it moves
        # (a counter, not a flag one pass would clear under another: drain() beside the loop).
        self._urgent_seq = 0
        self._pass_seq = 0
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        db.listeners[NEW_ROWS] = self._on_new_rows

    def _on_new_rows(self, lane: int) -> None:
        if lane == Lane.URGENT:
            self._urgent_seq += 1
        self.wake()

    def wake(self) -> None:
        """Tell the worker there is something new to send."""
        self._wake.set()
        self._changed.set()

    async def run_once(self) -> int:
        """Start every chat's next row due now and wait for them; return how many."""
        started = await self._pass(REPLAN_AFTER)
        await self._settle_all()
        return started

    async def drain(self, max_passes: int = 50) -> int:
        """Run passes until nothing is due now (tests and shutdown)."""
        total = 0
        for _ in range(max_passes):
            n = await self.run_once()
            total += n
            if n == 0:
                break
        return total

    async def send_now(self, chat_id: int) -> None:
        """Send one chat's due rows now, in order (a person's own confirmation); a failed
        row stays queued for the worker, and holds back the later ones."""
        while chat_id not in self._busy:  # else the worker has the chat in hand already
            item = await self.repo.head_of(chat_id, self.clock.now())
            if item is None:
                return
            self._busy.add(chat_id)
            try:
                done = await self._send(item, Lane.URGENT)
            finally:
                self._busy.discard(item.chat_id)
                self.wake()
            if not done:
                return

    async def _settle_all(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _pass(self, budget: float) -> int:
        """Plan once and start rows in lane order; stop early for new urgent rows."""
        seen = self._pass_seq = self._urgent_seq
        self._wake.clear()
        plan = await self.repo.heads(self.clock.now(), limit=PLAN_SIZE)
        deadline = self._monotonic() + budget
        started = 0
        for item in plan:
            if self._stopping:
                break
            if item.chat_id in self._busy:
                continue
            if item.chat_lane != Lane.URGENT:
                if self._urgent_seq != seen or self._monotonic() > deadline:
                    break  # plan again: an urgent row or retries that fell due go first
                if not await self._room_for_bulk(seen):
                    break
            self._start(item)
            started += 1
        return started

    async def _room_for_bulk(self, seen: int) -> bool:
        """Wait until fewer than max_in_flight normal and bulk rows are in hand; False when
        an urgent row came meanwhile (the pass plans again)."""
        while self._bulk_in_flight >= self.max_in_flight:
            self._changed.clear()
            await self._changed.wait()
            if self._urgent_seq != seen or self._stopping:
                return False
        return True

    def _start(self, item: OutboxItem) -> None:
        self._busy.add(item.chat_id)
        bulk = item.chat_lane != Lane.URGENT
        if bulk:
            self._bulk_in_flight += 1
        task = asyncio.create_task(self._deliver(item, bulk), name=f"outbox-{item.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, item: OutboxItem, bulk: bool) -> None:
        try:
            await self._send(item, item.chat_lane)
        except Exception:  # keep delivering after an unexpected error
            log.exception("outbox %s: delivery failed", item.id)
        finally:
            self._busy.discard(item.chat_id)
            if bulk:
                self._bulk_in_flight -= 1
            if item.chat_lane == Lane.URGENT:
                self._urgent_seq += 1  # the chat's next row may be the alert this one escorted
            self._wake.set()  # the chat's next row may go now
            self._changed.set()

    def _slot(self, item: OutboxItem, lane: int) -> AbstractAsyncContextManager[None]:
        if self.limiter is None:
            return contextlib.nullcontext()
        # An urgent row (a confirmation answering a tap, an alert) is not held back by the
        # one-a-second pace in its chat: Telegram allows short bursts there, like replies, and
        # a 429 still holds the chat. Reminders and notices keep the pace.
        return self.limiter.slot(item.chat_id, item.method, lane, pace_chat=lane != Lane.URGENT)

    async def _send(self, item: OutboxItem, lane: int) -> bool:
        """Make one attempt; return True when the row is done (sent or failed for good).

        The row is claimed once its slot is free, right before the request, and settled
        after the slot is given back (the next send need not wait for our commit).
        """
        params: dict[str, Any] = {
            "chat_id": item.chat_id,
            **await self.repo.with_reply(item.payload),
        }
        or_send = params.pop(OR_SEND, False)
        upload = params.get("photo")
        if isinstance(upload, dict) and FILE_KEY in upload:
            # A stored upload (a digest chart): send its bytes; gone means nothing to send.
            stored = await self.repo.file(upload[FILE_KEY])
            if stored is None:
                await self.repo.mark_sent(item.id, self.clock.now(), None)
                return True
            params["photo"] = InputFile(stored[1], filename=stored[0])
        if item.method == "sendMediaGroup":
            # PTB prepares a media list itself and expects its InputMedia objects there.
            params["media"] = [
                InputMediaPhoto(m["media"], caption=m.get("caption")) for m in params["media"]
            ]
        try:
            async with self._slot(item, lane):
                if self._stopping or not await self.repo.claim(item.id):
                    return False  # not started: it stays where it is
                if self.limiter is None:
                    result = await self.bot.do_api_request(item.method, api_kwargs=params)
                else:
                    result = await self.bot.do_api_request(
                        item.method, api_kwargs=params, rate_limit_args={"paced": True}
                    )
        except RetryAfter as exc:
            seconds = retry_seconds(exc)
            log.warning("outbox %s: 429, retry after %ss", item.id, seconds)
            if self.limiter is not None:
                self.limiter.hold_chat(item.chat_id, seconds)
            await self.repo.retry_at(
                item.id, self.clock.now() + timedelta(seconds=seconds), f"429 retry after {seconds}"
            )
            return False
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                await self.repo.mark_sent(item.id, self.clock.now(), None)
                return True
            if or_send:
                await self.repo.as_new_message(item, self.clock.now(), exc.message)
                return False
            await self._fail(item, exc)
            return True
        except Forbidden as exc:
            await self._fail(item, exc)
            return True
        except (NetworkError, TelegramError) as exc:
            # NetworkError covers timeouts, refused connections and 5xx answers.
            when = self.clock.now() + backoff(item.attempts + 1, self.retry_seconds)
            log.warning("outbox %s: %s, retry at %s", item.id, type(exc).__name__, when)
            await self.repo.retry_at(item.id, when, f"{type(exc).__name__}: {exc}")
            return False
        message_id = None
        if isinstance(result, dict):
            message_id = result.get("message_id")
        elif isinstance(result, Message):
            message_id = result.message_id
        await self.repo.mark_sent(item.id, self.clock.now(), message_id)
        return True

    async def _fail(self, item: OutboxItem, exc: TelegramError) -> None:
        """Record a permanent failure and tell the person's commissioners."""
        now = self.clock.now()
        log.warning("outbox %s: permanent failure %s", item.id, type(exc).__name__)
        person = await self.people.get(item.person_id) if item.person_id else None
        async with self.db.transaction() as tx:
            await self.repo.mark_failed(tx, item.id, now, f"{type(exc).__name__}: {exc.message}")
            if person is None or item.ref_kind == FAILURE_NOTICE or person.township_id is None:
                return
            if not counts_as_message(item.method):
                return  # an edit of a message since deleted: the person is still reachable
            for boss in await self.people.in_township(
                person.township_id, (Role.COMMISSIONER,), tx=tx
            ):
                if boss.id == person.id or boss.telegram_id is None:
                    continue
                t = self.i18n.for_person(boss)
                reason = t(
                    "delivery.blocked" if isinstance(exc, Forbidden) else "delivery.not_found"
                )
                text = t(
                    "delivery.failed_notice",
                    name=person.name,
                    place=person.place(),
                    phone=person.phone or "—",
                    reason=reason,
                )
                # One notice per person and commissioner a day, however many rows fail.
                day = now.astimezone(self.i18n.tz).date().isoformat()
                await enqueue(
                    tx,
                    now,
                    chat_id=boss.telegram_id,
                    person_id=boss.id,
                    payload={"text": text},
                    dedup_key=f"{FAILURE_NOTICE}:{person.id}:{boss.id}:{day}",
                    ref_kind=FAILURE_NOTICE,
                    ref_id=item.id,
                )
        self.wake()

    async def _loop(self) -> None:
        while not self._stopping:
            started = 0
            try:
                started = await self._pass(REPLAN_AFTER)
            except Exception:  # keep delivering after an unexpected error
                log.exception("delivery pass failed")
            if self._stopping:
                break
            if started and (self._urgent_seq != self._pass_seq or self._wake.is_set()):
                continue
            # Nothing more to start now: wait for a new row, a finished send, or a retry's time.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=await self._idle_timeout())

    async def _idle_timeout(self) -> float:
        when = await self.repo.next_due_at()
        if when is None:
            return IDLE_CHECK
        return max(0.05, min(IDLE_CHECK, (when - self.clock.now()).total_seconds()))

    async def start(self) -> None:
        """Return rows left in flight by a crash to the queue and start the background loop."""
        released = await self.repo.release_claims()
        if released:
            log.info("outbox: %d rows left mid-send are queued again", released)
        self._stopping = False
        self._task = asyncio.create_task(self._loop(), name="outbox-delivery")

    async def stop(self) -> None:
        """Start nothing new, let the requests in flight finish, and stop."""
        self._stopping = True
        self.wake()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=10)
            except TimeoutError:
                self._task.cancel()
            self._task = None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._settle_all(), timeout=10)
