"""bot/storage/rows.record: a row as a dataclass, by column name."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.storage.db import to_db_time
from bot.storage.rows import record


@dataclass(frozen=True)
class Thing:
    id: int
    name: str
    at: datetime
    done_at: datetime | None
    flag: bool
    extra: str | None = "kept"


def test_record_converts_times_and_flags_and_keeps_defaults() -> None:
    at = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    row = conn.execute(
        "SELECT 7 AS id, '方庄村' AS name, ? AS at, NULL AS done_at, 1 AS flag, 'x' AS other",
        (to_db_time(at),),
    ).fetchone()
    assert record(Thing, row) == Thing(7, "方庄村", at, None, True)
