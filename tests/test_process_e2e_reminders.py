"""The real `liaison-bot` process around a reminder moment: nothing is sent twice.

Issue 6: the process is started at Tuesday 15:59:56 (Asia/Shanghai, week 2026-W48), two
liaisons and the commissioner bind, the 16:00 reminder goes out at the first tick after the
moment; then the process is restarted after the moment (SIGTERM), and again after a kill -9.
Each start-up tick runs the due work again: the outbox dedup key remind:{person}:{week}:{i}
must keep every reminder to exactly one message.

The liaisons bind only after the first periodic tick (1 s after start-up, still before
16:00) so that no tick ever sees them bound while 09:00 is the latest passed moment: by the
design (bot/domain/digest.py due_reminders) the 16:00 reminder is then the only one they get,
and the 09:00 one, missed while they were not bound, is superseded, never sent late. The tick
interval is TICK_SECONDS = 4 here: the tick after the first periodic one comes 5 s after
start-up, so after 16:00 however late the process starts, and the test waits 4 s, not 20.
吴芳 (bound by the roster) is seen by the start-up tick at 15:59:56, when 09:00 is the latest
passed moment; that catch-up is skipped because 16:00 is seconds away (CATCH_UP_GAP), so she
too gets only the 16:00 reminder, once.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import Policy
from bot.domain.calendar import due_at
from bot.domain.digest import render_reminder
from bot.emulator import FakeBotAPI, FakeBotServer, FakeUser, ServerDriver
from bot.i18n import I18n
from tests.botproc import BotProcess, import_roster
from tests.conftest import ROSTER

pytestmark = pytest.mark.process

TZ = ZoneInfo("Asia/Shanghai")
WEEK = "2026-W48"
BEFORE = "2026-11-24T15:59:56+08:00"  # Tuesday, 4 s before the 16:00 reminder
AFTER = "2026-11-24T16:00:30+08:00"
LATER = "2026-11-24T16:01:00+08:00"
LIAISONS = {"王建国": (610001, "方庄村"), "李秀英": (610002, "高河村")}
COMMISSIONER = ("冯兴敏", 610010)
# 吴芳 (金汇镇) is bound by the roster itself (telegram_id 555000111): every tick sees her.
PREBOUND = {"吴芳": (555000111, "白沙社区")}
REMINDED = {**LIAISONS, **PREBOUND}
MOMENT = datetime(2026, 11, 24, 16, 0, tzinfo=TZ)
TICK = 4  # seconds between the process's scheduler ticks (TICK_SECONDS)


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


def reminder_text(village: str) -> str:
    """Return the zh_Hans reminder a liaison of `village` gets for week 2026-W48."""
    t = I18n(TZ).get("zh_Hans")
    return render_reminder(t, WEEK, due_at(WEEK, Policy(), TZ), village)


def reminders_to(api: FakeBotAPI, chat_id: int, village: str) -> list[int]:
    """Return the message ids of reminder messages sent to a chat."""
    expected = reminder_text(village)
    return [
        c.result["message_id"]
        for c in api.sent(chat_id, method="sendMessage", ok=True)
        if c.text == expected
    ]


async def wait_until(check: object, timeout: float, what: str) -> None:
    """Poll `check()` until it is true."""
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.1)


async def wait_quiet(api: FakeBotAPI, quiet: float = 2.0, timeout: float = 20) -> None:
    """Wait until the bot made no API call besides polling for `quiet` seconds."""
    start = time.monotonic()
    while time.monotonic() - max(api.last_activity, start) < quiet:
        if time.monotonic() - start > timeout:
            raise AssertionError(f"bot kept calling the API for {timeout}s")
        await asyncio.sleep(0.05)


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
            for at in (BEFORE, AFTER, LATER)
        ]
        try:
            driver = ServerDriver(server, timeout=15)
            # --- run 1: just before 16:00.
            bot = runs[0]
            mark = len(beat.writes)
            await bot.start()
            # The start-up tick and the first periodic tick (1 s later) ran, nobody bound yet.
            await beat.wait_ticks(mark, 2)
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
            bound_at = len(beat.writes)
            # The next tick (TICK seconds later, after 16:00) sends the 16:00 reminder.
            await wait_until(
                lambda: all(reminders_to(api, c, v) for c, v in LIAISONS.values()),
                4 * TICK,
                "the 16:00 reminders",
            )
            # The outbox sends as soon as the tick's rows commit, maybe before its heartbeat
            # is written or read: wait for that tick itself.
            await beat.wait_ticks(bound_at, 1)
            # No tick saw the two liaisons bound before 16:00: only the 16:00 moment is theirs.
            # The tick writes its heartbeat after its due work, so the delivered reminders can
            # be seen before the heartbeat of the tick that queued them: wait for it.
            await beat.wait_ticks(bound_at, 1)
            after_binding = tick_times(beat)[bound_at:]
            assert after_binding and all(at >= MOMENT for at in after_binding), after_binding
            # 吴芳 was bound at every tick: the 09:00 catch-up before 16:00 is skipped (16:00 is
            # seconds away); the first tick after 16:00 sends her the 16:00 one, exactly once.
            expected = {name: {1} for name in LIAISONS}
            expected["吴芳"] = {1}
            await wait_until(
                lambda: len(reminders_to(api, *PREBOUND["吴芳"])) == len(expected["吴芳"]),
                10,
                "吴芳's reminders",
            )
            await wait_quiet(api, 1.0)
            check_once(api, db_path, expected)
            assert await bot.stop(signal.SIGTERM) == 0, bot.log()

            # --- run 2: after the moment; the start-up tick redoes the due work; then kill -9.
            bot = runs[1]
            mark = len(beat.writes)
            await bot.start()
            await beat.wait_ticks(mark, 2)
            await wait_quiet(api, 1.0)
            check_once(api, db_path, expected)
            await bot.kill9()

            # --- run 3: after the kill, the same again; a clean stop at the end.
            bot = runs[2]
            mark = len(beat.writes)
            await bot.start()
            await beat.wait_ticks(mark, 2)
            await wait_quiet(api, 1.0)
            check_once(api, db_path, expected)
            assert await bot.stop(signal.SIGTERM) == 0, bot.log()
            assert "stopped cleanly" in bot.log()
        finally:
            for run in runs:
                run.ensure_stopped()
    check_once(api, db_path, expected)
    api.assert_no_violations()
    assert "Traceback" not in log.read_text(encoding="utf-8", errors="replace")
