"""The outbox: messages written with their cause, delivered later by the worker."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any

from bot.domain.text import split_text
from bot.storage.db import Database, Tx, from_db_time, to_db_time

# The Tx.signal name under which committed new rows are announced (with their lane).
NEW_ROWS = "outbox"


class Lane(IntEnum):
    """Which rows go first when several chats wait (each chat keeps its own order)."""

    URGENT = 0  # critical and high alerts, escalations, confirmations of a person's own action
    NORMAL = 1  # everything not named here
    BULK = 2  # reminders, overdue notices, quota nudges, digests


# A payload key naming the outbox row this message replies to (evidence after its card);
# the worker turns it into reply_parameters once that row's message id is known.
REPLY_TO_ROW = "reply_to_outbox"
# In an editMessageText payload: when the message cannot be edited (deleted, too old), send
# the text as a new message instead; what the row says must reach the person either way.
OR_SEND = "or_send"


@dataclass(frozen=True)
class OutboxItem:
    id: int
    chat_id: int
    person_id: int | None
    method: str
    payload: dict[str, Any]
    attempts: int
    dedup_key: str | None
    ref_kind: str | None
    ref_id: int | None
    lane: int = Lane.NORMAL
    # The best lane among the chat's rows due now: a chat whose alert waits behind an older
    # reminder sends that reminder in the alert's lane (per-chat order is kept).
    chat_lane: int = Lane.NORMAL


def _item(row: Any, chat_lane: int | None = None) -> OutboxItem:
    return OutboxItem(
        id=row["id"],
        chat_id=row["chat_id"],
        person_id=row["person_id"],
        method=row["method"],
        payload=json.loads(row["payload"]),
        attempts=row["attempts"],
        dedup_key=row["dedup_key"],
        ref_kind=row["ref_kind"],
        ref_id=row["ref_id"],
        lane=row["lane"],
        chat_lane=row["lane"] if chat_lane is None else chat_lane,
    )


FILE_KEY = "outbox_file"  # {"photo": {FILE_KEY: id}}: upload the stored file outbox_files.id


async def store_file(tx: Tx, now: datetime, filename: str, data: bytes) -> dict[str, int]:
    """Keep a file for an outbox row to upload; return the payload value that names it."""
    file_id = await tx.execute(
        "INSERT INTO outbox_files (filename, data, created_at) VALUES (?, ?, ?)",
        (filename, data, to_db_time(now)),
    )
    return {FILE_KEY: file_id}


async def enqueue(
    tx: Tx,
    now: datetime,
    *,
    chat_id: int,
    payload: dict[str, Any],
    method: str = "sendMessage",
    person_id: int | None = None,
    dedup_key: str | None = None,
    not_before: datetime | None = None,
    ref_kind: str | None = None,
    ref_id: int | None = None,
    lane: Lane = Lane.NORMAL,
) -> list[int]:
    """Queue one Bot API call inside the caller's transaction; return the new row ids.

    A text over Telegram's limit becomes several rows (buttons on the last). A dedup_key
    that was ever used before makes this a no-op, which is what keeps scheduled work from
    sending twice.
    """
    if dedup_key is not None and await tx.fetchval(
        "SELECT 1 FROM outbox WHERE dedup_key = ? OR dedup_key = ?",
        (dedup_key, f"{dedup_key}#1"),
    ):
        return []
    payloads = [payload]
    if method == "sendMessage" and len(payload.get("text", "")) > 4096:
        parts = split_text(payload["text"])
        payloads = []
        for i, part in enumerate(parts):
            p = {k: v for k, v in payload.items() if k != "reply_markup"}
            p["text"] = part
            if i == len(parts) - 1 and "reply_markup" in payload:
                p["reply_markup"] = payload["reply_markup"]
            payloads.append(p)
    ids = []
    for i, p in enumerate(payloads):
        key = dedup_key if dedup_key is None or len(payloads) == 1 else f"{dedup_key}#{i + 1}"
        ids.append(
            await tx.execute(
                "INSERT INTO outbox (created_at, not_before, chat_id, person_id, method, payload,"
                " dedup_key, ref_kind, ref_id, lane) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    to_db_time(now),
                    to_db_time(not_before or now),
                    chat_id,
                    person_id,
                    method,
                    json.dumps(p, ensure_ascii=False),
                    key,
                    ref_kind,
                    ref_id,
                    int(lane),
                ),
            )
        )
    tx.signal(NEW_ROWS, int(lane))
    return ids


@dataclass(frozen=True)
class SentMessage:
    outbox_id: int
    chat_id: int
    person_id: int | None
    message_id: int | None
    state: str


class OutboxRepo:
    """State changes of outbox rows, for the delivery worker."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def heads(self, now: datetime, limit: int = 500) -> list[OutboxItem]:
        """Return the next row of every chat that may send now, best lane first.

        A chat's next row is its oldest pending row due now, unless an older row of the same
        chat is in flight or waiting for a retry: then the chat waits (and no other chat does).
        A row scheduled for later (quiet hours) does not hold back newer rows.
        """
        rows = await self.db.fetchall(
            "WITH due AS (SELECT chat_id, MIN(lane) AS chat_lane, MIN(id) AS head FROM outbox"
            "  WHERE state = 'pending' AND not_before <= ? GROUP BY chat_id)"
            " SELECT o.*, due.chat_lane FROM due JOIN outbox o ON o.id = due.head"
            " WHERE NOT EXISTS (SELECT 1 FROM outbox b WHERE b.chat_id = due.chat_id"
            "  AND b.id < due.head AND b.state IN ('pending', 'sending')"
            "  AND (b.state = 'sending' OR b.attempts > 0))"
            " ORDER BY due.chat_lane, due.head LIMIT ?",
            (to_db_time(now), limit),
        )
        return [_item(r, r["chat_lane"]) for r in rows]

    async def head_of(self, chat_id: int, now: datetime) -> OutboxItem | None:
        """Return one chat's next row if it may send now (see heads)."""
        row = await self.db.fetchone(
            "SELECT o.* FROM outbox o WHERE o.chat_id = ? AND o.state IN ('pending', 'sending')"
            " AND (o.state = 'sending' OR o.attempts > 0 OR o.not_before <= ?)"
            " ORDER BY o.id LIMIT 1",
            (chat_id, to_db_time(now)),
        )
        if row is None or row["state"] != "pending" or row["not_before"] > to_db_time(now):
            return None
        return _item(row)

    async def next_due_at(self) -> datetime | None:
        """Return when the earliest pending row falls due."""
        earliest: str | None = await self.db.fetchval(
            "SELECT MIN(not_before) FROM outbox WHERE state = 'pending'"
        )
        return from_db_time(earliest)

    async def claim(self, item_id: int) -> bool:
        """Mark a row as being sent, just before its request; False when it is not pending."""
        async with self.db.transaction() as tx:
            return (
                await tx.changes(
                    "UPDATE outbox SET state = 'sending', attempts = attempts + 1"
                    " WHERE id = ? AND state = 'pending'",
                    (item_id,),
                )
                == 1
            )

    async def mark_sent(self, item_id: int, now: datetime, message_id: int | None) -> None:
        """Record a delivered row."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE outbox SET state = 'sent', sent_at = ?, message_id = ?, last_error = NULL"
                " WHERE id = ?",
                (to_db_time(now), message_id, item_id),
            )

    async def as_new_message(self, item: OutboxItem, now: datetime, error: str) -> None:
        """Turn an edit that could not be applied into a new message, due now."""
        drop = ("message_id", OR_SEND)
        payload = {k: v for k, v in item.payload.items() if k not in drop}
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE outbox SET state = 'pending', method = 'sendMessage', payload = ?,"
                " not_before = ?, last_error = ? WHERE id = ?",
                (json.dumps(payload, ensure_ascii=False), to_db_time(now), error[:500], item.id),
            )

    async def retry_at(self, item_id: int, when: datetime, error: str) -> None:
        """Put a row back in the queue for a later attempt."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE outbox SET state = 'pending', not_before = ?, last_error = ? WHERE id = ?",
                (to_db_time(when), error[:500], item_id),
            )

    async def mark_failed(self, tx: Tx, item_id: int, now: datetime, error: str) -> None:
        """Record a permanent failure (inside the caller's transaction)."""
        await tx.execute(
            "UPDATE outbox SET state = 'failed', sent_at = ?, last_error = ? WHERE id = ?",
            (to_db_time(now), error[:500], item_id),
        )

    async def release_claims(self) -> int:
        """Return rows left 'sending' by a killed process to the queue (at start-up).

        A row is 'sending' only from just before its request until just after the answer, so
        these are the rows whose request may have reached Telegram: at most the few in flight
        at the crash can repeat; the alternative would be to lose them.
        """
        async with self.db.transaction() as tx:
            return await tx.changes("UPDATE outbox SET state = 'pending' WHERE state = 'sending'")

    async def for_ref(self, ref_kind: str, ref_id: int, tx: Tx | None = None) -> list[SentMessage]:
        """Return the rows sent (or queued) about one record, for later edits."""
        src = tx or self.db
        rows = await src.fetchall(
            "SELECT id, chat_id, person_id, message_id, state FROM outbox"
            " WHERE ref_kind = ? AND ref_id = ? ORDER BY id",
            (ref_kind, ref_id),
        )
        return [
            SentMessage(r["id"], r["chat_id"], r["person_id"], r["message_id"], r["state"])
            for r in rows
        ]

    async def rewrite_pending(self, tx: Tx, item_id: int, payload: dict[str, Any]) -> bool:
        """Replace the payload of a row not sent yet (so it goes out in its current form)."""
        return (
            await tx.changes(
                "UPDATE outbox SET payload = ? WHERE id = ? AND state = 'pending'",
                (json.dumps(payload, ensure_ascii=False), item_id),
            )
            == 1
        )

    async def file(self, file_id: int) -> tuple[str, bytes] | None:
        """Return a stored upload (file name, bytes), None when it is gone."""
        row = await self.db.fetchone(
            "SELECT filename, data FROM outbox_files WHERE id = ?", (file_id,)
        )
        return (row[0], bytes(row[1])) if row else None

    async def prune_files(self, now: datetime, keep: timedelta = timedelta(days=2)) -> int:
        """Drop uploads older than `keep` that no pending row still needs."""
        cutoff = to_db_time(now - keep)
        if not await self.db.fetchval(
            "SELECT 1 FROM outbox_files WHERE created_at < ? LIMIT 1", (cutoff,)
        ):
            return 0  # the usual case: no write transaction at all
        async with self.db.transaction() as tx:
            return await tx.changes(
                "DELETE FROM outbox_files WHERE created_at < ? AND NOT EXISTS (SELECT 1 FROM"
                " outbox o WHERE o.state IN ('pending', 'sending') AND o.method = 'sendPhoto'"
                " AND json_extract(o.payload, '$.photo.outbox_file') = outbox_files.id)",
                (cutoff,),
            )

    async def with_reply(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Return the payload to send: REPLY_TO_ROW becomes reply_parameters when known."""
        row_id = payload.get(REPLY_TO_ROW)
        if row_id is None:
            return payload
        out = {k: v for k, v in payload.items() if k != REPLY_TO_ROW}
        message_id = await self.db.fetchval("SELECT message_id FROM outbox WHERE id = ?", (row_id,))
        if message_id is not None:
            out["reply_parameters"] = {
                "message_id": message_id,
                "allow_sending_without_reply": True,
            }
        return out

    async def counts(self) -> dict[str, int]:
        """Return how many rows are in each state."""
        rows = await self.db.fetchall("SELECT state, COUNT(*) FROM outbox GROUP BY state")
        return {r[0]: r[1] for r in rows}
