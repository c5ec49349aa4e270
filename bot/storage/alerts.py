"""Dispute alerts: rows, events, and the queries that feed escalation and statistics."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.domain.alert import Alert, AlertDraft, ack_seconds
from bot.storage.db import Database, Tx, from_db_time, to_db_time


@dataclass(frozen=True)
class OpenAlert:
    id: int
    village: str
    severity: str
    state: str
    age: timedelta


@dataclass(frozen=True)
class AlertStats:
    opened: int
    acknowledged: int
    resolved: int
    escalated: int
    open_now: list[OpenAlert]  # not resolved as of `now`, oldest first
    median_ack_seconds: float | None


async def alert_stats(
    db: Database,
    start: datetime,
    end: datetime,
    now: datetime,
    township_id: int | None = None,
) -> AlertStats:
    """Count alerts created in [start, end) and list those still open at `now`."""
    scope = "" if township_id is None else " AND a.township_id = ?"
    scope_params: tuple[Any, ...] = () if township_id is None else (township_id,)
    rows = await db.fetchall(
        "SELECT a.acknowledged_at, a.ack_seconds, a.resolved_at, a.escalated FROM alerts a"
        " WHERE a.created_at >= ? AND a.created_at < ?" + scope,
        (to_db_time(start), to_db_time(end), *scope_params),
    )
    acks = [r["ack_seconds"] for r in rows if r["acknowledged_at"] is not None]
    open_rows = await db.fetchall(
        "SELECT a.id, v.name AS village, a.severity, a.state, a.created_at FROM alerts a"
        " JOIN villages v ON v.id = a.village_id"
        " WHERE a.state != 'resolved' AND a.created_at <= ?"
        + scope
        + " ORDER BY a.created_at, a.id",
        (to_db_time(now), *scope_params),
    )
    return AlertStats(
        opened=len(rows),
        acknowledged=sum(1 for r in rows if r["acknowledged_at"] is not None),
        resolved=sum(1 for r in rows if r["resolved_at"] is not None),
        escalated=sum(1 for r in rows if r["escalated"]),
        open_now=[
            OpenAlert(
                id=r["id"],
                village=r["village"],
                severity=r["severity"],
                state=r["state"],
                age=now - from_db_time(r["created_at"]),
            )
            for r in open_rows
        ],
        median_ack_seconds=(
            float(statistics.median(a for a in acks if a is not None))
            if any(a is not None for a in acks)
            else None
        ),
    )


# --- the repository -------------------------------------------------------------------------

_SELECT = """
SELECT a.*, v.name AS village, t.name AS township, p.name AS liaison, p.phone AS liaison_phone,
       ack.name AS acknowledger, res.name AS resolver
FROM alerts a
JOIN villages v ON v.id = a.village_id
JOIN townships t ON t.id = a.township_id
JOIN people p ON p.id = a.person_id
LEFT JOIN people ack ON ack.id = a.acknowledged_by
LEFT JOIN people res ON res.id = a.resolved_by
"""


def _alert(r: Any) -> Alert:
    return Alert(
        id=r["id"],
        township_id=r["township_id"],
        village_id=r["village_id"],
        person_id=r["person_id"],
        category=r["category"],
        severity=r["severity"],
        people_count=r["people_count"],
        place_text=r["place_text"],
        latitude=r["latitude"],
        longitude=r["longitude"],
        description=r["description"],
        voice_file_id=r["voice_file_id"],
        state=r["state"],
        level=r["level"],
        level_since=_t(r["level_since"]),
        created_at=_t(r["created_at"]),
        acknowledged_at=from_db_time(r["acknowledged_at"]),
        acknowledged_by=r["acknowledged_by"],
        ack_seconds=r["ack_seconds"],
        resolved_at=from_db_time(r["resolved_at"]),
        resolved_by=r["resolved_by"],
        resolution_level=r["resolution_level"],
        resolution_note=r["resolution_note"],
        report_id=r["report_id"],
        escalated=bool(r["escalated"]),
        followup_since=from_db_time(r["followup_since"]),
        village=r["village"],
        township=r["township"],
        liaison=r["liaison"],
        liaison_phone=r["liaison_phone"],
        acknowledger=r["acknowledger"],
        resolver=r["resolver"],
    )


def _t(text: str) -> datetime:
    value = from_db_time(text)
    assert value is not None
    return value


@dataclass(frozen=True)
class AlertEvent:
    id: int
    at: datetime
    kind: str
    person_id: int | None
    person: str | None
    detail: dict[str, Any]


async def get_alert(src: Database | Tx, alert_id: int) -> Alert | None:
    """Return one alert with its names."""
    row = await src.fetchone(_SELECT + " WHERE a.id = ?", (alert_id,))
    return _alert(row) if row else None


async def add_event(
    tx: Tx,
    alert_id: int,
    now: datetime,
    kind: str,
    person_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """Record one event of an alert's timeline."""
    return await tx.execute(
        "INSERT INTO alert_events (alert_id, at, kind, person_id, detail) VALUES (?, ?, ?, ?, ?)",
        (alert_id, to_db_time(now), kind, person_id, json.dumps(detail or {}, ensure_ascii=False)),
    )


