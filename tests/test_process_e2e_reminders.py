"""The real `liaison-bot` process around a reminder moment: nothing is sent twice.

Issue 6: around the Tuesday 16:00 reminder (Asia/Shanghai, week 2026-W48) the process is
started four times on one database; each start-up tick runs the due work again, and the
outbox dedup key remind:{person}:{week}:{i} must keep every reminder to exactly one message.

Run 1 (15:59:00): two liaisons and the commissioner bind. The 09:00 reminder, missed while
they were not bound, is superseded, never sent late (bot/domain/digest.py due_reminders: the
16:00 one is less than CATCH_UP_GAP away); the run stops before 16:00 having sent nothing.
Run 2 (15:59:58): the first tick after 16:00 makes the moment's one pass and sends the 16:00
reminder to both and to 吴芳 (bound by the roster). Binding happens in an earlier run on
purpose: a person bound after a moment's pass is not reminded at that moment, so binding
must not race the pass. Run 3 (16:00:30) stops with SIGTERM after its start-up tick redid
the due work; run 4 (16:01:00) starts after a kill -9 and does the same.
TICK_SECONDS = 1 here, so no run waits on the 20 s production tick; after the ticks it waits
for, a run waits until the outbox holds nothing unsent (no fixed quiet period).
"""

from __future__ import annotations

import asyncio
import functools
import signal
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import Policy
from bot.domain.calendar import due_at
from bot.domain.digest import render_reminder
from bot.emulator import FakeBotAPI, FakeBotServer, FakeUser, ServerDriver
from tests.botproc import BotProcess, import_roster
from tests.conftest import ROSTER, shared_i18n

pytestmark = pytest.mark.process

TZ = ZoneInfo("Asia/Shanghai")
WEEK = "2026-W48"
BIND = "2026-11-24T15:59:00+08:00"  # Tuesday, a minute before the 16:00 reminder
BEFORE = "2026-11-24T15:59:58+08:00"
AFTER = "2026-11-24T16:00:30+08:00"
LATER = "2026-11-24T16:01:00+08:00"
LIAISONS = {"王建国": (610001, "方庄村"), "李秀英": (610002, "高河村")}
COMMISSIONER = ("冯兴敏", 610010)
# 吴芳 (金汇镇) is bound by the roster itself (telegram_id 555000111): every tick sees her.
PREBOUND = {"吴芳": (555000111, "白沙社区")}
REMINDED = {**LIAISONS, **PREBOUND}
MOMENT = datetime(2026, 11, 24, 16, 0, tzinfo=TZ)
TICK = 1  # seconds between the process's scheduler ticks (TICK_SECONDS)


class Heartbeat:
    """Watch the scheduler's heartbeat file: each tick rewrites it with the tick's time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.writes: list[str] = []
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        last = None
        while True:
            try:
                content = self.path.read_text(encoding="utf-8").strip()
            except OSError:
                content = ""
            if content and content != last:
                self.writes.append(content)
                last = content
            await asyncio.sleep(0.01)

    def __enter__(self) -> Heartbeat:
        self._task = asyncio.get_running_loop().create_task(self._watch())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()

    async def wait_ticks(self, since: int, n: int, timeout: float = 15) -> None:
        """Wait until `n` ticks were seen after the first `since` writes."""
        deadline = time.monotonic() + timeout
        while len(self.writes) < since + n:
            if time.monotonic() > deadline:
                raise AssertionError(f"only {len(self.writes) - since} of {n} ticks in {timeout}s")
            await asyncio.sleep(0.02)


@functools.cache
def reminder_text(village: str) -> str:
    """Return the zh_Hans reminder a liaison of `village` gets for week 2026-W48."""
    t = shared_i18n(str(TZ)).get("zh_Hans")
    return render_reminder(t, WEEK, due_at(WEEK, Policy(), TZ), village)


def reminders_to(api: FakeBotAPI, chat_id: int, village: str) -> list[int]:
    """Return the message ids of reminder messages sent to a chat."""
    expected = reminder_text(village)
    return [
        c.result["message_id"]
        for c in api.sent(chat_id, method="sendMessage", ok=True)
        if c.text == expected
    ]


async def wait_until(
    check: Callable[[], object], timeout: float, what: str, why: Callable[[], str] = str
) -> None:
    """Poll `check()` until it is true; on time-out, say `why()` too."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{why()}")
        await asyncio.sleep(0.05)


def unsent(db_path: Path) -> int:
    """Return how many outbox rows are still to be sent (or in the middle of a send)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    try:
        query = "SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')"
        return int(conn.execute(query).fetchone()[0])
    finally:
        conn.close()


async def wait_sent(db_path: Path, timeout: float = 20) -> None:
    """Wait until everything the ticks seen so far queued was sent.

    A tick records its heartbeat after its work, so the rows it queued are in the outbox by
    then; a row is marked sent once Telegram (the fake) answered, so the call is recorded.
    """
    await wait_until(lambda: unsent(db_path) == 0, timeout, "the outbox to be sent")


def outbox_reminders(db_path: Path) -> list[tuple[str, int, str, int | None]]:
    """Return (dedup_key, chat_id, state, message_id) of every reminder row in the outbox."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(
            "SELECT dedup_key, chat_id, state, message_id FROM outbox"
            " WHERE dedup_key LIKE 'remind:%' ORDER BY dedup_key"
        ).fetchall()
    finally:
        conn.close()


