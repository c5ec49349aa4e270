"""Shared conversation steps for end-to-end tests (Simplified Chinese labels)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.emulator import FakeUser
from bot.storage.db import to_db_time

if TYPE_CHECKING:
    from tests.conftest import Env


async def report_to_visited(user: FakeUser, *, week: str | None = "报本周（第48周）") -> None:
    """Open /report for this week, patrol today, tick religious venues; stop at the count."""
    await user.command("/report")
    if week is not None:
        await user.press(week)
    await user.press("今天")
    await user.press("宗教活动场所")
    await user.press("选好了 / 完成")


async def report_with_issues(env: Env, name: str = "王建国") -> int:
    """Store this week's report of a liaison's village with a dispute found; return its id."""
    me = await env.on_roster(name)
    now = to_db_time(env.clock.now())
    async with env.db.transaction() as tx:
        return await tx.execute(
            "INSERT INTO weekly_reports (village_id, township_id, week, person_id, patrol_date,"
            " places, visited, outcome, findings, dispute, submitted_at, updated_at)"
            " VALUES (?, ?, '2026-W48', ?, '2026-11-23', '[]', 1, 'issues', '两组争水', 1, ?, ?)",
            (me.village_id, me.township_id, me.id, now, now),
        )
