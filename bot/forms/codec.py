"""Callback data: one strict codec for every button (form buttons carry the draft's token)."""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_ID = 2**53  # ids above this are forged: reject them rather than overflow anything
_FIELD = re.compile(r"[A-Za-z0-9_.\-]{0,40}")
_TOKEN = re.compile(r"[0-9a-f]{8}")


def parse_int(text: str | None, low: int = 0, high: int = MAX_ID) -> int | None:
    """Return an ASCII-digit integer within [low, high]; None for anything else."""
    # str.isdigit() accepts "²" and other digits int() refuses; 20 digits overflow SQLite.
    if text is None or not re.fullmatch(r"[0-9]{1,16}", text):
        return None
    value = int(text)
    return value if low <= value <= high else None


def split(data: str | None, prefix: str, parts: int) -> list[str] | None:
    """Split "prefix:a:b" into ["a", "b"]; None for anything malformed (forged or stale)."""
    if not data or len(data.encode()) > 64 or not data.startswith(prefix + ":"):
        return None
    fields = data.split(":")[1:]
    if len(fields) != parts or not all(_FIELD.fullmatch(f) for f in fields):
        return None
    return fields


def ids(data: str | None, prefix: str, tag: str, n: int = 1) -> list[int] | None:
    """Return the n integers of "prefix:tag:1:2"; None when malformed or out of range."""
    fields = split(data, prefix, n + 1)
    if fields is None or fields[0] != tag:
        return None
    numbers = [parse_int(f) for f in fields[1:]]
    return None if None in numbers else [n for n in numbers if n is not None]


@dataclass(frozen=True)
class Press:
    """A form button: which draft, on which step, what it does."""

    token: str
    step: str
    action: str
    value: str = ""

    def encode(self, prefix: str) -> str:
        """Return the callback data (at most 64 bytes)."""
        data = f"{prefix}:{self.token}:{self.step}:{self.action}:{self.value}"
        if len(data.encode()) > 64:
            raise ValueError(f"callback data too long: {data!r}")
        return data


def decode(data: str | None, prefix: str) -> Press | None:
    """Parse a form button's data; None for anything malformed."""
    fields = split(data, prefix, 4)
    if fields is None or not _TOKEN.fullmatch(fields[0]) or not fields[1] or not fields[2]:
        return None
    return Press(*fields)
