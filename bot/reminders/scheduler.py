"""A periodic tick asking pluggable "due work" functions what to do now.

The database is the source of truth: each due-work function looks at the clock and the
stored state, and does (in one transaction, with idempotency keys) whatever is due. Nothing
depends on an in-memory timer surviving, so a restart neither loses nor repeats work.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.deps import Deps

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tick:
    """What a due-work function gets: the time of this tick and the dependencies."""

    now: datetime
    deps: Deps


DueWork = Callable[[Tick], Awaitable[None]]

# APScheduler 3 skips a job that starts more than 1 s late by default; a busy event loop can
# easily be that late, and a skipped tick only delays work, so allow a generous grace.
MISFIRE_GRACE_SECONDS = 120


class Scheduler:
    """Registry of due-work functions and the tick that runs them."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self._work: list[tuple[str, DueWork]] = []
        self._lock = asyncio.Lock()
        self._start_up: asyncio.Task[None] | None = None

    def register(self, name: str, work: DueWork) -> None:
        """Add a due-work function; they run in registration order."""
        if any(n == name for n, _ in self._work):
            raise ValueError(f"due work {name!r} registered twice")
        self._work.append((name, work))

    @property
    def names(self) -> list[str]:
        """Return the registered names."""
        return [n for n, _ in self._work]

    async def tick(self) -> None:
        """Run every due-work function once for the current time."""
        # Two ticks never overlap; each function is also idempotent on its own.
        async with self._lock:
            now = self.deps.clock.now()
            for name, work in self._work:
                try:
                    await work(Tick(now, self.deps))
                except Exception:
                    log.exception("due work %s failed at %s", name, now.isoformat())
        # The tick is complete: record it, then let the delivery worker send what it queued
        # (a long pass may already have woken it between its chunks; tests wait on the tick).
        self._heartbeat()
        self.deps.wake_outbox()

    def start_up_tick(self) -> None:
        """Run a first tick in the background now (catch up on work missed while down)."""
        self._start_up = asyncio.create_task(self.tick(), name="start-up-tick")

    async def stop(self) -> None:
        """Let a start-up tick still running finish (its passes are chunked and short)."""
        if self._start_up is not None:
            try:
                await asyncio.wait_for(self._start_up, timeout=10)
            except TimeoutError:
                log.warning("start-up tick cut short at shutdown; the next start redoes it")
            self._start_up = None

    def _heartbeat(self) -> None:
        # The container health check reads this file's age: a tick ran recently.
        path = self.deps.settings.database_path.with_name("heartbeat")
        try:
            path.write_text(self.deps.clock.now().isoformat(), encoding="utf-8")
        except OSError:
            log.warning("cannot write heartbeat file %s", path)

    def install(self, job_queue: object) -> None:
        """Run the tick on PTB's JobQueue (APScheduler) every TICK_SECONDS (a setting)."""
        from telegram.ext import JobQueue

        assert isinstance(job_queue, JobQueue)

        async def _job(_context: object) -> None:
            await self.tick()

        job_queue.run_repeating(
            _job,
            interval=self.deps.settings.tick_seconds,
            first=1,
            name="due-work-tick",
            job_kwargs={
                "misfire_grace_time": MISFIRE_GRACE_SECONDS,
                "coalesce": True,
                "max_instances": 1,
            },
        )