async def events(db: Database | Tx, alert_id: int) -> list[AlertEvent]:
    """Return an alert's timeline, oldest first."""
    rows = await db.fetchall(
        "SELECT e.id, e.at, e.kind, e.person_id, p.name, e.detail FROM alert_events e"
        " LEFT JOIN people p ON p.id = e.person_id WHERE e.alert_id = ? ORDER BY e.at, e.id",
        (alert_id,),
    )
    return [AlertEvent(r[0], _t(r[1]), r[2], r[3], r[4], json.loads(r[5] or "{}")) for r in rows]


async def create_alert(
    tx: Tx, now: datetime, draft: AlertDraft, *, person_id: int, township_id: int, village_id: int
) -> int:
    """Store a submitted alert, its photos and its 'created' event; return its id."""
    alert_id = await tx.execute(
        "INSERT INTO alerts (township_id, village_id, person_id, category, severity, people_count,"
        " place_text, latitude, longitude, description, voice_file_id, level_since, created_at,"
        " report_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            township_id,
            village_id,
            person_id,
            draft.category,
            draft.severity,
            draft.people_count,
            draft.place_text,
            draft.latitude,
            draft.longitude,
            draft.description,
            draft.voice_file_id,
            to_db_time(now),
            to_db_time(now),
            draft.report_id,
        ),
    )
    await add_attachments(tx, now, "alert", alert_id, draft.photos)
    if draft.voice_file_id:
        await add_attachments(tx, now, "alert", alert_id, [[draft.voice_file_id, ""]], "voice")
    if draft.report_id is not None:
        await tx.execute(
            "UPDATE weekly_reports SET alert_id = ? WHERE id = ?", (alert_id, draft.report_id)
        )
    await add_event(tx, alert_id, now, "created", person_id)
    return alert_id


async def add_attachments(
    tx: Tx,
    now: datetime,
    owner_kind: str,
    owner_id: int,
    files: list[list[str]],
    kind: str = "photo",
) -> None:
    """Store Telegram file ids belonging to an alert or an update."""
    for file_id, unique_id in files:
        await tx.execute(
            "INSERT INTO attachments (owner_kind, owner_id, kind, file_id, file_unique_id,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (owner_kind, owner_id, kind, file_id, unique_id or None, to_db_time(now)),
        )


async def photos_of(db: Database | Tx, owner_kind: str, owner_id: int) -> list[str]:
    """Return the photo file ids of an alert or an update."""
    rows = await db.fetchall(
        "SELECT file_id FROM attachments WHERE owner_kind = ? AND owner_id = ? AND kind = 'photo'"
        " ORDER BY id",
        (owner_kind, owner_id),
    )
    return [r[0] for r in rows]


