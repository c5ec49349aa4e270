"""Housekeeping due work: forget done inbox rows Telegram can no longer redeliver."""

from __future__ import annotations

from bot.reminders.scheduler import Scheduler, Tick


async def prune_update_log(tick: Tick) -> None:
    """Drop done inbox rows older than a week (Telegram keeps updates 24 h at most)."""
    await tick.deps.inbox.prune(tick.now)


async def prune_outbox_files(tick: Tick) -> None:
    """Drop uploaded files (digest charts) once no pending message needs them."""
    await tick.deps.outbox.prune_files(tick.now)


def register(scheduler: Scheduler) -> None:
    """Plug housekeeping into the scheduler."""
    scheduler.register("prune_update_log", prune_update_log)
    scheduler.register("prune_outbox_files", prune_outbox_files)
