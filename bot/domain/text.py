"""Text helpers that respect Telegram's limits (PRODUCT.md §8)."""

from __future__ import annotations

MAX_TEXT = 4096


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split a long text into parts of at most `limit` characters, at line breaks if possible.

    Nothing is dropped: joining the parts with newlines gives the original lines back.
    """
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            # A single line longer than a message: cut it hard, flushing what we hold first.
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current:
        parts.append(current)
    return [p for p in parts if p.strip()] or [text[:limit]]


def clip(text: str, limit: int) -> str:
    """Shorten a preview to `limit` characters with an ellipsis (for previews, not content)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
