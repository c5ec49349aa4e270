"""The demo's web page and its JSON/SSE API, on loopback, with the standard library's HTTP server
(the emulator's own transport uses it too: no web framework, no build step).
"""

from __future__ import annotations

import json
import logging
import mimetypes
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.emulator import BOT_ID
from bot.i18n import LANGUAGES

from .world import CLOCK_MOVES, DemoWorld, package_file

log = logging.getLogger(__name__)

# Words of the page itself, per language (the bot's own texts come from the bot).
PAGE_KEYS = (
    "demo.title",
    "demo.note",
    "demo.bot_name",
    "demo.people",
    "demo.group_label",
    "demo.speaking_as",
    "demo.placeholder",
    "demo.send",
    "demo.menu",
    "demo.photo",
    "demo.file",
    "demo.location",
    "demo.voice",
    "demo.clock",
    "demo.plus30",
    "demo.to_tue16",
    "demo.to_wed09",
    "demo.language",
    "demo.violations",
    "demo.starting",
    "demo.edited",
    "demo.offline",
    "demo.back",
    "role.liaison",
    "role.commissioner",
    "role.leader",
    "role.county",
    "role.admin",
    "lang.zh_Hans",
    "lang.zh_Hant",
    "lang.en",
)
STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/app.css": ("app.css", "text/css; charset=utf-8"),
}
KEEPALIVE_SECONDS = 15.0
MAX_UPLOAD = 20 * 1024 * 1024


class BadRequest(Exception):
    """A request the page should not have made."""


class DemoWeb:
    """Serve the chat page for a DemoWorld on 127.0.0.1."""

    def __init__(self, world: DemoWorld, host: str = "127.0.0.1", port: int = 8080) -> None:
        self.world = world
        self.stopping = threading.Event()
        self._httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="DemoWeb", daemon=True
        )
        self.strings = {
            lang: {key: world.i18n.get(lang)(key) for key in PAGE_KEYS} for lang in LANGUAGES
        }

    @property
    def url(self) -> str:
        """Return the page's address."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> DemoWeb:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close event streams and the socket."""
        self.stopping.set()
        self.world.bus.publish({"type": "bye"})
        self._httpd.shutdown()
        self._httpd.server_close()

    # ------------------------------------------------------------------ API

    def state(self, query: dict[str, str]) -> dict[str, Any]:
        """Return who is in the demo, the page's words, the clock and the violations so far."""
        world = self.world
        language = query.get("lang") if query.get("lang") in LANGUAGES else LANGUAGES[0]
        people = [
            {
                "id": p.id,
                "name": p.row.name,
                "role": p.row.role.value,
                "village": p.row.village,
                "township": p.row.township,
            }
            for p in world.people.values()
        ]
        return {
            "ready": world.ready,
            "bot_id": BOT_ID,
            "tz": world.i18n.tz.key,
            "group": {"id": world.group.id, "title": world.group.title},
            "people": people,
            "strings": self.strings,
            "languages": list(LANGUAGES),
            "clock": world.clock_view(str(language)),
            "violations": list(world.violations),
        }

    def chat(self, query: dict[str, str]) -> dict[str, Any]:
        """Return a chat's messages as they stand now, and the viewer's menu and language."""
        person, chat = _int(query, "as"), _int(query, "chat")
        self._check(person, chat)
        return {
            "messages": self.world.api.history(chat),
            "commands": self.world.commands(person, chat),
            "language": self.world.language_of(person),
        }

    def act(self, path: str, body: dict[str, Any]) -> None:
        """Carry out one of the page's actions."""
        world = self.world
        if path == "/api/clock":
            move = str(body.get("move"))
            if move not in CLOCK_MOVES:
                raise BadRequest(f"unknown clock move {move!r}")
            world.move_clock(move)
            return
        person = _int(body, "as")
        if path == "/api/lang":
            self._check(person, person)
            world.choose_language(person, str(body.get("lang")))
            return
        chat = _int(body, "chat")
        self._check(person, chat)
        if path == "/api/send":
            world.send_text(person, chat, str(body.get("text", ""))[:4096])
        elif path == "/api/press":
            world.press(person, chat, _int(body, "message_id"), str(body.get("data", "")))
        elif path == "/api/location":
            world.share_location(person, chat)
        elif path == "/api/voice":
            world.send_voice(person, chat)
        else:
            raise BadRequest(f"no action {path}")

    def upload(self, query: dict[str, str], content: bytes, mime: str) -> None:
        """Send an uploaded file as a photo or a document."""
        person, chat = _int(query, "as"), _int(query, "chat")
        self._check(person, chat)
        caption = query.get("caption", "")[:1024]
        if query.get("kind") == "photo":
            self.world.send_photo(person, chat, content, caption)
        else:
            name = query.get("name") or "file"
            self.world.send_document(person, chat, content, name, mime)

    def _check(self, person: int, chat: int) -> None:
        if person not in self.world.people or chat not in (person, self.world.group.id):
            raise BadRequest("unknown person or chat")