def person_ids(db_path: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    try:
        return dict(conn.execute("SELECT name, id FROM people").fetchall())
    finally:
        conn.close()


def tick_times(beat: Heartbeat) -> list[datetime]:
    """Return the (fake) times of the ticks seen so far."""
    return [datetime.fromisoformat(w) for w in beat.writes]


def check_once(api: FakeBotAPI, db_path: Path, expected: dict[str, set[int]]) -> None:
    """Each liaison got each expected reminder moment exactly once, and nothing more.

    `expected` maps a liaison's name to the reminder indexes (0: 09:00, 1: 16:00) due to them.
    Both moments have the same text, so messages are matched to outbox rows by message_id.
    """
    ids = person_ids(db_path)
    rows = outbox_reminders(db_path)
    expected_keys = sorted(
        f"remind:{ids[name]}:{WEEK}:{i}" for name, indexes in expected.items() for i in indexes
    )
    assert [r[0] for r in rows] == expected_keys, rows
    assert all(r[2] == "sent" for r in rows), rows
    for name, indexes in expected.items():
        chat_id, village = REMINDED[name]
        sent = reminders_to(api, chat_id, village)
        assert len(sent) == len(indexes), f"{name} got {len(sent)} reminders, expected {indexes}"
        theirs = sorted(r[3] for r in rows if r[0].startswith(f"remind:{ids[name]}:"))
        assert sorted(sent) == theirs, (name, sent, rows)
    all_reminders = [c for c in api.sent(method="sendMessage") if "⏰" in (c.text or "")]
    assert len(all_reminders) == len(expected_keys), all_reminders
    assert not [c for c in api.sent(COMMISSIONER[1]) if "⏰" in (c.text or "")]


async def test_reminder_sent_once_across_restarts(tmp_path: Path) -> None:
    db_path = tmp_path / "data" / "bot.sqlite3"
    codes = import_roster(db_path, ROSTER)
    api = FakeBotAPI()
    log = tmp_path / "bot.log"
    with FakeBotServer(api) as server, Heartbeat(db_path.with_name("heartbeat")) as beat:
        runs = [
            BotProcess(db_path, server, log, LIAISON_FAKE_NOW=at, TICK_SECONDS=str(TICK))
            for at in (BIND, BEFORE, AFTER, LATER)
        ]
        try:
            driver = ServerDriver(server, timeout=15)
            # --- run 1: a minute before 16:00, everyone binds; nothing is due.
            bot = runs[0]
            mark = len(beat.writes)
            await bot.start()
            users = {}
            for name, (chat_id, _village) in LIAISONS.items():
                users[name] = FakeUser(
                    api, driver, chat_id, first_name=name, language_code="zh-hans"
                )
            users[COMMISSIONER[0]] = FakeUser(
                api, driver, COMMISSIONER[1], first_name=COMMISSIONER[0], language_code="zh-hans"
            )
            for name, user in users.items():
                calls = await user.command("/start", codes[name])
                assert any("绑定成功" in (c.text or "") for c in calls), bot.log()
            # A whole tick ran after the last binding (the first seen may have begun before).
            await beat.wait_ticks(len(beat.writes), 2)
            await wait_sent(db_path)
            assert await bot.stop(signal.SIGTERM) == 0, bot.log()
            assert all(at < MOMENT for at in tick_times(beat)[mark:]), beat.writes
            assert not [c for c in api.sent(method="sendMessage") if "⏰" in (c.text or "")]

            # --- run 2: two seconds before 16:00; the first tick after it reminds all three.
            bot = runs[1]
            await bot.start()
            await wait_until(
                lambda: all(reminders_to(api, c, v) for c, v in REMINDED.values()),
                20,
                "the 16:00 reminders",
                lambda: f"ticks seen: {beat.writes}\n{bot.log()}",
            )
            expected = {name: {1} for name in REMINDED}
            await wait_sent(db_path)
            check_once(api, db_path, expected)
            assert await bot.stop(signal.SIGTERM) == 0, bot.log()

            # --- run 3: after the moment; the start-up tick redoes the due work; then kill -9.
            bot = runs[2]
            mark = len(beat.writes)
            await bot.start()
            await beat.wait_ticks(mark, 2)
            await wait_sent(db_path)
            check_once(api, db_path, expected)
            await bot.kill9()

            # --- run 4: after the kill, the same again; a clean stop at the end.
            bot = runs[3]
            mark = len(beat.writes)
            await bot.start()
            await beat.wait_ticks(mark, 2)
            await wait_sent(db_path)
            check_once(api, db_path, expected)
            assert await bot.stop(signal.SIGTERM) == 0, bot.log()
            assert "stopped cleanly" in bot.log()
        finally:
            for run in runs:
                run.ensure_stopped()
    check_once(api, db_path, expected)
    api.assert_no_violations()
    assert "Traceback" not in log.read_text(encoding="utf-8", errors="replace")
