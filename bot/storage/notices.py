"""Notices, their recipients and confirmations, files, and timeline."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain.notice import Audience, Notice, NoticeDraft, NoticeFile
from bot.domain.people import Person
from bot.storage.db import Database, Row, Tx, from_db_time, to_db_time
from bot.storage.people import SELECT_PEOPLE, person_from_row

Src = Database | Tx

_SELECT = """
SELECT n.*, s.name AS sender, s.role AS sender_role,
  COALESCE(v.name, t.name, '') AS sender_place,
  (SELECT COUNT(*) FROM notice_recipients r WHERE r.notice_id = n.id) AS total,
  (SELECT COUNT(*) FROM notice_recipients r WHERE r.notice_id = n.id
     AND r.confirmed_at IS NOT NULL) AS confirmed
FROM notices n
JOIN people s ON s.id = n.sender_id
LEFT JOIN townships t ON t.id = s.township_id
LEFT JOIN villages v ON v.id = s.village_id
"""


def _notice(row: Row) -> Notice:
    created = from_db_time(row["created_at"])
    assert created is not None
    return Notice(
        id=row["id"],
        sender_id=row["sender_id"],
        sender=row["sender"],
        sender_place=row["sender_place"],
        sender_role=row["sender_role"],
        body=row["body"],
        audience=Audience(row["audience"]),
        townships=json.loads(row["townships"]),
        deadline=from_db_time(row["deadline"]),
        replies=bool(row["replies"]),
        created_at=created,
        last_reminded_at=from_db_time(row["last_reminded_at"]),
        total=row["total"],
        confirmed=row["confirmed"],
    )


_ROLES = {
    Audience.LIAISONS: ("liaison",),
    Audience.COMMISSIONERS: ("commissioner",),
    Audience.BOTH: ("liaison", "commissioner"),
}


_ROLES_KEYS = [a.value for a in Audience]


async def audience_of(
    src: Src, audience: Audience, townships: list[int], sender_id: int
) -> list[Person]:
    """Return the bound, active people a notice to these townships would reach."""
    if not townships:
        return []
    roles = _ROLES[audience]
    sql = (
        SELECT_PEOPLE + f" WHERE p.active = 1 AND p.telegram_id IS NOT NULL AND p.id != ?"
        f" AND p.role IN ({','.join('?' * len(roles))})"
        f" AND p.township_id IN ({','.join('?' * len(townships))})"
        " ORDER BY t.name, p.role, v.id, p.name, p.id"
    )
    rows = await src.fetchall(sql, (sender_id, *roles, *townships))
    return [person_from_row(r) for r in rows]


async def audience_counts(
    src: Src, townships: list[int], sender_id: int
) -> dict[str, dict[str, int]]:
    """Return {township id: {audience: how many it would reach}} for the composer's preview."""
    found: dict[str, dict[str, int]] = {str(t): dict.fromkeys(_ROLES_KEYS, 0) for t in townships}
    if not townships:
        return found
    rows = await src.fetchall(
        "SELECT township_id, role, COUNT(*) FROM people WHERE active = 1"
        " AND telegram_id IS NOT NULL AND id != ? AND role IN ('liaison', 'commissioner')"
        f" AND township_id IN ({','.join('?' * len(townships))}) GROUP BY township_id, role",
        (sender_id, *townships),
    )
    for tid, role, n in rows:
        for audience, roles in _ROLES.items():
            if role in roles:
                found[str(tid)][audience.value] += n
    return found


async def create_notice(
    tx: Tx, sender_id: int, draft: NoticeDraft, recipients: list[Person], now: datetime
) -> int:
    """Store a notice with its recipients, files and its first timeline event."""
    assert draft.body is not None and draft.audience is not None
    notice_id = await tx.execute(
        "INSERT INTO notices (sender_id, body, audience, townships, deadline, replies, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            sender_id,
            draft.body,
            draft.audience.value,
            json.dumps(draft.township_ids()),
            to_db_time(draft.deadline) if draft.deadline else None,
            int(bool(draft.replies)),
            to_db_time(now),
        ),
    )
    await tx.executemany(
        "INSERT INTO notice_recipients (notice_id, person_id) VALUES (?, ?)",
        [(notice_id, p.id) for p in recipients],
    )
    await add_files(tx, now, "notice", notice_id, draft.files)
    await add_event(tx, notice_id, now, "sent", sender_id, {"recipients": len(recipients)})
    return notice_id


async def add_files(
    tx: Tx, now: datetime, owner_kind: str, owner_id: int, files: list[NoticeFile]
) -> None:
    """Store the photos and documents of a notice or a reply."""
    for f in files:
        await tx.execute(
            "INSERT INTO attachments (owner_kind, owner_id, kind, file_id, file_unique_id, meta,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                owner_kind,
                owner_id,
                f.kind,
                f.file_id,
                f.file_unique_id,
                json.dumps({"file_name": f.name}, ensure_ascii=False),
                to_db_time(now),
            ),
        )


async def files_of(src: Src, owner_kind: str, owner_id: int) -> list[NoticeFile]:
    """Return the files of a notice or a reply, in the order they came."""
    rows = await src.fetchall(
        "SELECT kind, file_id, file_unique_id, meta FROM attachments"
        " WHERE owner_kind = ? AND owner_id = ? ORDER BY id",
        (owner_kind, owner_id),
    )
    return [
        NoticeFile(
            kind=r["kind"],
            file_id=r["file_id"],
            file_unique_id=r["file_unique_id"],
            name=json.loads(r["meta"] or "{}").get("file_name"),
        )
        for r in rows
    ]


