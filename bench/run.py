"""`make bench`: every figure of the performance table, one line each, with its goal.

All against the real `liaison-bot run` process and a fake Bot API on loopback (bench/harness.py):

- conversations: 300 /report conversations (7 updates each) by 10 users at a time, through our
  bot and through a plain python-telegram-bot peer (bench/peer.py) in the same run: CPU per
  update and its ratio to the peer, updates/s, reply latency p50/p95;
- fan-out: 10,000 liaisons reminded at Tue 09:00 with Telegram's limits enforced by the fake,
  a probe user sending /help meanwhile, and a critical alert raised mid-fan-out: time until
  the commissioner's chat receives it, the fan-out rate and the 429 count;
- start-up with 10,000 in the roster: to the first getUpdates, idle and with reminders due,
  and idle RSS;
- county scale (bench/county.py, when present): /stats, /export, the digest.

Absolute times on a shared machine are noisy: each figure is the median of the runs with its
min and max, and the ratio is taken against the peer measured in the same run.

    make bench                   3 runs, a 60 s window of the fan-out (about 12 minutes)
    make bench ARGS=--quick      1 run, 100 conversations, a 30 s window
    make bench ARGS=--full       3 runs, the whole 10,000-message fan-out (about 20 minutes)
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import pstats
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    ROOT,
    Figure,
    Proc,
    User,
    WatchedAPI,
    has_button,
    import_roster,
    percentile,
    said,
    spawn,
    start_server,
    write_roster,
)
from telegram.warnings import PTBUserWarning

LIAISONS = 10_000
TOWNSHIPS = 100
FIRST_ID = 1_000_000  # liaison i is Telegram user FIRST_ID + i
COMMISSIONER_1 = FIRST_ID - 1  # township 1's commissioner
PROBE = FIRST_ID - 2  # township 2's commissioner: no reminder, no alert, just /help
# Everyone was put on the roster after last week's deadline (no late report is owed) and more
# than a day after this month's two-thirds quota moment: the benches see only their own work.
ON_ROSTER_SINCE = "2026-11-18T00:00:00.000000Z"
MONDAY = "2026-11-23T10:00:00+08:00"  # nothing due
BEFORE_REMINDERS = "2026-11-24T08:59:57+08:00"  # the 09:00 reminder falls due 3 s after start
REMINDERS_DUE = "2026-11-24T09:05:00+08:00"  # a restart with the 09:00 reminder due

REPORT: list[tuple[str, str]] = [
    ("send", "/report"),
    ("press", "今天"),
    ("press", "宗教活动场所"),
    ("press", "选好了 / 完成"),
    ("send", "7"),
    ("press", "一切正常"),
    ("press", "提交"),
]
ALERT: list[tuple[str, str]] = [
    ("send", "/alert"),
    ("press", "土地、山林、水利"),
    ("press", "特急"),
    ("send", "12"),
    ("press", "就在本村"),
    ("send", "两村为争水源聚集了上百人"),
    ("press", "确认上报"),
]
REMINDER_WORD = "巡查情况还没有上报"


@dataclass
class Options:
    runs: int
    conversations: int
    concurrency: int
    window: float | None  # seconds of fan-out observed; None: until every reminder is sent
    parts: tuple[str, ...] = ("conversations", "fanout", "startup", "county", "register")
    profile: Path | None = None  # write a cProfile of the bot's conversation run here


PARTS = ("conversations", "fanout", "startup", "county", "register")


def make_template(folder: Path) -> Path:
    """Import the 10,000-liaison roster once; every run starts from a copy."""
    roster = folder / "roster.csv"
    write_roster(roster, LIAISONS, TOWNSHIPS, FIRST_ID)
    db = folder / "template.sqlite3"
    started = time.monotonic()
    import_roster(db, roster)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE people SET created_at = ?", (ON_ROSTER_SINCE,))
    print(f"(roster of {LIAISONS:,} liaisons imported in {time.monotonic() - started:.1f} s)")
    return db


def fresh_db(template: Path, folder: Path, name: str) -> Path:
    """Copy the template database for one run."""
    path = folder / name / "bot.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    shutil.copy(template, path)
    return path


def script(steps: list[tuple[str, str]], last_word: str) -> list[tuple[str, str, object]]:
    """Attach to each step what must be on screen before the next one."""
    out = []
    for i, (action, arg) in enumerate(steps):
        if i + 1 < len(steps):
            nxt = steps[i + 1]
            done = has_button(nxt[1]) if nxt[0] == "press" else (lambda _u: True)
        else:
            done = said(last_word)
        out.append((action, arg, done))
    return out


async def converse(
    api: WatchedAPI, users: list[User], steps: list, concurrency: int
) -> tuple[list[float], int]:
    """Run one conversation per user, `concurrency` users at a time; return first-answer times."""
    latencies: list[float] = []
    failures = 0
    queue: asyncio.Queue[User] = asyncio.Queue()
    for user in users:
        queue.put_nowait(user)

    async def worker() -> None:
        nonlocal failures
        while not queue.empty():
            user = queue.get_nowait()
            for action, arg, done in steps:
                got = await user.step(action, arg, done)
                if got is None:
                    failures += 1
                    break
                latencies.append(got[0])

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, failures


async def conversation_run(kind: str, template: Path, folder: Path, opts: Options) -> dict:
    """One pass of the conversations through our bot or the peer."""
    loop = asyncio.get_running_loop()
    server = start_server(loop)
    api: WatchedAPI = server.api  # type: ignore[assignment]
    log = folder / f"{kind}.log"
    try:
        if kind == "bot":
            db = fresh_db(template, folder, f"conv-{kind}")
            command = ["-m", "bot", "run"]
            if opts.profile:  # CPU time, not wall time (bench/profiled.py says why)
                command = [str(ROOT / "bench" / "profiled.py"), str(opts.profile), "run"]
            proc = await spawn(
                command,
                server,
                log,
                DATABASE_PATH=str(db),
                LIAISON_FAKE_NOW=MONDAY,
            )
            words = "已提交"
        else:
            peer = [str(ROOT / "bench" / "peer.py")]
            if opts.profile:
                peer = ["-m", "cProfile", "-o", f"{opts.profile}.peer", *peer]
            proc = await spawn(
                peer,
                server,
                log,
                PEER_PICKLE=str(folder / "peer.pkl"),
            )
            words = "已提交"
        try:
            await asyncio.sleep(1.0)  # let start-up work settle before measuring
            users = [User(api, FIRST_ID + i, f"联络员{i:05d}") for i in range(opts.conversations)]
            steps = script(REPORT, words)
            cpu0, t0 = proc.cpu_seconds(), time.monotonic()
            latencies, failures = await converse(api, users, steps, opts.concurrency)
            elapsed = time.monotonic() - t0
            cpu = proc.cpu_seconds() - cpu0
        finally:
            proc.stop()
        updates = len(latencies)
        if failures:
            print(f"  ! {kind}: {failures} conversations got no answer; log tail:\n{proc.tail()}")
        return {
            "cpu_ms": 1000 * cpu / max(1, updates),
            "rate": updates / elapsed,
            "p50": 1000 * percentile(latencies, 0.5),
            "p95": 1000 * percentile(latencies, 0.95),
            "failures": failures,
        }
    finally:
        server.stop()


async def fanout_run(template: Path, folder: Path, opts: Options, run: int) -> dict:
    """Reminders to 10,000 liaisons with a probe's /help and a critical alert in the middle."""
    loop = asyncio.get_running_loop()
    server = start_server(loop, enforce_limits=True)
    api: WatchedAPI = server.api  # type: ignore[assignment]
    db = fresh_db(template, folder, f"fanout-{run}")
    proc = await spawn(
        ["-m", "bot", "run"],
        server,
        folder / f"fanout-{run}.log",
        DATABASE_PATH=str(db),
        LIAISON_FAKE_NOW=BEFORE_REMINDERS,
    )
    result: dict = {}
    try:
        probe = User(api, PROBE, "委员1")
        raiser = User(api, FIRST_ID + 7, "联络员00007")  # township 1
        commissioner = api.chats[COMMISSIONER_1]

        # Wait for the first reminder to go out.
        deadline = time.monotonic() + 60
        while not any(s == 200 for _, c, s in api.sends if c >= FIRST_ID):
            if time.monotonic() > deadline:
                raise RuntimeError(f"no reminder was sent within 60 s:\n{proc.tail()}")
            await asyncio.sleep(0.05)
        first = time.monotonic()
        window = opts.window
        stop_at = first + (window if window is not None else 1200)
        probe_latencies: list[float] = []
        probe_times: list[tuple[float, float]] = []  # (latency, seconds into the fan-out)
        probe_lost = 0
        alert_delay: float | None = None

        async def probing() -> None:
            nonlocal probe_lost
            while time.monotonic() < stop_at - 2:
                asked = time.monotonic() - first
                got = await probe.step("send", "/help", lambda _u: True, within=10)
                if got is None:
                    probe_lost += 1
                else:
                    probe_latencies.append(got[0])
                    probe_times.append((got[0], asked))
                await asyncio.sleep(1.2)  # within one message per second to this chat

        async def alerting() -> None:
            nonlocal alert_delay
            await asyncio.sleep(min(10.0, (stop_at - first) / 4))
            steps = script(ALERT, "A-")
            for action, arg, done in steps[:-1]:
                if await raiser.step(action, arg, done, within=30) is None:
                    return
                # A person takes a moment per step (and Telegram allows about one message
                # per second into one chat: faster replies would be 429s of our making).
                await asyncio.sleep(1.0)
            mark = len(commissioner.events)
            at = raiser.push(*steps[-1][:2])
            while time.monotonic() < stop_at + 60:
                if any("A-" in e.text and e.status == 200 for e in commissioner.events[mark:]):
                    hit = next(
                        e for e in commissioner.events[mark:] if "A-" in e.text and e.status == 200
                    )
                    alert_delay = hit.at - at
                    return
                await api.next_event(COMMISSIONER_1, 1.0)

        async def until_done() -> None:
            while time.monotonic() < stop_at:
                sent = sum(1 for _, c, s in api.sends if c >= FIRST_ID and s == 200)
                if window is None and sent >= LIAISONS:
                    return
                await asyncio.sleep(0.5)

        await asyncio.gather(probing(), alerting(), until_done())
        ok = [t for t, c, s in api.sends if c >= FIRST_ID and s == 200]
        span = max(ok) - min(ok) if len(ok) > 1 else float("nan")
        result = {
            "alert_s": alert_delay if alert_delay is not None else float("nan"),
            "rate": (len(ok) - 1) / span if span == span and span > 0 else float("nan"),
            "sent": len(ok),
            "429": api.status_counts.get(429, 0),
            "429_bulk": sum(
                1 for _, c, s in api.sends if s == 429 and c >= FIRST_ID and c != raiser.id
            ),
            "probe_p95": 1000 * percentile(probe_latencies, 0.95),
            "probe_lost": probe_lost,
            "probe_worst": sorted(probe_times, reverse=True)[:3],
            "rss_after": proc.rss_mb(),
        }
    finally:
        proc.stop()
        server.stop()
    return result


