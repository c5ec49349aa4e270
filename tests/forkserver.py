"""Start bot processes fast: one interpreter imports the bot once, then forks a child per start.

A fresh `python -m bot run` spends about 0.65 s of its 0.9 s start-up importing (more on a
busy machine), and the process tests start the bot some 25 times. The server process imports
what `run` imports before it polls (tests/test_startup_imports.py keeps that list short) and
nothing else: no event loop, no thread, no database. Each child is a real process of its own
that runs the same `main(["run"])` as `python -m bot run`, with its own environment, working
folder and log file, and it dies of SIGKILL like any other. Exit codes follow Popen's
convention (-9 after SIGKILL).

Protocol, one JSON object a line: the test sends {"argv", "env", "cwd", "stdout", "stderr"}
(files, appended to; the same one for both is fine); the server
answers {"pid"} (or {"error"}), and later {"exit": pid, "code": code} when a child ended.
When the test's side closes the pipe, the server kills its children and exits.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import queue
import select
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# What `liaison-bot run` imports before it polls (the rest loads on first use in the child).
PRELOAD = (
    "bot.__main__",
    "bot.app",
    "bot.deps",
    "bot.i18n",
    "bot.storage.db",
    "bot.storage.migrations",
)


# --------------------------------------------------------------------------- server side


def _child(request: dict[str, Any]) -> None:
    """In the forked child: become `python -m bot ARGS` with the request's surroundings."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
            opened = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(opened, fd)
            os.close(opened)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        sys.stdout.reconfigure(write_through=True)  # type: ignore[union-attr]
        sys.stderr.reconfigure(write_through=True)  # type: ignore[union-attr]
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        argv: list[str] = request["argv"]
        sys.argv = ["bot", *argv]
        from bot.__main__ import main

        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _code(status: int) -> int:
    """Turn a wait status into Popen's returncode (negative: killed by that signal)."""
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def serve() -> None:
    """Import the bot, then fork a child per request until the pipe closes."""
    for name in PRELOAD:
        importlib.import_module(name)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    children: set[int] = set()
    out = sys.stdout
    pending = b""

    def say(message: dict[str, Any]) -> None:
        out.write(json.dumps(message) + "\n")
        out.flush()

    def reap() -> None:
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            children.discard(pid)
            say({"exit": pid, "code": _code(status)})

    say({"ready": os.getpid()})
    while True:
        readable, _, _ = select.select([0, wake_r], [], [], 1.0)
        if wake_r in readable:
            with contextlib.suppress(BlockingIOError):
                os.read(wake_r, 512)
        reap()
        if 0 not in readable:
            continue
        chunk = os.read(0, 65536)
        if not chunk:
            break
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            request = json.loads(line)
            out.flush()
            try:
                pid = os.fork()
            except OSError as exc:
                say({"error": str(exc)})
                continue
            if pid == 0:
                os.close(wake_r)
                os.close(wake_w)
                _child(request)
            children.add(pid)
            say({"pid": pid})
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


# --------------------------------------------------------------------------- test side


class ForkedChild:
    """A forked bot process, with the part of Popen's interface the process tests use."""

    def __init__(self, server: ForkServer, pid: int) -> None:
        self.server = server
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """Return the exit code once the process ended, else None."""
        if self.returncode is None:
            self.returncode = self.server.exits.get(self.pid)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        """Send a signal unless the process already ended."""
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def kill(self) -> None:
        """SIGKILL the process."""
        self.send_signal(signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int:
        """Wait until the process ended; return its exit code."""
        with self.server.exited:
            if not self.server.exited.wait_for(lambda: self.poll() is not None, timeout):
                raise subprocess.TimeoutExpired(["bot"], timeout or 0)
        assert self.returncode is not None
        return self.returncode


class ForkServer:
    """The test's end of the fork server: start it once, then `spawn` bot processes."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.forkserver"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.exits: dict[int, int] = {}
        self.exited = threading.Condition()
        self._answers: queue.Queue[dict[str, Any]] = queue.Queue()
        self._lock = threading.Lock()
        threading.Thread(target=self._read, name="forkserver-reader", daemon=True).start()
        ready = self._answers.get(timeout=60)
        assert "ready" in ready, ready

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            message = json.loads(line)
            if "exit" in message:
                with self.exited:
                    self.exits[message["exit"]] = message["code"]
                    self.exited.notify_all()
            else:
                self._answers.put(message)
        self._answers.put({"error": "the fork server ended"})

    def alive(self) -> bool:
        """Tell whether the server still takes requests."""
        return self.proc.poll() is None

    def spawn(
        self, argv: list[str], env: dict[str, str], cwd: Path, log: Path, stderr: Path | None = None
    ) -> ForkedChild:
        """Fork `python -m bot ARGV` with this environment and folder, its output appended to
        `log` (its errors too, unless `stderr` names another file)."""
        request = {
            "argv": argv,
            "env": env,
            "cwd": str(cwd),
            "stdout": str(log),
            "stderr": str(stderr or log),
        }
        assert self.proc.stdin is not None
        with self._lock:
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
            self.proc.stdin.flush()
            answer = self._answers.get(timeout=60)
        if "pid" not in answer:
            raise RuntimeError(f"fork server: {answer}")
        return ForkedChild(self, answer["pid"])

    def run(
        self, argv: list[str], env: dict[str, str], cwd: Path, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run `python -m bot ARGV` to completion, like subprocess.run with text output."""
        with tempfile.TemporaryDirectory(prefix="forkserver-") as folder:
            out, err = Path(folder) / "stdout", Path(folder) / "stderr"
            child = self.spawn(argv, env, cwd, out, stderr=err)
            try:
                code = child.wait(timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                raise
            read = {"encoding": "utf-8", "errors": "replace"}
            return subprocess.CompletedProcess(
                argv,
                code,
                out.read_text(**read) if out.exists() else "",
                err.read_text(**read) if err.exists() else "",
            )

    def close(self) -> None:
        """Close the pipe: the server kills what is left of its children and exits."""
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)


_server: ForkServer | None = None


def fork_server() -> ForkServer:
    """Return this test process's fork server, starting it on first use."""
    global _server
    if _server is None or not _server.alive():
        _server = ForkServer()
    return _server


if __name__ == "__main__":
    serve()