def _int(values: dict[str, Any], key: str) -> int:
    try:
        return int(values[key])
    except (KeyError, TypeError, ValueError):
        raise BadRequest(f"{key} must be a number") from None


def _handler_for(web: DemoWeb) -> type[BaseHTTPRequestHandler]:
    """Build a request handler class bound to ``web``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Keep access logs out of the console (the bot's log is what matters)."""

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = dict(parse_qsl(url.query))
            try:
                if url.path in STATIC:
                    name, kind = STATIC[url.path]
                    self._reply(200, package_file(f"static/{name}").read_bytes(), kind)
                elif url.path == "/api/state":
                    self._json(web.state(query))
                elif url.path == "/api/idle":
                    self._json({"idle": web.world.idle()})
                elif url.path == "/api/chat":
                    self._json(web.chat(query))
                elif url.path == "/api/file":
                    self._file(query.get("id", ""))
                elif url.path == "/api/events":
                    self._events()
                else:
                    self._json({"error": "not found"}, 404)
            except BadRequest as exc:
                self._json({"error": str(exc)}, 400)

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_UPLOAD:
                self.close_connection = True
                self._json({"error": "too large"}, 413)
                return
            body = self.rfile.read(length) if length else b""
            try:
                if url.path == "/api/upload":
                    mime = self.headers.get("Content-Type") or "application/octet-stream"
                    web.upload(dict(parse_qsl(url.query)), body, mime)
                else:
                    decoded = json.loads(body or b"{}")
                    if not isinstance(decoded, dict):
                        raise BadRequest("expected a JSON object")
                    web.act(url.path, decoded)
            except (BadRequest, KeyError, ValueError, TimeoutError) as exc:
                self._json({"error": str(exc)}, 400)
                return
            self._json({"ok": True})

        def _file(self, file_id: str) -> None:
            try:
                content = web.world.api.file_content(f"files/{file_id}")
            except KeyError:
                self._json({"error": "no such file"}, 404)
                return
            self._reply(200, content, _sniff(content))

        def _events(self) -> None:
            """Stream page events (Server-Sent Events) until the page goes away."""
            queue = web.world.bus.subscribe()
            try:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream; charset=utf-8")
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(b"retry: 1000\n\n")
                self.wfile.flush()
                while not web.stopping.is_set():
                    events = web.world.bus.take(queue, KEEPALIVE_SECONDS)
                    chunk = "".join(
                        f"data: {json.dumps(e, ensure_ascii=False)}\n\n" for e in events
                    )
                    self.wfile.write(chunk.encode() if chunk else b": keepalive\n\n")
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                web.world.bus.unsubscribe(queue)
                self.close_connection = True

        def _json(self, payload: Any, status: int = 200) -> None:
            body = json.dumps(payload, ensure_ascii=False).encode()
            self._reply(status, body, "application/json; charset=utf-8")

        def _reply(self, status: int, body: bytes, kind: str) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    return Handler


def _sniff(content: bytes) -> str:
    """Guess a download's type from its first bytes (the emulator keeps no types)."""
    for magic, kind in (
        (b"\x89PNG", "image/png"),
        (b"\xff\xd8", "image/jpeg"),
        (b"GIF8", "image/gif"),
        (b"OggS", "audio/ogg"),
        (b"%PDF", "application/pdf"),
    ):
        if content.startswith(magic):
            return kind
    if content[8:12] == b"WEBP":
        return "image/webp"
    return mimetypes.types_map.get(".bin", "application/octet-stream")
