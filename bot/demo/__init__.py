"""`liaison-bot demo`: the Bot API emulator on loopback, a sample township on its own database,
and a chat page in the browser. The bot itself is started by the caller, exactly as `run` does.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import webbrowser
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.clock import FakeClock, ShiftedClock
from bot.emulator import FakeBotAPI, FakeBotServer
from bot.i18n import I18n

from .web import DemoWeb
from .world import DemoWorld, demo_start

__all__ = ["DEMO_TOKEN", "Demo", "open_browser"]

log = logging.getLogger(__name__)

# Any well-formed token: the emulator accepts it, Telegram never sees it.
DEMO_TOKEN = "100000001:demo-token-never-sent-to-telegram"


class Demo:
    """Everything the demo runs besides the bot: emulator, sample data, web page."""

    def __init__(self, database_path: Path, port: int, tz: ZoneInfo) -> None:
        self.database_path = database_path
        self.port = port
        self.tz = tz
        self.clock = ShiftedClock(demo_start(datetime.now(tz), tz))
        self.api = FakeBotAPI(clock=lambda: self.clock.now().timestamp())
        self.server = FakeBotServer(self.api)
        self.world = DemoWorld(self.api, self.clock, I18n(tz))
        self.web: DemoWeb | None = None

    def start(self) -> None:
        """Reset the demo database with the sample township, then start emulator and page."""
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.database_path}{suffix}").unlink(missing_ok=True)
        self.database_path.parent.mkdir(parents=True, exist_ok=True)
        asyncio.run(self._load_sample())
        self.server.start()
        self.world.opening_updates()
        self.web = DemoWeb(self.world, port=self.port).start()

    @property
    def api_url(self) -> str:
        """Return the emulator's root, the bot's BOT_API_URL."""
        return self.server.url

    @property
    def page_url(self) -> str:
        """Return the chat page's address."""
        assert self.web is not None
        return self.web.url

    def stop(self) -> None:
        """Stop the page and the emulator."""
        if self.web is not None:
            self.web.stop()
        self.server.stop()
        if self.world.violations:
            log.warning("%d Bot API spec violation(s) in this demo run", len(self.world.violations))

    async def _load_sample(self) -> None:
        """The roster as imported weeks ago, and the reports filed since (a short history)."""
        from bot.config import Policy
        from bot.domain.calendar import due_at, week_key
        from bot.domain.report import Outcome, ReportForm
        from bot.storage.db import Database
        from bot.storage.migrations import migrate
        from bot.storage.people import PeopleRepo
        from bot.storage.reports import create_report
        from bot.storage.roster import import_roster

        roster = self.world.roster()
        this_monday = self.clock.now().astimezone(self.tz)
        seeds = self.world.earlier_reports
        joined = this_monday - timedelta(weeks=max(s["weeks_ago"] for s in seeds))
        liaisons = {r.village: r.telegram_id for r in roster.rows if r.village and r.telegram_id}
        async with Database(self.database_path) as db:
            await migrate(db)
            await import_roster(db, roster, FakeClock(joined))
            people = PeopleRepo(db)
            for seed in seeds:
                person = await people.by_telegram_id(liaisons[seed["village"]])
                assert person is not None
                monday = this_monday - timedelta(weeks=seed["weeks_ago"])
                week = week_key(monday.date())
                hour, minute = (int(x) for x in seed["at"].split(":"))
                at = (monday + timedelta(days=seed["day"])).replace(hour=hour, minute=minute)
                form = ReportForm(
                    week=week,
                    patrol_date=at.date(),
                    places=seed["places"],
                    visited=seed["visited"],
                    outcome=Outcome.NORMAL,
                )
                late = at > due_at(week, Policy(), self.tz)
                async with db.transaction() as tx:
                    await create_report(tx, person=person, form=form, late=late, now=at, files=[])


def open_browser(url: str) -> bool:
    """Open the page in a graphical browser when there is one; never fail."""
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return False  # no desktop: a console browser would take over the terminal
    try:
        return webbrowser.open(url, new=2)
    except Exception:  # any browser trouble only means the person opens the link by hand
        log.info("could not open a browser", exc_info=True)
        return False
