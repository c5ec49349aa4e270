"""Register files in and out: the import and export behind `liaison-bot register` and /export."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import Policy, RegisterCategory
from bot.domain.register import (
    Category,
    ExportEntry,
    ParsedRegister,
    Words,
    export_sheets,
    headings,
    parse_sheets,
    read_sheets,
)
from bot.storage import register as store
from bot.storage.db import Database

if TYPE_CHECKING:
    from bot.xlsx import Table


def categories(policy: Policy) -> list[Category]:
    """Return the policy's register categories as domain objects."""
    return [_category(c) for c in policy.register_categories]


def rhythms(policy: Policy) -> dict[str, int]:
    """Return {category: weeks} for the categories with a visit rhythm."""
    return {c.code: c.visit_weeks for c in policy.register_categories if c.visit_weeks}


async def due_names(
    db: Database, policy: Policy, today: date, *, limit: int = 5
) -> dict[int, list[str]]:
    """Return {village id: names of entries past their visit rhythm} (at most `limit` each)."""
    found: dict[int, list[str]] = {}
    for entry in await store.past_rhythm(db, today, rhythms(policy)):
        names = found.setdefault(entry.village_id, [])
        if len(names) < limit:
            names.append(entry.name)
    return found


async def scope_counts(
    db: Database, policy: Policy, today: date, township_id: int | None
) -> tuple[int, int]:
    """Return (open entries, entries past their visit rhythm) of a township or the county."""
    where = "closed_at IS NULL"
    params: tuple[Any, ...] = ()
    if township_id is not None:
        where, params = "closed_at IS NULL AND township_id = ?", (township_id,)
    total = await db.fetchval(f"SELECT count(*) FROM register_entries WHERE {where}", params)
    due = await store.past_rhythm(db, today, rhythms(policy), township_id=township_id)
    return int(total or 0), len(due)


def _category(c: RegisterCategory) -> Category:
    return Category(
        code=c.code,
        kind=c.kind,
        fields=tuple(c.fields),
        visit_weeks=c.visit_weeks,
        label=c.label,
        field_labels=dict(c.field_labels),
    )


def parse_file(path: Path, policy: Policy, translators: Sequence[Words]) -> ParsedRegister:
    """Read and validate an import file (raises RosterFileError for an unreadable one)."""
    return parse_sheets(read_sheets(path), headings(categories(policy), translators))


async def import_file(db: Database, parsed: ParsedRegister, now: datetime) -> store.ImportCounts:
    """Store a valid parsed file, all or nothing (RegisterImportError lists unknown places)."""
    return await store.import_register(db, parsed.rows, now)


async def export_tables(
    db: Database, policy: Policy, t: Words, township_id: int | None = None
) -> list[Table]:
    """Return one sheet per category, open and closed entries, in the layout import reads."""
    from bot.xlsx import Table  # only exports need it, not the running bot's start-up

    entries = await store.all_entries(db, township_id)
    rows = (
        ExportEntry(
            e.township, e.village, e.category, e.name, e.fields, not e.is_open, e.close_reason
        )
        for e in entries
    )
    tables = []
    for title, headers, body in export_sheets(categories(policy), rows, t):
        widths = [
            min(40.0, max([len(h) * 2.0, 8.0] + [len(str(r[i])) * 1.6 for r in body[:200]]))
            for i, h in enumerate(headers)
        ]
        tables.append(Table(title, headers, body, widths))
    return tables


async def export_file(
    db: Database, out: Path, policy: Policy, t: Words, township_id: int | None = None
) -> int:
    """Write the register to an .xlsx file; return how many entries it holds."""
    from bot.xlsx import write

    tables = await export_tables(db, policy, t, township_id)
    out.parent.mkdir(parents=True, exist_ok=True)
    write(tables, out)
    return sum(len(tb.rows) for tb in tables)
