"""One SQLite database: a write connection behind a lock, a separate read connection."""

from __future__ import annotations

import asyncio
import sqlite3
import time
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
    # isoformat is C code and, with microseconds, the same text as "%Y-%m-%dT%H:%M:%S.%fZ".
    return when.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


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
    # fromisoformat reads the "Z" (Python 3.11) and is C code; strptime is pure Python.
    return datetime.fromisoformat(text)


class Tx:
    """An open write transaction; every statement goes through here.

    Statements run inline on the write connection: a point write takes a few microseconds in
    SQLite, while a hop to a database thread and back (aiosqlite) costs about 55 µs of
    Python, and an update makes a dozen of them. The methods stay coroutines so that callers
    do not care.
    """

    def __init__(
        self, conn: sqlite3.Connection, listeners: dict[str, Callable[[Any], None]]
    ) -> None:
        self._conn = conn
        self._listeners = listeners
        self.after_commit: list[Callable[[], None]] = []

    def signal(self, name: str, value: Any) -> None:
        """Tell the listener for `name` about `value` once this transaction has committed."""
        listener = self._listeners.get(name)
        if listener is not None:
            self.after_commit.append(lambda: listener(value))

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; return lastrowid (inserts) or rowcount."""
        cursor = self._conn.execute(sql, params)
        cursor.fetchall()  # stepped to the end (a RETURNING clause, a stray SELECT)
        if sql.lstrip()[:6].upper() == "INSERT":
            return int(cursor.lastrowid or 0)
        return max(0, cursor.rowcount)

    async def changes(self, sql: str, params: Params = ()) -> int:
        """Run one statement and return how many rows it changed."""
        # The schema has no triggers and no cascades, so the connection's change counter moves
        # by exactly the rows this statement changed (the write lock keeps others out).
        before = self._conn.total_changes
        self._conn.execute(sql, params).fetchall()
        return self._conn.total_changes - before

    async def executemany(self, sql: str, seq: Iterable[Params]) -> None:
        """Run one statement for many parameter sets."""
        self._conn.executemany(sql, seq)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """Read one row inside the transaction (sees its own writes)."""
        row: Row | None = self._conn.execute(sql, params).fetchone()
        return row

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """Read all rows inside the transaction."""
        return self._conn.execute(sql, params).fetchall()

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        """Read the first column of the first row, or None."""
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]


async def _pragma(conn: aiosqlite.Connection, sql: str) -> None:
    # Step the statement to the end (an unfinished one would keep a lock on the file), in one
    # hop to aiosqlite's thread.
    await conn.execute_fetchall(sql)


def _busy(exc: sqlite3.OperationalError) -> bool:
    """Return whether SQLite refused because another connection holds a lock."""
    return exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


async def _begin(conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE at once, or, while another process writes, wait for it in a thread."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if not _busy(exc):
            raise
        await asyncio.to_thread(_begin_waiting, conn)


def _begin_waiting(conn: sqlite3.Connection) -> None:
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    try:
        conn.execute("BEGIN IMMEDIATE")
    finally:
        conn.execute("PRAGMA busy_timeout=0")


# The write connection never checkpoints inline (that would hold up the event loop while
# WAL pages are copied and synced): every so many commits the reader's thread does it.
CHECKPOINT_EVERY = 256
BUSY_TIMEOUT_MS = 30_000
YIELD_AFTER = 0.001  # seconds of this thread's CPU time


class Database:
    """The bot's SQLite file in WAL mode with foreign keys on.

    Writes go through one plain sqlite3 connection used inline, one transaction at a time
    (see Tx); reads go through an aiosqlite connection, in its thread, so that a long query
    (statistics, an export) never holds up the event loop.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._writer: sqlite3.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._looker: sqlite3.Connection | None = None  # inline point reads (lookup)
        # One write path: every transaction takes this lock, so writers never interleave.
        self._write_lock = asyncio.Lock()
        # Who hears of committed changes (Tx.signal), e.g. the outbox worker of new rows.
        self.listeners: dict[str, Callable[[Any], None]] = {}
        # Runs last inside every transaction that is about to commit (the update pipeline
        # marks the update in hand as done in the same commit as its first effect).
        self.before_commit: Callable[[Tx], Awaitable[None]] | None = None
        self._commits = 0
        self._checkpoint: asyncio.Task[None] | None = None

    async def open(self) -> Database:
        """Open both connections, creating the parent folder."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # In a thread: switching to WAL may wait for another process's lock.
        self._writer = await asyncio.to_thread(self._connect_writer)
        self._reader = await self._connect()
        self._looker = sqlite3.connect(self.path, isolation_level=None, timeout=0)
        self._looker.row_factory = sqlite3.Row
        return self

    def _connect_writer(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves. check_same_thread=False: a
        # BEGIN that must wait for another process waits in a worker thread (_begin); the
        # write lock keeps every use of the connection one at a time.
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
        conn.row_factory = sqlite3.Row
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
            conn.execute(f"PRAGMA {pragma}").fetchall()
        conn.execute("PRAGMA wal_autocheckpoint=0").fetchall()
        conn.execute("PRAGMA busy_timeout=0").fetchall()  # never wait on the event loop
        return conn

    async def _connect(self) -> aiosqlite.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves.
        conn = await aiosqlite.connect(self.path, isolation_level=None, timeout=30)
        conn.row_factory = sqlite3.Row
        for pragma in ("foreign_keys=ON", f"busy_timeout={BUSY_TIMEOUT_MS}", "synchronous=NORMAL"):
            await _pragma(conn, f"PRAGMA {pragma}")
        return conn

    async def close(self) -> None:
        """Close both connections (idempotent)."""
        if self._checkpoint is not None:
            await asyncio.gather(self._checkpoint, return_exceptions=True)
            self._checkpoint = None
        if self._reader is not None:
            await self._reader.close()
        for conn in (self._writer, self._looker):
            if conn is not None:
                conn.close()
        self._reader = self._writer = self._looker = None

    async def __aenter__(self) -> Database:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def writer(self) -> sqlite3.Connection:
        """Return the write connection (only for what transaction() does not cover)."""
        if self._writer is None:
            raise RuntimeError("database is not open")
        return self._writer

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """Run a block as one BEGIN IMMEDIATE … COMMIT, rolled back on any error."""
        async with self._write_lock:
            conn = self.writer
            started = time.thread_time()
            await _begin(conn)
            tx = Tx(conn, self.listeners)
            try:
                yield tx
                if self.before_commit is not None:
                    await self.before_commit(tx)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")
                self._committed()
        for callback in tx.after_commit:
            callback()
        # Statements run inline and never suspend: after a transaction that took a while, give
        # other tasks a turn, so a run of them (a fan-out queued in chunks) never holds the
        # loop. A short one (most: claiming an outbox row, one answer) goes straight on. CPU
        # time, not wall time: on a busy machine a short one must still count as short, or
        # an alert claimed for sending would let bulk rows pass it.
        if time.thread_time() - started > YIELD_AFTER:
            await asyncio.sleep(0)

    def _committed(self) -> None:
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY or self._reader is None:
            return
        if self._checkpoint is None or self._checkpoint.done():
            reader = self._reader
            self._checkpoint = asyncio.create_task(
                _pragma(reader, "PRAGMA wal_checkpoint(PASSIVE)")
            )

    async def lookup(self, sql: str, params: Params = ()) -> Row | None:
        """Read one committed row by key, inline: for the point reads every update makes (who
        is acting, their open draft), where the hop to the reader's thread is most of the
        cost. Never for a query that scans: that belongs on fetchone's thread."""
        assert self._looker is not None, "database is not open"
        try:
            # Stepped to the end: an unfinished statement would keep its snapshot open.
            rows = self._looker.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
            return await self.fetchone(sql, params)  # a rare WAL recovery: wait off the loop
        return rows[0] if rows else None

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
