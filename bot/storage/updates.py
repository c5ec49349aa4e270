"""The durable inbox: updates are stored before Telegram is told we have them.

An update fetched with getUpdates is written here before the next getUpdates call moves the
offset past it, so a crash can never lose it: at start-up every row not marked done is
processed again, in update_id order. A row is marked done in the same transaction that writes
the conversation state and user data its handlers changed, so a done update is never
processed twice, and one Telegram delivers again is recognised and dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.storage.db import Database, Tx, from_db_time, to_db_time
from bot.storage.jsontext import dump_json


class Inbox:
    """Store fetched updates, hand out the ones not done, remember which are done."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def store(self, updates: Sequence[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
        """Keep a getUpdates batch durably; return only the updates never stored before."""
        if not updates:
            return []
        ids = [int(u["update_id"]) for u in updates]
        async with self.db.transaction() as tx:
            marks = ",".join("?" * len(ids))
            known = {
                r[0]
                for r in await tx.fetchall(
                    f"SELECT update_id FROM inbox WHERE update_id IN ({marks})", ids
                )
            }
            fresh = [u for u in updates if int(u["update_id"]) not in known]
            if fresh:
                received = to_db_time(now)
                await tx.executemany(
                    "INSERT INTO inbox (update_id, received_at, payload) VALUES (?, ?, ?)",
                    [(int(u["update_id"]), received, dump_json(u)) for u in fresh],
                )
        return fresh

    async def open_updates(self) -> list[dict[str, Any]]:
        """Return updates stored but not done (a crash caught them), oldest first."""
        rows = await self.db.fetchall(
            "SELECT payload FROM inbox WHERE done_at IS NULL ORDER BY update_id"
        )
        return [json.loads(r[0]) for r in rows]

    async def seen(self, update_id: int) -> bool:
        """Return whether an update was processed before."""
        return bool(
            await self.db.lookup(
                "SELECT 1 FROM inbox WHERE update_id = ? AND done_at IS NOT NULL", (update_id,)
            )
        )

    async def mark_done(self, tx: Tx, update_ids: Iterable[int], now: datetime) -> None:
        """Record updates as done inside the caller's transaction; their payload goes."""
        stamp = to_db_time(now)
        await tx.executemany(
            "INSERT INTO inbox (update_id, received_at, done_at) VALUES (?, ?, ?)"
            " ON CONFLICT (update_id) DO UPDATE SET done_at = excluded.done_at, payload = NULL",
            [(update_id, stamp, stamp) for update_id in update_ids],
        )

    async def mark_applied(self, tx: Tx, update_id: int, now: datetime) -> None:
        """Record an update's effect as committed; its payload stays until it is finished."""
        stamp = to_db_time(now)
        await tx.execute(
            "INSERT INTO inbox (update_id, received_at, done_at) VALUES (?, ?, ?)"
            " ON CONFLICT (update_id) DO UPDATE SET done_at = excluded.done_at",
            (update_id, stamp, stamp),
        )

    async def mark_finished(self, tx: Tx, update_ids: Iterable[int]) -> None:
        """Forget the payload of updates whose handlers ran to the end."""
        await tx.executemany(
            "UPDATE inbox SET payload = NULL WHERE update_id = ?", [(i,) for i in update_ids]
        )

    async def unfinished(self) -> list[tuple[dict[str, Any], datetime]]:
        """Return updates whose effect was committed but whose handlers a crash cut short,
        each with when it was received."""
        rows = await self.db.fetchall(
            "SELECT payload, received_at FROM inbox"
            " WHERE done_at IS NOT NULL AND payload IS NOT NULL ORDER BY update_id"
        )
        return [(json.loads(r[0]), _time(r[1])) for r in rows]

    async def prune(self, now: datetime, keep: timedelta = timedelta(days=7)) -> int:
        """Forget done updates older than Telegram would ever redeliver."""
        async with self.db.transaction() as tx:
            return await tx.changes(
                "DELETE FROM inbox WHERE done_at < ?", (to_db_time(now - keep),)
            )


def _time(value: str) -> datetime:
    stamp = from_db_time(value)
    assert stamp is not None
    return stamp
