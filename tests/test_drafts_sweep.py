"""The 24 h idle drop as due work (the runtime's rules per form: tests/test_form_rules.py)."""

from __future__ import annotations

from pathlib import Path

from bot.storage.db import Database
from bot.storage.migrations import discover, migrate
from tests.conftest import Env

ALERT_DROPPED = "上次没填完的预警已超过24小时"


def _count(user, needle: str) -> int:
    return sum(needle in t for t in user.texts())


async def _states(env: Env, form: str) -> list[str]:
    rows = await env.db.fetchall(
        "SELECT state FROM form_drafts WHERE form = ? ORDER BY rowid", (form,)
    )
    return [r["state"] for r in rows]


# --- /alert ---------------------------------------------------------------------------------


async def test_alert_submitted_or_cancelled_draft_is_never_dropped(env: Env) -> None:
    user = await env.bind("王建国")
    await user.command("/alert")
    await user.press("宗教")
    await user.command("/cancel")
    await user.command("/alert")
    await user.press("土地、山林、水利")
    await user.press("紧急")
    await user.send("12")
    await user.press("就在本村")
    await user.send("两家争地")
    await user.press("确认上报")
    assert await _states(env, "alert") == ["cancelled", "submitted"]
    env.clock.advance(hours=25)
    await env.tick()
    assert _count(user, ALERT_DROPPED) == 0


# --- /info ----------------------------------------------------------------------------------


async def test_info_notice_in_the_users_language(env: Env) -> None:
    user = await env.bind("王建国", language_code="en")
    await user.command("/info")
    env.clock.advance(hours=25)
    await env.tick()
    assert sum("idle for more than 24 hours" in t for t in user.texts()) == 1


# --- the migration --------------------------------------------------------------------------


async def test_migration_copies_open_report_drafts(tmp_path: Path) -> None:
    every = discover()
    async with Database(tmp_path / "m.sqlite3") as db:
        await migrate(db, [m for m in every if m.version < 50])
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO townships (name) VALUES ('河口乡')")
            await tx.execute(
                "INSERT INTO people (name, role, township_id, created_at)"
                " VALUES ('王', 'commissioner', 1, '2026-11-01T00:00:00+00:00')"
            )
            await tx.execute(
                "INSERT INTO report_drafts (token, person_id, chat_id, updated_at)"
                " VALUES ('abcd', 1, 42, '2026-11-23T01:00:00+00:00')"
            )
        await migrate(db)
        row = await db.fetchone("SELECT * FROM form_drafts")
        assert (row["form"], row["token"], row["chat_id"], row["state"]) == (
            "report",
            "abcd",
            42,
            "open",
        )
