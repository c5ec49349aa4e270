"""Weekly patrol reports: store, edit with history, and who has reported which week."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.domain.people import Person
from bot.domain.report import Outcome, Report, ReportForm, snapshot
from bot.storage import attachments as files
from bot.storage.attachments import Attachment
from bot.storage.db import Database, Row, Tx, from_db_time, to_db_time
from bot.storage.people import PERSON_COLUMNS, person_from_row

_SELECT = """
SELECT r.*, v.name AS village, t.name AS township, p.name AS person
FROM weekly_reports r
JOIN villages v ON v.id = r.village_id
JOIN townships t ON t.id = r.township_id
JOIN people p ON p.id = r.person_id
"""


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _report(row: Row) -> Report:
    submitted = from_db_time(row["submitted_at"])
    updated = from_db_time(row["updated_at"])
    assert submitted is not None and updated is not None
    return Report(
        id=row["id"],
        village_id=row["village_id"],
        township_id=row["township_id"],
        week=row["week"],
        person_id=row["person_id"],
        patrol_date=date.fromisoformat(row["patrol_date"]),
        places=json.loads(row["places"]),
        visited=row["visited"],
        outcome=Outcome(row["outcome"]),
        findings=row["findings"],
        unstable=_bool(row["unstable"]),
        follow_up=_bool(row["follow_up"]),
        dispute=bool(row["dispute"]),
        alert_id=row["alert_id"],
        late=bool(row["late"]),
        submitted_at=submitted,
        updated_at=updated,
        version=row["version"],
        village=row["village"],
        township=row["township"],
        person=row["person"],
    )


@dataclass(frozen=True)
class VillageWeek:
    """One village's report state for one week."""

    village_id: int
    village: str
    township_id: int
    township: str
    report_id: int | None
    late: bool
    submitted_at: datetime | None
    liaisons: list[Person]  # active liaisons of the village
    joined_at: datetime | None = None  # when its first liaison was put on the roster


JOINED = (
    "(SELECT MIN(pj.created_at) FROM people pj WHERE pj.village_id = v.id"
    " AND pj.role = 'liaison') AS joined_at"
)


async def week_status(
    db: Database | Tx, week: str, township_id: int | None = None, due: datetime | None = None
) -> list[VillageWeek]:
    """Return every village (of one township, or all) with its report state for a week.

    With `due` (the week's deadline), a village that joined the network after it is left out:
    it owes nothing for that week. Ordered by township name, then village id.
    """
    sql = (
        "SELECT v.id AS village_id, v.name AS village, v.township_id, t.name AS township,"
        f" r.id AS report_id, r.late, r.submitted_at, {JOINED}"
        " FROM villages v JOIN townships t ON t.id = v.township_id"
        " LEFT JOIN weekly_reports r ON r.village_id = v.id AND r.week = ?"
    )
    params: list[Any] = [week]
    if township_id is not None:
        sql += " WHERE v.township_id = ?"
        params.append(township_id)
    rows = await db.fetchall(sql + " ORDER BY t.name, v.id", params)
    liaison_sql = (
        f"SELECT {PERSON_COLUMNS}"
        " FROM people p LEFT JOIN townships t ON t.id = p.township_id"
        " LEFT JOIN villages v ON v.id = p.village_id"
        " WHERE p.active = 1 AND p.role = 'liaison' AND p.village_id IS NOT NULL"
    )
    lparams: list[Any] = []
    if township_id is not None:
        liaison_sql += " AND p.township_id = ?"
        lparams.append(township_id)
    by_village: dict[int, list[Person]] = {}
    for r in await db.fetchall(liaison_sql + " ORDER BY p.name, p.id", lparams):
        by_village.setdefault(r["village_id"], []).append(person_from_row(r))
    return [
        VillageWeek(
            village_id=r["village_id"],
            village=r["village"],
            township_id=r["township_id"],
            township=r["township"],
            report_id=r["report_id"],
            late=bool(r["late"]) if r["report_id"] is not None else False,
            submitted_at=from_db_time(r["submitted_at"]),
            liaisons=by_village.get(r["village_id"], []),
            joined_at=from_db_time(r["joined_at"]),
        )
        for r in rows
        if due is None or owes(from_db_time(r["joined_at"]), due)
    ]


def owes(joined_at: datetime | None, due: datetime) -> bool:
    """Return whether a village that joined at `joined_at` owes a report due at `due`."""
    return joined_at is None or joined_at <= due


async def get_report(db: Database | Tx, report_id: int) -> Report | None:
    """Return one report with its village, township and submitter names."""
    row = await db.fetchone(_SELECT + " WHERE r.id = ?", (report_id,))
    return _report(row) if row else None


async def report_for(db: Database | Tx, village_id: int, week: str) -> Report | None:
    """Return a village's report of a week, if any."""
    row = await db.fetchone(_SELECT + " WHERE r.village_id = ? AND r.week = ?", (village_id, week))
    return _report(row) if row else None


async def latest_before(db: Database | Tx, village_id: int, week: str) -> Report | None:
    """Return the village's most recent report of a week before `week`."""
    row = await db.fetchone(
        _SELECT + " WHERE r.village_id = ? AND r.week < ? ORDER BY r.week DESC LIMIT 1",
        (village_id, week),
    )
    return _report(row) if row else None


