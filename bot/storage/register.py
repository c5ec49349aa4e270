"""The register's repository: import, export, search, visits and proposed changes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from bot.domain.register import RegisterRow
from bot.domain.roster import RosterError
from bot.storage.db import Database, Tx, to_db_time


class RegisterImportError(Exception):
    """The file refers to places that are not on the roster; nothing was imported."""

    def __init__(self, errors: Sequence[RosterError]) -> None:
        super().__init__(f"{len(errors)} problem(s)")
        self.errors = list(errors)


@dataclass(frozen=True)
class Entry:
    """One register entry with where it belongs."""

    id: int
    township_id: int
    township: str
    village_id: int
    village: str
    category: str
    name: str
    fields: dict[str, str]
    closed_at: str | None
    close_reason: str | None

    @property
    def is_open(self) -> bool:
        """True while the entry is on the register (not closed)."""
        return self.closed_at is None


@dataclass(frozen=True)
class ImportCounts:
    """What an import changed."""

    added: int
    updated: int
    closed: int
    unchanged: int


def search_text(name: str, fields: dict[str, str]) -> str:
    """Return the lower-case text a search matches against."""
    return " ".join([name, *fields.values()]).lower()


_ENTRY_SELECT = (
    "SELECT e.id, e.township_id, t.name AS township, e.village_id, v.name AS village,"
    " e.category, e.name, e.fields, e.closed_at, e.close_reason"
    " FROM register_entries e JOIN villages v ON v.id = e.village_id"
    " JOIN townships t ON t.id = e.township_id"
)


def _entry(row: Any) -> Entry:
    return Entry(
        id=row["id"],
        township_id=row["township_id"],
        township=row["township"],
        village_id=row["village_id"],
        village=row["village"],
        category=row["category"],
        name=row["name"],
        fields=json.loads(row["fields"]),
        closed_at=row["closed_at"],
        close_reason=row["close_reason"],
    )


async def _villages(tx: Tx) -> dict[tuple[str, str], tuple[int, int]]:
    rows = await tx.fetchall(
        "SELECT t.name AS township, v.name AS village, t.id AS tid, v.id AS vid"
        " FROM villages v JOIN townships t ON t.id = v.township_id"
    )
    return {(r["township"], r["village"]): (r["tid"], r["vid"]) for r in rows}


async def import_register(db: Database, rows: Sequence[RegisterRow], now: datetime) -> ImportCounts:
    """Store every row in one transaction, or nothing (unknown villages are listed).

    An entry is identified by village, category and name: re-importing the same file changes
    nothing; a changed field updates the entry; a row marked closed closes it. Entries missing
    from the file stay as they are (a register is never emptied by a partial file).
    """
    stamp = to_db_time(now)
    added = updated = closed = unchanged = 0
    async with db.transaction() as tx:
        places = await _villages(tx)
        missing = [
            RosterError(r.line, f"[{r.sheet}] {r.township} {r.village} is not on the roster")
            for r in rows
            if (r.township, r.village) not in places
        ]
        if missing:
            raise RegisterImportError(missing)
        existing = {
            (r["village_id"], r["category"], r["name"]): r
            for r in await tx.fetchall(
                "SELECT id, village_id, category, name, fields, closed_at, close_reason"
                " FROM register_entries"
            )
        }
        inserts: list[tuple[Any, ...]] = []
        for r in rows:
            tid, vid = places[(r.township, r.village)]
            fields_json = json.dumps(r.fields, ensure_ascii=False, sort_keys=True)
            old = existing.get((vid, r.category, r.name))
            if old is None:
                closed_at = stamp if r.state == "closed" else None
                inserts.append(
                    (
                        tid,
                        vid,
                        r.category,
                        r.name,
                        fields_json,
                        search_text(r.name, r.fields),
                        stamp,
                        stamp,
                        closed_at,
                        r.close_reason,
                    )
                )
                added += 1
                continue
            changed = False
            if old["fields"] != fields_json:
                await tx.execute(
                    "UPDATE register_entries SET fields = ?, search_text = ?, updated_at = ?"
                    " WHERE id = ?",
                    (fields_json, search_text(r.name, r.fields), stamp, old["id"]),
                )
                changed = True
            if r.state == "closed" and old["closed_at"] is None:
                await _close(tx, old["id"], r.close_reason or "", stamp)
                closed += 1
            elif r.state == "open" and old["closed_at"] is not None:
                await tx.execute(
                    "UPDATE register_entries SET closed_at = NULL, close_reason = NULL,"
                    " updated_at = ? WHERE id = ?",
                    (stamp, old["id"]),
                )
                changed = True
            if changed:
                updated += 1
            elif not (r.state == "closed" and old["closed_at"] is None):
                unchanged += 1
        await tx.executemany(
            "INSERT INTO register_entries (township_id, village_id, category, name, fields,"
            " search_text, created_at, updated_at, closed_at, close_reason)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            inserts,
        )
    return ImportCounts(added, updated, closed, unchanged)


async def _close(tx: Tx, entry_id: int, reason: str, stamp: str) -> None:
    await tx.execute(
        "UPDATE register_entries SET closed_at = ?, close_reason = ?, updated_at = ?"
        " WHERE id = ? AND closed_at IS NULL",
        (stamp, reason, stamp, entry_id),
    )


async def all_entries(db: Database, township_id: int | None = None) -> list[Entry]:
    """Return every entry (open and closed) in township, village, category, name order."""
    where, params = (
        ("", ()) if township_id is None else (" WHERE e.township_id = ?", (township_id,))
    )
    rows = await db.fetchall(
        _ENTRY_SELECT + where + " ORDER BY t.name, v.name, e.category, e.name", params
    )
    return [_entry(r) for r in rows]


async def entry(db: Database, entry_id: int) -> Entry | None:
    """Return one entry, or None."""
    row = await db.fetchone(_ENTRY_SELECT + " WHERE e.id = ?", (entry_id,))
    return _entry(row) if row else None


async def village_entries(db: Database, village_id: int, *, open_only: bool = True) -> list[Entry]:
    """Return a village's entries by category and name."""
    cond = " AND e.closed_at IS NULL" if open_only else ""
    rows = await db.fetchall(
        _ENTRY_SELECT + " WHERE e.village_id = ?" + cond + " ORDER BY e.category, e.name",
        (village_id,),
    )
    return [_entry(r) for r in rows]


