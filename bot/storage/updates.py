"""Processed update ids, so an update Telegram delivers twice has its effect once."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.storage.db import Database, to_db_time


class UpdateLog:
    """Remember which updates are done."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def seen(self, update_id: int) -> bool:
        """Return whether an update was processed before."""
        return bool(
            await self.db.fetchval(
                "SELECT 1 FROM processed_updates WHERE update_id = ?", (update_id,)
            )
        )

    async def mark(self, update_id: int, now: datetime) -> None:
        """Record an update as done."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT OR IGNORE INTO processed_updates (update_id, processed_at) VALUES (?, ?)",
                (update_id, to_db_time(now)),
            )

    async def prune(self, now: datetime, keep: timedelta = timedelta(days=7)) -> int:
        """Forget ids older than Telegram would ever redeliver."""
        async with self.db.transaction() as tx:
            return await tx.changes(
                "DELETE FROM processed_updates WHERE processed_at < ?", (to_db_time(now - keep),)
            )
