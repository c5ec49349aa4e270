"""An in-memory Telegram Bot API: chats, messages, updates, files and injectable failures."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .formatting import EntityParseError, parse_text
from .spec import SpecChecker, Violation

__all__ = [
    "BOT_ID",
    "BOT_USERNAME",
    "NOT_MODIFIED",
    "ApiEvent",
    "Call",
    "FailKind",
    "FailRule",
    "FakeBotAPI",
    "NetworkFailure",
    "Outage",
    "UploadedFile",
    "chat_type",
]

BOT_ID = 7000000001
BOT_USERNAME = "liaison_test_bot"
BOT_FIRST_NAME = "Liaison Bot"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
BLOCKED = "Forbidden: bot was blocked by the user"
CHAT_NOT_FOUND = "Bad Request: chat not found"
MAX_DOWNLOAD = 20 * 1024 * 1024

FailKind = Literal["5xx", "429", "403", "chat_not_found", "not_modified", "network"]
PollOutcome = Literal["ready", "timeout", "superseded", "interrupted"]

# Methods that put a new message into a chat and therefore count against flood limits.
_SEND_EXTRA = frozenset({"copyMessage", "copyMessages", "forwardMessage", "forwardMessages"})
# Update kinds Telegram withholds unless allowed_updates asks for them explicitly.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_INCOMING_MESSAGES = ("message", "edited_message", "channel_post", "edited_channel_post")
_PHOTO_SIZES = ((90, 67), (320, 240), (800, 600))


def chat_type(chat_id: int) -> str:
    """Derive the chat type from the id the way Telegram numbers chats."""
    if chat_id > 0:
        return "private"
    if chat_id <= -1_000_000_000_000:
        return "supergroup"
    return "group"


def is_send_method(method: str) -> bool:
    """Tell whether ``method`` posts a new message (and so counts for flood control)."""
    return (method.startswith("send") and method != "sendChatAction") or method in _SEND_EXTRA


class NetworkFailure(ConnectionError):
    """Signal the transport to drop the request, as if the connection broke."""


class ApiError(Exception):
    """An error answer from the fake Bot API."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        """Return the JSON body Telegram sends for this error."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass
class UploadedFile:
    """A file the bot uploaded in a multipart request."""

    filename: str
    content: bytes
    mime_type: str | None = None

    @classmethod
    def from_field_tuple(cls, value: Any) -> UploadedFile:
        """Build from PTB's (filename, content or handle, mimetype) multipart tuple."""
        filename, content, *rest = value
        if hasattr(content, "read"):
            content = content.read()
        return cls(str(filename or ""), bytes(content), rest[0] if rest else None)


@dataclass
class Call:
    """One request the bot made and the answer it got."""

    method: str
    params: dict[str, Any]
    status: int
    response: dict[str, Any]
    files: dict[str, UploadedFile] = field(default_factory=dict)
    # The API clock at the time of the call.
    time: float = 0.0

    @property
    def ok(self) -> bool:
        """Tell whether Telegram accepted the call."""
        return self.status == 200

    @property
    def result(self) -> Any:
        """Return the ``result`` of a successful call (None otherwise)."""
        return self.response.get("result")

    @property
    def chat_id(self) -> int | str | None:
        """Return the target chat id (ints stay ints, @usernames stay strings)."""
        return _normalize_chat_id(self.params.get("chat_id"))

    @property
    def text(self) -> str | None:
        """Return the text or caption the bot sent, as written (before entity parsing)."""
        value = self.params.get("text", self.params.get("caption"))
        return value if isinstance(value, str) else None

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        """Return the reply_markup parameter decoded to a dict."""
        markup = self.params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        return markup if isinstance(markup, dict) else None

    @property
    def buttons(self) -> list[str]:
        """Return the labels of the inline keyboard sent with this call, row by row."""
        return _button_labels(self.reply_markup)

    def __repr__(self) -> str:
        detail = f" chat={self.chat_id}" if self.chat_id is not None else ""
        text = f" text={self.text[:60]!r}" if self.text else ""
        return f"<Call {self.method}{detail}{text} -> {self.status}>"


@dataclass(frozen=True)
class ApiEvent:
    """A change to the emulated world: a bot call with its spec violations, or a user's update."""

    call: Call | None = None
    violations: tuple[Violation, ...] = ()
    update: Mapping[str, Any] | None = None


Listener = Callable[[ApiEvent], None]


@dataclass
class FailRule:
    """Make matching calls fail ``times`` times (forever when ``times`` is None)."""

    method: str | None = None
    chat_id: int | str | None = None
    kind: FailKind = "5xx"
    times: int | None = 1
    retry_after: int = 5
    description: str | None = None
    hits: int = 0

    def matches(self, method: str, params: Mapping[str, Any]) -> bool:
        """Tell whether the rule applies to this call; method=None spares getUpdates polling."""
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method is None and method == "getUpdates":
            return False
        if self.method is not None and self.method != method:
            return False
        return not (
            self.chat_id is not None and _normalize_chat_id(params.get("chat_id")) != self.chat_id
        )


class Outage:
    """A failure window that lasts until ended; usable as a context manager."""

    def __init__(
        self,
        api: FakeBotAPI,
        predicate: Callable[[str, dict[str, Any]], bool] | None,
        kind: FailKind,
        retry_after: int,
    ) -> None:
        self._api = api
        self.predicate = predicate
        self.kind: FailKind = kind
        self.retry_after = retry_after
        self.hits = 0

    def matches(self, method: str, params: dict[str, Any]) -> bool:
        """Tell whether a call falls into the outage; without a predicate, all but polling do."""
        if self.predicate is None:
            return method != "getUpdates"
        return bool(self.predicate(method, params))

    def end(self) -> None:
        """Stop failing calls."""
        self._api.end_outage(self)

    def __enter__(self) -> Outage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.end()


