"""Each due-work function does its pass once per moment; a pass cut short is redone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.reminders import weekly
from bot.storage import digest as store
from tests.conftest import Env
from tests.test_weekly import LIAISONS, at, bind_all, local, reminders


async def test_reminder_pass_runs_once_per_moment(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = await bind_all(env)
    passes = 0
    missing = store.missing_liaisons

    async def counting(*args: Any) -> Any:
        nonlocal passes
        passes += 1
        return await missing(*args)

    monkeypatch.setattr(weekly.store, "missing_liaisons", counting)
    # Ticks every 20 s after 09:00 and later in the morning: one pass for the 09:00 moment.
    for seconds in (0, 20, 40, 60, 3600):
        await at(env, local(2026, 11, 24, 9, 0) + timedelta(seconds=seconds))
    assert passes == 1
    assert all(len(reminders(env, users[n].id)) == 1 for n in LIAISONS)
    await at(env, local(2026, 11, 24, 16, 0))
    await at(env, local(2026, 11, 24, 16, 1))
    assert passes == 2
    assert all(len(reminders(env, users[n].id)) == 2 for n in LIAISONS)


async def test_a_pass_cut_short_is_redone_without_repeats(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = await bind_all(env)
    monkeypatch.setattr(weekly, "ENQUEUE_CHUNK", 2)
    enqueue = weekly.enqueue
    calls = 0

    async def crashing(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 3:  # the second chunk fails: its transaction is rolled back
            raise RuntimeError("crash mid-pass")
        return await enqueue(*args, **kwargs)

    monkeypatch.setattr(weekly, "enqueue", crashing)
    await at(env, local(2026, 11, 24, 9, 0))
    assert sum(len(reminders(env, users[n].id)) for n in LIAISONS) == 2
    await at(env, local(2026, 11, 24, 9, 1))
    assert all(len(reminders(env, users[n].id)) == 1 for n in LIAISONS)


async def test_later_ticks_of_a_moment_write_nothing(env: Env) -> None:
    from bot.reminders.scheduler import Tick

    await bind_all(env)
    statements: list[str] = []
    for moment in (local(2026, 11, 24, 9, 0), local(2026, 11, 25, 9, 0)):  # reminder, overdue
        await at(env, moment)  # the moment's pass: queued and sent
        env.clock.set(moment + timedelta(minutes=20))
        env.db.writer.set_trace_callback(statements.append)
        for work in (weekly.send_reminders, weekly.send_overdue):
            await work(Tick(env.clock.now(), env.deps))
        env.db.writer.set_trace_callback(None)
    assert not [s for s in statements if s.startswith("BEGIN")], statements