async def village_reports(db: Database, village_id: int, since_week: str) -> dict[str, Report]:
    """Return a village's reports from `since_week` on, by week."""
    rows = await db.fetchall(
        _SELECT + " WHERE r.village_id = ? AND r.week >= ? ORDER BY r.week DESC",
        (village_id, since_week),
    )
    return {r["week"]: _report(r) for r in rows}


async def attachments(db: Database | Tx, report_id: int) -> list[Attachment]:
    """Return the files and locations attached to a report."""
    return await files.of(db, "report", report_id)


async def _replace_attachments(
    tx: Tx, report_id: int, items: list[Attachment], now: datetime
) -> None:
    await files.remove(tx, "report", report_id)
    await files.add(tx, now, "report", report_id, items)


def _fields(form: ReportForm) -> tuple[Any, ...]:
    def opt(v: bool | None) -> int | None:
        return None if v is None else int(v)

    return (
        form.patrol_date.isoformat(),
        json.dumps(form.places),
        form.visited,
        form.outcome.value,
        form.findings,
        opt(form.unstable),
        opt(form.follow_up),
        int(form.dispute),
    )


async def _history(
    tx: Tx, report_id: int, version: int, person_id: int, now: datetime, form: ReportForm
) -> None:
    await tx.execute(
        "INSERT OR IGNORE INTO weekly_report_history (report_id, version, person_id, at, snapshot)"
        " VALUES (?, ?, ?, ?, ?)",
        (
            report_id,
            version,
            person_id,
            to_db_time(now),
            json.dumps(snapshot(form), ensure_ascii=False),
        ),
    )


async def create_report(
    tx: Tx, *, person: Person, form: ReportForm, late: bool, now: datetime, files: list[Attachment]
) -> tuple[int, bool]:
    """Store a new report; return (id, created). An existing one for the week is kept."""
    assert person.village_id is not None and person.township_id is not None
    existing = await tx.fetchval(
        "SELECT id FROM weekly_reports WHERE village_id = ? AND week = ?",
        (person.village_id, form.week),
    )
    if existing is not None:
        return existing, False
    at = to_db_time(now)
    report_id = await tx.execute(
        "INSERT INTO weekly_reports (village_id, township_id, week, person_id, patrol_date,"
        " places, visited, outcome, findings, unstable, follow_up, dispute, late, submitted_at,"
        " updated_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
        (
            person.village_id,
            person.township_id,
            form.week,
            person.id,
            *_fields(form),
            int(late),
            at,
            at,
        ),
    )
    await _history(tx, report_id, 1, person.id, now, form)
    await _replace_attachments(tx, report_id, files, now)
    return report_id, True


async def update_report(
    tx: Tx,
    *,
    report_id: int,
    base_version: int,
    person: Person,
    form: ReportForm,
    now: datetime,
    files: list[Attachment],
) -> bool:
    """Apply an edit made on top of `base_version`; False if that version was already edited."""
    changed = await tx.changes(
        "UPDATE weekly_reports SET patrol_date = ?, places = ?, visited = ?, outcome = ?,"
        " findings = ?, unstable = ?, follow_up = ?, dispute = ?, updated_at = ?,"
        " version = version + 1 WHERE id = ? AND version = ?",
        (*_fields(form), to_db_time(now), report_id, base_version),
    )
    if changed != 1:
        return False
    await _history(tx, report_id, base_version + 1, person.id, now, form)
    await _replace_attachments(tx, report_id, files, now)
    return True


async def withdraw_report(tx: Tx, report_id: int, person_id: int, now: datetime) -> bool:
    """Remove a report (kept in weekly_report_withdrawals); False if it is gone or has an alert."""
    row = await tx.fetchone(
        "SELECT * FROM weekly_reports WHERE id = ? AND alert_id IS NULL", (report_id,)
    )
    if row is None:
        return False
    await tx.execute(
        "INSERT INTO weekly_report_withdrawals (report_id, village_id, week, person_id, at,"
        " snapshot) VALUES (?, ?, ?, ?, ?, ?)",
        (
            report_id,
            row["village_id"],
            row["week"],
            person_id,
            to_db_time(now),
            json.dumps(dict(row), ensure_ascii=False),
        ),
    )
    await files.remove(tx, "report", report_id)
    await tx.execute("DELETE FROM weekly_report_history WHERE report_id = ?", (report_id,))
    await tx.execute("DELETE FROM weekly_reports WHERE id = ?", (report_id,))
    return True


async def history(
    db: Database | Tx, report_id: int
) -> list[tuple[int, int, datetime, dict[str, Any]]]:
    """Return (version, person_id, at, snapshot) of every version of a report."""
    rows = await db.fetchall(
        "SELECT version, person_id, at, snapshot FROM weekly_report_history"
        " WHERE report_id = ? ORDER BY version",
        (report_id,),
    )
    return [
        (r["version"], r["person_id"], from_db_time(r["at"]), json.loads(r["snapshot"]))
        for r in rows
    ]


async def village_joined(db: Database, village_id: int) -> datetime | None:
    """Return when the village's first liaison was put on the roster."""
    first: str | None = await db.fetchval(
        "SELECT MIN(created_at) FROM people WHERE village_id = ? AND role = 'liaison'",
        (village_id,),
    )
    return from_db_time(first)
