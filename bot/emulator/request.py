"""A PTB request backend that talks to a FakeBotAPI in-process instead of over the network."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any
from urllib.parse import unquote

from telegram.error import NetworkError
from telegram.request import BaseRequest, RequestData

from .api import FakeBotAPI, NetworkFailure, UploadedFile

__all__ = ["FakeRequest"]

_FILE_URL = re.compile(r"^(?P<base>.*/file/bot(?P<token>[^/]*))/(?P<path>.+)$")
_METHOD_URL = re.compile(r"^(?P<base>.*/bot(?P<token>[^/]*))/(?P<method>[^/?]+)$")
_NOT_FOUND = json.dumps({"ok": False, "error_code": 404, "description": "Not Found"}).encode()


class FakeRequest(BaseRequest):
    """Route PTB's HTTP requests to a FakeBotAPI so PTB's own error mapping still applies."""

    def __init__(
        self, api: FakeBotAPI, read_timeout: float | None = 5.0, poll_interval: float = 0.01
    ) -> None:
        self.api = api
        self._read_timeout = read_timeout
        self._poll_interval = poll_interval

    @property
    def read_timeout(self) -> float | None:
        """Return the default read timeout, which also bounds in-process long polls."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Do nothing: there is no connection pool to open."""

    async def shutdown(self) -> None:
        """Do nothing: there is no connection pool to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Answer one request: a file download or a Bot API method call."""
        file_match = _FILE_URL.match(url)
        if file_match:
            self.api.note_url(file_match["base"], unquote(file_match["token"]))
            try:
                return 200, self.api.file_content(file_match["path"])
            except KeyError:
                return 404, _NOT_FOUND
        method_match = _METHOD_URL.match(url)
        if not method_match:
            return 404, _NOT_FOUND
        self.api.note_url(method_match["base"], unquote(method_match["token"]))
        api_method = method_match["method"]
        # json_parameters is exactly what goes over the wire, so both transports decode alike.
        params: dict[str, Any] = dict(request_data.json_parameters) if request_data else {}
        files = {
            name: UploadedFile.from_field_tuple(value)
            for name, value in (request_data.multipart_data.items() if request_data else [])
        }
        # During an outage a poll fails at once instead of being held first.
        if api_method == "getUpdates" and not self.api.in_outage(api_method, params):
            await self._long_poll(params)
        try:
            status, body = self.api.handle(api_method, params, files)
        except NetworkFailure as exc:
            raise NetworkError(f"FakeRequest: {exc}") from exc
        return status, json.dumps(body).encode()

    async def _long_poll(self, params: dict[str, Any]) -> None:
        """Wait without blocking the event loop until updates arrive or the poll times out."""
        try:
            offset = int(params.get("offset", 0))
            timeout = float(params.get("timeout", 0))
        except (TypeError, ValueError):
            return  # Let handle() report the malformed parameters.
        self.api.acknowledge(offset)
        deadline = time.monotonic() + timeout
        # The API is shared with other threads (a threading lock, no asyncio event to await),
        # so the in-process poll looks again every few milliseconds.
        while time.monotonic() < deadline and not self.api.has_updates(offset):  # noqa: ASYNC110
            await asyncio.sleep(self._poll_interval)
