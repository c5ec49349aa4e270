"""Storage: migrations from empty and from the first schema, transactions, backup under writes."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.storage.db import Database
from bot.storage.migrations import Migration, applied_versions, discover, migrate, split_statements
from bot.storage.persistence import SQLitePersistence


async def test_migrations_from_empty_database(tmp_path: Path) -> None:
    async with Database(tmp_path / "a.sqlite3") as db:
        applied = await migrate(db)
        assert [m.version for m in applied] == [m.version for m in discover()]
        assert await migrate(db) == []  # idempotent
        assert await applied_versions(db) == {m.version for m in discover()}
        assert await db.fetchval("PRAGMA journal_mode") == "wal"
        assert await db.fetchval("PRAGMA foreign_keys") == 1


async def test_migrations_from_the_first_schema(tmp_path: Path) -> None:
    first = discover()[:1]
    async with Database(tmp_path / "b.sqlite3") as db:
        await migrate(db, first)
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO townships (name) VALUES ('河口乡')")
        rest = await migrate(db)
        assert [m.version for m in rest] == [m.version for m in discover()[1:]]
        assert await db.fetchval("SELECT name FROM townships") == "河口乡"


async def test_migration_numbers_are_unique_and_ordered() -> None:
    versions = [m.version for m in discover()]
    assert versions == sorted(set(versions))


async def test_failed_migration_rolls_back(tmp_path: Path) -> None:
    bad = [Migration(1, "bad", "CREATE TABLE x (a);\nINSERT INTO nowhere VALUES (1);\n")]
    async with Database(tmp_path / "c.sqlite3") as db:
        with pytest.raises(sqlite3.OperationalError):
            await migrate(db, bad)
        assert await db.fetchval("SELECT 1 FROM sqlite_master WHERE name = 'x'") is None
        assert await applied_versions(db) == set()


def test_split_statements_keeps_triggers_whole() -> None:
    script = (
        "CREATE TABLE a (x);\n-- comment; with semicolon\n"
        "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE a SET x = 1;\nEND;\n"
    )
    assert len(split_statements(script)) == 2


async def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    async with Database(tmp_path / "d.sqlite3") as db:
        await migrate(db)
        with pytest.raises(RuntimeError):
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO townships (name) VALUES ('甲')")
                raise RuntimeError("boom")
        assert await db.fetchval("SELECT COUNT(*) FROM townships") == 0


async def test_backup_while_writes_go_on(tmp_path: Path) -> None:
    async with Database(tmp_path / "live.sqlite3") as db:
        await migrate(db)
        stop = asyncio.Event()

        async def writer() -> int:
            n = 0
            while not stop.is_set():
                async with db.transaction() as tx:
                    # Two rows per transaction: a torn copy would show an odd count.
                    await tx.execute(
                        "INSERT INTO job_runs (key, ran_at) VALUES (?, 'x')", (f"a{n}",)
                    )
                    await tx.execute(
                        "INSERT INTO job_runs (key, ran_at) VALUES (?, 'x')", (f"b{n}",)
                    )
                n += 1
                await asyncio.sleep(0)
            return n

        task = asyncio.create_task(writer())
        await asyncio.sleep(0.05)
        copies = []
        for i in range(3):
            dest = tmp_path / f"backup{i}.sqlite3"
            await db.backup_to(dest)
            copies.append(dest)
            await asyncio.sleep(0.02)
        stop.set()
        written = await task
    assert written > 10
    for dest in copies:
        conn = sqlite3.connect(dest)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            count = conn.execute("SELECT COUNT(*) FROM job_runs").fetchone()[0]
            assert count % 2 == 0
            assert conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] >= 2
        finally:
            conn.close()


async def test_persistence_round_trip(tmp_path: Path) -> None:
    async with Database(tmp_path / "p.sqlite3") as db:
        await migrate(db)
        p = SQLitePersistence(db)
        await p.update_conversation("report", (1, 2), "ASK_PLACES")
        await p.update_user_data(2, {"drafts": {"r": {"places": ["religious"], "n": 3}}})
        await p.update_chat_data(5, {"x": 1})
        await p.commit()
        assert await p.get_conversations("report") == {(1, 2): "ASK_PLACES"}
        assert (await p.get_user_data())[2]["drafts"]["r"]["n"] == 3
        assert await p.get_chat_data() == {5: {"x": 1}}
        await p.update_conversation("report", (1, 2), None)
        await p.commit()
        assert await p.get_conversations("report") == {}
        await p.drop_user_data(2)
        await p.commit()
        assert await p.get_user_data() == {}


async def test_persistence_keeps_lone_surrogates_and_skips_unchanged_rows(tmp_path: Path) -> None:
    async with Database(tmp_path / "p.sqlite3") as db:
        await migrate(db)
        p = SQLitePersistence(db)
        broken = "bad \ud800 text 中文"
        await p.update_user_data(7, {"draft": broken})
        await p.commit()
        assert (await p.get_user_data())[7]["draft"] == broken
        # Later writes for the same person keep working, and an unchanged value is not written.
        await p.update_user_data(7, {"draft": "fine"})
        await p.commit()
        await p.update_user_data(7, {"draft": "fine"})
        assert p.take() == {}
        assert (await p.get_user_data())[7]["draft"] == "fine"


async def test_a_write_waiting_for_another_process_never_holds_up_the_loop(
    tmp_path: Path,
) -> None:
    """While another process writes (a CLI import), our transaction waits in a thread."""
    async with Database(tmp_path / "db.sqlite3") as db:
        async with db.transaction() as tx:
            await tx.execute("CREATE TABLE t (x INTEGER)")
        other = sqlite3.connect(tmp_path / "db.sqlite3", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t VALUES (1)")

        async def write() -> None:
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO t VALUES (2)")

        writer = asyncio.create_task(write())
        ticks = 0
        while ticks < 20:  # the loop keeps turning while the write waits for the lock
            await asyncio.sleep(0.005)
            ticks += 1
        assert not writer.done()
        other.execute("COMMIT")
        other.close()
        await asyncio.wait_for(writer, timeout=10)
        assert [r[0] for r in await db.fetchall("SELECT x FROM t ORDER BY x")] == [1, 2]


async def test_statements_report_rows_and_ids(tmp_path: Path) -> None:
    async with Database(tmp_path / "db.sqlite3") as db, db.transaction() as tx:
        await tx.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER)")
        assert await tx.execute("INSERT INTO t (x) VALUES (5)") == 1
        assert await tx.execute("INSERT INTO t (x) VALUES (5)") == 2
        assert await tx.execute("UPDATE t SET x = 6") == 2
        assert await tx.changes("DELETE FROM t WHERE id = 1") == 1
        assert await tx.fetchval("SELECT x FROM t") == 6


async def test_a_lookup_sees_every_commit_before_it(tmp_path: Path) -> None:
    async with Database(tmp_path / "db.sqlite3") as db:
        async with db.transaction() as tx:
            await tx.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER)")
        for n in range(3):
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO t (x) VALUES (?)", (n,))
            row = await db.lookup("SELECT COUNT(*) FROM t")
            assert row is not None and row[0] == n + 1
