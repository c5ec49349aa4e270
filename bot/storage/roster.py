"""Roster import, invite codes and /start rate limiting: all the SQL for PRODUCT.md §4."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.clock import Clock
from bot.domain.roster import (
    ParsedRoster,
    RosterError,
    RosterRow,
    looks_like_invite_code,
    new_invite_code,
    normalise_invite_code,
    normalise_name,
    normalise_phone,
)
from bot.storage.db import Database, Tx, from_db_time, to_db_time

# Attempts older than this are never looked at again (the window is minutes).
_ATTEMPT_RETENTION = timedelta(days=1)


class RosterImportError(Exception):
    """The roster cannot be imported; nothing was written. `errors` lists every problem."""

    def __init__(self, errors: Sequence[RosterError]) -> None:
        self.errors = sorted(errors, key=lambda e: e.line)
        lines = "\n".join(f"  {e}" for e in self.errors)
        super().__init__(f"roster not imported, {len(self.errors)} problem(s):\n{lines}")


class PersonNotFound(LookupError):
    """No active person has this name or phone."""


class AmbiguousPerson(LookupError):
    """Several active people match; `candidates` lists them."""

    def __init__(self, who: str, candidates: Sequence[PersonSummary]) -> None:
        self.who = who
        self.candidates = list(candidates)
        lines = "\n".join(f"  {c}" for c in self.candidates)
        super().__init__(
            f"{len(self.candidates)} people match {who!r}; use the phone number instead:\n{lines}"
        )


@dataclass(frozen=True)
class PersonSummary:
    """Enough about a person to tell namesakes apart."""

    id: int
    name: str
    role: str
    township: str | None
    village: str | None
    phone: str | None

    def __str__(self) -> str:
        place = " ".join(p for p in (self.township, self.village) if p) or "-"
        return f"{self.name} ({self.role}, {place}, phone {self.phone or '-'})"


@dataclass(frozen=True)
class ImportedPerson:
    """One person as the CLI prints it; exactly the keys of the --json output."""

    name: str
    role: str
    township: str | None
    village: str | None
    invite_code: str | None


@dataclass(frozen=True)
class ImportResult:
    """Counts of people created/updated/unchanged, and every imported person in file order."""

    created: int
    updated: int
    unchanged: int
    people: list[ImportedPerson]
    new_codes: int = 0


RedeemStatus = Literal["ok", "unknown", "used", "expired"]


@dataclass(frozen=True)
class RedeemResult:
    """Outcome of /start CODE; person_id is set when status is 'ok'.

    `repeated` is True when the same Telegram account redeems its own code again
    (a redelivered update): status is still 'ok' and nothing was changed.
    """

    status: RedeemStatus
    person_id: int | None = None
    repeated: bool = False


@dataclass
class _Existing:
    """A person already in the database, with place names resolved."""

    id: int
    name: str
    role: str
    township: str | None
    village: str | None
    phone: str | None
    telegram_id: int | None


# ---------------------------------------------------------------- import


async def import_roster(
    db: Database, parsed: ParsedRoster, clock: Clock, invite_days: int = 14
) -> ImportResult:
    """Import a valid roster in one transaction, or raise RosterImportError and write nothing."""
    if parsed.errors:
        raise RosterImportError(parsed.errors)
    now = clock.now()
    counts = {"created": 0, "updated": 0, "unchanged": 0, "new_codes": 0}
    people: list[ImportedPerson] = []
    async with db.transaction() as tx:
        existing = await _load_people(tx)
        matches, errors = _match_rows(parsed.rows, existing)
        errors += _telegram_conflicts(parsed.rows, matches, existing)
        if errors:
            raise RosterImportError(errors)
        places = _Places(tx)
        for row, person in zip(parsed.rows, matches, strict=True):
            township_id, village_id = await places.ids(row.township, row.village)
            if person is None:
                person_id = await _create_person(tx, row, township_id, village_id, now)
                counts["created"] += 1
            else:
                person_id = person.id
                changed = await _update_person(tx, person, row, township_id, village_id, now)
                counts["updated" if changed else "unchanged"] += 1
            code = await _valid_code(tx, person_id, now)
            if code is None and not await _is_bound(tx, person_id):
                code = await _issue_code(tx, person_id, now, invite_days)
                counts["new_codes"] += 1
            people.append(ImportedPerson(row.name, row.role.value, row.township, row.village, code))
    return ImportResult(people=people, **counts)


async def _is_bound(tx: Tx, person_id: int) -> bool:
    """Return whether a person has a Telegram account."""
    bound = await tx.fetchval("SELECT telegram_id FROM people WHERE id = ?", (person_id,))
    return bound is not None


async def _load_people(tx: Tx) -> list[_Existing]:
    rows = await tx.fetchall(
        "SELECT p.id, p.name, p.role, t.name AS township, v.name AS village, p.phone, p.telegram_id"
        " FROM people p LEFT JOIN townships t ON t.id = p.township_id"
        " LEFT JOIN villages v ON v.id = p.village_id ORDER BY p.id"
    )
    return [_Existing(*tuple(r)) for r in rows]


def _match_rows(
    rows: Sequence[RosterRow], existing: Sequence[_Existing]
) -> tuple[list[_Existing | None], list[RosterError]]:
    """Find each row's existing person: name+phone, then telegram_id, then name+role+place.

    Stronger keys are settled for every row before weaker ones, so a namesake matched
    by phone is never taken by another row's weaker key.
    """
    matches: list[_Existing | None] = [None] * len(rows)
    claimed: set[int] = set()
    errors: list[RosterError] = []

    def claim(index: int, candidates: list[_Existing]) -> None:
        free = [p for p in candidates if p.id not in claimed]
        if free:
            matches[index] = free[0]
            claimed.add(free[0].id)

    for i, row in enumerate(rows):
        if row.phone is not None:
            claim(i, [p for p in existing if p.name == row.name and p.phone == row.phone])
    for i, row in enumerate(rows):
        if matches[i] is None and row.telegram_id is not None:
            claim(i, [p for p in existing if p.telegram_id == row.telegram_id])
    for i, row in enumerate(rows):
        if matches[i] is not None:
            continue
        free = [
            p
            for p in existing
            if p.id not in claimed
            and (p.name, p.role, p.township, p.village)
            == (row.name, row.role.value, row.township, row.village)
        ]
        if len(free) > 1:
            errors.append(
                RosterError(
                    row.line,
                    f"{len(free)} people named {row.name} with this role and place are already "
                    "stored; add the phone number to say which one",
                    "ambiguous_person",
                )
            )
        elif free:
            matches[i] = free[0]
            claimed.add(free[0].id)
    return matches, errors


def _telegram_conflicts(
    rows: Sequence[RosterRow], matches: Sequence[_Existing | None], existing: Sequence[_Existing]
) -> list[RosterError]:
    """Report rows whose telegram_id is already bound to somebody else."""
    holders = {p.telegram_id: p for p in existing if p.telegram_id is not None}
    errors = []
    for row, person in zip(rows, matches, strict=True):
        holder = holders.get(row.telegram_id) if row.telegram_id is not None else None
        if holder is not None and (person is None or holder.id != person.id):
            errors.append(
                RosterError(
                    row.line,
                    f"telegram_id {row.telegram_id} already belongs to {holder.name} "
                    f"({holder.role}, {holder.village or holder.township or '-'})",
                    "telegram_id_taken",
                )
            )
    return errors


class _Places:
    """Township and village ids by name, inserting the missing ones."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx
        self.townships: dict[str, int] = {}
        self.villages: dict[tuple[int, str], int] = {}

    async def ids(self, township: str | None, village: str | None) -> tuple[int | None, int | None]:
        """Return (township_id, village_id) for names (None stays None)."""
        if township is None:
            return None, None
        township_id = await self._township(township)
        if village is None:
            return township_id, None
        return township_id, await self._village(township_id, village)

    async def _township(self, name: str) -> int:
        if name not in self.townships:
            # DO NOTHING keeps an existing row untouched, so re-imports change nothing.
            await self.tx.execute(
                "INSERT INTO townships (name) VALUES (?) ON CONFLICT (name) DO NOTHING", (name,)
            )
            self.townships[name] = await self.tx.fetchval(
                "SELECT id FROM townships WHERE name = ?", (name,)
            )
        return self.townships[name]

    async def _village(self, township_id: int, name: str) -> int:
        key = (township_id, name)
        if key not in self.villages:
            await self.tx.execute(
                "INSERT INTO villages (township_id, name) VALUES (?, ?)"
                " ON CONFLICT (township_id, name) DO NOTHING",
                key,
            )
            self.villages[key] = await self.tx.fetchval(
                "SELECT id FROM villages WHERE township_id = ? AND name = ?", key
            )
        return self.villages[key]