async def search(
    db: Database,
    text: str,
    *,
    township_id: int | None,
    category: str | None = None,
    limit: int = 20,
) -> tuple[list[Entry], int]:
    """Return up to `limit` entries matching text (name, phone, field or village) in scope,
    and how many matched in all. township_id None means the whole county."""
    needle = f"%{text.strip().lower()}%"
    where = ["(e.search_text LIKE ? OR v.name LIKE ?)"]
    params: list[Any] = [needle, needle]
    if township_id is not None:
        where.append("e.township_id = ?")
        params.append(township_id)
    if category is not None:
        where.append("e.category = ?")
        params.append(category)
    cond = " WHERE " + " AND ".join(where)
    # One scan: the window count is taken over every match before LIMIT cuts the rows.
    rows = await db.fetchall(
        _ENTRY_SELECT.replace("SELECT ", "SELECT count(*) OVER () AS total, ", 1)
        + cond
        + " ORDER BY e.closed_at IS NOT NULL, e.name LIMIT ?",
        [*params, limit],
    )
    total = rows[0]["total"] if rows else 0
    return [_entry(r) for r in rows], int(total or 0)


async def record_visits(
    tx: Tx,
    entry_ids: Sequence[int],
    *,
    village_id: int,
    report_id: int | None,
    person_id: int | None,
    week: str | None,
    visited_on: date,
    now: datetime,
    kind: str = "patrol",
    note: str | None = None,
) -> int:
    """Record visits to entries of one village (others are ignored); return how many."""
    if not entry_ids:
        return 0
    marks = ",".join("?" * len(entry_ids))
    valid = [
        r[0]
        for r in await tx.fetchall(
            f"SELECT id FROM register_entries WHERE village_id = ? AND id IN ({marks})",
            (village_id, *entry_ids),
        )
    ]
    if report_id is not None:
        # An edited report replaces its visits.
        await tx.execute("DELETE FROM register_visits WHERE report_id = ?", (report_id,))
    await tx.executemany(
        "INSERT INTO register_visits (entry_id, report_id, person_id, week, visited_on, kind,"
        " note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (eid, report_id, person_id, week, visited_on.isoformat(), kind, note, to_db_time(now))
            for eid in valid
        ],
    )
    return len(valid)


