"""Benchmarks: update handling latency, outbox throughput, memory. Prints figures; no asserts.

Run with `make bench`. Uses the offline fake Bot API, a temp database and the real Application.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.storage.outbox import enqueue  # noqa: E402
from tests.conftest import make_env  # noqa: E402


async def bench_updates(n: int = 300) -> None:
    """Measure the time from an incoming /help to the bot's answer, for a bound liaison."""
    with tempfile.TemporaryDirectory() as tmp:
        env, driver = await make_env(Path(tmp))
        try:
            user = await env.bind("王建国")
            samples = []
            for _ in range(n):
                t0 = time.perf_counter()
                await user.command("/help")
                samples.append((time.perf_counter() - t0) * 1000)
            samples.sort()
            print(
                f"updates: {n} × /help  median {statistics.median(samples):.2f} ms  "
                f"p95 {samples[int(0.95 * n)]:.2f} ms  "
                f"→ {1000 / statistics.mean(samples):.0f} updates/s"
            )
        finally:
            await driver.__aexit__(None, None, None)
            await env.db.close()


async def bench_outbox(n: int = 2000) -> None:
    """Measure enqueue and delivery throughput of the outbox worker (no network, no pacing)."""
    with tempfile.TemporaryDirectory() as tmp:
        env, driver = await make_env(Path(tmp))
        try:
            await env.seed()
            t0 = time.perf_counter()
            async with env.db.transaction() as tx:
                for i in range(n):
                    await enqueue(
                        tx,
                        env.clock.now(),
                        chat_id=10_000 + i,
                        payload={"text": f"提醒 {i}"},
                        dedup_key=f"bench:{i}",
                    )
            t1 = time.perf_counter()
            sent = await env.deliver()
            t2 = time.perf_counter()
            print(
                f"outbox: enqueue {n} rows in one transaction {1000 * (t1 - t0):.0f} ms "
                f"({n / (t1 - t0):.0f}/s); deliver {sent} rows {1000 * (t2 - t1):.0f} ms "
                f"({sent / (t2 - t1):.0f}/s, before Telegram's 30/s limit)"
            )
        finally:
            await driver.__aexit__(None, None, None)
            await env.db.close()


async def bench_memory() -> None:
    """Measure Python heap growth for a running bot handling 200 users' /help."""
    with tempfile.TemporaryDirectory() as tmp:
        tracemalloc.start()
        env, driver = await make_env(Path(tmp))
        try:
            await env.seed()
            base = tracemalloc.get_traced_memory()[0]
            for i in range(200):
                await env.user(f"u{i}").command("/help")
            current, peak = tracemalloc.get_traced_memory()
            print(
                f"memory: app built {base / 1e6:.1f} MB traced; after 200 users "
                f"{current / 1e6:.1f} MB (peak {peak / 1e6:.1f} MB)"
            )
        finally:
            tracemalloc.stop()
            await driver.__aexit__(None, None, None)
            await env.db.close()


def rss_kib(pid: int) -> int:
    """Return a process's resident memory in KiB (Linux /proc)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))


async def bench_process_rss() -> None:
    """Measure the resident memory of the real `liaison-bot run` process, idle after start-up."""
    from bot.emulator import FakeBotAPI, FakeBotServer
    from tests.botproc import BotProcess, import_roster
    from tests.conftest import ROSTER

    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "bot.sqlite3"
        import_roster(db_path, ROSTER)
        with FakeBotServer(FakeBotAPI()) as server:
            proc = BotProcess(db_path, server, Path(tmp) / "bot.log")
            try:
                t0 = time.perf_counter()
                await proc.start()
                started = time.perf_counter() - t0
                await asyncio.sleep(2)
                assert proc.proc is not None
                print(
                    f"process: start-up to first getUpdates {started:.2f} s; "
                    f"idle RSS {rss_kib(proc.proc.pid) / 1024:.0f} MB"
                )
                await proc.stop()
            finally:
                proc.ensure_stopped()


async def main() -> None:
    await bench_updates()
    await bench_outbox()
    await bench_memory()
    await bench_process_rss()


if __name__ == "__main__":
    asyncio.run(main())
