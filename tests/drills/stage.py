"""A stage for drills: the real `liaison-bot run` process, the Bot API emulator on loopback,
a roster whose people are bound already, and users whose updates are pushed without waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.emulator import FakeBotAPI, FakeBotServer, FakeUser
from tests.botproc import BotProcess, import_roster

# A Monday morning (no quiet hours, no reminder due): the bot's clock starts here.
MONDAY = "2026-11-23T10:00:00+08:00"
COMMISSIONER = 6_200_001
LEADER = 6_200_002
COUNTY = 6_200_003
LIAISONS = tuple(6_100_001 + i for i in range(6))
VILLAGES = ("方庄村", "高河村", "大朱村", "刘振屯村", "马庄村", "大黄村")


def write_roster(path: Path) -> Path:
    """Write a roster whose people have Telegram ids (bound without invite codes)."""
    lines = ["township,village,name,role,phone,telegram_id"]
    for i, (uid, village) in enumerate(zip(LIAISONS, VILLAGES, strict=True)):
        lines.append(f"河口乡,{village},联络员{i},liaison,1390000000{i},{uid}")
    lines.append(f"河口乡,,冯兴敏,commissioner,13900000010,{COMMISSIONER}")
    lines.append(f"河口乡,,赵志强,leader,13900000011,{LEADER}")
    lines.append(f",,孙丽,county,13900000020,{COUNTY}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class PushOnly:
    """A driver that hands an update to the emulator and returns at once."""

    def __init__(self, api: FakeBotAPI) -> None:
        self.api = api
        self.pushed: list[dict[str, Any]] = []

    async def deliver(self, update: dict[str, Any]) -> None:
        self.pushed.append(update)
        self.api.push_update(update)


class Stage:
    """One drill's world; use as `async with Stage(tmp, ...) as stage`."""

    def __init__(self, folder: Path, *, enforce_limits: bool = False, **env: str) -> None:
        self.folder = folder
        self.db_path = folder / "data" / "bot.sqlite3"
        self.log_path = folder / "bot.log"
        self.api = FakeBotAPI(enforce_limits=enforce_limits)
        self.server = FakeBotServer(self.api)
        self.driver = PushOnly(self.api)
        self.env = {"LOG_LEVEL": "INFO", **env}
        self.bot: BotProcess | None = None
        self.restarts = 0
        self._began: float | None = None  # time.monotonic() of the first start

    async def __aenter__(self) -> Stage:
        self.folder.mkdir(parents=True, exist_ok=True)
        import_roster(self.db_path, write_roster(self.folder / "roster.csv"))
        self.server.start()
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.bot is not None:
            self.bot.ensure_stopped()
        self.server.stop()

    def now(self) -> str:
        """Return the bot's time for a start: MONDAY plus the real time since the first start.

        A restarted process goes on from where the killed one was, as the wall clock would;
        starting every process at MONDAY again would make each new one wait until its clock
        passed the rows the last one queued (their due time is in its future).
        """
        if self._began is None:
            self._began = time.monotonic()
        elapsed = timedelta(seconds=time.monotonic() - self._began)
        return (datetime.fromisoformat(MONDAY) + elapsed).isoformat()

    async def start(self) -> None:
        """Start the bot and wait until it polls."""
        env = {"LIAISON_FAKE_NOW": self.now(), **self.env}
        self.bot = BotProcess(self.db_path, self.server, self.log_path, **env)
        await self.bot.start(timeout=30)

    async def kill_and_restart(self) -> None:
        """SIGKILL the bot, then start a new one on the same database."""
        assert self.bot is not None
        await self.bot.kill9()
        self.restarts += 1
        await self.start()

    async def stop(self) -> int:
        """Stop the bot with SIGTERM; return its exit code."""
        assert self.bot is not None
        return await self.bot.stop()

    def user(self, user_id: int, name: str = "drill") -> FakeUser:
        """Return a user whose actions are pushed without waiting."""
        return FakeUser(self.api, self.driver, user_id, first_name=name, language_code="zh-hans")

    async def settle(self, quiet: float = 0.2, timeout: float = 15.0) -> None:
        """Wait until every pushed update is taken and the bot made no call for `quiet` s."""
        deadline = time.monotonic() + timeout
        taken_at: float | None = None
        while time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            now = time.monotonic()
            if taken_at is None and not self.api.pending_updates:
                taken_at = now  # the bot holds them; now it must go quiet after that
            if taken_at is not None and now - max(taken_at, self.api.last_activity) >= quiet:
                return

    async def wait_for(self, check: Callable[[], bool], timeout: float) -> float:
        """Poll `check` until it holds; return the seconds it took (inf when it never did)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if check():
                return time.monotonic() - started
            await asyncio.sleep(0.01)
        return float("inf")

    def log_text(self) -> str:
        """Return everything the bot processes printed."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def sends(self, chat_id: int) -> list[str]:
        """Return the texts of successful sendMessage calls to a chat, in order."""
        return [c.text or "" for c in self.api.sent(chat_id, "sendMessage") if c.ok]

    def shown(self, chat_id: int) -> list[str]:
        """Return the texts a chat was shown, new or edited in (a form's summary card turns
        into its confirmation), in order."""
        shows = ("sendMessage", "editMessageText")
        return [c.text or "" for c in self.api.sent(chat_id) if c.method in shows and c.ok]
