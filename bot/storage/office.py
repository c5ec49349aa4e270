"""Rows behind /stats, /export and the charts, read for one scope and period; the export audit.

Every query reads one period at a time through the indexes of migration 0180, so a quarter of
a 1,000-village county is a few thousand rows, not the five years stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Policy
from bot.domain import office as dom
from bot.domain.calendar import due_at
from bot.domain.periods import Span
from bot.storage import leave as leave_store
from bot.storage.db import Database, Tx, from_db_time, to_db_time

JOINED = (
    "(SELECT MIN(pj.created_at) FROM people pj WHERE pj.village_id = v.id"
    " AND pj.role = 'liaison') AS joined_at"
)


def _scope(column: str, township_id: int | None) -> tuple[str, tuple[Any, ...]]:
    """Return an "AND column = ?" clause for one township, or nothing for the county."""
    if township_id is None:
        return "", ()
    return f" AND {column} = ?", (township_id,)


def _bounds(span: Span, tz: ZoneInfo) -> tuple[str, str]:
    """Return the span's start and end as stored instants."""
    start = datetime.combine(span.start, time(0), tzinfo=tz)
    end = datetime.combine(span.end, time(0), tzinfo=tz)
    return to_db_time(start), to_db_time(end)


async def places(db: Database, township_id: int | None) -> list[dom.Place]:
    """Return the villages of a township (or of the county) with when each joined."""
    where, params = _scope("v.township_id", township_id)
    rows = await db.fetchall(
        "SELECT v.id, v.name, v.township_id, t.name AS township, "
        + JOINED
        + " FROM villages v JOIN townships t ON t.id = v.township_id WHERE 1 = 1"
        + where
        + " ORDER BY t.name, v.id",
        params,
    )
    return [
        dom.Place(r["id"], r["name"], r["township_id"], r["township"], from_db_time(r["joined_at"]))
        for r in rows
    ]


def weeks_of(span: Span, policy: Policy, tz: ZoneInfo, now: datetime) -> list[dom.WeekDue]:
    """Return the span's weeks whose report is already due, with their (holiday-moved) due."""
    return dom.weeks_due(
        span,
        policy.weekly_report.due.weekday,
        lambda week: due_at(week, policy, tz),
        now,
    )


MASK_WEEKS = 62  # weeks one SQLite integer holds as bits (64-bit signed, with room to spare)


async def report_masks(
    db: Database, weeks: list[dom.WeekDue], township_id: int | None
) -> dict[int, tuple[int, int]]:
    """Return {village id: (weeks reported, weeks on time)} as bit masks, bit i = weeks[i].

    Counted in SQL, one row per village: a county quarter is 1,000 rows, not 12,000 reports.
    The reports are unique per village and week, so summing distinct bits is an exact OR.
    """
    if not weeks:
        return {}
    where, params = _scope("township_id", township_id)
    keys = [w.week for w in weeks]
    marks = ", ".join("?" * len(keys))
    if len(keys) > MASK_WEEKS:  # a long typed range: read the reports one by one
        rows = await db.fetchall(
            f"SELECT village_id, week, late FROM weekly_reports WHERE week IN ({marks})" + where,
            (*keys, *params),
        )
        index = {k: i for i, k in enumerate(keys)}
        masks: dict[int, tuple[int, int]] = {}
        for vid, week, late in rows:
            sent, on_time = masks.get(vid, (0, 0))
            bit = 1 << index[week]
            masks[vid] = (sent | bit, on_time if late else on_time | bit)
        return masks
    case = "CASE week " + " ".join(f"WHEN ? THEN {1 << i}" for i in range(len(keys))) + " END"
    rows = await db.fetchall(
        f"SELECT village_id, SUM({case}), SUM(CASE WHEN late THEN 0 ELSE {case} END)"
        f" FROM weekly_reports WHERE week IN ({marks})" + where + " GROUP BY village_id",
        (*keys, *keys, *keys, *params),
    )
    return {r[0]: (r[1], r[2]) for r in rows}


async def excused_weeks(
    db: Database, policy: Policy, tz: ZoneInfo, weeks: list[dom.WeekDue], township_id: int | None
) -> set[tuple[int, str]]:
    """Return the village-weeks excused by approved leave (bot/storage/leave.py decides).

    A week is excused when its due day falls within an approved leave of the village's
    liaison; a report sent anyway still counts as sent (build_overview checks reports first).
    """
    if not weeks:
        return set()
    found = await leave_store.excused_weeks(db, policy, tz, [w.week for w in weeks], township_id)
    return set(found)


async def alert_rows(
    db: Database, span: Span, tz: ZoneInfo, township_id: int | None
) -> list[dom.AlertRow]:
    """Return the alerts raised within the span."""
    start, end = _bounds(span, tz)
    where, params = _scope("township_id", township_id)
    rows = await db.fetchall(
        "SELECT township_id, village_id, category, severity, ack_seconds, escalated,"
        " CASE WHEN state = 'resolved' THEN resolution_level END AS settled"
        " FROM alerts WHERE created_at >= ? AND created_at < ?" + where,
        (start, end, *params),
    )
    return [dom.AlertRow(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6]) for r in rows]


async def submission_rows(
    db: Database, span: Span, tz: ZoneInfo, township_id: int | None
) -> list[dom.SubmissionRow]:
    """Return the submissions first sent within the span, with their local day."""
    start, end = _bounds(span, tz)
    where, params = _scope("township_id", township_id)
    rows = await db.fetchall(
        "SELECT township_id, village_id, kind, state, submitted_at FROM submissions"
        " WHERE submitted_at >= ? AND submitted_at < ?" + where,
        (start, end, *params),
    )
    return [
        dom.SubmissionRow(r[0], r[1], r[2], r[3], _local_day(r[4], tz, span.start)) for r in rows
    ]