async def _create_person(
    tx: Tx, row: RosterRow, township_id: int | None, village_id: int | None, now: datetime
) -> int:
    """Insert a person; a telegram_id in the file binds them at once."""
    stamp = to_db_time(now)
    return await tx.execute(
        "INSERT INTO people (name, role, township_id, village_id, phone, telegram_id,"
        " created_at, bound_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            row.name,
            row.role.value,
            township_id,
            village_id,
            row.phone,
            row.telegram_id,
            stamp,
            stamp if row.telegram_id is not None else None,
        ),
    )


async def _update_person(
    tx: Tx,
    person: _Existing,
    row: RosterRow,
    township_id: int | None,
    village_id: int | None,
    now: datetime,
) -> bool:
    """Bring a person in line with the row; return whether anything changed.

    Blank phone or telegram_id cells keep what is stored: a roster without those
    columns must not wipe phones or unbind people who joined with /start.
    """
    current = await tx.fetchone(
        "SELECT name, role, township_id, village_id, phone, telegram_id FROM people WHERE id = ?",
        (person.id,),
    )
    assert current is not None
    wanted = {
        "name": row.name,
        "role": row.role.value,
        "township_id": township_id,
        "village_id": village_id,
        "phone": row.phone if row.phone is not None else current["phone"],
        "telegram_id": row.telegram_id if row.telegram_id is not None else current["telegram_id"],
    }
    changes = {k: v for k, v in wanted.items() if current[k] != v}
    if not changes:
        return False
    if "telegram_id" in changes:
        changes["bound_at"] = to_db_time(now)
        # The admin bound the account directly; an outstanding code could rebind it elsewhere.
        await _revoke_codes(tx, person.id, now)
    assignments = ", ".join(f"{column} = ?" for column in changes)
    await tx.execute(
        f"UPDATE people SET {assignments} WHERE id = ?", (*changes.values(), person.id)
    )
    return True


