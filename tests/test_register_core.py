"""The register's core: import files (good and bad, all or nothing), export round trip,
closing keeps history, scoped search, visits and proposed changes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import pytest

from bot.__main__ import main
from bot.clock import FakeClock
from bot.config import Policy
from bot.domain.roster import RosterFileError, parse_roster
from bot.i18n import I18n
from bot.register_io import export_file, import_file, parse_file
from bot.storage import register as store
from bot.storage.db import Database
from bot.storage.migrations import migrate
from bot.storage.roster import import_roster

DATA = Path(__file__).parent / "data"
NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
POLICY = Policy()


@pytest.fixture
def translators() -> list:
    from zoneinfo import ZoneInfo

    return I18n(ZoneInfo("Asia/Shanghai")).all()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database(tmp_path / "t.sqlite3").open()
    await migrate(database)
    await import_roster(database, parse_roster(DATA / "roster_two.csv"), FakeClock(NOW))
    yield database
    await database.close()


def workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


GOOD = {
    "宗教活动场所": [
        ["乡镇", "村社区", "名称或姓名", "宗教", "负责人", "电话"],
        ["河口乡", "方庄村", "观音寺", "佛教", "释明心", "13900000001"],
        ["河口乡", "高河村", "福音堂", "基督教", "李约翰", "13900000002"],
    ],
    "少数民族家庭和个人": [
        ["乡镇", "村社区", "姓名", "民族", "电话"],
        ["河口乡", "方庄村", "马建华", "回族", "13900000003"],
    ],
    "民间信仰活动点": [
        ["乡镇", "村社区", "名称", "负责人", "电话", "状态", "关闭原因"],
        ["金汇镇", "白沙社区", "土地庙", "吴老汉", "", "在册", ""],
    ],
}


async def test_import_good_file_and_again_changes_nothing(db, tmp_path, translators) -> None:
    parsed = parse_file(workbook(tmp_path / "r.xlsx", GOOD), POLICY, translators)
    assert parsed.ok, parsed.errors
    counts = await import_file(db, parsed, NOW)
    assert (counts.added, counts.updated, counts.unchanged) == (4, 0, 0)
    again = await import_file(db, parse_file(tmp_path / "r.xlsx", POLICY, translators), NOW)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 4)
    venue = next(e for e in await store.all_entries(db) if e.name == "观音寺")
    assert venue.category == "religious_venue"
    assert venue.fields == {
        "religion": "佛教",
        "person_in_charge": "释明心",
        "phone": "13900000001",
    }


async def test_bad_rows_are_line_numbered_and_nothing_is_imported(db, tmp_path, translators):
    bad = {
        "宗教活动场所": [
            ["乡镇", "村社区", "名称或姓名", "宗教", "负责人", "电话"],
            ["河口乡", "方庄村", "观音寺", "佛教", "释明心", "13900000001"],
            ["河口乡", "", "无村寺", "佛教", "", ""],
            ["河口乡", "方庄村", "观音寺", "佛教", "", ""],
            ["河口乡", "方庄村", "电话寺", "佛教", "", "not-a-phone"],
        ],
        "不存在的类别": [["乡镇", "村社区", "姓名"], ["河口乡", "方庄村", "某人"]],
    }
    parsed = parse_file(workbook(tmp_path / "bad.xlsx", bad), POLICY, translators)
    lines = sorted((e.line, e.reason) for e in parsed.errors)
    assert [line for line, _ in lines] == [1, 3, 4, 5]
    assert "appears twice" in dict(lines)[4]
    assert "not a phone" in dict(lines)[5]
    assert "不存在的类别" in dict(lines)[1]
    # A village not on the roster is refused by the store, whole.
    unknown = {"宗教活动场所": [GOOD["宗教活动场所"][0], ["河口乡", "无名村", "某寺", "", "", ""]]}
    parsed = parse_file(workbook(tmp_path / "u.xlsx", unknown), POLICY, translators)
    assert parsed.ok
    with pytest.raises(store.RegisterImportError) as exc:
        await import_file(db, parsed, NOW)
    assert exc.value.errors[0].line == 2
    assert await store.all_entries(db) == []


def test_unreadable_file_is_one_clear_error(tmp_path, translators) -> None:
    path = tmp_path / "x.txt"
    path.write_text("hello", encoding="utf-8")
    with pytest.raises(RosterFileError, match="unsupported file type"):
        parse_file(path, POLICY, translators)


async def test_csv_with_category_column(db, tmp_path, translators) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "类别,乡镇,村社区,姓名,民族,电话\n少数民族家庭和个人,河口乡,方庄村,马建华,回族,\n",
        encoding="utf-8",
    )
    parsed = parse_file(path, POLICY, translators)
    assert parsed.ok, parsed.errors
    assert (await import_file(db, parsed, NOW)).added == 1


@pytest.mark.parametrize("lang", ["zh_Hans", "zh_Hant", "en"])
async def test_export_then_import_into_an_empty_database_gives_the_same_register(
    db, tmp_path, translators, lang
) -> None:
    await import_file(db, parse_file(workbook(tmp_path / "r.xlsx", GOOD), POLICY, translators), NOW)
    entries = await store.all_entries(db)
    async with db.transaction() as tx:
        await store.propose(
            tx,
            kind="close",
            township_id=entries[0].township_id,
            village_id=entries[0].village_id,
            entry_id=entries[0].id,
            payload={"reason": "搬迁"},
            person_id=1,
            now=NOW,
        )
    change = (await store.pending_changes(db, entries[0].township_id))[0]
    async with db.transaction() as tx:
        assert await store.decide(tx, change["id"], confirm=True, person_id=4, now=NOW)
    t = next(tr for tr in translators if tr.language == lang)
    out = tmp_path / f"export-{lang}.xlsx"
    assert await export_file(db, out, POLICY, t) == 4

    empty = await Database(tmp_path / "empty.sqlite3").open()
    try:
        await migrate(empty)
        await import_roster(empty, parse_roster(DATA / "roster_two.csv"), FakeClock(NOW))
        parsed = parse_file(out, POLICY, translators)
        assert parsed.ok, parsed.errors
        await import_file(empty, parsed, NOW)

        def shape(rows: list[store.Entry]) -> list[tuple]:
            return sorted(
                (
                    e.township,
                    e.village,
                    e.category,
                    e.name,
                    tuple(sorted(e.fields.items())),
                    e.is_open,
                    e.close_reason,
                )
                for e in rows
            )

        assert shape(await store.all_entries(empty)) == shape(await store.all_entries(db))
    finally:
        await empty.close()


async def test_closed_entry_keeps_its_history_and_search_respects_scope(
    db, tmp_path, translators
) -> None:
    await import_file(db, parse_file(workbook(tmp_path / "r.xlsx", GOOD), POLICY, translators), NOW)
    venue = next(e for e in await store.all_entries(db) if e.name == "观音寺")
    async with db.transaction() as tx:
        n = await store.record_visits(
            tx,
            [venue.id, 999999],
            village_id=venue.village_id,
            report_id=None,
            person_id=1,
            week="2026-W47",
            visited_on=date(2026, 11, 17),
            now=NOW,
        )
    assert n == 1  # an entry of no such village is ignored
    async with db.transaction() as tx:
        await store.propose(
            tx,
            kind="close",
            township_id=venue.township_id,
            village_id=venue.village_id,
            entry_id=venue.id,
            payload={"reason": "场所关闭"},
            person_id=1,
            now=NOW,
        )
    change_id = (await store.pending_changes(db, venue.township_id))[0]["id"]
    async with db.transaction() as tx:
        assert await store.decide(tx, change_id, confirm=True, person_id=4, now=NOW)
        assert not await store.decide(tx, change_id, confirm=False, person_id=4, now=NOW)
    closed = await store.entry(db, venue.id)
    assert closed is not None and not closed.is_open and closed.close_reason == "场所关闭"
    assert [v["visited_on"] for v in await store.visits(db, venue.id)] == ["2026-11-17"]
    assert venue.id not in [e.id for e in await store.village_entries(db, venue.village_id)]

    hekou = venue.township_id
    found, total = await store.search(db, "庙", township_id=hekou)
    assert (found, total) == ([], 0)  # 土地庙 is in 金汇镇
    found, total = await store.search(db, "庙", township_id=None)
    assert [e.name for e in found] == ["土地庙"]
    found, _ = await store.search(db, "13900000003", township_id=hekou)
    assert [e.name for e in found] == ["马建华"]


async def test_rejected_change_changes_nothing_and_confirmed_add_enters(db, tmp_path, translators):
    await import_file(db, parse_file(workbook(tmp_path / "r.xlsx", GOOD), POLICY, translators), NOW)
    venue = next(e for e in await store.all_entries(db) if e.name == "观音寺")
    async with db.transaction() as tx:
        wrong = await store.propose(
            tx,
            kind="correct",
            township_id=venue.township_id,
            village_id=venue.village_id,
            entry_id=venue.id,
            payload={"field": "phone", "value": "13700000000"},
            person_id=1,
            now=NOW,
        )
        added = await store.propose(
            tx,
            kind="add",
            township_id=venue.township_id,
            village_id=venue.village_id,
            entry_id=None,
            payload={"category": "talent", "name": "王巧手", "fields": {"title": "剪纸"}},
            person_id=1,
            now=NOW,
        )
    async with db.transaction() as tx:
        await store.decide(tx, wrong, confirm=False, person_id=4, now=NOW)
        await store.decide(tx, added, confirm=True, person_id=4, now=NOW)
    assert (await store.entry(db, venue.id)).fields["phone"] == "13900000001"  # type: ignore[union-attr]
    names = [e.name for e in await store.village_entries(db, venue.village_id)]
    assert "王巧手" in names
    decided = await store.change(db, wrong)
    assert decided is not None and decided["state"] == "rejected" and decided["decided_by"] == 4


def test_cli_register_import_and_export(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "cli.sqlite3"))
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    assert main(["roster", "import", str(DATA / "roster_two.csv")]) == 0
    good = workbook(tmp_path / "r.xlsx", GOOD)
    assert main(["register", "import", str(good)]) == 0
    assert "4 new" in capsys.readouterr().out
    assert main(["register", "export", str(tmp_path / "out.xlsx")]) == 0
    assert "4 register entries" in capsys.readouterr().out
    book = openpyxl.load_workbook(tmp_path / "out.xlsx")
    assert "宗教活动场所" in book.sheetnames
    bad = tmp_path / "bad.csv"
    bad.write_text("类别,乡镇,村社区,姓名\n无此类,河口乡,方庄村,某\n", encoding="utf-8")
    assert main(["register", "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.csv:2:" in err and "nothing was imported" in err
