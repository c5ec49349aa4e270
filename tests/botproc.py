"""Run the real `liaison-bot` process against the loopback fake Bot API."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from bot.emulator import FakeBotServer
from tests.forkserver import ForkedChild, fork_server

ROOT = Path(__file__).resolve().parents[1]
BOT = [sys.executable, "-m", "bot"]


def cli_env(db_path: Path, server: FakeBotServer | None = None, **extra: str) -> dict[str, str]:
    """Return the environment for a bot process: token, API URL, database, extras."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BOT_", "POLICY_", "LIAISON_", "TICK_", "MAKE", "MFLAGS"))
    }
    env.update(
        BOT_TOKEN="123456:PROCESS-TEST",
        DATABASE_PATH=str(db_path),
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    if server is not None:
        env["BOT_API_URL"] = server.url
    env.update(extra)
    return env


def cli(db_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run one CLI command to completion (forked from the fork server, see BotProcess)."""
    env = cli_env(db_path, **extra)
    if os.environ.get("LIAISON_TEST_FRESH") != "1":
        return fork_server().run(list(args), env, ROOT)
    return subprocess.run(
        [*BOT, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def import_roster(db_path: Path, roster: Path) -> dict[str, str]:
    """Import a roster with the real CLI; return invite codes by name."""
    done = cli(db_path, "roster", "import", str(roster), "--json")
    assert done.returncode == 0, done.stderr
    return {p["name"]: p["invite_code"] for p in json.loads(done.stdout) if p["invite_code"]}


class BotProcess:
    """`python -m bot run` (or another command starting the bot) as a child process.

    `python -m bot ...` is forked from the fork server (tests/forkserver.py: the bot imported
    once, about 0.65 s saved per start) unless `fresh` is set, or LIAISON_TEST_FRESH=1 for
    every start; other commands (`make run`) are always spawned.
    """

    def __init__(
        self,
        db_path: Path,
        server: FakeBotServer,
        log: Path,
        argv: list[str] | None = None,
        *,
        fresh: bool = False,
        **extra: str,
    ) -> None:
        self.argv = argv or [*BOT, "run"]
        self.fresh = fresh or os.environ.get("LIAISON_TEST_FRESH") == "1"
        self.db_path = db_path
        self.server = server
        self.log_path = log
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | ForkedChild | None = None

    async def start(self, timeout: float = 20) -> None:
        """Start the bot and wait until it polls getUpdates."""
        polls_before = self.server.api.polls
        env = cli_env(self.db_path, self.server, **self.extra)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        if not self.fresh and self.argv[: len(BOT)] == BOT:
            self.proc = fork_server().spawn(self.argv[len(BOT) :], env, ROOT, self.log_path)
        else:
            with self.log_path.open("ab") as log:
                # Popen returns once the child is spawned; the loop below watches it.
                self.proc = subprocess.Popen(  # noqa: ASYNC220
                    self.argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
                )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.server.api.polls <= polls_before:
            if self.proc.poll() is not None:
                raise AssertionError(f"bot exited with {self.proc.returncode}:\n{self.log()}")
            if loop.time() > deadline:
                raise AssertionError(f"bot did not start polling:\n{self.log()}")
            await asyncio.sleep(0.02)

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Send a signal and wait for the exit code."""
        assert self.proc is not None
        self.proc.send_signal(sig)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.proc.poll() is None:
            if loop.time() > deadline:
                self.proc.kill()
                raise AssertionError(f"bot did not stop on signal {sig}:\n{self.log()}")
            await asyncio.sleep(0.02)
        return self.proc.returncode

    async def kill9(self) -> None:
        """Kill the process without any chance to clean up."""
        await self.stop(signal.SIGKILL)

    def log(self) -> str:
        """Return what the process printed so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-4000:]

    def ensure_stopped(self) -> None:
        """Kill the process if a test left it running."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
