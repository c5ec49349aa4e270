"""Digest groups, who is missing a weekly report, and the data a digest is made of."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import Policy
from bot.domain.calendar import due_at, week_monday
from bot.domain.digest import DIGEST_WINDOW, Digest, OpenAlertLine, QuotaLine, VillageLine
from bot.domain.info import KIND_KEYS
from bot.domain.people import Person
from bot.storage.alerts import alert_stats
from bot.storage.db import Database, Row, Tx, to_db_time
from bot.storage.leave import excused_in_week
from bot.storage.people import SELECT_PEOPLE, person_from_row
from bot.storage.reports import week_status
from bot.storage.submissions import quota_progress


@dataclass(frozen=True)
class DigestGroup:
    township_id: int
    township: str
    chat_id: int
    language: str | None
    bound_by: int | None


# --- who is missing ------------------------------------------------------------------------


async def missing_liaisons(src: Database | Tx, week: str) -> list[Person]:
    """Return active, bound liaisons whose village has no report for the week."""
    rows = await src.fetchall(
        SELECT_PEOPLE + " WHERE p.active = 1 AND p.role = 'liaison' AND p.telegram_id IS NOT NULL"
        " AND p.village_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM weekly_reports r"
        " WHERE r.village_id = p.village_id AND r.week = ?)"
        " ORDER BY p.township_id, p.village_id, p.id",
        (week,),
    )
    return [person_from_row(r) for r in rows]


@dataclass(frozen=True)
class MissingRow:
    township_id: int
    township: str
    village_id: int
    village: str
    liaisons: list[Person]


async def missing_villages(
    src: Database | Tx, week: str, due: datetime
) -> tuple[list[MissingRow], dict[int, int]]:
    """Return villages owing the week's report without one, and the owing count per township."""
    villages = await week_status(src, week, None, due)
    totals: dict[int, int] = {}
    for v in villages:
        totals[v.township_id] = totals.get(v.township_id, 0) + 1
    missing = [
        MissingRow(v.township_id, v.township, v.village_id, v.village, v.liaisons)
        for v in villages
        if v.report_id is None
    ]
    return missing, totals


async def reminders_pending(src: Database | Tx, week: str) -> bool:
    """Return whether any reminder of a week is still waiting to be sent."""
    return bool(
        await src.fetchval(
            "SELECT 1 FROM outbox WHERE state = 'pending' AND dedup_key LIKE ? LIMIT 1",
            (f"remind:%:{week}:%",),
        )
    )


async def cancel_reminders(tx: Tx, week: str, *, all_of_week: bool) -> int:
    """Cancel pending reminders of a week: all of them, or those whose village has reported."""
    pattern = f"remind:%:{week}:%"
    if all_of_week:
        return await tx.changes(
            "UPDATE outbox SET state = 'cancelled' WHERE state = 'pending' AND dedup_key LIKE ?",
            (pattern,),
        )
    return await tx.changes(
        "UPDATE outbox SET state = 'cancelled' WHERE state = 'pending' AND dedup_key LIKE ?"
        " AND ref_kind = 'weekly_reminder' AND ref_id IN"
        " (SELECT village_id FROM weekly_reports WHERE week = ?)",
        (pattern, week),
    )


async def key_used(src: Database | Tx, key: str) -> bool:
    """Return whether an outbox idempotency key was already used."""
    return bool(
        await src.fetchval(
            "SELECT 1 FROM outbox WHERE dedup_key = ? OR dedup_key = ?", (key, f"{key}#1")
        )
    )


# --- digest groups -------------------------------------------------------------------------


async def bind_group(
    tx: Tx,
    township_id: int,
    chat_id: int,
    title: str | None,
    person_id: int,
    language: str | None,
    now: datetime,
) -> int | None:
    """Make a chat the township's digest group; return the previous chat when it moved."""
    previous = await tx.fetchval(
        "SELECT digest_chat_id FROM townships WHERE id = ?", (township_id,)
    )
    at = to_db_time(now)
    await tx.execute(
        "UPDATE digest_bindings SET ended_at = ?, end_reason = 'moved'"
        " WHERE township_id = ? AND ended_at IS NULL",
        (at, township_id),
    )
    await tx.execute(
        "INSERT INTO digest_bindings (township_id, chat_id, chat_title, bound_by, bound_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (township_id, chat_id, title, person_id, at),
    )
    await tx.execute(
        "UPDATE townships SET digest_chat_id = ?, digest_chat_title = ?, digest_bound_by = ?,"
        " digest_bound_at = ?, digest_language = ? WHERE id = ?",
        (chat_id, title, person_id, at, language, township_id),
    )
    return previous if previous is not None and previous != chat_id else None


