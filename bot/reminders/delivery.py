"""The delivery worker: sends outbox rows within Telegram's limits, retrying what can succeed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import warnings
from collections import deque
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from telegram import Bot, InputMediaPhoto, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBUserWarning

from bot.clock import Clock
from bot.domain.people import Role
from bot.i18n import I18n
from bot.storage.db import Database
from bot.storage.outbox import OutboxItem, OutboxRepo, enqueue
from bot.storage.people import PeopleRepo

log = logging.getLogger(__name__)

# The worker sends stored Bot API calls generically through do_api_request on purpose;
# PTB's hint to use the typed method instead is noise here.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.", category=PTBUserWarning)

# Longest pause between attempts while Telegram is unreachable: retries go on forever,
# since an alert must not be lost to an outage of an hour.
MAX_BACKOFF = timedelta(minutes=5)
FAILURE_NOTICE = "delivery_failure"


def backoff(attempts: int) -> timedelta:
    """Return the pause before the next attempt: 5 s, 10 s, 20 s … capped at 5 minutes."""
    return min(timedelta(seconds=5 * 2 ** max(0, attempts - 1)), MAX_BACKOFF)


def is_permanent(exc: TelegramError) -> bool:
    """Return whether an error will never go away by retrying."""
    return isinstance(exc, (Forbidden, BadRequest))


class DeliveryWorker:
    """Send due outbox rows, one row at a time per chat, and record each outcome."""

    def __init__(
        self,
        db: Database,
        bot: Bot,
        clock: Clock,
        i18n: I18n,
        *,
        per_chat_interval: float = 1.0,
        overall_per_second: int = 25,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.repo = OutboxRepo(db)
        self.people = PeopleRepo(db)
        self.bot = bot
        self.clock = clock
        self.i18n = i18n
        self.per_chat_interval = per_chat_interval
        self.overall_per_second = overall_per_second
        self._monotonic = monotonic
        self._recent: deque[float] = deque()  # send times within the last second
        self._last_sent: dict[int, float] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._lock = asyncio.Lock()

    def wake(self) -> None:
        """Tell the worker there is something new to send."""
        self._wake.set()

    async def run_once(self) -> int:
        """Send every row due now; return how many rows were handled."""
        async with self._lock:  # two passes never race over the same rows
            handled = 0
            blocked: set[int] = set()  # chats that failed this pass keep their order
            for item in await self.repo.due(self.clock.now(), limit=500):
                if self._stopping:
                    break
                if item.chat_id in blocked:
                    continue
                await self._pace(item.chat_id)
                if not await self.repo.claim(item.id):
                    continue
                ok = await self._send(item)
                handled += 1
                if not ok:
                    blocked.add(item.chat_id)
            return handled

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
        for item in await self.repo.due(self.clock.now(), limit=500):
            claimed = item.chat_id == chat_id and await self.repo.claim(item.id)
            if claimed and not await self._send(item):
                return

    async def _pace(self, chat_id: int) -> None:
        await self._pace_overall()
        await self._pace_chat(chat_id)

    async def _pace_overall(self) -> None:
        # A sliding one-second window below Telegram's 30 messages/s: PTB's limiter lets a
        # burst through at the start, which Telegram answers with 429s when hundreds of
        # reminders fall due at the same moment.
        if self.overall_per_second <= 0:
            return
        window = self._recent
        while True:
            now = self._monotonic()
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) < self.overall_per_second:
                break
            await asyncio.sleep(1.0 - (now - window[0]))
        window.append(self._monotonic())

    async def _pace_chat(self, chat_id: int) -> None:
        # Telegram allows about one message per second to one chat; group limits (20/min)
        # are enforced by PTB's AIORateLimiter on the bot itself.
        if self.per_chat_interval <= 0:
            return
        last = self._last_sent.get(chat_id)
        if last is not None:
            wait = self.per_chat_interval - (self._monotonic() - last)
            if wait > 0:
                await asyncio.sleep(wait)
        self._last_sent[chat_id] = self._monotonic()
        if len(self._last_sent) > 10_000:
            self._last_sent.clear()

    async def _send(self, item: OutboxItem) -> bool:
        """Make one attempt; return True when the row is done (sent or failed for good)."""
        params: dict[str, Any] = {
            "chat_id": item.chat_id,
            **await self.repo.with_reply(item.payload),
        }
        if item.method == "sendMediaGroup":
            # PTB prepares a media list itself and expects its InputMedia objects there.
            params["media"] = [
                InputMediaPhoto(m["media"], caption=m.get("caption")) for m in params["media"]
            ]
        try:
            result = await self.bot.do_api_request(item.method, api_kwargs=params)
        except RetryAfter as exc:
            wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            log.warning("outbox %s: 429, retry after %ss", item.id, seconds)
            await self.repo.retry_at(
                item.id, self.clock.now() + timedelta(seconds=seconds), f"429 retry after {seconds}"
            )
            return False
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                await self.repo.mark_sent(item.id, self.clock.now(), None)
                return True
            await self._fail(item, exc)
            return True
        except Forbidden as exc:
            await self._fail(item, exc)
            return True
        except (NetworkError, TelegramError) as exc:
            # NetworkError covers timeouts, refused connections and 5xx answers.
            when = self.clock.now() + backoff(item.attempts + 1)
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
            commissioners = [
                p
                for p in await self.people.in_township(
                    person.township_id, (Role.COMMISSIONER,), tx=tx
                )
                if p.id != person.id and p.telegram_id
            ]
            for boss in commissioners:
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
            try:
                await self.run_once()
            except Exception:  # keep delivering after an unexpected error
                log.exception("delivery pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)
            self._wake.clear()

    async def start(self) -> None:
        """Return claimed rows to the queue and start the background loop."""
        released = await self.repo.release_claims()
        if released:
            log.info("outbox: %d rows left mid-send are queued again", released)
        self._stopping = False
        self._task = asyncio.create_task(self._loop(), name="outbox-delivery")

    async def stop(self) -> None:
        """Finish the row in hand and stop."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=10)
            except TimeoutError:
                self._task.cancel()
            self._task = None
