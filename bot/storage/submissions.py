"""Information submissions, their versions and attachments; quota progress from them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.config import Policy
from bot.domain.quotas import Counted, QuotaProgress, progress, rule_period
from bot.storage import attachments as files
from bot.storage.attachments import Attachment
from bot.storage.db import Database, Tx, from_db_time, to_db_time
from bot.storage.rows import record

DEFAULT_TZ = ZoneInfo("Asia/Shanghai")

__all__ = ["Attachment", "QuotaProgress", "Submission", "SubmissionRepo", "quota_progress"]


@dataclass(frozen=True)
class Submission:
    id: int
    township_id: int
    village_id: int | None
    person_id: int
    kind: str
    title: str
    body: str
    state: str
    version: int
    submitted_at: datetime
    updated_at: datetime
    reviewed_at: datetime | None
    reviewed_by: int | None
    review_comment: str | None
    village: str | None = None
    township: str | None = None
    person: str | None = None


_SELECT = """
SELECT s.*, v.name AS village, t.name AS township, p.name AS person
FROM submissions s
LEFT JOIN villages v ON v.id = s.village_id
JOIN townships t ON t.id = s.township_id
JOIN people p ON p.id = s.person_id
"""


async def _add_version(
    tx: Tx, submission_id: int, version: int, title: str, body: str, at: str
) -> None:
    """Record one version of a submission's title and body in its history."""
    await tx.execute(
        "INSERT INTO submission_versions (submission_id, version, title, body, at)"
        " VALUES (?, ?, ?, ?, ?)",
        (submission_id, version, title, body, at),
    )


class SubmissionRepo:
    """Read and change submissions (writes inside the caller's transaction)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        tx: Tx,
        now: datetime,
        *,
        township_id: int,
        village_id: int | None,
        person_id: int,
        kind: str,
        title: str,
        body: str,
        attachments: list[Attachment],
    ) -> int:
        """Store a new submission with its first version and attachments; return its id."""
        at = to_db_time(now)
        sid = await tx.execute(
            "INSERT INTO submissions (township_id, village_id, person_id, kind, title, body,"
            " state, version, submitted_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 1,"
            " ?, ?)",
            (township_id, village_id, person_id, kind, title, body, at, at),
        )
        await _add_version(tx, sid, 1, title, body, at)
        await files.add(tx, now, "submission", sid, attachments)
        return sid

    async def get(self, submission_id: int, tx: Tx | None = None) -> Submission | None:
        """Return one submission."""
        src = tx or self.db
        row = await src.fetchone(_SELECT + " WHERE s.id = ?", (submission_id,))
        return record(Submission, row) if row else None

    async def attachments(self, submission_id: int) -> list[Attachment]:
        """Return a submission's photos and documents in the order they were sent."""
        return await files.of(self.db, "submission", submission_id)

    @staticmethod
    async def count_attachments(tx: Tx, submission_id: int) -> int:
        """Return how many files a submission has (inside a transaction)."""
        return await files.count(tx, "submission", submission_id)

    async def of_person(self, person_id: int, limit: int = 10) -> list[Submission]:
        """Return a person's latest submissions, newest first."""
        rows = await self.db.fetchall(
            _SELECT + " WHERE s.person_id = ? ORDER BY s.id DESC LIMIT ?", (person_id, limit)
        )
        return [record(Submission, r) for r in rows]

    async def pending(self, township_id: int | None) -> list[Submission]:
        """Return submissions waiting for review (one township, or all), oldest first."""
        sql = _SELECT + " WHERE s.state = 'pending'"
        params: tuple[int, ...] = ()
        if township_id is not None:
            sql += " AND s.township_id = ?"
            params = (township_id,)
        rows = await self.db.fetchall(sql + " ORDER BY s.updated_at, s.id", params)
        return [record(Submission, r) for r in rows]

    async def review(
        self,
        tx: Tx,
        now: datetime,
        submission_id: int,
        *,
        state: str,
        reviewer_id: int,
        comment: str | None,
        expect_version: int,
    ) -> bool:
        """Adopt or return a pending submission; False when it is no longer pending."""
        return (
            await tx.changes(
                "UPDATE submissions SET state = ?, reviewed_at = ?, reviewed_by = ?,"
                " review_comment = ?, updated_at = ? WHERE id = ? AND state = 'pending'"
                " AND version = ?",
                (
                    state,
                    to_db_time(now),
                    reviewer_id,
                    comment,
                    to_db_time(now),
                    submission_id,
                    expect_version,
                ),
            )
            == 1
        )

    async def resubmit(
        self, tx: Tx, now: datetime, submission_id: int, person_id: int, title: str, body: str
    ) -> int | None:
        """Store a revised version of a returned submission; return the new version number."""
        row = await tx.fetchone(
            "SELECT version FROM submissions WHERE id = ? AND person_id = ? AND state = 'returned'",
            (submission_id, person_id),
        )
        if row is None:
            return None
        version: int = row["version"] + 1
        at = to_db_time(now)
        await tx.execute(
            "UPDATE submissions SET title = ?, body = ?, state = 'pending', version = ?,"
            " updated_at = ? WHERE id = ?",
            (title, body, version, at, submission_id),
        )
        await _add_version(tx, submission_id, version, title, body, at)
        return version


async def quota_progress(
    db: Database | Tx, policy: Policy, township_id: int, today: date, tz: ZoneInfo | None = None
) -> list[QuotaProgress]:
    """Return progress of every quota rule for one township in the periods containing today.

    `tz` is the local zone periods are cut in (settings.tz; Asia/Shanghai when omitted).
    """
    rules = list(policy.quotas)
    if not rules:
        return []
    tz = tz or DEFAULT_TZ
    periods = [rule_period(r, today) for r in rules]
    start = min(p.start_at(tz) for p in periods)
    end = max(p.end_at(tz) for p in periods)
    rows = await db.fetchall(
        "SELECT kind, village_id, submitted_at FROM submissions WHERE township_id = ?"
        " AND state IN ('pending', 'adopted') AND submitted_at >= ? AND submitted_at < ?",
        (township_id, to_db_time(start), to_db_time(end)),
    )
    counted = [Counted(r["kind"], r["village_id"], _local_day(r["submitted_at"], tz)) for r in rows]
    villages = await db.fetchall(
        "SELECT id, name FROM villages WHERE township_id = ? ORDER BY id", (township_id,)
    )
    return progress(rules, today, counted, [(v["id"], v["name"]) for v in villages])


def _local_day(text: str, tz: ZoneInfo) -> date:
    when = from_db_time(text)
    assert when is not None
    return when.astimezone(tz).date()


async def villages_with_submissions(
    db: Database | Tx,
    township_id: int,
    kinds: list[str],
    start: datetime,
    end: datetime,
    *,
    without: bool = False,
) -> list[tuple[int, str]]:
    """Return villages of a township with (or, without=True, with no) counting submission.

    Counting as for quotas: of the given kinds, submitted in [start, end), not left returned.
    """
    marks = ",".join("?" * len(kinds))
    rows = await db.fetchall(
        "SELECT v.id, v.name, EXISTS (SELECT 1 FROM submissions s WHERE s.village_id = v.id"
        f" AND s.kind IN ({marks}) AND s.state IN ('pending', 'adopted')"
        " AND s.submitted_at >= ? AND s.submitted_at < ?) AS has"
        " FROM villages v WHERE v.township_id = ? ORDER BY v.id",
        (*kinds, to_db_time(start), to_db_time(end), township_id),
    )
    return [(r["id"], r["name"]) for r in rows if bool(r["has"]) != without]