# ---------------------------------------------------------------- invite codes


async def _valid_code(tx: Tx, person_id: int, now: datetime) -> str | None:
    """Return the newest unused, unexpired code of a person."""
    code: str | None = await tx.fetchval(
        "SELECT code FROM invites WHERE person_id = ? AND used_at IS NULL AND expires_at > ?"
        " ORDER BY created_at DESC, rowid DESC LIMIT 1",
        (person_id, to_db_time(now)),
    )
    return code


async def _issue_code(tx: Tx, person_id: int, now: datetime, days: int) -> str:
    """Store a fresh code for a person, valid for `days`."""
    while True:
        code = new_invite_code()
        # 31^8 codes: a clash is very unlikely, but codes are primary keys.
        if await tx.fetchval("SELECT 1 FROM invites WHERE code = ?", (code,)) is None:
            break
    await tx.execute(
        "INSERT INTO invites (code, person_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        (code, person_id, to_db_time(now), to_db_time(now + timedelta(days=days))),
    )
    return code


async def _revoke_codes(tx: Tx, person_id: int, now: datetime) -> None:
    """Expire a person's unused codes now."""
    stamp = to_db_time(now)
    await tx.execute(
        "UPDATE invites SET expires_at = ? WHERE person_id = ? AND used_at IS NULL"
        " AND expires_at > ?",
        (stamp, person_id, stamp),
    )


async def _find_people(tx: Tx, who: str) -> list[PersonSummary]:
    """Return active people whose name or phone equals `who`."""
    phone = normalise_phone(who)
    rows = await tx.fetchall(
        "SELECT p.id, p.name, p.role, t.name AS township, v.name AS village, p.phone"
        " FROM people p LEFT JOIN townships t ON t.id = p.township_id"
        " LEFT JOIN villages v ON v.id = p.village_id"
        " WHERE p.active = 1 AND (p.name = ? OR (? IS NOT NULL AND p.phone = ?))"
        " ORDER BY p.id",
        (normalise_name(who), phone, phone),
    )
    return [PersonSummary(*tuple(r)) for r in rows]


