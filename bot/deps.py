"""Everything handlers and jobs need, built once at start-up and reached via the application."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.config import Policy, Settings
from bot.domain.throttle import AnswerBudget
from bot.i18n import I18n
from bot.storage.db import Database
from bot.storage.outbox import OutboxRepo
from bot.storage.people import PeopleRepo
from bot.storage.updates import Inbox

if TYPE_CHECKING:
    from bot.reminders.delivery import DeliveryWorker
    from bot.reminders.scheduler import Scheduler


@dataclass
class Deps:
    settings: Settings
    policy: Policy
    db: Database
    clock: Clock
    i18n: I18n
    people: PeopleRepo = field(init=False)
    outbox: OutboxRepo = field(init=False)
    inbox: Inbox = field(init=False)
    delivery: DeliveryWorker | None = None
    scheduler: Scheduler | None = None
    bot_username: str = ""
    # CJK font for charts (bot/charts.py); None: statistics go out as text only.
    chart_font: Path | None = None
    # One answer a minute per chat for strangers and unbound groups (bot.handlers.gate).
    answer_budget: AnswerBudget = field(default_factory=AnswerBudget)

    def __post_init__(self) -> None:
        self.people = PeopleRepo(self.db)
        self.outbox = OutboxRepo(self.db)
        self.inbox = Inbox(self.db)

    @property
    def tz(self) -> ZoneInfo:
        """Return the configured local zone."""
        return self.settings.tz

    def wake_outbox(self) -> None:
        """Nudge the delivery worker after a commit that queued messages."""
        if self.delivery is not None:
            self.delivery.wake()
