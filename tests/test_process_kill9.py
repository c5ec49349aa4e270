"""The real `liaison-bot` process killed with SIGKILL between two answers of /report.

Issue 2: "a kill -9 between two answers of a conversation" loses nothing. The process is
killed right after an answer was fully processed (its update is marked done, which the app
does only after flushing persistence); a new process on the same database continues the form
on the very message the bot showed before the kill, and the report is stored once.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.emulator import Call, FakeBotAPI, FakeBotServer, FakeUser, ServerDriver
from tests.botproc import BotProcess, import_roster
from tests.conftest import ROSTER

pytestmark = pytest.mark.process

# A Monday morning of week 2026-W48 (Asia/Shanghai); each run starts a little later.
RUN_TIMES = ("2026-11-23T10:00:00+08:00", "2026-11-23T10:05:00+08:00", "2026-11-23T10:10:00+08:00")
LIAISON_ID = 424242


def _connect(db_path: Path) -> sqlite3.Connection:
    """Open the bot's database read-only (it may be running; WAL lets us read)."""
    return sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)


async def wait_processed(db_path: Path, update_id: int, timeout: float = 10) -> None:
    """Wait until the bot recorded an update as done (after its persistence flush)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        with _connect(db_path) as conn:
            done = conn.execute(
                "SELECT 1 FROM inbox WHERE update_id = ? AND done_at IS NOT NULL", (update_id,)
            ).fetchone()
        conn.close()
        if done:
            return
        if loop.time() > deadline:
            raise AssertionError(f"update {update_id} was never marked processed")
        await asyncio.sleep(0.05)


async def answered(
    api: FakeBotAPI, action: Awaitable[Any], until: Callable[[Call], bool]
) -> list[Call]:
    """Do an action and return the calls made for it once one meeting `until` is among them.

    The bot acknowledges an update (durable inbox) before it answers it, so the driver's quiet
    period can end before a loaded machine gets to the answer: wait for the answer itself.
    """
    mark = api.call_count()
    await action
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while not any(until(c) for c in api.calls_since(mark)):
        if loop.time() > deadline:
            raise AssertionError(f"no such answer in 15 s: {api.calls_since(mark)}")
        await asyncio.sleep(0.02)
    return api.calls_since(mark)


def method(name: str) -> Callable[[Call], bool]:
    """Match a call of one Bot API method."""
    return lambda call: call.method == name


async def test_kill9_between_answers_keeps_the_form(tmp_path: Path) -> None:
    db_path = tmp_path / "data" / "bot.sqlite3"
    codes = import_roster(db_path, ROSTER)
    api = FakeBotAPI()
    log = tmp_path / "bot.log"
    with FakeBotServer(api) as server:
        runs = [BotProcess(db_path, server, log, LIAISON_FAKE_NOW=at) for at in RUN_TIMES]
        try:
            driver = ServerDriver(server, timeout=15)
            user = FakeUser(api, driver, LIAISON_ID, first_name="王建国", language_code="zh-hans")

            async def processed() -> None:
                """Make sure the bot finished the last update (state flushed) before a kill."""
                # The bot confirmed the update by polling past it: update_id = offset - 1.
                await wait_processed(db_path, api.confirmed_offset - 1)

            # --- run 1: bind, open the form, answer up to half of the places question.
            bot = runs[0]
            await bot.start()
            calls = await user.command("/start", codes["王建国"])
            assert any("绑定成功" in (c.text or "") for c in calls), bot.log()
            calls = await user.command("/report")
            form = next(c for c in calls if c.method == "sendMessage" and c.buttons)
            message_id = form.result["message_id"]
            # The roster was imported after last week's due time: no late report is owed, the
            # form starts at the patrol date.
            assert "今天" in form.buttons, form.buttons
            await user.press("今天", message_id)
            await user.press("宗教活动场所", message_id)
            await processed()
            shown = api.message(LIAISON_ID, message_id)
            assert shown is not None and "✅ 宗教活动场所" in str(shown["reply_markup"])
            await bot.kill9()
            assert bot.proc is not None and bot.proc.returncode == -signal.SIGKILL

            # --- run 2: the same message goes on: the first place is still ticked.
            bot = runs[1]
            await bot.start()
            calls = await answered(
                api, user.press("民间信仰点", message_id), method("editMessageText")
            )
            edits = [c for c in calls if c.method == "editMessageText"]
            assert edits, f"no edit after the restart: {calls}\n{bot.log()}"
            assert "✅ 宗教活动场所" in edits[-1].buttons and "✅ 民间信仰点" in edits[-1].buttons
            await user.press("选好了 / 完成", message_id)
            await user.press("10", message_id)
            await processed()
            shown = api.message(LIAISON_ID, message_id)
            assert shown is not None and "一切正常" in str(shown["reply_markup"]), shown
            await bot.kill9()

            # --- run 3: answer the outcome, check the summary, submit.
            bot = runs[2]
            await bot.start()
            calls = await answered(
                api, user.press("一切正常", message_id), method("editMessageText")
            )
            summary = next(c for c in calls if c.method == "editMessageText")
            text = summary.text or ""
            assert "📋 巡查报告 W48-方庄村" in text, text
            assert "2026年11月23日" in text, text
            assert "宗教活动场所" in text and "民间信仰点" in text, text
            assert "走访户数（人）：10" in text and "结果：一切正常" in text, text
            # The summary card becomes the confirmation (an edit of the same message).
            calls = await answered(
                api,
                user.press("提交", message_id),
                lambda c: "已提交，编号 W48-方庄村" in (c.text or ""),
            )
            # The stale form message is harmless now: a second Submit stores nothing more.
            assert summary.reply_markup is not None
            submit_data = summary.reply_markup["inline_keyboard"][0][0]["callback_data"]
            calls = await answered(
                api, user.press_data(submit_data, message_id), method("answerCallbackQuery")
            )
            answers = [c for c in calls if c.method == "answerCallbackQuery"]
            assert answers and "已经提交了" in str(answers[-1].params.get("text")), calls
            assert await bot.stop(signal.SIGTERM) == 0, bot.log()
        finally:
            for run in runs:
                run.ensure_stopped()

    with _connect(db_path) as conn:
        rows = conn.execute(
            "SELECT r.week, r.patrol_date, r.places, r.visited, r.outcome, r.late, r.version"
            " FROM weekly_reports r JOIN villages v ON v.id = r.village_id WHERE v.name = ?",
            ("方庄村",),
        ).fetchall()
        total = conn.execute("SELECT COUNT(*) FROM weekly_reports").fetchone()[0]
    conn.close()
    assert total == 1 and len(rows) == 1, rows
    week, patrol_date, places, visited, outcome, late, version = rows[0]
    assert (week, patrol_date, visited, outcome, late, version) == (
        "2026-W48",
        "2026-11-23",
        10,
        "normal",
        0,
        1,
    )
    assert sorted(json.loads(places)) == ["folk", "religious"]
    api.assert_no_violations()
    assert "Traceback" not in log.read_text(encoding="utf-8", errors="replace")
