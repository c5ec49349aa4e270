"""The simulated network: the sample township's people as emulated Telegram users, their chats,
and the time controls. The web page calls in from server threads; the bot runs elsewhere.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.clock import ShiftedClock
from bot.domain.people import Role
from bot.domain.roster import ParsedRoster, RosterRow, parse_roster
from bot.emulator import ApiEvent, FakeBotAPI, FakeGroup, FakeUser, QueueDriver
from bot.i18n import LANGUAGES, I18n, language_from_telegram

from .voice import silent_voice_note

if TYPE_CHECKING:
    from bot.deps import Deps

log = logging.getLogger(__name__)

ROSTER_FILE = "hekou.csv"
SAMPLE_FILE = "sample.json"
# The page's time controls: the next local (weekday, hour, minute), or None for +30 minutes.
CLOCK_MOVES = {"plus30": None, "tue16": (1, 16, 0), "wed09": (2, 9, 0)}
_MESSAGE_METHODS = ("send", "edit", "delete", "copy", "forward")


def package_file(name: str) -> Path:
    """Return a file shipped in this package."""
    return Path(str(files("bot.demo").joinpath(name)))


def demo_start(now: datetime, tz: ZoneInfo) -> datetime:
    """Return Monday 08:30 local of the week containing ``now``: the demo's first moment."""
    local = now.astimezone(tz)
    return (local - timedelta(days=local.weekday())).replace(
        hour=8, minute=30, second=0, microsecond=0
    )


def next_moment(now: datetime, tz: ZoneInfo, weekday: int, hour: int, minute: int) -> datetime:
    """Return the first local ``weekday hour:minute`` strictly after ``now``."""
    local = now.astimezone(tz)
    target = (local + timedelta(days=(weekday - local.weekday()) % 7)).replace(
        hour=hour, minute=minute, second=0, microsecond=0
    )
    if target <= local:
        target += timedelta(days=7)
    return target


@dataclass(frozen=True)
class DemoPerson:
    """One person of the sample township and their emulated Telegram account."""

    row: RosterRow
    user: FakeUser
    point: tuple[float, float]

    @property
    def id(self) -> int:
        """Return the Telegram user id (also their private chat id)."""
        return self.user.id