async def unbind_chat(tx: Tx, chat_id: int, now: datetime, reason: str) -> list[DigestGroup]:
    """Forget a chat as digest group of every township using it; return what was unbound."""
    groups = await groups_of_chat(tx, chat_id)
    if groups:
        await tx.execute(
            "UPDATE digest_bindings SET ended_at = ?, end_reason = ?"
            " WHERE chat_id = ? AND ended_at IS NULL",
            (to_db_time(now), reason, chat_id),
        )
        await tx.execute(
            "UPDATE townships SET digest_chat_id = NULL, digest_chat_title = NULL,"
            " digest_bound_by = NULL, digest_bound_at = NULL WHERE digest_chat_id = ?",
            (chat_id,),
        )
    return groups


async def move_chat(tx: Tx, old_chat_id: int, new_chat_id: int) -> int:
    """Follow a group that became a supergroup (new chat id); return townships updated."""
    await tx.execute(
        "UPDATE digest_bindings SET chat_id = ? WHERE chat_id = ? AND ended_at IS NULL",
        (new_chat_id, old_chat_id),
    )
    return await tx.changes(
        "UPDATE townships SET digest_chat_id = ? WHERE digest_chat_id = ?",
        (new_chat_id, old_chat_id),
    )


_GROUPS = (
    "SELECT id, name, digest_chat_id, digest_language, digest_bound_by FROM townships"
    " WHERE digest_chat_id IS NOT NULL"
)


def _group(r: Row) -> DigestGroup:
    return DigestGroup(
        r["id"],
        r["name"],
        r["digest_chat_id"],
        r["digest_language"],
        r["digest_bound_by"],
    )


async def groups_of_chat(src: Database | Tx, chat_id: int) -> list[DigestGroup]:
    """Return the townships whose digest goes to a chat."""
    rows = await src.fetchall(_GROUPS + " AND digest_chat_id = ? ORDER BY name", (chat_id,))
    return [_group(r) for r in rows]


async def bound_groups(src: Database | Tx) -> list[DigestGroup]:
    """Return every township's digest group."""
    return [_group(r) for r in await src.fetchall(_GROUPS + " ORDER BY name")]


# --- digest data ---------------------------------------------------------------------------


async def village_lines(
    db: Database, week: str, township_id: int, due: datetime, excused: Collection[int] = ()
) -> list[VillageLine]:
    """Return each village of a township with whether (and how late) it reported."""
    return [
        VillageLine(
            v.village,
            v.report_id is not None,
            v.report_id is not None
            and (v.late or (v.submitted_at is not None and v.submitted_at > due)),
            excused=v.village_id in excused,
        )
        for v in await week_status(db, week, township_id, due)
    ]


async def collect_digest(
    db: Database,
    policy: Policy,
    tz: ZoneInfo,
    township_id: int,
    township: str,
    week: str,
    now: datetime,
    until: datetime | None = None,
) -> Digest:
    """Gather a township's digest: the patrol week, and the alerts and submissions of the
    7 days before `until` (the post moment; now by default)."""
    end = until or now
    start = end - DIGEST_WINDOW
    excused = await excused_in_week(db, policy, tz, week, township_id)
    villages = await village_lines(db, week, township_id, due_at(week, policy, tz), excused)
    stats = await alert_stats(db, start, end, now, township_id)
    # Quotas of the period the window ended in (a digest posted on 2 Dec covers November).
    last_day = (end - timedelta(seconds=1)).astimezone(tz).date()
    progress = await quota_progress(db, policy, township_id, last_day)
    return Digest(
        township=township,
        week=week,
        start=week_monday(week),
        villages=villages,
        opened=stats.opened,
        acknowledged=stats.acknowledged,
        resolved=stats.resolved,
        escalated=stats.escalated,
        open_now=[OpenAlertLine(a.village, a.severity, a.age) for a in stats.open_now],
        median_ack_seconds=stats.median_ack_seconds,
        quotas=[
            QuotaLine(
                kinds=[KIND_KEYS[k] for k in q.kinds],
                period=q.period.kind,
                period_key=q.period.key,
                count=q.count,
                min=q.min,
                village=q.village,
            )
            for q in progress
        ],
        since=start,
        until=end,
        submitted=await db.fetchval(
            "SELECT COUNT(*) FROM submissions WHERE township_id = ? AND submitted_at >= ?"
            " AND submitted_at < ?",
            (township_id, to_db_time(start), to_db_time(end)),
        ),
    )
