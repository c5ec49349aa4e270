"""Housekeeping due work: forget processed update ids Telegram can no longer redeliver."""

from __future__ import annotations

from bot.reminders.scheduler import Scheduler, Tick


async def prune_update_log(tick: Tick) -> None:
    """Drop processed update ids older than a week (Telegram keeps updates 24 h at most)."""
    await tick.deps.updates.prune(tick.now)


def register(scheduler: Scheduler) -> None:
    """Plug housekeeping into the scheduler."""
    scheduler.register("prune_update_log", prune_update_log)
