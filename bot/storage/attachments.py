"""Files (and locations) attached to a record: one table, `attachments`, keyed by the owner's
kind ("report", "submission", …) and id. Writes run inside the caller's transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.storage.db import Database, Tx, to_db_time


@dataclass(frozen=True)
class Attachment:
    """A Telegram file (or a location) attached to a record."""

    kind: str  # photo | document | voice | location
    file_id: str | None
    file_unique_id: str | None
    meta: dict[str, Any]


async def add(
    tx: Tx, now: datetime, owner_kind: str, owner_id: int, files: list[Attachment]
) -> None:
    """Attach files to a record, in this order."""
    await tx.executemany(
        "INSERT INTO attachments (owner_kind, owner_id, kind, file_id, file_unique_id, meta,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (
                owner_kind,
                owner_id,
                a.kind,
                a.file_id,
                a.file_unique_id,
                _json(a.meta),
                to_db_time(now),
            )
            for a in files
        ],
    )


async def remove(tx: Tx, owner_kind: str, owner_id: int) -> None:
    """Detach every file of a record."""
    await tx.execute(
        "DELETE FROM attachments WHERE owner_kind = ? AND owner_id = ?", (owner_kind, owner_id)
    )


async def of(src: Database | Tx, owner_kind: str, owner_id: int) -> list[Attachment]:
    """Return a record's files in the order they were attached."""
    rows = await src.fetchall(
        "SELECT kind, file_id, file_unique_id, meta FROM attachments"
        " WHERE owner_kind = ? AND owner_id = ? ORDER BY id",
        (owner_kind, owner_id),
    )
    return [
        Attachment(r["kind"], r["file_id"], r["file_unique_id"], json.loads(r["meta"] or "{}"))
        for r in rows
    ]


async def count(src: Database | Tx, owner_kind: str, owner_id: int) -> int:
    """Return how many files a record has."""
    found = await src.fetchval(
        "SELECT COUNT(*) FROM attachments WHERE owner_kind = ? AND owner_id = ?",
        (owner_kind, owner_id),
    )
    return int(found or 0)


def _json(meta: dict[str, Any]) -> str:
    return json.dumps(meta, ensure_ascii=False)
