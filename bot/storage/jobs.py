"""Idempotency keys for time-based work: each (kind, who, period, moment) runs once."""

from __future__ import annotations

from datetime import datetime

from bot.storage.db import Database, Tx, to_db_time


async def claim_run(tx: Tx, key: str, now: datetime) -> bool:
    """Record that a piece of scheduled work ran; False if it already had."""
    changed = await tx.changes(
        "INSERT OR IGNORE INTO job_runs (key, ran_at) VALUES (?, ?)", (key, to_db_time(now))
    )
    return changed == 1


async def has_run(src: Database | Tx, key: str) -> bool:
    """Return whether a piece of scheduled work was recorded as done."""
    return bool(await src.fetchval("SELECT 1 FROM job_runs WHERE key = ?", (key,)))