@dataclass
class _FileRecord:
    """A file Telegram stores: content or just a declared size."""

    file_id: str
    file_unique_id: str
    size: int
    content: bytes | None = None

    def data(self) -> bytes:
        """Return the bytes a download yields, synthesising them for size-only files."""
        if self.content is not None:
            return self.content
        pattern = f"fake:{self.file_id};".encode()
        return (pattern * (self.size // len(pattern) + 1))[: self.size]


@dataclass
class _Stored:
    """A message kept in a chat's history."""

    message: dict[str, Any]
    from_bot: bool


class FakeBotAPI:
    """Answer Bot API methods from in-memory state, recording and spec-checking every call."""

    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        *,
        rate_clock: Callable[[], float] = time.monotonic,
        spec: SpecChecker | None = None,
        strict: bool = True,
        enforce_limits: bool = False,
        strict_chats: bool = False,
        chat_limit: int = 1,
        group_limit_per_minute: int = 20,
        global_limit: int = 30,
    ) -> None:
        """Create an empty Telegram."""
        # clock gives message dates (POSIX seconds); rate_clock measures flood-control windows,
        # separately, because a frozen test clock would make every burst look instantaneous.
        # strict rejects spec-violating calls with Telegram's 400 (violations are always
        # recorded); strict_chats answers "chat not found" for chats nobody introduced.
        self.clock = clock
        self.rate_clock = rate_clock
        self.spec = spec or SpecChecker.shared()
        self.strict = strict
        self.enforce_limits = enforce_limits
        self.strict_chats = strict_chats
        self.chat_limit = chat_limit
        self.group_limit_per_minute = group_limit_per_minute
        self.global_limit = global_limit

        self.bot_user: dict[str, Any] = {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": BOT_USERNAME,
        }
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.unimplemented: list[str] = []
        self.urls: list[str] = []
        self.tokens: list[str] = []
        self.webhook_url = ""
        # The highest getUpdates offset seen: every update below it is confirmed.
        self.confirmed_offset = 0
        # How many getUpdates polls arrived; > 0 means some bot is polling.
        self.polls = 0
        # time.monotonic() of the last call other than getUpdates, for "bot went quiet" checks.
        self.last_activity = time.monotonic()

        self._lock = threading.RLock()
        self._updates_ready = threading.Condition(self._lock)
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._allowed_updates: set[str] | None = None
        self._poll_generation = 0
        self._interrupts = 0
        self._chats: dict[int, dict[str, Any]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._history: dict[int, dict[int, _Stored]] = {}
        self._next_message_id: dict[int, int] = {}
        self._members: dict[tuple[int, int], dict[str, Any]] = {}
        self._chat_users: dict[int, set[int]] = {}
        self._blocked: set[int] = set()
        self._left: set[int] = set()
        self._bot_admin: set[int] = set()
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._menu_buttons: dict[int | None, dict[str, Any]] = {}
        self._files: dict[str, _FileRecord] = {}
        self._file_counter = 0
        self._pending_callbacks: set[str] = set()
        self.answered_callbacks: dict[str, dict[str, Any]] = {}
        self._rules: list[FailRule] = []
        self._outages: list[Outage] = []
        self._send_log: list[tuple[float, int, str]] = []
        self._listeners: list[Listener] = []

    # ============================================================================ dispatch

    def handle(
        self,
        method: str,
        params: Mapping[str, Any],
        files: Mapping[str, UploadedFile] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Answer one Bot API request; raise NetworkFailure when the connection should drop."""
        uploads = dict(files or {})
        with self._lock:
            values = self.spec.decode(method, params)
            found = self.spec.check_detailed(method, values, uploads)
            self.violations.extend(str(v) for v in found)
            try:
                status, body = self._respond(method, values, uploads, found)
            except NetworkFailure:
                self._record(method, values, 0, {}, uploads)
                raise
            self._record(method, values, status, body, uploads)
            self._notify(ApiEvent(call=self.calls[-1], violations=tuple(found)))
            return status, body

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener`` after every bot call and user update (a live view, e.g. the demo).

        Listeners run under the API lock on the caller's thread: they must be quick and must
        not call back into the API.
        """
        with self._lock:
            self._listeners.append(listener)

    def _notify(self, event: ApiEvent) -> None:
        for listener in self._listeners:
            listener(event)

    def _record(
        self,
        method: str,
        values: dict[str, Any],
        status: int,
        body: dict[str, Any],
        uploads: dict[str, UploadedFile],
    ) -> None:
        """Remember a call; bodies are copies so later edits do not rewrite history."""
        self.calls.append(Call(method, values, status, copy.deepcopy(body), uploads, self.clock()))
        if method != "getUpdates":
            self.last_activity = time.monotonic()

    def _respond(
        self,
        method: str,
        values: dict[str, Any],
        uploads: dict[str, UploadedFile],
        found: list[Violation],
    ) -> tuple[int, dict[str, Any]]:
        """Pick the answer: injected failure, spec rejection, flood control or the real thing."""
        if not self.spec.has_method(method):
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        try:
            self._inject_failure(method, values)
            fatal = [v for v in found if v.fatal]
            if self.strict and fatal:
                raise ApiError(fatal[0].status, fatal[0].description)
            chat = values.get("chat_id")
            if self.enforce_limits and is_send_method(method) and chat is not None:
                self._enforce_rate(self._resolve_chat(chat))
            handler: Callable[[dict[str, Any], dict[str, UploadedFile]], Any] | None = getattr(
                self, f"_m_{method}", None
            )
            result = self._unimplemented(method) if handler is None else handler(values, uploads)
        except ApiError as error:
            return error.status, error.body()
        if is_send_method(method) and chat is not None:
            self._send_log.append((self.rate_clock(), self._resolve_chat(chat), method))
        return 200, {"ok": True, "result": result}

    def _unimplemented(self, method: str) -> Any:
        """Accept setters we do not model; refuse methods whose result we cannot fake."""
        if self.spec.returns(method) == ["Boolean"]:
            return True
        self.unimplemented.append(method)
        raise ApiError(400, f"Bad Request: FakeBotAPI does not implement {method}")

    # ============================================================================ failures

    def fail(
        self,
        method: str | None = None,
        chat_id: int | str | None = None,
        kind: FailKind = "5xx",
        times: int | None = 1,
        retry_after: int = 5,
        description: str | None = None,
    ) -> FailRule:
        """Make the next ``times`` matching calls fail (times=None: until clear_failures)."""
        rule = FailRule(method, _normalize_chat_id(chat_id), kind, times, retry_after, description)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear_failures(self) -> None:
        """Drop all failure rules and outages."""
        with self._lock:
            self._rules.clear()
            self._outages.clear()

    def outage(
        self,
        predicate: Callable[[str, dict[str, Any]], bool] | None = None,
        kind: FailKind = "5xx",
        retry_after: int = 5,
    ) -> Outage:
        """Fail every call matching ``predicate(method, params)`` until the outage ends."""
        outage = Outage(self, predicate, kind, retry_after)
        with self._lock:
            self._outages.append(outage)
        return outage

    def end_outage(self, outage: Outage | None = None) -> None:
        """End one outage, or all of them."""
        with self._lock:
            if outage is None:
                self._outages.clear()
            elif outage in self._outages:
                self._outages.remove(outage)

    def in_outage(self, method: str, params: dict[str, Any]) -> bool:
        """Tell whether an outage fails this call now (a Bot API that is down answers at once)."""
        with self._lock:
            return any(outage.matches(method, params) for outage in self._outages)

    def _inject_failure(self, method: str, values: dict[str, Any]) -> None:
        """Raise the configured failure for this call, if any."""
        for outage in self._outages:
            if outage.matches(method, values):
                outage.hits += 1
                _raise_failure(outage.kind, outage.retry_after, None)
        for rule in self._rules:
            if rule.matches(method, values):
                rule.hits += 1
                _raise_failure(rule.kind, rule.retry_after, rule.description)

    # ============================================================================ flood control

    def _enforce_rate(self, chat_id: int) -> None:
        """Answer 429 like Telegram when a chat, group or the bot sends too fast."""
        now = self.rate_clock()
        in_chat = [t for t, c, _ in self._send_log if c == chat_id and now - t < 1.0]
        if len(in_chat) >= self.chat_limit:
            _raise_failure("429", max(1, math.ceil(1.0 - (now - min(in_chat)))), None)
        if chat_type(chat_id) != "private":
            in_group = [t for t, c, _ in self._send_log if c == chat_id and now - t < 60.0]
            if len(in_group) >= self.group_limit_per_minute:
                _raise_failure("429", max(1, math.ceil(60.0 - (now - min(in_group)))), None)
        overall = [t for t, _, _ in self._send_log if now - t < 1.0]
        if len(overall) >= self.global_limit:
            _raise_failure("429", 1, None)

    def rate_violations(self) -> list[str]:
        """List sends that broke Telegram's flood limits (per chat, per group, overall)."""
        with self._lock:
            log = list(self._send_log)
        found: list[str] = []
        for index, (t, chat, method) in enumerate(log):
            earlier = log[: index + 1]
            in_chat = sum(1 for u, c, _ in earlier if c == chat and t - u < 1.0)
            if in_chat > self.chat_limit:
                found.append(f"chat {chat}: {in_chat} messages within 1 s ({method} #{index})")
            if chat_type(chat) != "private":
                in_group = sum(1 for u, c, _ in earlier if c == chat and t - u < 60.0)
                if in_group > self.group_limit_per_minute:
                    found.append(
                        f"group {chat}: {in_group} messages within 60 s ({method} #{index})"
                    )
            overall = sum(1 for u, _, _ in earlier if t - u < 1.0)
            if overall > self.global_limit:
                found.append(f"bot: {overall} messages within 1 s ({method} #{index})")
        return found

    max_rate_violations = rate_violations

    # ============================================================================ inspection

    def assert_no_violations(self) -> None:
        """Fail the test when any call broke the Bot API spec."""
        with self._lock:
            problems = list(self.violations)
        if problems:
            listing = "\n  ".join(problems)
            raise AssertionError(f"{len(problems)} Bot API violation(s):\n  {listing}")

    def sent(
        self, chat_id: int | str | None = None, method: str | None = None, ok: bool | None = None
    ) -> list[Call]:
        """Return the bot's calls, by chat, method and success if given (getUpdates on request)."""
        wanted = _normalize_chat_id(chat_id)
        with self._lock:
            calls = list(self.calls)
        return [
            call
            for call in calls
            if (method == call.method if method else call.method != "getUpdates")
            and (wanted is None or call.chat_id == wanted)
            and (ok is None or call.ok == ok)
        ]

    def call_count(self) -> int:
        """Return how many calls were recorded so far (a bookmark for calls_since)."""
        with self._lock:
            return len(self.calls)

    def calls_since(self, bookmark: int, *, include_polling: bool = False) -> list[Call]:
        """Return calls recorded after ``bookmark`` (from call_count)."""
        with self._lock:
            calls = self.calls[bookmark:]
        return [c for c in calls if include_polling or c.method != "getUpdates"]

    def texts(self, chat_id: int | str) -> list[str]:
        """Return texts of successful sendMessage/editMessageText calls, as users see them."""
        return [
            call.result["text"]
            for call in self.sent(chat_id, ok=True)
            if call.method in ("sendMessage", "editMessageText")
            and isinstance(call.result, dict)
            and "text" in call.result
        ]

    def messages(self, chat_id: int | str) -> list[dict[str, Any]]:
        """Return the current state (after edits and deletions) of the bot's messages in a chat."""
        with self._lock:
            stored = self._history.get(self._known_chat(chat_id), {})
            return [copy.deepcopy(s.message) for _, s in sorted(stored.items()) if s.from_bot]

    def history(self, chat_id: int | str) -> list[dict[str, Any]]:
        """Return every message in the chat, the users' included, oldest first."""
        with self._lock:
            stored = self._history.get(self._known_chat(chat_id), {})
            return [copy.deepcopy(s.message) for _, s in sorted(stored.items())]

    def last_message(self, chat_id: int | str) -> dict[str, Any] | None:
        """Return the current state of the newest bot message in a chat, or None."""
        messages = self.messages(chat_id)
        return messages[-1] if messages else None

    def message(self, chat_id: int | str, message_id: int) -> dict[str, Any] | None:
        """Return the current state of one message, or None when absent or deleted."""
        with self._lock:
            stored = self._history.get(self._known_chat(chat_id), {}).get(message_id)
            return copy.deepcopy(stored.message) if stored else None

    def my_commands(
        self, scope: Mapping[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]]:
        """Return the command list stored for a scope and language."""
        with self._lock:
            return copy.deepcopy(self._commands.get((_scope_key(scope), language_code), []))

    def menu_button(self, chat_id: int | None = None) -> dict[str, Any]:
        """Return the menu button set for a chat (None: the default one)."""
        with self._lock:
            return copy.deepcopy(self._menu_buttons.get(chat_id, {"type": "default"}))

    def clear(self) -> None:
        """Forget recorded calls and violations (chat state stays)."""
        with self._lock:
            self.calls.clear()
            self.violations.clear()
            self.unimplemented.clear()
            self._send_log.clear()

    def note_url(self, base_url: str, token: str | None = None) -> None:
        """Remember which base URL (and token) a transport used to reach us."""
        with self._lock:
            if base_url not in self.urls:
                self.urls.append(base_url)
            if token is not None and token not in self.tokens:
                self.tokens.append(token)

    # ============================================================================ world state

    def register_chat(self, chat: Mapping[str, Any]) -> dict[str, Any]:
        """Introduce a chat (Chat JSON); later messages from the bot embed it."""
        with self._lock:
            chat_id = int(chat["id"])
            merged = {**self._chats.get(chat_id, {}), **chat}
            merged.setdefault("type", chat_type(chat_id))
            self._chats[chat_id] = merged
            return dict(merged)

    def register_user(self, user: Mapping[str, Any]) -> None:
        """Introduce a user (User JSON) so getChatMember and mentions know them."""
        with self._lock:
            self._users[int(user["id"])] = dict(user)

    def set_member(self, chat_id: int, user_id: int, status: str, **extra: Any) -> None:
        """Set a user's (or the bot's) ChatMember status in a chat."""
        with self._lock:
            if user_id == BOT_ID:
                self._left.discard(chat_id)
                self._bot_admin.discard(chat_id)
                if status in ("left", "kicked"):
                    self._left.add(chat_id)
                elif status in ("administrator", "creator"):
                    self._bot_admin.add(chat_id)
            self._members[(chat_id, user_id)] = self.member_json(user_id, status, **extra)

    def bot_is_admin(self, chat_id: int) -> bool:
        """Tell whether the bot is an administrator of a group (then privacy mode is off)."""
        with self._lock:
            return chat_id in self._bot_admin

    def block(self, user_id: int) -> None:
        """Make the user block the bot: sends to their private chat answer 403."""
        with self._lock:
            self._blocked.add(user_id)

    def unblock(self, user_id: int) -> None:
        """Undo block()."""
        with self._lock:
            self._blocked.discard(user_id)

    def next_message_id(self, chat_id: int) -> int:
        """Allocate the next message id in a chat (ids are shared by users and the bot)."""
        with self._lock:
            next_id = self._next_message_id.get(chat_id, 1)
            self._next_message_id[chat_id] = next_id + 1
            return next_id

    def add_file(
        self,
        file_id: str,
        content: bytes | None = None,
        *,
        size: int | None = None,
        file_unique_id: str | None = None,
    ) -> str:
        """Store a downloadable file; give ``size`` alone for big files never downloaded."""
        with self._lock:
            unique = file_unique_id or hashlib.sha1(file_id.encode()).hexdigest()[:16]
            length = len(content) if content is not None else (size or 0)
            self._files[file_id] = _FileRecord(file_id, unique, length, content)
            return file_id

    def file_unique_id(self, file_id: str) -> str:
        """Return the unique id of a stored file."""
        with self._lock:
            return self._files[file_id].file_unique_id

    def file_content(self, path: str) -> bytes:
        """Return the bytes behind a getFile file_path; raise KeyError for unknown paths."""
        file_id = path.removeprefix("files/")
        with self._lock:
            return self._files[file_id].data()

    # ============================================================================ updates

    def new_update_id(self) -> int:
        """Allocate an update id."""
        with self._lock:
            update_id = self._next_update_id
            self._next_update_id += 1
            return update_id

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates, numbering it when needed; return its update_id."""
        with self._lock:
            if "update_id" not in update:
                update["update_id"] = self.new_update_id()
            self._next_update_id = max(self._next_update_id, int(update["update_id"]) + 1)
            self.record_incoming(update)
            self._updates.append(copy.deepcopy(update))
            self._updates_ready.notify_all()
            return int(update["update_id"])

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Return queued updates not yet confirmed by the bot."""
        with self._lock:
            return copy.deepcopy(self._updates)

    def has_updates(self, offset: int = 0) -> bool:
        """Tell whether getUpdates with this offset would return something right now."""
        with self._lock:
            return any(u["update_id"] >= offset and self._allowed(u) for u in self._updates)

    def acknowledge(self, offset: int) -> None:
        """Note an arriving poll and confirm updates below ``offset`` before it starts waiting."""
        with self._lock:
            self.polls += 1
            self._confirm(offset)

    def _confirm(self, offset: int) -> None:
        """Drop updates below a positive offset: the bot has them."""
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            self.confirmed_offset = max(self.confirmed_offset, offset)

    def wait_for_updates(self, offset: int, timeout: float) -> PollOutcome:
        """Block (releasing the lock) until updates arrive, time runs out or another poll starts."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._updates_ready:
            self.acknowledge(offset)
            self._poll_generation += 1
            generation, interrupts = self._poll_generation, self._interrupts
            while True:
                if self._interrupts != interrupts:
                    return "interrupted"
                if self._poll_generation != generation:
                    return "superseded"
                if self.has_updates(offset):
                    return "ready"
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return "timeout"
                self._updates_ready.wait(remaining)

    def interrupt_polls(self) -> None:
        """Wake every waiting long poll so it answers now (used when the server stops)."""
        with self._updates_ready:
            self._interrupts += 1
            self._updates_ready.notify_all()

    def conflict(self) -> tuple[int, dict[str, Any]]:
        """Answer a long poll that a newer getUpdates replaced, recording it like Telegram would."""
        error = ApiError(
            409,
            "Conflict: terminated by other getUpdates request; "
            "make sure that only one bot instance is running",
        )
        with self._lock:
            self._record("getUpdates", {}, error.status, error.body(), {})
        return error.status, error.body()

    def record_incoming(self, update: Mapping[str, Any]) -> None:
        """Apply an update to the world: store user messages, chats, callbacks, memberships."""
        with self._lock:
            for key in _INCOMING_MESSAGES:
                message = update.get(key)
                if isinstance(message, dict):
                    self._store_incoming(message)
            query = update.get("callback_query")
            if isinstance(query, dict):
                self._pending_callbacks.add(str(query["id"]))
                self.register_user(query["from"])
            for key in ("my_chat_member", "chat_member"):
                change = update.get(key)
                if isinstance(change, dict):
                    self._apply_member_change(change)
            self._notify(ApiEvent(update=update))

    def _store_incoming(self, message: dict[str, Any]) -> None:
        """Keep a user's message in history so replies and edits can refer to it."""
        chat = self.register_chat(message["chat"])
        chat_id = int(chat["id"])
        sender = message.get("from")
        if isinstance(sender, dict):
            self.register_user(sender)
            self._chat_users.setdefault(chat_id, set()).add(int(sender["id"]))
        message_id = int(message["message_id"])
        self._next_message_id[chat_id] = max(self._next_message_id.get(chat_id, 1), message_id + 1)
        self._history.setdefault(chat_id, {})[message_id] = _Stored(copy.deepcopy(message), False)

    def _apply_member_change(self, change: dict[str, Any]) -> None:
        """Track the bot's and users' membership from (my_)chat_member updates."""
        chat = self.register_chat(change["chat"])
        member = change["new_chat_member"]
        user_id = int(member["user"]["id"])
        status = member["status"]
        if user_id == BOT_ID:
            if chat["type"] == "private" and status == "kicked":
                self._blocked.add(int(chat["id"]))
            elif chat["type"] == "private":
                self._blocked.discard(int(chat["id"]))
            else:
                self.set_member(int(chat["id"]), BOT_ID, status)
        else:
            self.register_user(member["user"])
            self._members[(int(chat["id"]), user_id)] = copy.deepcopy(member)

    def _allowed(self, update: Mapping[str, Any]) -> bool:
        """Apply allowed_updates: Telegram withholds kinds the bot did not ask for."""
        kinds = set(update) - {"update_id"}
        if self._allowed_updates is None:
            return not kinds & _OPT_IN_UPDATES
        return bool(kinds & self._allowed_updates)

    # ============================================================================ helpers

    def _resolve_chat(self, chat_id: Any) -> int:
        """Turn a chat_id parameter (int, numeric string or @username) into a chat id."""
        normalized = _normalize_chat_id(chat_id)
        if isinstance(normalized, int):
            return normalized
        if isinstance(normalized, str) and normalized.startswith("@"):
            for known, chat in self._chats.items():
                if chat.get("username", "").lower() == normalized[1:].lower():
                    return known
        raise ApiError(400, CHAT_NOT_FOUND)

    def _known_chat(self, chat_id: Any) -> int:
        """Resolve a chat id for inspection helpers, which should not raise API errors."""
        try:
            return self._resolve_chat(chat_id)
        except ApiError:
            return 0  # no chat has id 0: the helpers find nothing

    def _chat(self, chat_id: Any) -> dict[str, Any]:
        """Return the Chat JSON for a chat, inventing one unless strict_chats is on."""
        key = self._resolve_chat(chat_id)
        chat = self._chats.get(key)
        if chat is None:
            if self.strict_chats:
                raise ApiError(400, CHAT_NOT_FOUND)
            kind = chat_type(key)
            name = {"first_name": f"User {key}"} if kind == "private" else {"title": f"Group {key}"}
            chat = self.register_chat({"id": key, "type": kind, **name})
        return chat

    def _writable_chat(self, chat_id: Any) -> dict[str, Any]:
        """Return a chat the bot may post in, or raise Telegram's 403."""
        chat = self._chat(chat_id)
        key = int(chat["id"])
        if chat["type"] == "private" and key in self._blocked:
            raise ApiError(403, BLOCKED)
        if chat["type"] != "private" and key in self._left:
            kind = "supergroup" if chat["type"] == "supergroup" else "group"
            raise ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")
        return chat

    def _stored(self, values: Mapping[str, Any], missing: str) -> _Stored:
        """Find the message a call refers to by chat_id and message_id."""
        chat = self._writable_chat(values.get("chat_id"))
        stored = self._history.get(int(chat["id"]), {}).get(values.get("message_id", -1))
        if stored is None:
            raise ApiError(400, missing)
        return stored

    def _new_message(self, values: Mapping[str, Any], **content: Any) -> dict[str, Any]:
        """Store and return a fresh bot message in the call's chat."""
        chat = self._writable_chat(values.get("chat_id"))
        chat_id = int(chat["id"])
        reply_to = self._reply_target(chat_id, values)
        message: dict[str, Any] = {
            "message_id": self.next_message_id(chat_id),
            "from": dict(self.bot_user),
            "chat": dict(chat),
            "date": int(self.clock()),
        }
        if "message_thread_id" in values:
            message["message_thread_id"] = values["message_thread_id"]
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        message.update({k: v for k, v in content.items() if v not in (None, [])})
        markup = _inline_markup(values.get("reply_markup"))
        if markup:
            message["reply_markup"] = markup
        self._history.setdefault(chat_id, {})[message["message_id"]] = _Stored(message, True)
        return copy.deepcopy(message)

    def _reply_target(self, chat_id: int, values: Mapping[str, Any]) -> dict[str, Any] | None:
        """Return the message being replied to, honouring allow_sending_without_reply."""
        params = values.get("reply_parameters")
        if isinstance(params, dict):
            target, lenient = (
                params.get("message_id"),
                bool(params.get("allow_sending_without_reply")),
            )
        elif "reply_to_message_id" in values:
            target, lenient = (
                values["reply_to_message_id"],
                bool(values.get("allow_sending_without_reply")),
            )
        else:
            return None
        stored = self._history.get(chat_id, {}).get(target) if target is not None else None
        if stored is None:
            if lenient:
                return None
            raise ApiError(400, "Bad Request: message to be replied not found")
        replied = copy.deepcopy(stored.message)
        replied.pop("reply_to_message", None)
        return replied

    def member_json(self, user_id: int, status: str, **extra: Any) -> dict[str, Any]:
        """Build ChatMember JSON for a status, filling the fields PTB requires."""
        user = (
            self.bot_user
            if user_id == BOT_ID
            else self._users.get(
                user_id, {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
            )
        )
        member: dict[str, Any] = {"status": status, "user": dict(user)}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            variant = self.spec.types["ChatMemberAdministrator"]["fields"]
            for spec_field in variant:
                if spec_field["required"] and spec_field["types"] == ["Boolean"]:
                    member[spec_field["name"]] = spec_field["name"] not in (
                        "can_be_edited",
                        "is_anonymous",
                    )
        elif status == "restricted":
            variant = self.spec.types["ChatMemberRestricted"]["fields"]
            for spec_field in variant:
                if spec_field["required"] and spec_field["types"] == ["Boolean"]:
                    member[spec_field["name"]] = spec_field["name"] == "is_member"
            member["until_date"] = 0
        elif status == "kicked":
            member["until_date"] = 0
        member.update(extra)
        return member

    def _file_from(
        self, values: Mapping[str, Any], uploads: Mapping[str, UploadedFile], name: str
    ) -> tuple[_FileRecord, UploadedFile | None]:
        """Resolve a media parameter: an upload, an attach:// part, a known file_id or a URL."""
        value = values.get(name)
        upload: UploadedFile | None = None
        if value is None and name in uploads:
            upload = uploads[name]
        elif isinstance(value, str) and value.startswith("attach://"):
            upload = uploads.get(value.removeprefix("attach://"))
            if upload is None:
                raise ApiError(400, f"Bad Request: file {value} not found in the request")
        elif isinstance(value, str) and value in self._files:
            return self._files[value], None
        elif isinstance(value, str) and value.startswith(("http://", "https://")):
            return self._new_file(f"downloaded from {value}".encode()), None
        else:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        assert upload is not None
        return self._new_file(upload.content), upload

    def _new_file(self, content: bytes) -> _FileRecord:
        """Store uploaded content under a fresh file id."""
        self._file_counter += 1
        digest = hashlib.sha1(content + str(self._file_counter).encode()).hexdigest()
        file_id = f"BQAC{digest[:28]}"
        self.add_file(file_id, content, file_unique_id=f"AgAD{digest[28:40]}")
        return self._files[file_id]

    def _caption(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Return caption and caption_entities content for a media message."""
        caption = values.get("caption")
        if not isinstance(caption, str) or not caption:
            return {}
        text, entities = _parse(caption, values.get("parse_mode"), values.get("caption_entities"))
        return {"caption": text, "caption_entities": entities}

    # ============================================================================ methods: bot

    def _m_getMe(self, values: dict[str, Any], uploads: dict[str, UploadedFile]) -> Any:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _m_logOut(self, values: dict[str, Any], uploads: dict[str, UploadedFile]) -> Any:
        return True

    def _m_close(self, values: dict[str, Any], uploads: dict[str, UploadedFile]) -> Any:
        return True

    def _m_setWebhook(self, values: dict[str, Any], uploads: dict[str, UploadedFile]) -> Any:
        self.webhook_url = str(values.get("url", ""))
        return True

    def _m_deleteWebhook(self, values: dict[str, Any], uploads: dict[str, UploadedFile]) -> Any:
        self.webhook_url = ""
        if values.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _m_getWebhookInfo(self, values: dict[str, Any], uploads: dict[str, UploadedFile]) -> Any:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    def _m_getUpdates(self, values: dict[str, Any], uploads: dict[str, UploadedFile]) -> Any:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        if "allowed_updates" in values:
            self._allowed_updates = set(values["allowed_updates"]) or None
        offset = int(values.get("offset", 0))
        if offset > 0:
            self._confirm(offset)
        elif offset < 0:
            self._updates = self._updates[offset:]
        # Updates of kinds the bot did not ask for are dropped, not kept for later.
        self._updates = [u for u in self._updates if self._allowed(u)]
        return copy.deepcopy(self._updates[: int(values.get("limit", 100))])

    def _m_setMyCommands(self, values: dict[str, Any], uploads: dict[str, UploadedFile]) -> Any:
        key = (_scope_key(values.get("scope")), values.get("language_code", ""))
        self._commands[key] = copy.deepcopy(values["commands"])
        return True

    def _m_getMyCommands(self, values: dict[str, Any], uploads: dict[str, UploadedFile]) -> Any:
        key = (_scope_key(values.get("scope")), values.get("language_code", ""))
        return copy.deepcopy(self._commands.get(key, []))

    def _m_deleteMyCommands(self, values: dict[str, Any], uploads: dict[str, UploadedFile]) -> Any:
        self._commands.pop((_scope_key(values.get("scope")), values.get("language_code", "")), None)
        return True

    def _m_setChatMenuButton(self, values: dict[str, Any], uploads: dict[str, UploadedFile]) -> Any:
        button = values.get("menu_button", {"type": "default"})
        self._menu_buttons[values.get("chat_id")] = copy.deepcopy(button)
        return True

    def _m_getChatMenuButton(self, values: dict[str, Any], uploads: dict[str, UploadedFile]) -> Any:
        return copy.deepcopy(self._menu_buttons.get(values.get("chat_id"), {"type": "default"}))

    def _m_answerCallbackQuery(
        self, values: dict[str, Any], uploads: dict[str, UploadedFile]
    ) -> Any:
        query_id = str(values["callback_query_id"])
        if query_id not in self._pending_callbacks:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self._pending_callbacks.discard(query_id)
        self.answered_callbacks[query_id] = dict(values)
        return True

    # ============================================================================ methods: chats

    def _m_getChat(self, values: dict[str, Any], uploads: dict[str, UploadedFile]) -> Any:
        chat = self._chat(values["chat_id"])
        gifts = {f["name"]: False for f in self.spec.types["AcceptedGiftTypes"]["fields"]}
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": gifts,
        }

    def _m_getChatMember(self, values: dict[str, Any], uploads: dict[str, UploadedFile]) -> Any:
        chat = self._chat(values["chat_id"])
        chat_id, user_id = int(chat["id"]), int(values["user_id"])
        if (chat_id, user_id) in self._members:
            return copy.deepcopy(self._members[(chat_id, user_id)])
        if user_id == BOT_ID:
            status = "member"
            if chat_id in self._left:
                status = "left"
            elif chat_id in self._bot_admin:
                status = "administrator"
        elif chat["type"] == "private":
            status = "member" if user_id == chat_id else "left"
        else:
            status = "member" if user_id in self._chat_users.get(chat_id, set()) else "left"
        return self.member_json(user_id, status)

    def _m_getChatAdministrators(
        self, values: dict[str, Any], uploads: dict[str, UploadedFile]
    ) -> Any:
        chat_id = int(self._chat(values["chat_id"])["id"])
        admins = [
            copy.deepcopy(m)
            for (chat, _), m in self._members.items()
            if chat == chat_id and m["status"] in ("administrator", "creator")
        ]
        if chat_id in self._bot_admin and not any(m["user"]["id"] == BOT_ID for m in admins):
            admins.append(self.member_json(BOT_ID, "administrator"))
        return admins

    def _m_leaveChat(self, values: dict[str, Any], uploads: dict[str, UploadedFile]) -> Any:
        chat = self._chat(values["chat_id"])
        if chat["type"] == "private":
            raise ApiError(400, "Bad Request: chat member status can't be changed in private chats")
        self.set_member(int(chat["id"]), BOT_ID, "left")
        return True

    def _m_sendChatAction(self, values: dict[str, Any], uploads: dict[str, UploadedFile]) -> Any:
        self._writable_chat(values["chat_id"])
        return True

    # ============================================================================ methods: messages

    def _m_sendMessage(self, values: dict[str, Any], uploads: dict[str, UploadedFile]) -> Any:
        text, entities = _parse(values["text"], values.get("parse_mode"), values.get("entities"))
        return self._new_message(values, text=text, entities=entities)

    def _m_sendLocation(self, values: dict[str, Any], uploads: dict[str, UploadedFile]) -> Any:
        location = {"latitude": values["latitude"], "longitude": values["longitude"]}
        return self._new_message(values, location=location)

    def _m_sendVenue(self, values: dict[str, Any], uploads: dict[str, UploadedFile]) -> Any:
        location = {"latitude": values["latitude"], "longitude": values["longitude"]}
        venue = {"location": location, "title": values["title"], "address": values["address"]}
        return self._new_message(values, location=location, venue=venue)

    def _m_sendPhoto(self, values: dict[str, Any], uploads: dict[str, UploadedFile]) -> Any:
        record, _ = self._file_from(values, uploads, "photo")
        return self._new_message(values, photo=self._photo_sizes(record), **self._caption(values))

    def _m_sendDocument(self, values: dict[str, Any], uploads: dict[str, UploadedFile]) -> Any:
        record, upload = self._file_from(values, uploads, "document")
        document = {
            **_file_json(record),
            "file_name": upload.filename if upload else "document",
            "mime_type": (upload.mime_type if upload else None) or "application/octet-stream",
        }
        return self._new_message(values, document=document, **self._caption(values))

    def _m_sendVoice(self, values: dict[str, Any], uploads: dict[str, UploadedFile]) -> Any:
        record, _ = self._file_from(values, uploads, "voice")
        voice = {
            **_file_json(record),
            "duration": int(values.get("duration", 1)),
            "mime_type": "audio/ogg",
        }
        return self._new_message(values, voice=voice, **self._caption(values))

    def _m_sendAudio(self, values: dict[str, Any], uploads: dict[str, UploadedFile]) -> Any:
        record, upload = self._file_from(values, uploads, "audio")
        audio = {
            **_file_json(record),
            "duration": int(values.get("duration", 1)),
            "mime_type": "audio/mpeg",
        }
        if upload and upload.filename:
            audio["file_name"] = upload.filename
        return self._new_message(values, audio=audio, **self._caption(values))

    def _m_sendVideo(self, values: dict[str, Any], uploads: dict[str, UploadedFile]) -> Any:
        record, _ = self._file_from(values, uploads, "video")
        duration = int(values.get("duration", 1))
        video = {**_file_json(record), "width": 640, "height": 480, "duration": duration}
        return self._new_message(values, video=video, **self._caption(values))

    def _m_sendMediaGroup(self, values: dict[str, Any], uploads: dict[str, UploadedFile]) -> Any:
        group_id = str(10_000_000_000 + len(self.calls))
        sent = []
        for item in values["media"]:
            record, upload = self._file_from({"media": item.get("media")}, uploads, "media")
            kind = item.get("type", "photo")
            caption = self._caption(item)
            content: dict[str, Any]
            if kind == "photo":
                content = {"photo": self._photo_sizes(record)}
            elif kind == "document":
                name = upload.filename if upload else "document"
                content = {"document": {**_file_json(record), "file_name": name}}
            else:
                content = {kind: {**_file_json(record), "duration": 1}}
            sent.append(self._new_message(values, media_group_id=group_id, **content, **caption))
        return sent

    def _photo_sizes(self, record: _FileRecord) -> list[dict[str, Any]]:
        """Return the PhotoSize array Telegram generates for an uploaded photo."""
        sizes = []
        for index, (width, height) in enumerate(_PHOTO_SIZES):
            file_id = (
                record.file_id if index == len(_PHOTO_SIZES) - 1 else f"{record.file_id}_{width}"
            )
            if file_id not in self._files:
                self.add_file(file_id, record.data())
            sizes.append({**_file_json(self._files[file_id]), "width": width, "height": height})
        return sizes

    def _m_editMessageText(self, values: dict[str, Any], uploads: dict[str, UploadedFile]) -> Any:
        if "inline_message_id" in values:
            return True
        stored = self._stored(values, "Bad Request: message to edit not found")
        if not stored.from_bot:
            raise ApiError(400, "Bad Request: message can't be edited")
        message = stored.message
        if "text" not in message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        text, entities = _parse(
            values.get("text", ""), values.get("parse_mode"), values.get("entities")
        )
        markup = _inline_markup(values.get("reply_markup"))
        before = (message["text"], message.get("entities", []), message.get("reply_markup"))
        if (text, entities, markup) == before:
            raise ApiError(400, NOT_MODIFIED)
        message["text"] = text
        _set_or_drop(message, "entities", entities)
        _set_or_drop(message, "reply_markup", markup)
        message["edit_date"] = int(self.clock())
        return copy.deepcopy(message)

    def _m_editMessageCaption(
        self, values: dict[str, Any], uploads: dict[str, UploadedFile]
    ) -> Any:
        if "inline_message_id" in values:
            return True
        stored = self._stored(values, "Bad Request: message to edit not found")
        if not stored.from_bot:
            raise ApiError(400, "Bad Request: message can't be edited")
        message = stored.message
        caption = self._caption(values)
        markup = _inline_markup(values.get("reply_markup"))
        before = (
            message.get("caption"),
            message.get("caption_entities", []),
            message.get("reply_markup"),
        )
        if (caption.get("caption"), caption.get("caption_entities", []), markup) == before:
            raise ApiError(400, NOT_MODIFIED)
        _set_or_drop(message, "caption", caption.get("caption"))
        _set_or_drop(message, "caption_entities", caption.get("caption_entities"))
        _set_or_drop(message, "reply_markup", markup)
        message["edit_date"] = int(self.clock())
        return copy.deepcopy(message)

    def _m_editMessageReplyMarkup(
        self, values: dict[str, Any], uploads: dict[str, UploadedFile]
    ) -> Any:
        if "inline_message_id" in values:
            return True
        stored = self._stored(values, "Bad Request: message to edit not found")
        if not stored.from_bot:
            raise ApiError(400, "Bad Request: message can't be edited")
        markup = _inline_markup(values.get("reply_markup"))
        if markup == stored.message.get("reply_markup"):
            raise ApiError(400, NOT_MODIFIED)
        _set_or_drop(stored.message, "reply_markup", markup)
        stored.message["edit_date"] = int(self.clock())
        return copy.deepcopy(stored.message)

    def _m_deleteMessage(self, values: dict[str, Any], uploads: dict[str, UploadedFile]) -> Any:
        self._stored(values, "Bad Request: message to delete not found")
        chat_id = self._resolve_chat(values["chat_id"])
        del self._history[chat_id][values["message_id"]]
        return True

    def _m_deleteMessages(self, values: dict[str, Any], uploads: dict[str, UploadedFile]) -> Any:
        chat_id = int(self._writable_chat(values["chat_id"])["id"])
        for message_id in values["message_ids"]:
            self._history.get(chat_id, {}).pop(message_id, None)
        return True

    def _m_getFile(self, values: dict[str, Any], uploads: dict[str, UploadedFile]) -> Any:
        record = self._files.get(str(values["file_id"]))
        if record is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if record.size > MAX_DOWNLOAD:
            raise ApiError(400, "Bad Request: file is too big")
        return {**_file_json(record), "file_path": f"files/{record.file_id}"}


# ================================================================================ module helpers


def _raise_failure(kind: str, retry_after: int, description: str | None) -> None:
    """Raise the ApiError (or NetworkFailure) for an injected failure kind."""
    if kind == "network":
        raise NetworkFailure(description or "connection dropped by FakeBotAPI")
    if kind == "429":
        raise ApiError(
            429, description or f"Too Many Requests: retry after {retry_after}", retry_after
        )
    status, default = {
        "5xx": (502, "Bad Gateway"),
        "403": (403, BLOCKED),
        "chat_not_found": (400, CHAT_NOT_FOUND),
        "not_modified": (400, NOT_MODIFIED),
    }[kind]
    raise ApiError(status, description or default)


def _normalize_chat_id(value: Any) -> int | str | None:
    """Return ints for numeric chat ids (given as int or string), other values unchanged."""
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return value


def _parse(text: str, parse_mode: Any, entities: Any) -> tuple[str, list[dict[str, Any]]]:
    """Apply parse_mode (or explicit entities) like Telegram, answering 400 on bad markup."""
    if isinstance(entities, list) and entities:
        return text, copy.deepcopy(entities)
    try:
        return parse_text(text, parse_mode if isinstance(parse_mode, str) else None)
    except EntityParseError as exc:
        raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from exc


def _inline_markup(markup: Any) -> dict[str, Any] | None:
    """Return the inline keyboard a message keeps; other markups are not echoed by Telegram."""
    if isinstance(markup, str):
        markup = json.loads(markup)
    if isinstance(markup, dict) and markup.get("inline_keyboard"):
        return copy.deepcopy(markup)
    return None


def _button_labels(markup: Mapping[str, Any] | None) -> list[str]:
    """Return the labels of an inline keyboard, row by row."""
    if not markup:
        return []
    return [button.get("text", "") for row in markup.get("inline_keyboard", []) for button in row]


def _set_or_drop(message: dict[str, Any], key: str, value: Any) -> None:
    """Set a message field, or remove it when the new value is empty."""
    if value in (None, []):
        message.pop(key, None)
    else:
        message[key] = value


def _file_json(record: _FileRecord) -> dict[str, Any]:
    """Return the common File fields of a stored file."""
    return {
        "file_id": record.file_id,
        "file_unique_id": record.file_unique_id,
        "file_size": record.size,
    }


def _scope_key(scope: Mapping[str, Any] | None) -> str:
    """Return a stable key for a BotCommandScope (absent means default)."""
    return json.dumps(dict(scope) if scope else {"type": "default"}, sort_keys=True)


def iter_buttons(message: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    """Yield the inline keyboard buttons of a Message JSON."""
    markup = message.get("reply_markup") or {}
    for row in markup.get("inline_keyboard", []):
        yield from row
