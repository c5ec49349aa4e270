"""One SQLite database: a write connection behind a lock, a separate read connection."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, overload

import aiosqlite

Row = sqlite3.Row
Params = Sequence[Any] | dict[str, Any]


def to_db_time(when: datetime) -> str:
    """Store instants as ISO-8601 UTC with seconds, so text order is time order."""
    if when.tzinfo is None:
        raise ValueError("naive datetime given to the database")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@overload
def from_db_time(text: str) -> datetime: ...
@overload
def from_db_time(text: None) -> None: ...
@overload
def from_db_time(text: str | None) -> datetime | None: ...
def from_db_time(text: str | None) -> datetime | None:
    """Read an instant stored by to_db_time."""
    if text is None:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


class Tx:
    """An open write transaction; every statement goes through here."""

    def __init__(
        self, conn: aiosqlite.Connection, listeners: dict[str, Callable[[Any], None]]
    ) -> None:
        self._conn = conn
        self._listeners = listeners
        self.after_commit: list[Callable[[], None]] = []

    def signal(self, name: str, value: Any) -> None:
        """Tell the listener for `name` about `value` once this transaction has committed."""
        listener = self._listeners.get(name)
        if listener is not None:
            self.after_commit.append(lambda: listener(value))

    # Each statement is one hop to aiosqlite's thread (execute_fetchall / execute_insert):
    # a cursor opened, stepped and closed hop by hop costs three, and the hops (about 50 µs
    # of Python each) were most of the time a query took.

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; return lastrowid (inserts) or rowcount."""
        if sql.lstrip()[:6].upper() == "INSERT":
            row = await self._conn.execute_insert(sql, params)
            return int(row[0]) if row is not None else 0
        return await self.changes(sql, params)

    async def changes(self, sql: str, params: Params = ()) -> int:
        """Run one statement and return how many rows it changed."""
        # The schema has no triggers and no cascades, so the connection's change counter moves
        # by exactly the rows this statement changed (the write lock keeps others out).
        before = self._conn.total_changes
        await self._conn.execute_fetchall(sql, params)
        return self._conn.total_changes - before

    async def executemany(self, sql: str, seq: Iterable[Params]) -> None:
        """Run one statement for many parameter sets."""
        await self._conn.executemany(sql, seq)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """Read one row inside the transaction (sees its own writes)."""
        rows = await self._conn.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """Read all rows inside the transaction."""
        return list(await self._conn.execute_fetchall(sql, params))

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        """Read the first column of the first row, or None."""
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]


async def _pragma(conn: aiosqlite.Connection, sql: str) -> None:
    # Step the statement to the end (an unfinished one would keep a lock on the file), in one
    # hop to aiosqlite's thread.
    await conn.execute_fetchall(sql)


class Database:
    """The bot's SQLite file in WAL mode with foreign keys on."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        # One write path: every transaction takes this lock, so writers never interleave.
        self._write_lock = asyncio.Lock()
        # Who hears of committed changes (Tx.signal), e.g. the outbox worker of new rows.
        self.listeners: dict[str, Callable[[Any], None]] = {}
        # Runs last inside every transaction that is about to commit (the update pipeline
        # marks the update in hand as done in the same commit as its first effect).
        self.before_commit: Callable[[Tx], Awaitable[None]] | None = None

    async def open(self) -> Database:
        """Open both connections, creating the parent folder."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = await self._connect()
        await _pragma(self._writer, "PRAGMA journal_mode=WAL")
        self._reader = await self._connect()
        return self

    async def _connect(self) -> aiosqlite.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves.
        conn = await aiosqlite.connect(self.path, isolation_level=None, timeout=30)
        conn.row_factory = sqlite3.Row
        for pragma in ("foreign_keys=ON", "busy_timeout=30000", "synchronous=NORMAL"):
            await _pragma(conn, f"PRAGMA {pragma}")
        return conn

    async def close(self) -> None:
        """Close both connections (idempotent)."""
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = None

    async def __aenter__(self) -> Database:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def writer(self) -> aiosqlite.Connection:
        """Return the write connection (for migrations and backup only)."""
        if self._writer is None:
            raise RuntimeError("database is not open")
        return self._writer

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """Run a block as one BEGIN IMMEDIATE … COMMIT, rolled back on any error."""
        async with self._write_lock:
            conn = self.writer
            await _pragma(conn, "BEGIN IMMEDIATE")
            tx = Tx(conn, self.listeners)
            try:
                yield tx
                if self.before_commit is not None:
                    await self.before_commit(tx)
            except BaseException:
                await _pragma(conn, "ROLLBACK")
                raise
            else:
                await _pragma(conn, "COMMIT")
        for callback in tx.after_commit:
            callback()

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """Read one committed row."""
        assert self._reader is not None, "database is not open"
        rows = await self._reader.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """Read committed rows."""
        assert self._reader is not None, "database is not open"
        return list(await self._reader.execute_fetchall(sql, params))

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        """Read the first column of the first committed row, or None."""
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def backup_to(self, dest: Path) -> None:
        """Copy the live database to dest with SQLite's online backup API."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".partial")
        tmp.unlink(missing_ok=True)
        target = await aiosqlite.connect(tmp)
        try:
            # One step (pages=-1) copies under a single read snapshot: in WAL mode writers keep
            # going meanwhile and the copy is exactly the database as of the step's start.
            assert self._reader is not None, "database is not open"
            await self._reader.backup(target, pages=-1)
        finally:
            await target.close()
        tmp.replace(dest)
