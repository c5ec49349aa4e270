"""What the benchmarks share: a watched loopback Bot API, processes, users and figures."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.emulator import FakeBotAPI, FakeBotServer, chat_type  # noqa: E402
from bot.emulator.api import ApiError  # noqa: E402

TOKEN = "123456:BENCH"
CLK_TCK = os.sysconf("SC_CLK_TCK")
_callback_ids = itertools.count(1)


@dataclass
class Event:
    """One call the bot made that names a chat, as the fake answered it."""

    at: float
    method: str
    status: int
    message: dict[str, Any] | None  # the Message in the answer (sends and edits)
    text: str


@dataclass
class ChatLog:
    """What happened in one chat, and who waits for the next call there."""

    events: list[Event] = field(default_factory=list)
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)  # current state by id
    waiters: list[asyncio.Future[None]] = field(default_factory=list)


class WatchedAPI(FakeBotAPI):
    """The fake Bot API, telling an asyncio loop about every call that names a chat.

    The HTTP server answers in its own threads; each recorded call is handed to the loop with
    call_soon_threadsafe, so the driver can wait for "the bot answered in chat X" without
    polling. Flood control looks only at the last minute of sends (the base class scans the
    whole log, which grows too slow for a 10,000-message fan-out).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.loop = loop
        self.chats: dict[int, ChatLog] = defaultdict(ChatLog)
        self.status_counts: dict[int, int] = defaultdict(int)
        self.sends: list[tuple[float, int, int]] = []  # (time, chat, status) of send methods
        self._recent: deque[tuple[float, int]] = deque()

    def _record(
        self,
        method: str,
        values: dict[str, Any],
        status: int,
        body: dict[str, Any],
        uploads: dict[str, Any],
    ) -> None:
        super()._record(method, values, status, body, uploads)
        if method == "getUpdates":
            return
        chat = values.get("chat_id")
        if chat is None:
            return
        result = body.get("result")
        message = result if isinstance(result, dict) and "message_id" in result else None
        text = str(values.get("text") or values.get("caption") or "")
        event = Event(time.monotonic(), method, status, message, text)
        self.loop.call_soon_threadsafe(self._note, int(chat), event)

    def _note(self, chat: int, event: Event) -> None:
        log = self.chats[chat]
        log.events.append(event)
        self.status_counts[event.status] += 1
        if event.method.startswith("send"):
            self.sends.append((event.at, chat, event.status))
        if event.message is not None:
            log.messages[int(event.message["message_id"])] = event.message
        waiters, log.waiters = log.waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _enforce_rate(self, chat_id: int) -> None:
        # Same rules as the base class (1/s per chat, 20/min per group, 30/s overall),
        # counted over a deque of the last minute's successful sends.
        now = self.rate_clock()
        while self._recent and now - self._recent[0][0] >= 60.0:
            self._recent.popleft()
        in_second = [(t, c) for t, c in self._recent if now - t < 1.0]
        in_chat = [t for t, c in in_second if c == chat_id]
        if len(in_chat) >= self.chat_limit:
            raise ApiError(429, "Too Many Requests: retry after 1", 1)
        if chat_type(chat_id) != "private":
            in_group = [t for t, c in self._recent if c == chat_id]
            if len(in_group) >= self.group_limit_per_minute:
                raise ApiError(429, "Too Many Requests: retry after 60", 60)
        if len(in_second) >= self.global_limit:
            raise ApiError(429, "Too Many Requests: retry after 1", 1)
        self._recent.append((now, chat_id))

    async def next_event(self, chat: int, within: float) -> bool:
        """Wait for the next call in a chat; False on timeout."""
        waiter = self.loop.create_future()
        self.chats[chat].waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, within)
        except TimeoutError:
            return False
        return True