async def new_invite(db: Database, who: str, clock: Clock, days: int = 14) -> ImportedPerson:
    """Issue a fresh code for the one person named `who` (name or phone); revoke older ones."""
    now = clock.now()
    async with db.transaction() as tx:
        found = await _find_people(tx, who)
        if not found:
            raise PersonNotFound(f"nobody on the roster has the name or phone {who.strip()!r}")
        if len(found) > 1:
            raise AmbiguousPerson(who.strip(), found)
        person = found[0]
        code = await reissue_invite(tx, person.id, now, days)
    return ImportedPerson(person.name, person.role, person.township, person.village, code)


async def reissue_invite(tx: Tx, person_id: int, now: datetime, days: int = 14) -> str:
    """Revoke a person's unused codes and issue a fresh one (inside the caller's transaction)."""
    await _revoke_codes(tx, person_id, now)
    return await _issue_code(tx, person_id, now, days)


async def redeem_invite(db: Database, code: str, telegram_id: int, clock: Clock) -> RedeemResult:
    """Bind a Telegram account with a /start code; see RedeemResult for the statuses."""
    code = normalise_invite_code(code)
    if not looks_like_invite_code(code):
        return RedeemResult("unknown")
    now = clock.now()
    async with db.transaction() as tx:
        invite = await tx.fetchone(
            "SELECT i.person_id, i.expires_at, i.used_at, i.used_by, p.telegram_id"
            " FROM invites i JOIN people p ON p.id = i.person_id WHERE i.code = ?",
            (code,),
        )
        if invite is None:
            return RedeemResult("unknown")
        person_id = invite["person_id"]
        if invite["used_at"] is not None:
            # Same account, still bound: a redelivered /start, answer as before.
            if invite["used_by"] == telegram_id and invite["telegram_id"] == telegram_id:
                return RedeemResult("ok", person_id, repeated=True)
            return RedeemResult("used")
        expires_at = from_db_time(invite["expires_at"])
        if expires_at is None or expires_at <= now:
            return RedeemResult("expired")
        await _bind(tx, person_id, telegram_id, now)
        await tx.execute(
            "UPDATE invites SET used_at = ?, used_by = ? WHERE code = ?",
            (to_db_time(now), telegram_id, code),
        )
        # Any other outstanding code of this person could rebind them to another account.
        await _revoke_codes(tx, person_id, now)
    return RedeemResult("ok", person_id)


async def _bind(tx: Tx, person_id: int, telegram_id: int, now: datetime) -> None:
    """Bind the account to the person, taking it from whoever held it (a phone changed hands)."""
    await tx.execute(
        "UPDATE people SET telegram_id = NULL, bound_at = NULL WHERE telegram_id = ? AND id != ?",
        (telegram_id, person_id),
    )
    await tx.execute(
        "UPDATE people SET telegram_id = ?, bound_at = ? WHERE id = ?",
        (telegram_id, to_db_time(now), person_id),
    )


# ---------------------------------------------------------------- /start rate limit


async def record_failed_start(db: Database, telegram_id: int, clock: Clock) -> None:
    """Remember one wrong /start code (and forget this user's attempts older than a day)."""
    now = clock.now()
    async with db.transaction() as tx:
        await tx.execute(
            "DELETE FROM start_attempts WHERE telegram_id = ? AND at < ?",
            (telegram_id, to_db_time(now - _ATTEMPT_RETENTION)),
        )
        await tx.execute(
            "INSERT INTO start_attempts (telegram_id, at) VALUES (?, ?)",
            (telegram_id, to_db_time(now)),
        )


async def wait_seconds(
    db: Database,
    telegram_id: int,
    clock: Clock,
    limit: int = 5,
    window: timedelta = timedelta(minutes=10),
) -> int:
    """Return how long the user must wait before trying a code again (0 = may try now).

    Blocked while `limit` failures lie within the last `window`: until the oldest of
    the latest `limit` failures is `window` old.
    """
    now = clock.now()
    rows = await db.fetchall(
        "SELECT at FROM start_attempts WHERE telegram_id = ? AND at > ? AND at <= ?"
        " ORDER BY at DESC LIMIT ?",
        (telegram_id, to_db_time(now - window), to_db_time(now), limit),
    )
    if len(rows) < limit:
        return 0
    oldest: datetime = from_db_time(rows[-1]["at"])
    return max(0, math.ceil((oldest + window - now).total_seconds()))
