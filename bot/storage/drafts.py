"""Drafts of every form (/report, /alert, /info, …): one row per draft, the only copy.

The row holds the answers so far (JSON payload) and the step on screen (its `editing` column
is no longer used). The form runtime (bot/forms/) writes it before it asks the next
question; due work drops rows idle for DRAFT_IDLE and tells their owners, once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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
    payload: dict[str, Any]
    step: str  # empty for a row from before the runtime (0100_form_draft_payload.sql)


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
        json.loads(row["payload"] or "{}"),
        row["step"] or "",
    )


def _json(payload: dict[str, Any]) -> str:
    # ASCII escapes: a lone surrogate typed by a person is stored, and the row stays writable.
    return json.dumps(payload, ensure_ascii=True, sort_keys=True)


async def open_draft(
    tx: Tx,
    form: str,
    token: str,
    person_id: int,
    chat_id: int,
    payload: dict[str, Any],
    step: str,
    now: datetime,
) -> None:
    """Start a draft; the person's other open draft of this form is closed as cancelled."""
    await tx.execute(
        "UPDATE form_drafts SET state = 'cancelled', closed_at = ?"
        " WHERE form = ? AND person_id = ? AND state = 'open'",
        (to_db_time(now), form, person_id),
    )
    await tx.execute(
        "INSERT INTO form_drafts (form, token, person_id, chat_id, updated_at, payload, step)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (form, token, person_id, chat_id, to_db_time(now), _json(payload), step),
    )


async def save_draft(
    tx: Tx, form: str, token: str, payload: dict[str, Any], step: str, now: datetime
) -> bool:
    """Store an open draft's answers and step; False if it is no longer open."""
    return (
        await tx.changes(
            "UPDATE form_drafts SET payload = ?, step = ?, updated_at = ?"
            " WHERE form = ? AND token = ? AND state = 'open'",
            (_json(payload), step, to_db_time(now), form, token),
        )
        == 1
    )


async def open_of(db: Database | Tx, form: str, person_id: int) -> DraftRow | None:
    """Return the person's open draft of a form."""
    sql = (
        "SELECT * FROM form_drafts WHERE form = ? AND person_id = ? AND state = 'open'"
        " ORDER BY rowid DESC LIMIT 1"
    )
    find = db.lookup if isinstance(db, Database) else db.fetchone
    row = await find(sql, (form, person_id))
    return _draft(row) if row else None


async def get_draft(db: Database | Tx, form: str, token: str) -> DraftRow | None:
    """Return a draft by its token, whatever its state."""
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
    """Return open drafts of every form last worked on at or before `cutoff`."""
    rows = await db.fetchall(
        "SELECT * FROM form_drafts WHERE state = 'open' AND updated_at <= ?"
        " ORDER BY updated_at, form, token",
        (to_db_time(cutoff),),
    )
    return [_draft(r) for r in rows]