async def acknowledge(tx: Tx, alert: Alert, person_id: int, now: datetime) -> bool:
    """Mark an open alert acknowledged (with the time it took); False if it no longer was open."""
    changed = await tx.changes(
        "UPDATE alerts SET state = 'acknowledged', acknowledged_at = ?, acknowledged_by = ?,"
        " ack_seconds = ?, followup_since = ? WHERE id = ? AND state = 'open'",
        (to_db_time(now), person_id, ack_seconds(alert.created_at, now), to_db_time(now), alert.id),
    )
    if changed:
        await add_event(tx, alert.id, now, "acknowledged", person_id)
    return changed == 1


async def climb(
    tx: Tx, alert: Alert, now: datetime, person_id: int | None, reason: str | None, level: int
) -> bool:
    """Move an alert up to `level` and restart its clock; False if someone already moved it."""
    changed = await tx.changes(
        "UPDATE alerts SET level = ?, level_since = ?, escalated = 1"
        " WHERE id = ? AND level = ? AND state != 'resolved'",
        (level, to_db_time(now), alert.id, alert.level),
    )
    if changed:
        detail: dict[str, Any] = {"level": level}
        if reason:
            detail["reason"] = reason
        await add_event(tx, alert.id, now, "escalated", person_id, detail)
    return changed == 1


async def resolve(
    tx: Tx, alert: Alert, person_id: int, now: datetime, level: str, note: str
) -> bool:
    """Close an alert with the level it was settled at and a note (acknowledging it if needed)."""
    changed = await tx.changes(
        "UPDATE alerts SET state = 'resolved', resolved_at = ?, resolved_by = ?,"
        " resolution_level = ?, resolution_note = ?,"
        " acknowledged_at = COALESCE(acknowledged_at, ?),"
        " acknowledged_by = COALESCE(acknowledged_by, ?),"
        " ack_seconds = COALESCE(ack_seconds, ?)"
        " WHERE id = ? AND state != 'resolved'",
        (
            to_db_time(now),
            person_id,
            level,
            note,
            to_db_time(now),
            person_id,
            ack_seconds(alert.created_at, now),
            alert.id,
        ),
    )
    if changed:
        await add_event(tx, alert.id, now, "resolved", person_id, {"level": level, "note": note})
    return changed == 1


async def reopen(tx: Tx, alert: Alert, person_id: int, now: datetime) -> bool:
    """Reopen a resolved alert; it stays with whoever acknowledged it."""
    changed = await tx.changes(
        "UPDATE alerts SET state = 'acknowledged', resolved_at = NULL, resolved_by = NULL,"
        " resolution_level = NULL, resolution_note = NULL, followup_since = ?"
        " WHERE id = ? AND state = 'resolved'",
        (to_db_time(now), alert.id),
    )
    if changed:
        await add_event(tx, alert.id, now, "reopened", person_id)
    return changed == 1


async def in_state(db: Database, *states: str) -> list[Alert]:
    """Return alerts in the given states, oldest first (for the due work)."""
    marks = ",".join("?" * len(states))
    rows = await db.fetchall(
        _SELECT + f" WHERE a.state IN ({marks}) ORDER BY a.created_at, a.id", states
    )
    return [_alert(r) for r in rows]


async def open_alerts(db: Database, township_id: int | None) -> list[Alert]:
    """Return unresolved alerts of a township (all when None), oldest first."""
    scope = "" if township_id is None else " AND a.township_id = ?"
    rows = await db.fetchall(
        _SELECT + " WHERE a.state != 'resolved'" + scope + " ORDER BY a.created_at, a.id",
        () if township_id is None else (township_id,),
    )
    return [_alert(r) for r in rows]


async def of_liaison(db: Database, person_id: int, limit: int = 10) -> list[Alert]:
    """Return a liaison's alerts, unresolved first, newest first."""
    rows = await db.fetchall(
        _SELECT + " WHERE a.person_id = ? ORDER BY a.state = 'resolved', a.created_at DESC LIMIT ?",
        (person_id, limit),
    )
    return [_alert(r) for r in rows]
