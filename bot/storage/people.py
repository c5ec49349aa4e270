"""People and places: lookups used by every feature."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.people import Person, Role
from bot.storage.db import Database, Row, Tx, from_db_time

PERSON_COLUMNS = """
p.id, p.name, p.role, p.township_id, p.village_id, p.phone, p.telegram_id,
p.language, p.tg_language, t.name AS township, v.name AS village
"""

SELECT_PEOPLE = f"""
SELECT {PERSON_COLUMNS}
FROM people p
LEFT JOIN townships t ON t.id = p.township_id
LEFT JOIN villages v ON v.id = p.village_id
"""


def person_from_row(row: Row) -> Person:
    """Build a Person from a row selected with the columns of PERSON_COLUMNS."""
    return Person(
        id=row["id"],
        name=row["name"],
        role=Role(row["role"]),
        township_id=row["township_id"],
        village_id=row["village_id"],
        phone=row["phone"],
        telegram_id=row["telegram_id"],
        language=row["language"],
        township=row["township"],
        village=row["village"],
        tg_language=row["tg_language"],
    )


@dataclass(frozen=True)
class Village:
    id: int
    name: str
    township_id: int
    township: str


@dataclass(frozen=True)
class Township:
    id: int
    name: str
    digest_chat_id: int | None


class PeopleRepo:
    """Read and update people and places."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def by_telegram_id(self, telegram_id: int) -> Person | None:
        """Return the active person bound to a Telegram account."""
        row = await self.db.lookup(
            SELECT_PEOPLE + " WHERE p.telegram_id = ? AND p.active = 1", (telegram_id,)
        )
        return person_from_row(row) if row else None

    async def get(self, person_id: int, tx: Tx | None = None) -> Person | None:
        """Return a person by id."""
        src = tx or self.db
        row = await src.fetchone(SELECT_PEOPLE + " WHERE p.id = ?", (person_id,))
        return person_from_row(row) if row else None

    async def in_township(
        self, township_id: int, roles: tuple[Role, ...], tx: Tx | None = None
    ) -> list[Person]:
        """Return active people of a township with these roles (county: every county officer)."""
        src = tx or self.db
        marks = ",".join("?" * len(roles))
        county = Role.COUNTY in roles
        rows = await src.fetchall(
            SELECT_PEOPLE
            + f" WHERE p.active = 1 AND p.role IN ({marks})"
            + " AND (p.township_id = ? OR (? AND p.role = 'county'))"
            + " ORDER BY p.role, p.name, p.id",
            (*[r.value for r in roles], township_id, int(county)),
        )
        return [person_from_row(r) for r in rows]

    async def blocked(self, person_ids: list[int], tx: Tx | None = None) -> set[int]:
        """Return those of the people whose last message failed for good (blocked, chat gone)."""
        if not person_ids:
            return set()
        src = tx or self.db
        marks = ",".join("?" * len(person_ids))
        rows = await src.fetchall(
            "SELECT o.person_id FROM outbox o WHERE o.id IN (SELECT MAX(id) FROM outbox"
            f" WHERE person_id IN ({marks}) AND state IN ('sent', 'failed') GROUP BY person_id)"
            " AND o.state = 'failed'",
            tuple(person_ids),
        )
        return {r[0] for r in rows}

    async def unbound(self, township_id: int | None) -> list[Person]:
        """Return active people of a township (all when None) who never bound the bot."""
        scope = "" if township_id is None else " AND p.township_id = ?"
        rows = await self.db.fetchall(
            SELECT_PEOPLE + " WHERE p.active = 1 AND p.telegram_id IS NULL"
            " AND p.role IN ('liaison', 'commissioner', 'leader')"
            + scope
            + " ORDER BY t.name, p.role = 'liaison' DESC, v.name, p.name, p.id",
            () if township_id is None else (township_id,),
        )
        return [person_from_row(r) for r in rows]

    async def liaisons_of_village(self, village_id: int, tx: Tx | None = None) -> list[Person]:
        """Return the active liaisons of a village."""
        src = tx or self.db
        rows = await src.fetchall(
            SELECT_PEOPLE + " WHERE p.active = 1 AND p.role = 'liaison' AND p.village_id = ?"
            " ORDER BY p.name, p.id",
            (village_id,),
        )
        return [person_from_row(r) for r in rows]

    async def set_language(self, person_id: int, language: str | None) -> None:
        """Store the language a person chose with /lang."""
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE people SET language = ? WHERE id = ?", (language, person_id))

    async def note_tg_language(self, person_id: int, code: str | None) -> None:
        """Remember Telegram's language_code (used when the person never chose one)."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE people SET tg_language = ? WHERE id = ? AND tg_language IS NOT ?",
                (code, person_id, code),
            )

    async def villages(self, township_id: int | None = None) -> list[Village]:
        """Return villages (of one township, or all), by township then name."""
        sql = (
            "SELECT v.id, v.name, v.township_id, t.name AS township FROM villages v"
            " JOIN townships t ON t.id = v.township_id"
        )
        params: tuple[int, ...] = ()
        if township_id is not None:
            sql += " WHERE v.township_id = ?"
            params = (township_id,)
        rows = await self.db.fetchall(sql + " ORDER BY t.name, v.id", params)
        return [Village(r["id"], r["name"], r["township_id"], r["township"]) for r in rows]

    async def townships(self) -> list[Township]:
        """Return every township."""
        rows = await self.db.fetchall(
            "SELECT id, name, digest_chat_id FROM townships ORDER BY name"
        )
        return [Township(r["id"], r["name"], r["digest_chat_id"]) for r in rows]

    async def on_roster_since(self) -> dict[int, datetime]:
        """Return, per township, when its first person was put on the roster."""
        rows = await self.db.fetchall(
            "SELECT township_id, MIN(created_at) FROM people"
            " WHERE township_id IS NOT NULL GROUP BY township_id"
        )
        return {r[0]: t for r in rows if (t := from_db_time(r[1])) is not None}

    async def township(self, township_id: int) -> Township | None:
        """Return one township."""
        r = await self.db.fetchone(
            "SELECT id, name, digest_chat_id FROM townships WHERE id = ?", (township_id,)
        )
        return Township(r["id"], r["name"], r["digest_chat_id"]) if r else None