def _local_day(text: str | None, tz: ZoneInfo, default: date) -> date:
    # fromisoformat reads the stored "…Z" form, many times faster than strptime.
    return datetime.fromisoformat(text).astimezone(tz).date() if text else default


async def overview(
    db: Database,
    policy: Policy,
    tz: ZoneInfo,
    span: Span,
    now: datetime,
    township_id: int | None,
) -> dom.Overview:
    """Return the figures of one township (or the county) for a period, as of now."""
    weeks = weeks_of(span, policy, tz, now)
    return dom.build_overview(
        span,
        weeks,
        await places(db, township_id),
        await report_masks(db, weeks, township_id),
        await excused_weeks(db, policy, tz, weeks, township_id),
        await alert_rows(db, span, tz, township_id),
        await submission_rows(db, span, tz, township_id),
        list(policy.quotas),
        now.astimezone(tz).date(),
    )


# --- detail rows of the export ------------------------------------------------------------


async def report_details(
    db: Database, weeks: list[dom.WeekDue], township_id: int | None
) -> dict[tuple[int, str], Any]:
    """Return the reports of the weeks with who sent them, by (village id, week)."""
    if not weeks:
        return {}
    where, params = _scope("r.township_id", township_id)
    rows = await db.fetchall(
        "SELECT r.village_id, r.week, r.late, r.submitted_at, r.patrol_date, r.places,"
        " r.visited, r.outcome, r.findings, r.unstable, r.follow_up, r.dispute,"
        " p.name AS person, p.phone FROM weekly_reports r JOIN people p ON p.id = r.person_id"
        " WHERE r.week >= ? AND r.week <= ?" + where,
        (weeks[0].week, weeks[-1].week, *params),
    )
    return {(r["village_id"], r["week"]): r for r in rows}


async def liaison_contacts(
    db: Database, township_id: int | None
) -> dict[int, list[tuple[str, str | None]]]:
    """Return each village's active liaisons (name, phone)."""
    where, params = _scope("township_id", township_id)
    rows = await db.fetchall(
        "SELECT village_id, name, phone FROM people WHERE active = 1 AND role = 'liaison'"
        " AND village_id IS NOT NULL" + where + " ORDER BY name, id",
        params,
    )
    found: dict[int, list[tuple[str, str | None]]] = {}
    for r in rows:
        found.setdefault(r[0], []).append((r[1], r[2]))
    return found


async def alert_details(
    db: Database, span: Span, tz: ZoneInfo, township_id: int | None
) -> list[Any]:
    """Return the alerts raised within the span with the names of the people involved."""
    start, end = _bounds(span, tz)
    where, params = _scope("a.township_id", township_id)
    return await db.fetchall(
        "SELECT a.id, t.name AS township, v.name AS village, a.category, a.severity,"
        " a.people_count, a.place_text, a.description, a.state, a.level, a.escalated,"
        " a.created_at, a.acknowledged_at, a.ack_seconds, a.resolved_at, a.resolution_level,"
        " a.resolution_note, p.name AS liaison, p.phone AS liaison_phone,"
        " ack.name AS acknowledger, res.name AS resolver"
        " FROM alerts a JOIN townships t ON t.id = a.township_id"
        " JOIN villages v ON v.id = a.village_id JOIN people p ON p.id = a.person_id"
        " LEFT JOIN people ack ON ack.id = a.acknowledged_by"
        " LEFT JOIN people res ON res.id = a.resolved_by"
        " WHERE a.created_at >= ? AND a.created_at < ?" + where + " ORDER BY a.created_at, a.id",
        (start, end, *params),
    )


async def submission_details(
    db: Database, span: Span, tz: ZoneInfo, township_id: int | None
) -> list[Any]:
    """Return the submissions first sent within the span with sender and reviewer."""
    start, end = _bounds(span, tz)
    where, params = _scope("s.township_id", township_id)
    return await db.fetchall(
        "SELECT s.id, t.name AS township, v.name AS village, s.kind, s.title, s.state,"
        " s.version, s.submitted_at, s.reviewed_at, p.name AS person, p.phone,"
        " r.name AS reviewer FROM submissions s JOIN townships t ON t.id = s.township_id"
        " LEFT JOIN villages v ON v.id = s.village_id JOIN people p ON p.id = s.person_id"
        " LEFT JOIN people r ON r.id = s.reviewed_by"
        " WHERE s.submitted_at >= ? AND s.submitted_at < ?"
        + where
        + " ORDER BY s.submitted_at, s.id",
        (start, end, *params),
    )


# --- the export audit ----------------------------------------------------------------------


@dataclass(frozen=True)
class ExportRecord:
    person_id: int | None  # None: from the command line
    via: str  # "bot" | "cli"
    township_id: int | None  # None: every township
    span: Span
    fmt: str
    rows: int


async def record_export(tx: Tx, now: datetime, record: ExportRecord) -> int:
    """Write one export to the audit table; return its id."""
    return await tx.execute(
        "INSERT INTO export_audit (at, person_id, via, township_id, period_start, period_end,"
        " format, rows) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            to_db_time(now),
            record.person_id,
            record.via,
            record.township_id,
            record.span.start.isoformat(),
            (record.span.end - timedelta(days=1)).isoformat(),
            record.fmt,
            record.rows,
        ),
    )


async def township_by_name(db: Database, name: str) -> int | None:
    """Return a township's id by its name."""
    township_id: int | None = await db.fetchval("SELECT id FROM townships WHERE name = ?", (name,))
    return township_id
