"""Shared fixtures: a real Application on a temp database, driven through the fake Bot API."""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.app import LiaisonApplication, build_application
from bot.clock import FakeClock
from bot.config import Policy, Settings
from bot.deps import Deps
from bot.domain.people import Person
from bot.emulator import FakeBotAPI, FakeRequest, FakeUser, InProcessDriver
from bot.i18n import I18n
from bot.storage.db import Database, to_db_time
from bot.storage.migrations import migrate
from bot.storage.people import SELECT_PEOPLE, person_from_row

DATA = Path(__file__).parent / "data"
ROSTER = DATA / "roster_hekou.csv"
# Monday 23 Nov 2026 09:00 in Asia/Shanghai (ISO week 2026-W48).
MONDAY_0900 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
USER_IDS = iter(range(100_001, 999_999))
# Rosters are imported 8 days before the start (Sunday 15 Nov, before W47's due time).
SEEDED_AGO = timedelta(days=8)


class RecordingDriver(InProcessDriver):
    """In-process driver that keeps every update it delivered (to redeliver one)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.delivered: list[dict[str, Any]] = []

    async def deliver(self, update: dict[str, Any]) -> None:
        self.delivered.append(update)
        await super().deliver(update)


@dataclass
class Env:
    """One bot under test: its API fake, application, dependencies and clock."""

    api: FakeBotAPI
    app: LiaisonApplication
    deps: Deps
    clock: FakeClock
    driver: RecordingDriver
    users: dict[str, FakeUser] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)

    @property
    def db(self) -> Database:
        return self.deps.db

    async def seed(self, path: Path = ROSTER, ago: timedelta = SEEDED_AGO) -> dict[str, str]:
        """Import a roster file as of `ago` before now; return invite codes by name."""
        from bot.clock import FakeClock
        from bot.domain.roster import parse_roster
        from bot.storage.roster import import_roster

        # The network usually exists before the week under test (last week's report is owed).
        then = FakeClock(self.clock.now() - ago)
        result = await import_roster(self.db, parse_roster(path), then)
        # …but the invite codes are handed out now, valid 14 days from the test's start.
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE invites SET created_at = ?, expires_at = ? WHERE used_at IS NULL",
                (to_db_time(self.clock.now()), to_db_time(self.clock.now() + timedelta(days=14))),
            )
        for p in result.people:
            if p.invite_code:
                self.codes[p.name] = p.invite_code
        return self.codes

    def user(
        self, key: str, language_code: str = "zh-hans", user_id: int | None = None
    ) -> FakeUser:
        """Return (creating once) a fake Telegram user."""
        if key not in self.users:
            self.users[key] = FakeUser(
                self.api,
                self.driver,
                user_id or next(USER_IDS),
                first_name=key,
                language_code=language_code,
            )
        return self.users[key]

    async def bind(self, name: str, language_code: str = "zh-hans") -> FakeUser:
        """Bind a roster person to a new fake user through /start CODE."""
        if not self.codes:
            await self.seed()
        user = self.user(name, language_code)
        await user.command("/start", self.codes[name])
        assert await self.person(name) is not None, f"{name} did not bind"
        return user

    async def person(self, name: str) -> Person | None:
        """Return a bound person by name."""
        user = self.users.get(name)
        if user is None:
            return None
        return await self.deps.people.by_telegram_id(user.id)

    async def on_roster(self, name: str) -> Person:
        """Return a person on the roster by name, bound or not."""
        row = await self.db.fetchone(SELECT_PEOPLE + " WHERE p.name = ?", (name,))
        assert row is not None, f"{name} is not on the roster"
        return person_from_row(row)

    async def tick(self) -> None:
        """Run the scheduler once and deliver everything due."""
        assert self.deps.scheduler is not None
        await self.deps.scheduler.tick()
        await self.deliver()

    async def deliver(self) -> int:
        """Deliver every outbox row due now."""
        assert self.deps.delivery is not None
        return await self.deps.delivery.drain()


@functools.cache
def shared_i18n(zone: str) -> I18n:
    """Return one I18n per zone for the whole session: parsing every catalogue takes about
    70 ms, once per test it was a good part of the suite; a translator is immutable."""
    return I18n(ZoneInfo(zone))


_TEMPLATE: list[Path] = []  # this process's migrated empty database, made once


async def migrated_database(path: Path) -> Database:
    """Open a database at `path` with every migration applied.

    Migrating a new file takes about 30 ms, once per test it added up: the first call
    migrates a template, later ones copy it (migrate() then finds nothing to do). An existing
    file (a restart on the same database) is opened as it is.
    """
    if path.exists():
        db = await Database(path).open()
        await migrate(db)
        return db
    if not _TEMPLATE:
        folder = tempfile.mkdtemp(prefix="liaison-template-")
        atexit.register(shutil.rmtree, folder, True)
        template = Path(folder) / "template.sqlite3"
        db = await Database(template).open()
        await migrate(db)
        await db.close()  # the last connection to close checkpoints the WAL into the file
        _TEMPLATE.append(template)
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_TEMPLATE[0], path)
    db = await Database(path).open()
    await migrate(db)
    return db


async def make_env(
    tmp_path: Path, policy: Policy | None = None, start: datetime = MONDAY_0900, **api_kwargs: Any
) -> tuple[Env, Any]:
    """Build an Env; return it with the driver context to close."""
    clock = FakeClock(start)
    settings = Settings(
        bot_token="123456:TEST-TOKEN",
        bot_api_url="http://fake-bot-api.test",
        database_path=tmp_path / "bot.sqlite3",
        _env_file=None,
    )
    db = await migrated_database(settings.database_path)
    deps = Deps(settings, policy or Policy(), db, clock, shared_i18n(settings.timezone))
    api = FakeBotAPI(clock=clock.timestamp, **api_kwargs)
    app = build_application(
        deps,
        request=FakeRequest(api),
        get_updates_request=FakeRequest(api),
        rate_limit=False,
        per_chat_interval=0,
        overall_per_second=0,
    )
    driver = RecordingDriver(app, api)
    await driver.__aenter__()
    return Env(api, app, deps, clock, driver), driver


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    """A bot with an empty roster at Monday 09:00 local time; asserts zero spec violations."""
    e, driver = await make_env(tmp_path)
    try:
        yield e
    finally:
        await driver.__aexit__(None, None, None)
        await e.db.close()
    e.api.assert_no_violations()


# The real-process tests in two groups of about equal length (some 40 s each on a quiet
# machine, figures from --durations): the first holds these, the second all others.
FIRST_PROCESS_GROUP = (
    "tests/test_drills.py::test_kill_drill_ten_cycles",  # 12 s
    "tests/test_drills.py::test_burst_drill",  # 10 s: one message a second per chat
    "tests/test_drills.py::test_outage_drill",  # 7 s
    "tests/test_demo.py",  # 16 s: Chromium
)
PROCESS_GROUPS = ("process-1", "process-2")
# In-process tests that take seconds (mostly waiting on the real rate limiter): started first,
# so that no worker begins one of them when the others are nearly done.
START_FIRST = (
    "tests/test_weekly_restarts.py::test_two_hundred_liaisons_reminded_at_once_without_429",
    "tests/test_digest.py::test_sixty_village_township_digest_is_split_not_truncated",
    "tests/test_outbox_order.py",
)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook turns the groups into node ids
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the real-process tests of one group on one xdist worker, one after another (`make
    test` uses --dist loadgroup): they start bots and loopback servers and time their waits,
    so two of them at most run at once while the in-process tests spread over the others."""
    items.sort(key=lambda item: not item.nodeid.startswith(START_FIRST))  # stable
    for item in items:
        if item.get_closest_marker("process") is not None:
            first = item.nodeid.startswith(FIRST_PROCESS_GROUP)
            item.add_marker(pytest.mark.xdist_group(PROCESS_GROUPS[0 if first else 1]))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Fail loudly when --dist loadgroup would ignore the groups (it happened silently with
    pytest 9.2 and pytest-xdist 3.8: every process test ran on any worker)."""
    if not getattr(session.config.option, "loadgroup", False):
        return
    lost = [i.nodeid for i in session.items if i.get_closest_marker("xdist_group")]
    lost = [nodeid for nodeid in lost if "@" not in nodeid]
    if lost:
        raise pytest.UsageError(f"--dist loadgroup ignores the xdist groups of {lost[:3]}")


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto`: one worker per core, and one more per process group when the real-process
    tests run along with the others: those mostly wait (on the bot, on timers), so the cores
    stay busy with in-process tests meanwhile. PYTEST_XDIST_AUTO_NUM_WORKERS still decides."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    if "process" in (config.getoption("markexpr") or ""):
        return None  # only one kind: xdist's default, a worker per core
    return len(os.sched_getaffinity(0)) + len(PROCESS_GROUPS)