class EventBus:
    """Fan events out to every connected page (one queue per SSE stream)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: list[list[dict[str, Any]]] = []
        self._ready = threading.Condition(self._lock)

    def subscribe(self) -> list[dict[str, Any]]:
        """Return a new queue that receives every later event."""
        with self._lock:
            queue: list[dict[str, Any]] = []
            self._queues.append(queue)
            return queue

    def unsubscribe(self, queue: list[dict[str, Any]]) -> None:
        """Stop feeding a queue."""
        with self._lock:
            if queue in self._queues:
                self._queues.remove(queue)

    def publish(self, event: dict[str, Any]) -> None:
        """Append an event to every queue and wake the streams."""
        with self._ready:
            for queue in self._queues:
                queue.append(event)
            self._ready.notify_all()

    def take(self, queue: list[dict[str, Any]], timeout: float) -> list[dict[str, Any]]:
        """Wait up to ``timeout`` seconds for events on ``queue`` and return them."""
        with self._ready:
            if not queue:
                self._ready.wait(timeout)
            taken = list(queue)
            queue.clear()
            return taken


class DemoWorld:
    """Sample people, the township group, and everything the page can make them do."""

    def __init__(self, api: FakeBotAPI, clock: ShiftedClock, i18n: I18n) -> None:
        self.api = api
        self.clock = clock
        self.i18n = i18n
        self.bus = EventBus()
        self.violations: list[str] = []
        self.voice = silent_voice_note()
        self._deps: Deps | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # callback query id -> (who pressed, in which chat), to show the answer there only
        self._queries: dict[str, tuple[int, int]] = {}
        self._last_update = time.monotonic()
        sample = json.loads(package_file(SAMPLE_FILE).read_text(encoding="utf-8"))
        self.township: str = sample["township"]
        self.earlier_reports: list[dict[str, Any]] = sample["earlier_reports"]
        points = {name: (float(p[0]), float(p[1])) for name, p in sample["points"].items()}
        driver = QueueDriver(api)
        self.group = FakeGroup(api, driver, int(sample["group"]["id"]), sample["group"]["title"])
        self.people: dict[int, DemoPerson] = {}
        for row in self.roster().rows:
            assert row.telegram_id is not None, "every sample person is bound"
            user = FakeUser(api, driver, row.telegram_id, row.name, language_code="zh-hans")
            point = points.get(row.village or "") or points[self.township]
            self.people[user.id] = DemoPerson(row, user, point)
        api.add_listener(self._on_api_event)

    @staticmethod
    def roster() -> ParsedRoster:
        """Return the parsed sample roster (河口乡: six villages and their oversight)."""
        return parse_roster(package_file(ROSTER_FILE))

    # ------------------------------------------------------------------ start-up

    def opening_updates(self) -> None:
        """Queue what happens before the page opens: everyone says /start, the group is bound."""
        commissioner = next(p for p in self.people.values() if p.row.role is Role.COMMISSIONER)

        async def go() -> None:
            for person in self.people.values():
                await person.user.command("/start")
            await self.group.add_bot(commissioner.user)
            await commissioner.user.in_group(self.group).command("/bindgroup")

        asyncio.run(go())

    def attach(self, deps: Deps, loop: asyncio.AbstractEventLoop) -> None:
        """Remember the running bot's dependencies and loop (for ticks and language look-ups)."""
        self._deps, self._loop = deps, loop

    @property
    def ready(self) -> bool:
        """Tell whether the bot has taken every update queued so far."""
        return self.api.polls > 0 and not self.api.pending_updates

    def idle(self, quiet: float = 0.3) -> bool:
        """Tell whether the bot has taken every update and been silent for ``quiet`` seconds."""
        last = max(self.api.last_activity, self._last_update)
        return time.monotonic() - last >= quiet and not self.api.pending_updates

    # ------------------------------------------------------------------ views

    def person(self, person_id: int) -> DemoPerson:
        """Return a sample person by Telegram id (KeyError when unknown)."""
        return self.people[person_id]

    def language_of(self, person_id: int) -> str:
        """Return the language the bot speaks to a person (/lang, else their client's)."""
        deps = self._deps
        if deps is not None:
            found = self._on_bot_loop(deps.people.by_telegram_id(person_id))
            if found is not None:
                return deps.i18n.for_person(found).language
        return language_from_telegram(self.person(person_id).user.language_code)

    def commands(self, person_id: int, chat_id: int) -> list[dict[str, Any]]:
        """Return the command menu Telegram would show this person in this chat."""
        language = self.person(person_id).user.language_code or ""
        scopes: list[dict[str, Any]] = []
        if chat_id == person_id:
            scopes.append({"type": "chat", "chat_id": chat_id})
        for scope in (*scopes, None):
            for code in (language[:2], ""):
                found = self.api.my_commands(scope, code)
                if found:
                    return found
        return []

    def clock_view(self, language: str) -> dict[str, str]:
        """Return the simulated local time for the page's clock."""
        t = self.i18n.get(language)
        now = self.clock.now()
        weekday = t.weekly(now.astimezone(t.tz).weekday(), now.astimezone(t.tz).time())
        return {"iso": now.isoformat(), "text": f"{t.date(now)} {weekday}"}

    # ------------------------------------------------------------------ actions

    def _speaker(self, person_id: int, chat_id: int) -> FakeUser:
        user = self.person(person_id).user
        if chat_id == self.group.id:
            return user.in_group(self.group)
        if chat_id != person_id:
            raise KeyError(chat_id)
        return user

    def send_text(self, person_id: int, chat_id: int, text: str) -> None:
        """Send a text, as a command with its entity when it starts with '/'."""
        user = self._speaker(person_id, chat_id)
        text = text.strip()
        if not text:
            return
        if text.startswith("/"):
            name, _, rest = text.partition(" ")
            asyncio.run(user.command(name, *([rest] if rest else [])))
        else:
            asyncio.run(user.send(text))

    def press(self, person_id: int, chat_id: int, message_id: int, data: str) -> None:
        """Press an inline button."""
        user = self._speaker(person_id, chat_id)
        asyncio.run(user.press_data(data, message_id))

    def send_photo(self, person_id: int, chat_id: int, content: bytes, caption: str) -> None:
        """Send an uploaded picture as a photo."""
        user = self._speaker(person_id, chat_id)
        asyncio.run(user.send_photo(content=content, caption=caption or None))

    def send_document(
        self, person_id: int, chat_id: int, content: bytes, name: str, mime: str
    ) -> None:
        """Send an uploaded file as a document."""
        user = self._speaker(person_id, chat_id)
        asyncio.run(user.send_document(name, len(content), mime, content=content))

    def share_location(self, person_id: int, chat_id: int) -> None:
        """Share the person's village point (the township's for everyone else)."""
        person = self.person(person_id)
        asyncio.run(self._speaker(person_id, chat_id).share_location(*person.point))

    def send_voice(self, person_id: int, chat_id: int) -> None:
        """Send the shipped sample voice note."""
        user = self._speaker(person_id, chat_id)
        asyncio.run(user.send_voice(duration=2, content=self.voice))

    def choose_language(self, person_id: int, language: str, timeout: float = 10.0) -> None:
        """Switch a person's language the way they would: /lang, then the language's button."""
        if language not in LANGUAGES:
            raise KeyError(language)
        wanted = f"lang:{language}"
        before = max((m["message_id"] for m in self.api.history(person_id)), default=0)
        self.send_text(person_id, person_id, "/lang")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.api.messages(person_id):
                if message["message_id"] <= before:
                    continue
                for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                    if any(b.get("callback_data") == wanted for b in row):
                        self.press(person_id, person_id, message["message_id"], wanted)
                        return
            time.sleep(0.05)
        raise TimeoutError("the bot did not offer the languages")

    def move_clock(self, move: str) -> datetime:
        """Apply a time control, then let the bot look at the new time at once."""
        target = CLOCK_MOVES[move]
        tz = self.i18n.tz
        if target is None:
            when = self.clock.advance(timedelta(minutes=30))
        else:
            when = self.clock.jump_to(next_moment(self.clock.now(), tz, *target))
        log.info("demo clock moved to %s", when.astimezone(tz).isoformat())
        deps = self._deps
        if deps is not None and deps.scheduler is not None and self._loop is not None:
            asyncio.run_coroutine_threadsafe(deps.scheduler.tick(), self._loop)
        self.bus.publish({"type": "clock"})
        return when

    # ------------------------------------------------------------------ plumbing

    def _on_bot_loop(self, coro: Coroutine[Any, Any, Any], timeout: float = 5.0) -> Any:
        """Run a coroutine on the bot's loop (the database lives there) and wait for it."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def _on_api_event(self, event: ApiEvent) -> None:
        """Turn emulator events into page events (runs under the emulator's lock: be quick)."""
        for violation in event.violations:
            text = str(violation)
            self.violations.append(text)
            log.warning("Bot API spec violation: %s", text)
            self.bus.publish({"type": "violation", "text": text})
        if event.update is not None:
            self._on_update(event.update)
        call = event.call
        if call is None or not call.ok:
            return
        if call.method == "answerCallbackQuery" and call.params.get("text"):
            person, chat = self._queries.pop(str(call.params["callback_query_id"]), (None, None))
            self.bus.publish(
                {
                    "type": "toast",
                    "person": person,
                    "chat": chat,
                    "text": call.params["text"],
                    "alert": bool(call.params.get("show_alert")),
                }
            )
        elif call.method in ("setMyCommands", "deleteMyCommands"):
            self.bus.publish({"type": "commands"})
        elif call.method.startswith(_MESSAGE_METHODS) and isinstance(call.chat_id, int):
            self.bus.publish({"type": "chat", "chat": call.chat_id})

    def _on_update(self, update: Any) -> None:
        self._last_update = time.monotonic()
        query = update.get("callback_query")
        if isinstance(query, dict):
            chat = int(query["message"]["chat"]["id"])
            self._queries[str(query["id"])] = (int(query["from"]["id"]), chat)
        for key in ("message", "edited_message"):
            message = update.get(key)
            if isinstance(message, dict):
                self.bus.publish({"type": "chat", "chat": int(message["chat"]["id"])})
