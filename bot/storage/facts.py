"""Facts about the bot itself, kept across restarts (its username, for invite links)."""

from __future__ import annotations

from bot.storage.db import Database, Tx

BOT_USERNAME = "bot_username"


async def set_fact(tx: Tx, key: str, value: str) -> None:
    """Remember a fact about the bot (e.g. its username)."""
    await tx.execute(
        "INSERT INTO bot_facts (key, value) VALUES (?, ?)"
        " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


async def fact(src: Database | Tx, key: str) -> str | None:
    """Return a remembered fact about the bot."""
    value = await src.fetchval("SELECT value FROM bot_facts WHERE key = ?", (key,))
    return str(value) if value is not None else None
