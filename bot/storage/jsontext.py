"""JSON text for SQLite that survives any code point a Telegram client can send."""

from __future__ import annotations

import json
from typing import Any


def dump_json(value: Any, *, sort_keys: bool = False) -> str:
    """Return compact JSON; escaped to ASCII only when a lone surrogate would break UTF-8."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=sort_keys)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # SQLite stores UTF-8, which has no lone surrogates; \\udXXX escapes round-trip exactly.
        text = json.dumps(value, ensure_ascii=True, sort_keys=sort_keys)
    return text
