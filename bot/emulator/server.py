"""Serve a FakeBotAPI over loopback HTTP so a real bot process can use it as BOT_API_URL."""

from __future__ import annotations

import json
import re
import threading
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qsl, unquote

from .api import FakeBotAPI, NetworkFailure, UploadedFile

__all__ = ["FakeBotServer"]

_METHOD_PATH = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>[A-Za-z0-9_]+)/?$")
_FILE_PATH = re.compile(r"^/file/bot(?P<token>[^/]+)/(?P<path>.+)$")
_NOT_FOUND = {"ok": False, "error_code": 404, "description": "Not Found"}


class FakeBotServer:
    """Run a FakeBotAPI on 127.0.0.1 at an ephemeral port in a background thread."""

    def __init__(self, api: FakeBotAPI, host: str = "127.0.0.1", port: int = 0) -> None:
        self.api = api
        self._address = (host, port)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Return the server root, e.g. http://127.0.0.1:43121 (what BOT_API_URL points at)."""
        if self._httpd is None:
            raise RuntimeError("FakeBotServer is not running; call start() first")
        host, port = self._httpd.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        """Return the value for telegram.Bot(base_url=...)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """Return the value for telegram.Bot(base_file_url=...)."""
        return f"{self.url}/file/bot"

    @property
    def tokens(self) -> list[str]:
        """Return the bot tokens seen in request paths."""
        return list(self.api.tokens)

    def start(self) -> FakeBotServer:
        """Bind the socket and start serving; return self for chaining."""
        if self._httpd is not None:
            return self
        httpd = ThreadingHTTPServer(self._address, _handler_for(self.api))
        # Handler threads may sit in a long poll; they must not keep the test process alive.
        httpd.daemon_threads = True
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="FakeBotServer",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Answer pending long polls, stop serving and close the socket."""
        if self._httpd is None:
            return
        self.api.interrupt_polls()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> FakeBotServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _handler_for(api: FakeBotAPI) -> type[BaseHTTPRequestHandler]:
    """Build a request handler class bound to ``api``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out as two writes: with Nagle's algorithm on, the body waits for
        # the client's delayed ACK (about 40 ms per request on loopback), which no real Bot API
        # server adds and which would swamp any measurement of the bot.
        disable_nagle_algorithm = True
        # Idle keep-alive connections give up eventually instead of pinning a thread forever.
        timeout = 60

        def do_GET(self) -> None:
            self._dispatch()

        def do_POST(self) -> None:
            self._dispatch()

        def log_message(self, format: str, *args: Any) -> None:
            """Stay quiet: test output should show the bot's logs, not access logs."""

        def _dispatch(self) -> None:
            """Route to a file download or a Bot API method."""
            path, _, query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            file_match = _FILE_PATH.match(path)
            if file_match:
                api.note_url(
                    f"{self._root()}/file/bot{file_match['token']}", unquote(file_match["token"])
                )
                try:
                    content = api.file_content(file_match["path"])
                except KeyError:
                    self._reply(404, json.dumps(_NOT_FOUND).encode())
                    return
                self._reply(200, content, "application/octet-stream")
                return
            method_match = _METHOD_PATH.match(path)
            if not method_match:
                self._reply(404, json.dumps(_NOT_FOUND).encode())
                return
            token, method = unquote(method_match["token"]), method_match["method"]
            api.note_url(f"{self._root()}/bot{token}", token)
            params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
            files: dict[str, UploadedFile] = {}
            try:
                body_params, files = _parse_body(self.headers.get("Content-Type", ""), body)
            except ValueError as exc:
                error = {"ok": False, "error_code": 400, "description": f"Bad Request: {exc}"}
                self._reply(400, json.dumps(error).encode())
                return
            params.update(body_params)
            # During an outage a poll fails at once instead of being held first.
            polling = method == "getUpdates" and not api.in_outage(method, params)
            if polling and self._long_poll(params) == "superseded":
                status, answer = api.conflict()
                self._reply(status, json.dumps(answer).encode())
                return
            try:
                status, answer = api.handle(method, params, files)
            except NetworkFailure:
                # Say nothing and hang up: the client sees a dropped connection.
                self.close_connection = True
                return
            self._reply(status, json.dumps(answer).encode())

        def _long_poll(self, params: dict[str, Any]) -> str:
            """Wait for updates without holding the API lock (getUpdates timeout semantics)."""
            decoded = api.spec.decode("getUpdates", params)
            try:
                offset, timeout = int(decoded.get("offset", 0)), float(decoded.get("timeout", 0))
            except (TypeError, ValueError):
                return "ready"  # Let handle() report the malformed parameters.
            return api.wait_for_updates(offset, timeout)

        def _root(self) -> str:
            # An AF_INET server: (host, port); typeshed allows any socket address here.
            host, port = cast("tuple[str, int]", self.server.server_address)[:2]
            return f"http://{host}:{port}"

        def _reply(
            self, status: int, payload: bytes, content_type: str = "application/json"
        ) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                # The client gave up (e.g. a cancelled long poll at shutdown); nobody to tell.
                self.close_connection = True

    return Handler


def _parse_body(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Decode a JSON, form-urlencoded or multipart body into parameters and uploaded files."""
    if not body:
        return {}, {}
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        decoded = json.loads(body)
        if not isinstance(decoded, dict):
            raise ValueError("JSON body must be an object")
        return decoded, {}
    if kind == "multipart/form-data":
        return _parse_multipart(content_type, body)
    # httpx sends plain calls as application/x-www-form-urlencoded; treat unknown types alike.
    return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True)), {}


def _parse_multipart(
    content_type: str, body: bytes
) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Split multipart/form-data into text fields and files (httpx's upload format)."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise ValueError("malformed multipart body")
    params: dict[str, Any] = {}
    files: dict[str, UploadedFile] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is None:
            params[name] = content.decode("utf-8")
        else:
            files[name] = UploadedFile(filename, content, part.get_content_type())
    return params, files