async def add_event(
    tx: Tx,
    notice_id: int,
    now: datetime,
    kind: str,
    person_id: int | None,
    detail: dict[str, Any] | None = None,
) -> int:
    """Append one entry to a notice's timeline."""
    return await tx.execute(
        "INSERT INTO notice_events (notice_id, at, kind, person_id, detail) VALUES (?, ?, ?, ?, ?)",
        (
            notice_id,
            to_db_time(now),
            kind,
            person_id,
            json.dumps(detail, ensure_ascii=False) if detail else None,
        ),
    )


async def get_notice(src: Src, notice_id: int) -> Notice | None:
    """Return one notice with its counts."""
    row = await src.fetchone(_SELECT + " WHERE n.id = ?", (notice_id,))
    return _notice(row) if row else None


async def is_recipient(src: Src, notice_id: int, person_id: int) -> tuple[bool, datetime | None]:
    """Return (whether the person is a recipient, when they confirmed)."""
    row = await src.fetchone(
        "SELECT confirmed_at FROM notice_recipients WHERE notice_id = ? AND person_id = ?",
        (notice_id, person_id),
    )
    if row is None:
        return False, None
    return True, from_db_time(row["confirmed_at"])


async def confirm(tx: Tx, notice_id: int, person_id: int, now: datetime) -> bool:
    """Record a confirmation (the first one counts); False when already confirmed."""
    changed = await tx.changes(
        "UPDATE notice_recipients SET confirmed_at = ?"
        " WHERE notice_id = ? AND person_id = ? AND confirmed_at IS NULL",
        (to_db_time(now), notice_id, person_id),
    )
    if changed:
        await add_event(tx, notice_id, now, "confirmed", person_id)
    return changed == 1


async def unconfirmed(src: Src, notice_id: int, as_of: datetime | None = None) -> list[Person]:
    """Return the recipients who had not confirmed (by a moment, or by now)."""
    sql = (
        SELECT_PEOPLE + " JOIN notice_recipients r ON r.person_id = p.id WHERE r.notice_id = ?"
        " AND (r.confirmed_at IS NULL"
    )
    params: list[object] = [notice_id]
    if as_of is not None:
        sql += " OR r.confirmed_at > ?"
        params.append(to_db_time(as_of))
    rows = await src.fetchall(sql + ") ORDER BY t.name, p.role, v.id, p.name, p.id", params)
    return [person_from_row(r) for r in rows]


async def cancel_waiting(tx: Tx, ref_kind: str, notice_id: int, person_id: int) -> int:
    """Cancel outbox rows about a notice still waiting for one person (e.g. reminders)."""
    return await tx.changes(
        "UPDATE outbox SET state = 'cancelled' WHERE state = 'pending' AND ref_kind = ?"
        " AND ref_id = ? AND person_id = ?",
        (ref_kind, notice_id, person_id),
    )


async def set_reminded(tx: Tx, notice_id: int, now: datetime) -> None:
    """Remember when the sender last reminded (the once-an-hour rule)."""
    await tx.execute(
        "UPDATE notices SET last_reminded_at = ? WHERE id = ?", (to_db_time(now), notice_id)
    )


async def with_deadline_since(src: Src, since: datetime) -> list[Notice]:
    """Return notices with a deadline at or after `since` (the due work's candidates)."""
    rows = await src.fetchall(
        _SELECT + " WHERE n.deadline IS NOT NULL AND n.deadline >= ? ORDER BY n.id",
        (to_db_time(since),),
    )
    return [_notice(r) for r in rows]


async def sent_by(src: Src, person_id: int, limit: int = 10) -> list[Notice]:
    """Return the newest notices a person sent."""
    rows = await src.fetchall(
        _SELECT + " WHERE n.sender_id = ? ORDER BY n.id DESC LIMIT ?", (person_id, limit)
    )
    return [_notice(r) for r in rows]


async def received_by(
    src: Src, person_id: int, limit: int = 10
) -> list[tuple[Notice, datetime | None]]:
    """Return the newest notices sent to a person, with when they confirmed each."""
    rows = await src.fetchall(
        _SELECT.replace("FROM notices n", ", rr.confirmed_at AS mine FROM notices n")
        + " JOIN notice_recipients rr ON rr.notice_id = n.id AND rr.person_id = ?"
        " ORDER BY n.id DESC LIMIT ?",
        (person_id, limit),
    )
    return [(_notice(r), from_db_time(r["mine"])) for r in rows]


@dataclass(frozen=True)
class Event:
    at: datetime
    kind: str
    person: str | None
    place: str | None
    detail: dict[str, Any]


async def timeline(src: Src, notice_id: int) -> list[Event]:
    """Return a notice's timeline, oldest first."""
    rows = await src.fetchall(
        "SELECT e.at, e.kind, e.detail, p.name, COALESCE(v.name, t.name) AS place"
        " FROM notice_events e LEFT JOIN people p ON p.id = e.person_id"
        " LEFT JOIN villages v ON v.id = p.village_id LEFT JOIN townships t ON t.id = p.township_id"
        " WHERE e.notice_id = ? ORDER BY e.at, e.id",
        (notice_id,),
    )
    found = []
    for r in rows:
        at = from_db_time(r["at"])
        assert at is not None
        found.append(Event(at, r["kind"], r["name"], r["place"], json.loads(r["detail"] or "{}")))
    return found


async def township_names(src: Src, ids: list[int]) -> list[str]:
    """Return the names of townships by id, in name order."""
    if not ids:
        return []
    rows = await src.fetchall(
        f"SELECT name FROM townships WHERE id IN ({','.join('?' * len(ids))}) ORDER BY name",
        ids,
    )
    return [r[0] for r in rows]
