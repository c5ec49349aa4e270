"""Housekeeping due work: forget done inbox rows Telegram can no longer redeliver."""

from __future__ import annotations

from bot.reminders.scheduler import Scheduler, Tick


async def prune_update_log(tick: Tick) -> None:
    """Drop done inbox rows older than a week (Telegram keeps updates 24 h at most)."""
    await tick.deps.inbox.prune(tick.now)


def register(scheduler: Scheduler) -> None:
    """Plug housekeeping into the scheduler."""
    scheduler.register("prune_update_log", prune_update_log)
