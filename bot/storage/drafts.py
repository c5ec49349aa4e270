"""Drafts: a mirror of open forms (/report, /alert, /info) for the 24 h idle drop.

The draft itself lives in the user's persisted user_data; this table only records who owns
it, where to tell them, when it was last worked on and whether it is still open, so that due
work can drop idle drafts (and say so, once) and a handler can see a draft was dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.storage.db import Database, Row, Tx, from_db_time, to_db_time


@dataclass(frozen=True)
class DraftRow:
    form: str
    token: str
    person_id: int
    chat_id: int
    updated_at: datetime
    state: str
    record_id: int | None


def _draft(row: Row) -> DraftRow:
    updated = from_db_time(row["updated_at"])
    assert updated is not None
    return DraftRow(
        row["form"],
        row["token"],
        row["person_id"],
        row["chat_id"],
        updated,
        row["state"],
        row["record_id"],
    )


async def touch_draft(
    db: Database, form: str, token: str, person_id: int, chat_id: int, now: datetime
) -> None:
    """Record that an open draft was just worked on (a closed one stays closed)."""
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO form_drafts (form, token, person_id, chat_id, updated_at)"
            " VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT(form, token) DO UPDATE SET updated_at = excluded.updated_at"
            " WHERE form_drafts.state = 'open'",
            (form, token, person_id, chat_id, to_db_time(now)),
        )


async def get_draft(db: Database | Tx, form: str, token: str) -> DraftRow | None:
    """Return a draft's mirror row."""
    row = await db.fetchone("SELECT * FROM form_drafts WHERE form = ? AND token = ?", (form, token))
    return _draft(row) if row else None


async def close_draft(
    tx: Tx, form: str, token: str, state: str, now: datetime, record_id: int | None = None
) -> bool:
    """Close an open draft (submitted, cancelled or dropped); False if it was not open."""
    return (
        await tx.changes(
            "UPDATE form_drafts SET state = ?, record_id = ?, closed_at = ?"
            " WHERE form = ? AND token = ? AND state = 'open'",
            (state, record_id, to_db_time(now), form, token),
        )
        == 1
    )


async def stale_drafts(db: Database, cutoff: datetime) -> list[DraftRow]:
    """Return open drafts of every form last touched at or before `cutoff`."""
    rows = await db.fetchall(
        "SELECT * FROM form_drafts WHERE state = 'open' AND updated_at <= ?"
        " ORDER BY updated_at, form, token",
        (to_db_time(cutoff),),
    )
    return [_draft(r) for r in rows]
