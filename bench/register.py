"""The register at county scale: 50,000 entries imported, then searched.

Builds a roster of 50 townships × 20 villages and an import workbook of 50,000 entries over
the policy's categories (one sheet each), then prints, min/median/max over the runs:

- `register import` of the whole workbook into an empty database (parse + store);
- a search by a commissioner (one township) and by a county officer (all townships), each the
  median of 20 queries of names, villages and phone numbers.

Run alone with `.venv/bin/python bench/register.py`, or as part of `make bench`.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.clock import FakeClock  # noqa: E402
from bot.config import Policy  # noqa: E402
from bot.domain.roster import parse_roster  # noqa: E402
from bot.i18n import I18n  # noqa: E402
from bot.register_io import categories, import_file, parse_file  # noqa: E402
from bot.storage import register as store  # noqa: E402
from bot.storage.db import Database  # noqa: E402
from bot.storage.migrations import migrate  # noqa: E402
from bot.storage.roster import import_roster  # noqa: E402
from bot.xlsx import Table, write  # noqa: E402

TOWNSHIPS, VILLAGES_EACH, ENTRIES = 50, 20, 50_000
RUNS = 3
NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "建国秀英伟芳明华强军平玲红兵英杰霞敏静丽"


def township(i: int) -> str:
    return f"T{i:02d}乡"


def village(i: int, j: int) -> str:
    return f"T{i:02d}V{j:02d}村"


def build_files(folder: Path) -> tuple[Path, Path, list[str]]:
    """Write the roster CSV and the register workbook; return some names to search for."""
    roster = folder / "roster.csv"
    lines = ["township,village,name,role,phone,telegram_id"]
    for i in range(TOWNSHIPS):
        lines.append(f"{township(i)},,委员{i},commissioner,139{i:08d},")
        for j in range(VILLAGES_EACH):
            lines.append(f"{township(i)},{village(i, j)},联络员{i}-{j},liaison,138{i:04d}{j:04d},")
    roster.write_text("\n".join(lines) + "\n", encoding="utf-8")

    rng = random.Random(15)
    policy = Policy()
    cats = categories(policy)
    t = I18n(ZoneInfo("Asia/Shanghai")).get("zh_Hans")
    from bot.domain.register import category_name, field_name

    per_cat: dict[str, list[list[str]]] = {c.code: [] for c in cats}
    names: list[str] = []
    for n in range(ENTRIES):
        cat = cats[n % len(cats)]
        i, j = rng.randrange(TOWNSHIPS), rng.randrange(VILLAGES_EACH)
        name = f"{rng.choice(SURNAMES)}{rng.choice(GIVEN)}{rng.choice(GIVEN)}{n}"
        if n % 2500 == 0:
            names.append(name)
        values = {"name": name, "phone": f"137{n:08d}"}
        row = [township(i), village(i, j)] + [values.get(f, f"{f}{n % 97}") for f in cat.fields]
        per_cat[cat.code].append(row)
    tables = []
    for cat in cats:
        headers = [t("register.field.township"), t("register.field.village")]
        headers += [field_name(cat, f, t) for f in cat.fields]
        tables.append(Table(category_name(cat, t), headers, per_cat[cat.code], [12] * len(headers)))
    book = folder / "register.xlsx"
    write(tables, book)
    return roster, book, names


def _line(name: str, samples: list[float], target: float, unit: str) -> str:
    lo, med, hi = min(samples), statistics.median(samples), max(samples)
    mark = "ok" if med < target else "OVER"
    return (
        f"register: {name:<36} min {lo:7.0f}  median {med:7.0f}  max {hi:7.0f} {unit}"
        f"   (goal < {target:.0f} {unit}: {mark})"
    )


async def one_run(folder: Path, roster: Path, book: Path, names: list[str], run: int):
    db = await Database(folder / f"run{run}.sqlite3").open()
    try:
        await migrate(db)
        await import_roster(db, parse_roster(roster), FakeClock(NOW))
        translators = I18n(ZoneInfo("Asia/Shanghai")).all()
        started = time.perf_counter()
        parsed = parse_file(book, Policy(), translators)
        assert parsed.ok, parsed.errors[:3]
        counts = await import_file(db, parsed, NOW)
        imported = time.perf_counter() - started
        assert counts.added == ENTRIES, counts
        tid = await db.fetchval("SELECT id FROM townships WHERE name = ?", (township(7),))
        queries = [*names[:8], "T07V03", "137000123", "王建", "村"]
        local, county = [], []
        for q in queries:
            t0 = time.perf_counter()
            await store.search(db, q, township_id=tid)
            local.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            await store.search(db, q, township_id=None)
            county.append((time.perf_counter() - t0) * 1000)
        return imported, statistics.median(local), statistics.median(county)
    finally:
        await db.close()


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        roster, book, names = build_files(folder)
        results = [await one_run(folder, roster, book, names, r) for r in range(RUNS)]
    print(_line(f"import {ENTRIES:,} entries", [r[0] for r in results], 30, "s"))
    print(_line("search, one township", [r[1] for r in results], 200, "ms"))
    print(_line("search, whole county", [r[2] for r in results], 200, "ms"))


if __name__ == "__main__":
    asyncio.run(main())