class User:
    """A Telegram user in a private chat with the bot, building updates by hand (cheaply)."""

    def __init__(self, api: WatchedAPI, user_id: int, name: str) -> None:
        self.api = api
        self.id = user_id
        self.user = {"id": user_id, "is_bot": False, "first_name": name, "language_code": "zh-hans"}
        self.chat = {"id": user_id, "type": "private", "first_name": name}
        api.register_user(self.user)
        api.register_chat(self.chat)
        self.log = api.chats[user_id]

    def _message(self, text: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": self.api.next_message_id(self.id),
            "from": self.user,
            "chat": self.chat,
            "date": int(time.time()),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return message

    def button(self, label: str) -> tuple[dict[str, Any], str] | None:
        """Return (message, callback_data) of the newest button with this label, if any.

        An exact label wins; otherwise a button whose label contains it ("就在本村（方庄村）").
        """
        newest_first = sorted(self.log.messages.values(), key=lambda m: -m["message_id"])
        for matches in (str.__eq__, str.__contains__):
            for message in newest_first:
                for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                    for b in row:
                        if "callback_data" in b and matches(b.get("text", ""), label):
                            return message, b["callback_data"]
        return None

    def push(self, action: str, arg: str) -> float:
        """Send a text/command ("send") or press a button ("press"); return the time."""
        if action == "press":
            found = self.button(arg)
            if found is None:
                raise LookupError(f"no button {arg!r} in chat {self.id}")
            message, data = found
            query = {
                "id": f"{self.id}{next(_callback_ids):06d}",
                "from": self.user,
                "message": message,
                "chat_instance": hashlib.sha1(str(self.id).encode()).hexdigest()[:16],
                "data": data,
            }
            update: dict[str, Any] = {"callback_query": query}
        else:
            update = {"message": self._message(arg)}
        at = time.monotonic()
        self.api.push_update(update)
        return at

    async def step(
        self, action: str, arg: str, done: Callable[[User], bool], within: float = 30
    ) -> tuple[float, float] | None:
        """Push one update; wait for the first answer and for `done`.

        Return (seconds to the first call in the chat, seconds until done), None on timeout.
        """
        mark = len(self.log.events)
        at = self.push(action, arg)
        deadline = at + within
        while len(self.log.events) == mark or not done(self):
            left = deadline - time.monotonic()
            if left <= 0 or not await self.api.next_event(self.id, left):
                return None
        return self.log.events[mark].at - at, time.monotonic() - at


def has_button(label: str) -> Callable[[User], bool]:
    """A `done` condition: a button with this label is on screen."""
    return lambda user: user.button(label) is not None


def said(word: str) -> Callable[[User], bool]:
    """A `done` condition: the bot's newest call in the chat contains this word."""
    return lambda user: bool(user.log.events) and word in user.log.events[-1].text


@dataclass
class Proc:
    """A bot process (ours or the peer) polling the watched API."""

    popen: subprocess.Popen[bytes]
    log_path: Path
    started_in: float  # seconds from spawn to its first getUpdates

    def cpu_seconds(self) -> float:
        """Return user + system CPU time used so far."""
        fields = Path(f"/proc/{self.popen.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def rss_mb(self) -> float:
        """Return the resident set size in MB."""
        for line in Path(f"/proc/{self.popen.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit within 20 s."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)

    def tail(self) -> str:
        """Return the end of what the process printed."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-3000:]


def base_env(server: FakeBotServer, **extra: str) -> dict[str, str]:
    """Return the environment of a bot process against the server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "POLICY_", "LIAISON_"))}
    env.update(BOT_TOKEN=TOKEN, BOT_API_URL=server.url, PYTHONUNBUFFERED="1", LOG_LEVEL="INFO")
    env.update(extra)
    return env


async def spawn(
    args: list[str], server: FakeBotServer, log_path: Path, within: float = 60, **env: str
) -> Proc:
    """Start a process and wait until it polls getUpdates."""
    polls = server.api.polls
    log = log_path.open("ab")
    started = time.monotonic()
    popen = subprocess.Popen(  # noqa: ASYNC220 (spawning is quick; the wait is async)
        [sys.executable, *args],
        cwd=ROOT,
        env=base_env(server, **env),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    proc = Proc(popen, log_path, 0.0)
    while server.api.polls <= polls:
        if popen.poll() is not None or time.monotonic() - started > within:
            proc.stop()
            raise RuntimeError(f"{args} did not start polling:\n{proc.tail()}")
        await asyncio.sleep(0.005)
    proc.started_in = time.monotonic() - started
    return proc


def start_server(loop: asyncio.AbstractEventLoop, **limits: Any) -> FakeBotServer:
    """Start a watched fake Bot API on loopback."""
    api = WatchedAPI(loop, **limits)
    return FakeBotServer(api).start()


def write_roster(path: Path, liaisons: int, townships: int, first_id: int) -> None:
    """Write a roster CSV: liaisons bound by telegram_id over townships, and their officers.

    Liaison i has Telegram id first_id + i; township t's commissioner has first_id - 1 - t;
    one leader and one county officer per township follow below those.
    """
    lines = ["township,village,name,role,phone,telegram_id"]
    per = max(1, liaisons // townships)
    for t in range(townships):
        town = f"第{t + 1}乡"
        lines.append(f"{town},,委员{t},commissioner,137{t:08d},{first_id - 1 - t}")
        lines.append(f"{town},,领导{t},leader,136{t:08d},{first_id - 1 - townships - t}")
    lines.append(f",,县干部,county,13500000000,{first_id - 1 - 2 * townships}")
    for i in range(liaisons):
        town = f"第{min(i // per, townships - 1) + 1}乡"
        lines.append(f"{town},村{i:05d},联络员{i:05d},liaison,139{i:08d},{first_id + i}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def import_roster(db_path: Path, roster: Path) -> None:
    """Import a roster with the real CLI (no network needed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "LIAISON_"))}
    env["DATABASE_PATH"] = str(db_path)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "roster", "import", str(roster)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"roster import failed: {done.stderr}")


def percentile(samples: Iterable[float], q: float) -> float:
    """Return the q-quantile (0..1) by nearest rank; nan when empty."""
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Figure:
    """One printed line: a name, one value per run, a unit and a goal."""

    name: str
    unit: str
    goal: str
    check: Callable[[float], bool] | None = None
    values: list[float] = field(default_factory=list)
    note: str = ""

    def line(self) -> str:
        """Return 'name  median unit (min … max, n runs)  goal … ok/MISSED'."""
        vals = [v for v in self.values if v == v]  # drop nan
        if not vals:
            return f"{self.name:<48} —  goal {self.goal}"
        med = statistics.median(vals)
        spread = f"min {_fmt(min(vals))} / max {_fmt(max(vals))}, {len(vals)} runs"
        verdict = ""
        if self.check is not None:
            verdict = "  ok" if self.check(med) else "  MISSED"
        note = f"  [{self.note}]" if self.note else ""
        return (
            f"{self.name:<48} {_fmt(med)} {self.unit} ({spread})  goal {self.goal}{verdict}{note}"
        )


def _fmt(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def run_in_thread(fn: Callable[[], Any]) -> threading.Thread:
    """Start a daemon thread (for blocking helpers)."""
    thread = threading.Thread(target=fn, daemon=True)
    thread.start()
    return thread
