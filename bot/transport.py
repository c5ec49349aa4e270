"""The HTTP transport to the Bot API: plain calls go as one JSON body.

PTB's HTTPXRequest sends every call as an application/x-www-form-urlencoded form, each value
JSON-encoded and then percent-encoded byte by byte in Python: for Chinese texts and keyboards
that is most of a request's cost (and three bytes on the wire per byte of text). The Bot API
takes application/json as well; calls that upload files keep PTB's multipart path.
"""

from __future__ import annotations

import json

import httpx
from telegram._utils.defaultvalue import DEFAULT_NONE, DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import HTTPXRequest, RequestData


class JSONRequest(HTTPXRequest):
    """HTTPXRequest posting calls without files as application/json."""

    __slots__ = ()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if request_data is None or request_data.contains_files or self._client.is_closed:
            timeouts = (read_timeout, write_timeout, connect_timeout, pool_timeout)
            return await super().do_request(url, method, request_data, *timeouts)
        default = self._client.timeout
        timeout = httpx.Timeout(
            connect=_given(connect_timeout, default.connect),
            read=_given(read_timeout, default.read),
            write=_given(write_timeout, default.write),
            pool=_given(pool_timeout, default.pool),
        )
        body = json.dumps(request_data.parameters, ensure_ascii=False, separators=(",", ":"))
        try:
            res = await self._client.request(
                method=method,
                url=url,
                headers={"User-Agent": self.USER_AGENT, "Content-Type": "application/json"},
                timeout=timeout,
                content=body.encode(),
            )
        except httpx.TimeoutException as err:
            raise TimedOut(f"httpx.{type(err).__name__}: {err}") from err
        except httpx.HTTPError as err:  # the base class: last
            raise NetworkError(f"httpx.{type(err).__name__}: {err}") from err
        return res.status_code, res.content


def _given(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value