async def visits(db: Database, entry_id: int, limit: int = 5) -> list[dict[str, Any]]:
    """Return an entry's latest visits (date, kind, note, who)."""
    rows = await db.fetchall(
        "SELECT rv.visited_on, rv.kind, rv.note, p.name AS who FROM register_visits rv"
        " LEFT JOIN people p ON p.id = rv.person_id WHERE rv.entry_id = ?"
        " ORDER BY rv.visited_on DESC, rv.id DESC LIMIT ?",
        (entry_id, limit),
    )
    return [dict(r) for r in rows]


async def last_visits(db: Database, village_id: int) -> dict[int, str]:
    """Return {entry id: date of its last visit} for a village's entries."""
    rows = await db.fetchall(
        "SELECT rv.entry_id, max(rv.visited_on) FROM register_visits rv"
        " JOIN register_entries e ON e.id = rv.entry_id WHERE e.village_id = ?"
        " GROUP BY rv.entry_id",
        (village_id,),
    )
    return {r[0]: r[1] for r in rows}


async def report_visits(db: Database | Tx, report_id: int) -> list[int]:
    """Return the entry ids a report visited."""
    rows = await db.fetchall(
        "SELECT entry_id FROM register_visits WHERE report_id = ? ORDER BY entry_id", (report_id,)
    )
    return [r[0] for r in rows]


async def propose(
    tx: Tx,
    *,
    kind: str,
    township_id: int,
    village_id: int,
    entry_id: int | None,
    payload: dict[str, Any],
    person_id: int,
    now: datetime,
) -> int:
    """Store a liaison's proposed change (pending); return its id."""
    return await tx.execute(
        "INSERT INTO register_changes (entry_id, township_id, village_id, kind, payload,"
        " proposed_by, proposed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            entry_id,
            township_id,
            village_id,
            kind,
            json.dumps(payload, ensure_ascii=False),
            person_id,
            to_db_time(now),
        ),
    )


async def change(db: Database, change_id: int) -> dict[str, Any] | None:
    """Return one proposed change with its payload decoded."""
    row = await db.fetchone("SELECT * FROM register_changes WHERE id = ?", (change_id,))
    if row is None:
        return None
    out = dict(row)
    out["payload"] = json.loads(out["payload"])
    return out


async def pending_changes(db: Database, township_id: int) -> list[dict[str, Any]]:
    """Return a township's pending changes, oldest first."""
    rows = await db.fetchall(
        "SELECT * FROM register_changes WHERE township_id = ? AND state = 'pending' ORDER BY id",
        (township_id,),
    )
    return [{**dict(r), "payload": json.loads(r["payload"])} for r in rows]


