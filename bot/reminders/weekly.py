"""Due-work module placeholder: filled in by its issue."""

from __future__ import annotations

from bot.reminders.scheduler import Scheduler


def register(scheduler: Scheduler) -> None:
    """Plug this module's due work into the scheduler."""
