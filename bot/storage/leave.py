"""Leave of liaisons: store, decide, and ask who is away and which weeks are excused.

`excused_weeks` is the one question every rate asks (digest, /stats, /overdue, exports):
which (village, week) pairs count as excused rather than missing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.config import Policy
from bot.domain import leave as dom
from bot.domain.calendar import due_at
from bot.domain.leave import Leave, LeaveState
from bot.domain.people import Person, Role
from bot.storage.db import Database, Row, Tx, to_db_time

_SELECT = """
SELECT l.*, p.name AS person, v.name AS village, s.name AS substitute
FROM leaves l
JOIN people p ON p.id = l.person_id
LEFT JOIN villages v ON v.id = l.village_id
LEFT JOIN people s ON s.id = l.substitute_id
"""

Src = Database | Tx


def _leave(row: Row) -> Leave:
    return Leave(
        id=row["id"],
        person_id=row["person_id"],
        township_id=row["township_id"],
        village_id=row["village_id"],
        start=date.fromisoformat(row["start_date"]),
        end=date.fromisoformat(row["end_date"]),
        reason=row["reason"],
        substitute_id=row["substitute_id"],
        state=LeaveState(row["state"]),
        requested_by=row["requested_by"],
        person=row["person"],
        village=row["village"] or "",
        substitute=row["substitute"],
    )


async def create_leave(
    tx: Tx,
    *,
    person_id: int,
    township_id: int,
    village_id: int | None,
    start: date,
    end: date,
    reason: str | None,
    substitute_id: int | None,
    requested_by: int,
    now: datetime,
    approved: bool,
) -> int:
    """Store a leave: pending (asked by the liaison) or approved (put by a commissioner)."""
    at = to_db_time(now)
    return await tx.execute(
        "INSERT INTO leaves (person_id, township_id, village_id, start_date, end_date, reason,"
        " substitute_id, state, requested_by, requested_at, decided_by, decided_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            person_id,
            township_id,
            village_id,
            start.isoformat(),
            end.isoformat(),
            reason,
            substitute_id,
            "approved" if approved else "pending",
            requested_by,
            at,
            requested_by if approved else None,
            at if approved else None,
        ),
    )


async def get_leave(src: Src, leave_id: int) -> Leave | None:
    """Return one leave."""
    row = await src.fetchone(_SELECT + " WHERE l.id = ?", (leave_id,))
    return _leave(row) if row else None


async def decide(tx: Tx, leave_id: int, state: LeaveState, by: int, now: datetime) -> bool:
    """Approve or decline a pending leave; False when it was no longer pending."""
    return (
        await tx.changes(
            "UPDATE leaves SET state = ?, decided_by = ?, decided_at = ?"
            " WHERE id = ? AND state = 'pending'",
            (state.value, by, to_db_time(now), leave_id),
        )
        == 1
    )


async def cancel(tx: Tx, leave_id: int, by: int, now: datetime) -> bool:
    """Withdraw a pending or approved leave."""
    return (
        await tx.changes(
            "UPDATE leaves SET state = 'cancelled', decided_by = ?, decided_at = ?"
            " WHERE id = ? AND state IN ('pending', 'approved')",
            (by, to_db_time(now), leave_id),
        )
        == 1
    )


async def current_leaves(
    src: Src, today: date, *, person_id: int | None = None, township_id: int | None = None
) -> list[Leave]:
    """Return pending and approved leaves not yet over, of one person or one township."""
    sql = _SELECT + " WHERE l.state IN ('pending', 'approved') AND l.end_date >= ?"
    params: list[object] = [today.isoformat()]
    if person_id is not None:
        sql += " AND l.person_id = ?"
        params.append(person_id)
    if township_id is not None:
        sql += " AND l.township_id = ?"
        params.append(township_id)
    rows = await src.fetchall(sql + " ORDER BY l.start_date, l.id", params)
    return [_leave(r) for r in rows]


async def approved_between(
    src: Src, first: date, last: date, township_id: int | None = None
) -> list[Leave]:
    """Return approved leaves of active people overlapping the days first..last."""
    sql = (
        _SELECT + " WHERE l.state = 'approved' AND p.active = 1"
        " AND l.start_date <= ? AND l.end_date >= ?"
    )
    params: list[object] = [last.isoformat(), first.isoformat()]
    if township_id is not None:
        sql += " AND l.township_id = ?"
        params.append(township_id)
    return [_leave(r) for r in await src.fetchall(sql + " ORDER BY l.id", params)]


async def on_leave(src: Src, day: date) -> dict[int, Leave]:
    """Return {person id: leave} of everyone on approved leave on a local day."""
    return dom.on_leave(await approved_between(src, day, day), day)


async def not_on_leave(
    src: Src, people: list[Person], when: datetime, tz: ZoneInfo
) -> list[Person]:
    """Return the people who are not on approved leave on the local day of `when`."""
    away = await on_leave(src, when.astimezone(tz).date())
    return [p for p in people if p.id not in away]


async def _liaisons_by_village(src: Src, township_id: int | None) -> dict[int, list[int]]:
    sql = "SELECT id, village_id FROM people WHERE active = 1 AND role = 'liaison'"
    sql += " AND village_id IS NOT NULL"
    params: list[object] = []
    if township_id is not None:
        sql += " AND township_id = ?"
        params.append(township_id)
    found: dict[int, list[int]] = {}
    for r in await src.fetchall(sql, params):
        found.setdefault(r["village_id"], []).append(r["id"])
    return found


async def excused_on(src: Src, day: date, township_id: int | None = None) -> dict[int, Leave]:
    """Return {village id: leave} of villages whose every liaison is on leave on a day."""
    leaves = await approved_between(src, day, day, township_id)
    if not leaves:
        return {}
    return dom.excused_villages(leaves, await _liaisons_by_village(src, township_id), day)


async def excused_weeks(
    src: Src,
    policy: Policy,
    tz: ZoneInfo,
    weeks: list[str],
    township_id: int | None = None,
) -> dict[tuple[int, str], Leave]:
    """Return {(village id, week): leave} for weeks whose due day the village was on leave.

    A week is excused when its report is missing and this says so; a report filed anyway
    (by the liaison or a substitute) counts as reported: callers check reports first.
    """
    found: dict[tuple[int, str], Leave] = {}
    for week in weeks:
        day = due_at(week, policy, tz).astimezone(tz).date()
        for village_id, leave in (await excused_on(src, day, township_id)).items():
            found[(village_id, week)] = leave
    return found


async def excused_in_week(
    src: Src, policy: Policy, tz: ZoneInfo, week: str, township_id: int | None = None
) -> dict[int, Leave]:
    """Return {village id: leave} of the villages excused for one week."""
    return {
        v: lv for (v, _w), lv in (await excused_weeks(src, policy, tz, [week], township_id)).items()
    }


async def acting_as(
    src: Src, person: Person, leave_id: int, today: date, week: str
) -> Person | None:
    """Return the person as their village's stand-in liaison, while that still holds.

    It holds while the leave is approved and running, the person is its substitute, and the
    village's report of the week has not been filed by them yet.
    """
    lv = await get_leave(src, leave_id)
    if lv is None or lv.substitute_id != person.id or lv.village_id is None or not lv.covers(today):
        return None
    filed = await src.fetchval(
        "SELECT 1 FROM weekly_reports WHERE village_id = ? AND week = ? AND person_id = ?",
        (lv.village_id, week, person.id),
    )
    if filed:
        return None
    return replace(
        person,
        role=Role.LIAISON,
        township_id=lv.township_id,
        village_id=lv.village_id,
        village=lv.village,
    )
