"""Reports with findings: who read them, the follow-up recorded, and what is still open."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.report import Report
from bot.storage.db import Database, Tx, from_db_time, to_db_time
from bot.storage.reports import get_report


@dataclass(frozen=True)
class Mark:
    """Someone's mark on a report: read, or followed up (with a note)."""

    name: str
    role: str
    at: datetime
    note: str = ""


async def mark_read(tx: Tx, report_id: int, person_id: int, now: datetime) -> bool:
    """Record that a person read a report; False if they already had."""
    return (
        await tx.changes(
            "INSERT OR IGNORE INTO report_reads (report_id, person_id, at) VALUES (?, ?, ?)",
            (report_id, person_id, to_db_time(now)),
        )
        == 1
    )


async def reads(src: Database | Tx, report_id: int) -> list[Mark]:
    """Return who read a report, first reader first."""
    rows = await src.fetchall(
        "SELECT p.name, p.role, r.at FROM report_reads r JOIN people p ON p.id = r.person_id"
        " WHERE r.report_id = ? ORDER BY r.at, p.id",
        (report_id,),
    )
    return [Mark(r[0], r[1], from_db_time(r[2])) for r in rows]


async def mark_followed_up(
    tx: Tx, report_id: int, person_id: int, now: datetime, note: str
) -> bool:
    """Record the follow-up of a report; False if someone already did."""
    return (
        await tx.changes(
            "INSERT OR IGNORE INTO report_followups (report_id, person_id, at, note)"
            " VALUES (?, ?, ?, ?)",
            (report_id, person_id, to_db_time(now), note),
        )
        == 1
    )


async def followup(src: Database | Tx, report_id: int) -> Mark | None:
    """Return the follow-up recorded for a report, if any."""
    row = await src.fetchone(
        "SELECT p.name, p.role, f.at, f.note FROM report_followups f"
        " JOIN people p ON p.id = f.person_id WHERE f.report_id = ?",
        (report_id,),
    )
    return Mark(row[0], row[1], from_db_time(row[2]), row[3]) if row else None


async def open_followups(src: Database | Tx, township_id: int | None) -> list[Report]:
    """Return reports asking for follow-up that nobody has followed up yet, oldest first."""
    scope = "" if township_id is None else " AND r.township_id = ?"
    rows = await src.fetchall(
        "SELECT r.id FROM weekly_reports r WHERE r.outcome = 'issues' AND r.follow_up = 1"
        " AND NOT EXISTS (SELECT 1 FROM report_followups f WHERE f.report_id = r.id)"
        + scope
        + " ORDER BY r.submitted_at, r.id",
        () if township_id is None else (township_id,),
    )
    found = [await get_report(src, r[0]) for r in rows]
    return [r for r in found if r is not None]