async def startup_run(template: Path, folder: Path, run: int) -> dict:
    """Start with 10,000 in the roster: idle (Monday) and with the reminder due (Tue 09:05)."""
    loop = asyncio.get_running_loop()
    out: dict = {}
    for name, now in (("idle", MONDAY), ("due", REMINDERS_DUE)):
        server = start_server(loop)
        db = fresh_db(template, folder, f"start-{name}-{run}")
        try:
            proc: Proc = await spawn(
                ["-m", "bot", "run"],
                server,
                folder / f"start-{name}-{run}.log",
                DATABASE_PATH=str(db),
                LIAISON_FAKE_NOW=now,
            )
            out[f"start_{name}"] = proc.started_in
            if name == "idle":
                await asyncio.sleep(3.0)
                out["rss_idle"] = proc.rss_mb()
            proc.stop()
        finally:
            server.stop()
    return out


def compile_bot() -> None:
    """Compile bot/ to bytecode, as pip does when it installs the package.

    The editable development install under PYTHONDONTWRITEBYTECODE=1 would otherwise recompile
    every module at each start, which no installed bot does (about 1 s here).
    """
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "bot")], check=True)


def county_bench(name: str = "county") -> None:
    """Run bench/NAME.py (a database-scale bench: county, register) when it exists."""
    path = ROOT / "bench" / f"{name}.py"
    if not path.exists():
        print(f"{name}: bench/{name}.py not present yet")
        return
    # Building the Application in-process repeats PTB's per_message notice for each form.
    warnings.filterwarnings("ignore", category=PTBUserWarning)
    spec = importlib.util.spec_from_file_location(f"{name}_bench", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    asyncio.run(module.main())


async def main(opts: Options) -> None:
    def under(goal: float) -> object:
        return lambda v: v < goal

    ratio = Figure("CPU per update, project ÷ peer", "×", "≤ 1.5×", lambda v: v <= 1.5)
    cpu_bot = Figure("  CPU per update, project", "ms", "(peer below)")
    cpu_peer = Figure("  CPU per update, peer", "ms", "(yardstick)")
    rate = Figure("updates/s through full conversations", "/s", "≥ 100", lambda v: v >= 100)
    rate_peer = Figure("  updates/s, peer", "/s", "(yardstick)")
    p50 = Figure("reply latency p50", "ms", "(p95 is the goal)")
    p95 = Figure("reply latency p95", "ms", "< 150 ms", under(150))
    p95_peer = Figure("  reply latency p95, peer", "ms", "(yardstick)")
    alert = Figure("critical alert during fan-out → commissioner", "s", "< 1 s", under(1.0))
    fan = Figure("fan-out rate to 10,000 liaisons", "msg/s", "≥ 28.5", lambda v: v >= 28.5)
    t429 = Figure("429 answers during the fan-out", "", "0", lambda v: v == 0)
    probe = Figure("/help during the fan-out, p95", "ms", "< 300 ms", under(300))
    start_idle = Figure("start to first getUpdates (10,000 in roster)", "s", "< 1.5 s", under(1.5))
    start_due = Figure("  … with the reminders due (Tue 09:05)", "s", "< 1.5 s", under(1.5))
    rss = Figure("idle RSS (10,000 in roster)", "MB", "keep (59 MB before)")
    rss_after = Figure("RSS after the fan-out", "MB", "keep (76 MB before)")

    with tempfile.TemporaryDirectory(prefix="liaison-bench-") as tmp:
        folder = Path(tmp)
        template = make_template(folder)
        for run in range(opts.runs if "conversations" in opts.parts else 0):
            bot = await conversation_run("bot", template, folder, opts)
            peer = await conversation_run("peer", template, folder, opts)
            ratio.values.append(bot["cpu_ms"] / peer["cpu_ms"])
            cpu_bot.values.append(bot["cpu_ms"])
            cpu_peer.values.append(peer["cpu_ms"])
            rate.values.append(bot["rate"])
            rate_peer.values.append(peer["rate"])
            p50.values.append(bot["p50"])
            p95.values.append(bot["p95"])
            p95_peer.values.append(peer["p95"])
            print(
                f"  conversations run {run + 1}: project {bot['cpu_ms']:.1f} ms/update "
                f"{bot['rate']:.0f}/s p95 {bot['p95']:.0f} ms; peer {peer['cpu_ms']:.1f} ms/update "
                f"{peer['rate']:.0f}/s p95 {peer['p95']:.0f} ms",
                flush=True,
            )
        for run in range(opts.runs if "fanout" in opts.parts else 0):
            got = await fanout_run(template, folder, opts, run)
            alert.values.append(got["alert_s"])
            fan.values.append(got["rate"])
            t429.values.append(got["429"])
            probe.values.append(got["probe_p95"])
            rss_after.values.append(got["rss_after"])
            print(
                f"  fan-out run {run + 1}: {got['sent']} sent at {got['rate']:.1f}/s, "
                f"{got['429']} × 429 ({got['429_bulk']} in the bulk), "
                f"alert {got['alert_s']:.2f} s, probe p95 {got['probe_p95']:.0f} ms "
                f"({got['probe_lost']} unanswered; slowest "
                + ", ".join(f"{1000 * d:.0f} ms at +{t:.0f} s" for d, t in got["probe_worst"])
                + ")",
                flush=True,
            )
        for run in range(opts.runs if "startup" in opts.parts else 0):
            got = await startup_run(template, folder, run)
            start_idle.values.append(got["start_idle"])
            start_due.values.append(got["start_due"])
            rss.values.append(got["rss_idle"])
    print()
    for figure in (
        ratio,
        cpu_bot,
        cpu_peer,
        rate,
        rate_peer,
        p50,
        p95,
        p95_peer,
        alert,
        fan,
        t429,
        probe,
        start_idle,
        start_due,
        rss,
        rss_after,
    ):
        print(figure.line(), flush=True)
    window = "the whole fan-out" if opts.window is None else f"a {opts.window:.0f} s window"
    print(
        f"({opts.runs} runs; {opts.conversations} conversations × 7 updates, "
        f"{opts.concurrency} at a time; fan-out measured over {window})"
    )
    sys.stdout.flush()


def parse(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="1 run, 100 conversations, 30 s fan-out")
    mode.add_argument("--full", action="store_true", help="the whole 10,000-message fan-out")
    parser.add_argument(
        "--only",
        action="append",
        choices=PARTS,
        help="run only this part (repeatable); default: all of them",
    )
    parser.add_argument("--runs", type=int, help="runs per figure (default 3, quick 1)")
    parser.add_argument(
        "--profile",
        type=Path,
        help="profile the conversations into FILE (the bot) and FILE.peer (cProfile)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        opts = Options(runs=1, conversations=100, concurrency=10, window=30)
    else:
        opts = Options(runs=3, conversations=300, concurrency=10, window=None if args.full else 60)
    if args.runs:
        opts.runs = args.runs
    if args.only:
        opts.parts = tuple(args.only)
    if args.profile:
        opts.profile = args.profile.resolve()
    return opts


if __name__ == "__main__":
    options = parse(sys.argv[1:])
    compile_bot()
    asyncio.run(main(options))
    if "county" in options.parts:
        county_bench()
    if "register" in options.parts:
        county_bench("register")
    if options.profile and options.profile.exists():
        pstats.Stats(str(options.profile)).sort_stats("tottime").print_stats(40)