async def decide(tx: Tx, change_id: int, *, confirm: bool, person_id: int, now: datetime) -> bool:
    """Confirm (apply) or reject a pending change; False when it was already decided."""
    row = await tx.fetchone(
        "SELECT * FROM register_changes WHERE id = ? AND state = 'pending'", (change_id,)
    )
    if row is None:
        return False
    stamp = to_db_time(now)
    await tx.execute(
        "UPDATE register_changes SET state = ?, decided_by = ?, decided_at = ? WHERE id = ?",
        ("confirmed" if confirm else "rejected", person_id, stamp, change_id),
    )
    if not confirm:
        return True
    payload = json.loads(row["payload"])
    if row["kind"] == "add":
        fields = payload.get("fields", {})
        await tx.execute(
            "INSERT INTO register_entries (township_id, village_id, category, name, fields,"
            " search_text, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (village_id, category, name) DO UPDATE SET closed_at = NULL,"
            " close_reason = NULL, fields = excluded.fields, updated_at = excluded.updated_at",
            (
                row["township_id"],
                row["village_id"],
                payload["category"],
                payload["name"],
                json.dumps(fields, ensure_ascii=False, sort_keys=True),
                search_text(payload["name"], fields),
                stamp,
                stamp,
            ),
        )
    elif row["kind"] == "correct":
        current = await tx.fetchone(
            "SELECT name, fields FROM register_entries WHERE id = ?", (row["entry_id"],)
        )
        if current is not None:
            fields = json.loads(current["fields"])
            name = current["name"]
            if payload["field"] == "name":
                name = payload["value"]
            else:
                fields[payload["field"]] = payload["value"]
            await tx.execute(
                "UPDATE register_entries SET name = ?, fields = ?, search_text = ?,"
                " updated_at = ? WHERE id = ?",
                (
                    name,
                    json.dumps(fields, ensure_ascii=False, sort_keys=True),
                    search_text(name, fields),
                    stamp,
                    row["entry_id"],
                ),
            )
    elif row["kind"] == "close":
        await _close(tx, row["entry_id"], payload.get("reason", ""), stamp)
    return True


async def audit(
    db: Database,
    *,
    person_id: int | None,
    action: str,
    query: str | None,
    results: int,
    now: datetime,
) -> None:
    """Record an officer's search, open or export of the register."""
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO register_audit (at, person_id, action, query, results)"
            " VALUES (?, ?, ?, ?, ?)",
            (to_db_time(now), person_id, action, query, results),
        )


@dataclass(frozen=True)
class DueEntry:
    """An open entry past its visit rhythm."""

    id: int
    village_id: int
    category: str
    name: str
    last_visit: date | None


async def past_rhythm(
    db: Database | Tx,
    today: date,
    rhythms: dict[str, int],
    *,
    village_id: int | None = None,
    township_id: int | None = None,
) -> list[DueEntry]:
    """Return open entries not visited within their category's rhythm (weeks), longest
    unvisited first; for one village, one township, or everywhere."""
    found: list[DueEntry] = []
    for category, weeks in rhythms.items():
        cutoff = (today - timedelta(days=7 * weeks)).isoformat()
        where = ["e.category = ?", "e.closed_at IS NULL"]
        params: list[Any] = [category]
        if village_id is not None:
            where.append("e.village_id = ?")
            params.append(village_id)
        if township_id is not None:
            where.append("e.township_id = ?")
            params.append(township_id)
        rows = await db.fetchall(
            "SELECT e.id, e.village_id, e.name, max(rv.visited_on) AS last FROM register_entries e"
            " LEFT JOIN register_visits rv ON rv.entry_id = e.id WHERE "
            + " AND ".join(where)
            + " GROUP BY e.id HAVING last IS NULL OR last <= ?",
            (*params, cutoff),
        )
        found.extend(
            DueEntry(
                r["id"],
                r["village_id"],
                category,
                r["name"],
                date.fromisoformat(r["last"]) if r["last"] else None,
            )
            for r in rows
        )
    found.sort(key=lambda e: (e.last_visit or date.min, e.name))
    return found


async def period_visits(
    db: Database, start: date, end: date, township_id: int | None
) -> dict[int, tuple[int, str]]:
    """Return {entry id: (visits in [start, end), last visit date)} for a scope."""
    cond, params = "", [start.isoformat(), end.isoformat()]
    if township_id is not None:
        cond = " AND e.township_id = ?"
        params.append(str(township_id))
    rows = await db.fetchall(
        "SELECT rv.entry_id, count(*), max(rv.visited_on) FROM register_visits rv"
        " JOIN register_entries e ON e.id = rv.entry_id"
        " WHERE rv.visited_on >= ? AND rv.visited_on < ?" + cond + " GROUP BY rv.entry_id",
        params,
    )
    return {r[0]: (r[1], r[2]) for r in rows}
