"""Restarts around the week's moments: each start sends exactly what is due, nothing twice."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from bot.config import Policy
from bot.emulator import FakeGroup
from tests.conftest import make_env
from tests.test_weekly import local

REMINDER = "巡查情况还没有上报"
OVERDUE = "超过截止"
LIST = "逾期名单"
DIGEST = "工作周报"


async def start_at(tmp_path: Path, when: datetime, **api: object):
    """A new process on the same database: build, run the start-up tick, return env and closer."""
    env, driver = await make_env(tmp_path, start=when, **api)
    await env.tick()  # the start-up tick (_post_init does this in the real process)
    return env, driver


async def stop(env, driver) -> None:
    await driver.__aexit__(None, None, None)
    await env.db.close()
    env.api.assert_no_violations()


def count(env, chat_id: int, word: str) -> int:
    return sum(1 for t in env.api.texts(chat_id) if word in t)


async def test_restarts_send_exactly_what_is_due(tmp_path: Path) -> None:
    env, driver = await make_env(tmp_path)
    await env.seed()
    wang = await env.bind("王建国")
    boss = await env.bind("冯兴敏")
    group = FakeGroup(env.api, env.driver, -1007770001, title="河口乡群")
    await boss.in_group(group).command("/bindgroup")
    ids = {"wang": wang.id, "boss": boss.id, "group": group.id}
    await stop(env, driver)

    expected = [
        # (local time, {chat: {word: count}})
        # 09:00 missed, but 16:00 is a minute away: one nudge then, not two (CATCH_UP_GAP).
        (local(2026, 11, 24, 15, 59), {}),
        (local(2026, 11, 24, 16, 1), {"wang": {REMINDER: 1}}),  # 16:00
        (local(2026, 11, 24, 18, 1), {}),  # deadline passed: nothing
        (
            local(2026, 11, 25, 9, 1),
            {"wang": {OVERDUE: 1}, "boss": {LIST: 1}, "group": {DIGEST: 1}},
        ),
        (local(2026, 11, 27, 9, 1), {}),  # two days later: nothing missed is < 24 h late
    ]
    for when, wanted in expected:
        env, driver = await start_at(tmp_path, when)
        try:
            for _ in range(2):  # a second tick, as the periodic job would, adds nothing
                env.clock.advance(seconds=20)
                await env.tick()
            for who, chat_id in ids.items():
                for word in (REMINDER, OVERDUE, LIST, DIGEST):
                    got = count(env, chat_id, word)
                    assert got == wanted.get(who, {}).get(word, 0), (when, who, word, got)
        finally:
            await stop(env, driver)
    # Across all runs: each idempotency key once.
    from bot.storage.db import Database

    db = await Database(tmp_path / "bot.sqlite3").open()
    try:
        rows = await db.fetchall("SELECT dedup_key, state FROM outbox WHERE dedup_key IS NOT NULL")
        keys = [r[0] for r in rows]
        assert len(keys) == len(set(keys))
        assert all(
            r[1] == "sent" for r in rows if r[0].startswith(("remind:", "overdue", "digest:"))
        )
    finally:
        await db.close()


async def test_downtime_past_the_deadline_drops_reminders(tmp_path: Path) -> None:
    env, driver = await make_env(tmp_path)
    await env.seed()
    wang = await env.bind("王建国")
    await stop(env, driver)
    env, driver = await start_at(tmp_path, local(2026, 11, 24, 18, 0))
    try:
        assert count(env, wang.id, REMINDER) == 0
    finally:
        await stop(env, driver)


async def test_two_hundred_liaisons_reminded_at_once_without_429(tmp_path: Path) -> None:
    roster = tmp_path / "roster200.csv"
    lines = ["township,village,name,role,phone,telegram_id"]
    for i in range(200):
        lines.append(f"镇{i // 50},村{i:03d},联络员{i:03d},liaison,139{i:08d},{700000 + i}")
    roster.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # No quotas: only the reminders go out at this tick.
    env, driver = await make_env(tmp_path, policy=Policy(quotas=[]), enforce_limits=True)
    # The real pacing: PTB's rate limiter and one message per second per chat.
    from bot.app import build_application
    from bot.emulator import FakeRequest
    from tests.conftest import RecordingDriver

    await driver.__aexit__(None, None, None)
    app = build_application(
        env.deps,
        request=FakeRequest(env.api),
        get_updates_request=FakeRequest(env.api),
        rate_limit=True,
    )
    driver = RecordingDriver(app, env.api)
    await driver.__aenter__()
    env.app, env.driver = app, driver
    try:
        await env.seed(roster)
        env.clock.set(local(2026, 11, 24, 9, 0))
        started = time.monotonic()
        await env.deps.scheduler.tick()
        import asyncio

        for _ in range(12):  # real seconds pass; the fake clock follows them
            await env.deliver()
            if not await env.db.fetchval("SELECT COUNT(*) FROM outbox WHERE state = 'pending'"):
                break
            await asyncio.sleep(1.0)
            env.clock.advance(seconds=1)
        elapsed = time.monotonic() - started
        sent = [
            c
            for c in env.api.sent(method="sendMessage")
            if REMINDER in (c.params.get("text") or "")
        ]
        assert len([c for c in sent if c.ok]) == 200
        assert [c for c in env.api.sent() if c.status == 429] == []
        assert env.api.rate_violations() == []
        assert elapsed < 15
        pending = await env.db.fetchval("SELECT COUNT(*) FROM outbox WHERE state != 'sent'")
        assert pending == 0
    finally:
        await stop(env, driver)
