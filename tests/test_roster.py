"""Roster files, import, invite codes and the /start wait rule (PRODUCT.md §4)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from bot.__main__ import main
from bot.clock import FakeClock
from bot.domain.people import Role
from bot.domain.roster import (
    INVITE_ALPHABET,
    ParsedRoster,
    RosterError,
    RosterFileError,
    RosterRow,
    new_invite_code,
    normalise_invite_code,
    normalise_phone,
    parse_roster,
)
from bot.storage.db import Database
from bot.storage.migrations import migrate
from bot.storage.roster import (
    AmbiguousPerson,
    ImportedPerson,
    ImportResult,
    PersonNotFound,
    RosterImportError,
    import_roster,
    new_invite,
    record_failed_start,
    redeem_invite,
    wait_seconds,
)

DATA = Path(__file__).parent / "data"
START = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
HEADER = "township,village,name,role,phone,telegram_id\n"
TABLES = ("townships", "villages", "people", "invites")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database(tmp_path / "t.sqlite3").open()
    await migrate(database)
    yield database
    await database.close()


def write(tmp_path: Path, text: str, name: str = "roster.csv") -> Path:
    """Write a CSV roster and return its path."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def csv_rows(tmp_path: Path, *lines: str, name: str = "roster.csv") -> ParsedRoster:
    """Parse an English-header CSV made of the given data lines."""
    return parse_roster(write(tmp_path, HEADER + "".join(line + "\n" for line in lines), name))


async def dump(db: Database) -> dict[str, list[tuple]]:
    """Return every row of the roster tables, for before/after comparison."""
    tables = {}
    for table in TABLES:
        tables[table] = [tuple(r) for r in await db.fetchall(f"SELECT * FROM {table} ORDER BY 1")]
    return tables


async def person(db: Database, name: str) -> dict:
    """Return a person's row with place names, by name."""
    row = await db.fetchone(
        "SELECT p.*, t.name AS township, v.name AS village FROM people p"
        " LEFT JOIN townships t ON t.id = p.township_id LEFT JOIN villages v ON v.id = p.village_id"
        " WHERE p.name = ?",
        (name,),
    )
    assert row is not None, name
    return dict(row)


def code_of(result: ImportResult, name: str) -> str | None:
    """Return the invite code the import reported for a name."""
    return next(p.invite_code for p in result.people if p.name == name)


# ---------------------------------------------------------------- parsing


def test_english_csv() -> None:
    parsed = parse_roster(DATA / "roster_hekou.csv")
    assert parsed.errors == []
    assert len(parsed.rows) == 11
    first = parsed.rows[0]
    assert first == RosterRow(2, "河口乡", "方庄村", "王建国", Role.LIAISON, "13800000001", None)
    by_name = {r.name: r for r in parsed.rows}
    assert by_name["张伟"].phone == "13800000003"  # dashes dropped
    assert by_name["刘洋"].phone == "13800000004"  # +86 and spaces dropped
    assert by_name["吴芳"].telegram_id == 555000111
    assert by_name["冯兴敏"].role == "commissioner" and by_name["冯兴敏"].village is None
    assert by_name["孙丽"].role == Role.COUNTY and by_name["孙丽"].township is None
    assert by_name["周明"] == RosterRow(12, None, None, "周明", Role.ADMIN, None, 987654321)


def test_chinese_csv_with_bom_matches_english() -> None:
    assert (DATA / "roster_hekou_zh.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    zh = parse_roster(DATA / "roster_hekou_zh.csv")
    en = parse_roster(DATA / "roster_hekou.csv")
    assert zh.errors == []
    # Same people: Chinese roles, 信息员, a padded name "张　伟" and other phone spellings.
    assert zh.rows == en.rows


def test_windows_line_endings_and_no_bom(tmp_path: Path) -> None:
    text = (DATA / "roster_hekou.csv").read_text(encoding="utf-8").replace("\n", "\r\n")
    path = tmp_path / "crlf.csv"
    path.write_bytes(text.encode("utf-8"))
    parsed = parse_roster(path)
    assert parsed.rows == parse_roster(DATA / "roster_hekou.csv").rows


def test_xlsx_with_chinese_headers_and_numeric_cells(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([" 乡镇 ", "村(社区)", "姓名", "角色", "手机", "telegram id"])
    sheet.append(["河口乡", "方庄村", "王建国", "联络员", 13800000001, None])
    sheet.append(["河口乡", "高河村", "李秀英", "联络员", 13800000002.0, 123456789.0])
    sheet.append([None, None, None, None, None, None])  # blank row: skipped, keeps numbering
    sheet.append(["河口乡", None, "冯兴敏", "统战委员", "138 0000 0010", None])
    sheet.append(["河口乡", "大黄村", "杨磊", "联络员", 12345, None])  # too short
    book.create_sheet("ignored").append(["not", "read"])
    path = tmp_path / "roster.xlsx"
    book.save(path)

    parsed = parse_roster(path)
    assert parsed.rows == [
        RosterRow(2, "河口乡", "方庄村", "王建国", Role.LIAISON, "13800000001", None),
        RosterRow(3, "河口乡", "高河村", "李秀英", Role.LIAISON, "13800000002", 123456789),
        RosterRow(5, "河口乡", None, "冯兴敏", Role.COMMISSIONER, "13800000010", None),
    ]
    assert [(e.line, e.code) for e in parsed.errors] == [(6, "bad_phone")]


def test_every_kind_of_bad_row_reported_at_once() -> None:
    parsed = parse_roster(DATA / "roster_bad.csv")
    assert [(e.line, e.code) for e in parsed.errors] == [
        (3, "missing_name"),
        (4, "unknown_role"),
        (5, "missing_township"),
        (6, "missing_village"),
        (7, "bad_phone"),
        (8, "bad_telegram_id"),
        (10, "duplicate_person"),
        (11, "name_too_long"),
        # line 12-13 is one record (a quoted line break) and is valid
        (14, "duplicate_telegram_id"),
        (15, "missing_role"),
        (16, "bad_phone"),
        (17, "extra_cells"),
        (18, "village_without_township"),
        (21, "duplicate_person"),
        (22, "missing_name"),
        (22, "bad_phone"),
        (22, "bad_telegram_id"),
    ]
    assert {r.line for r in parsed.rows} == {2, 12, 20}
    assert next(r for r in parsed.rows if r.line == 12).village == "大黄村"
    messages = {e.line: str(e) for e in parsed.errors}
    assert messages[4].startswith("line 4: unknown role '村长'")
    assert "line 2" in messages[10] and "line 12" in messages[14]
    assert not parsed.ok


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        ("township,village,name,role,email\n", "unknown column(s) 'email'"),
        ("乡镇,村社区,姓名,电话\n", "missing required column(s) role"),
        ("township,village,role\n", "missing required column(s) name"),
        ("name,role,电话,手机\n", "column 'phone' appears twice"),
        ("\n", "must be the header row"),
    ],
)
def test_header_problems(tmp_path: Path, header: str, fragment: str) -> None:
    path = write(tmp_path, header + "河口乡,方庄村,王建国,liaison\n")
    with pytest.raises(RosterFileError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        parse_roster(path)


def test_header_aliases(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "乡镇,村,Name ,ROLE,联系电话,TelegramID\n河口乡,方庄村,王建国,Liaison,13800000001,42\n",
    )
    assert parse_roster(path).rows == [
        RosterRow(2, "河口乡", "方庄村", "王建国", Role.LIAISON, "13800000001", 42)
    ]


def test_file_level_errors(tmp_path: Path) -> None:
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("姓名,角色\n王建国,联络员\n".encode("gbk"))
    with pytest.raises(RosterFileError, match="not UTF-8"):
        parse_roster(gbk)
    with pytest.raises(RosterFileError, match=r"unsupported file type '\.xls'"):
        parse_roster(write(tmp_path, "name,role\n", "roster.xls"))
    with pytest.raises(RosterFileError, match="empty"):
        parse_roster(write(tmp_path, ""))
    with pytest.raises(RosterFileError, match="cannot read"):
        parse_roster(tmp_path / "missing.csv")
    with pytest.raises(RosterFileError, match=r"not a readable \.xlsx"):
        parse_roster(write(tmp_path, "name,role\n", "fake.xlsx"))


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("13800138000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("0086 13800138000", "13800138000"),
        ("(0371) 6123-4567", "037161234567"),
        ("１３８００１３８０００", "13800138000"),  # full-width digits from a Chinese IME
        ("123456", None),
        ("1234567890123456", None),
        ("138x0013", None),
        ("", None),
    ],
)
def test_normalise_phone(text: str, digits: str | None) -> None:
    assert normalise_phone(text) == digits


def test_invite_code_shape() -> None:
    codes = {new_invite_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 8 and set(code) <= set(INVITE_ALPHABET)
    assert not set("0O1IL") & set(INVITE_ALPHABET)
    assert normalise_invite_code(" abcd-efgh ") == "ABCDEFGH"


# ---------------------------------------------------------------- import


async def test_import_creates_people_places_and_codes(db: Database, clock: FakeClock) -> None:
    result = await import_roster(db, parse_roster(DATA / "roster_hekou.csv"), clock)
    assert (result.created, result.updated, result.unchanged) == (11, 0, 0)
    assert result.new_codes == 9

    townships = [r[0] for r in await db.fetchall("SELECT name FROM townships ORDER BY id")]
    assert townships == ["河口乡", "金汇镇"]
    villages = [r[0] for r in await db.fetchall("SELECT name FROM villages ORDER BY id")]
    assert villages == ["方庄村", "高河村", "大朱村", "刘振屯村", "马庄村", "大黄村", "白沙社区"]

    wang = await person(db, "王建国")
    assert (wang["role"], wang["township"], wang["village"], wang["phone"]) == (
        "liaison",
        "河口乡",
        "方庄村",
        "13800000001",
    )
    assert wang["telegram_id"] is None and wang["bound_at"] is None
    code = code_of(result, "王建国")
    assert code is not None and len(code) == 8
    invite = await db.fetchone("SELECT * FROM invites WHERE code = ?", (code,))
    assert invite["person_id"] == wang["id"]
    assert invite["expires_at"] == "2026-12-05T02:00:00.000000Z"  # 14 days
    assert invite["used_at"] is None

    # telegram_id in the file binds directly, without a code.
    zhou = await person(db, "周明")
    assert zhou["telegram_id"] == 987654321 and zhou["bound_at"] == "2026-11-21T02:00:00.000000Z"
    assert code_of(result, "周明") is None and code_of(result, "吴芳") is None
    assert await db.fetchval("SELECT count(*) FROM invites WHERE person_id = ?", (zhou["id"],)) == 0

    county = await person(db, "孙丽")
    assert county["township_id"] is None and county["village_id"] is None


def test_json_output_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`roster import --json`: one array of objects, Chinese kept readable."""
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "cli.sqlite3"))
    assert main(["roster", "import", str(DATA / "roster_hekou.csv"), "--json"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert isinstance(data, list) and len(data) == 11
    # No invite_link yet: the bot's username is known only once it has run.
    assert all(set(item) == {"name", "role", "township", "village", "invite_code"} for item in data)
    assert data[0]["name"] == "王建国" and data[0]["role"] == "liaison"
    assert data[-1] == {
        "name": "周明",
        "role": "admin",
        "township": None,
        "village": None,
        "invite_code": None,
    }
    assert "王建国" in out  # Chinese kept readable


async def test_reimport_changes_nothing(db: Database, clock: FakeClock) -> None:
    first = await import_roster(db, parse_roster(DATA / "roster_hekou.csv"), clock)
    before = await dump(db)
    clock.advance(days=3)
    again = await import_roster(db, parse_roster(DATA / "roster_hekou.csv"), clock)
    # The Chinese file describes the same people: also no change.
    zh = await import_roster(db, parse_roster(DATA / "roster_hekou_zh.csv"), clock)
    assert await dump(db) == before
    for result in (again, zh):
        assert (result.created, result.updated, result.unchanged, result.new_codes) == (0, 0, 11, 0)
        assert result.people == first.people  # the same codes are reported again


async def test_bad_file_imports_nothing(db: Database, clock: FakeClock) -> None:
    parsed = parse_roster(DATA / "roster_bad.csv")
    with pytest.raises(RosterImportError) as caught:
        await import_roster(db, parsed, clock)
    assert [e.line for e in caught.value.errors] == [e.line for e in parsed.errors]
    assert "line 3: name is missing" in str(caught.value)
    assert await dump(db) == {t: [] for t in TABLES}


async def test_reimport_with_changed_phone_or_village_updates(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    first = await import_roster(
        db,
        csv_rows(
            tmp_path,
            "河口乡,方庄村,王建国,liaison,13800000001,",
            "河口乡,高河村,李秀英,liaison,13800000002,",
        ),
        clock,
    )
    wang, li = await person(db, "王建国"), await person(db, "李秀英")
    result = await import_roster(
        db,
        csv_rows(
            tmp_path,
            "河口乡,方庄村,王建国,liaison,13900000001,",  # new phone, same place
            "河口乡,大朱村,李秀英,liaison,13800000002,",  # same phone, new village
        ),
        clock,
    )
    assert (result.created, result.updated, result.unchanged, result.new_codes) == (0, 2, 0, 0)
    assert result.people == [
        ImportedPerson("王建国", "liaison", "河口乡", "方庄村", code_of(first, "王建国")),
        ImportedPerson("李秀英", "liaison", "河口乡", "大朱村", code_of(first, "李秀英")),
    ]
    wang2, li2 = await person(db, "王建国"), await person(db, "李秀英")
    assert wang2["id"] == wang["id"] and wang2["phone"] == "13900000001"
    assert li2["id"] == li["id"] and li2["village"] == "大朱村"
    assert await db.fetchval("SELECT count(*) FROM people") == 2


async def test_reimport_role_change_and_blank_cells_keep_phone(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    await import_roster(db, csv_rows(tmp_path, "河口乡,,冯兴敏,leader,13800000010,"), clock)
    # Phone matches: the role is corrected in place.
    parsed = csv_rows(tmp_path, "河口乡,,冯兴敏,commissioner,13800000010,")
    result = await import_roster(db, parsed, clock)
    assert (result.created, result.updated) == (0, 1)
    assert (await person(db, "冯兴敏"))["role"] == "commissioner"
    # No phone in the file: matched by name+role+place, and the stored phone is kept.
    result = await import_roster(db, csv_rows(tmp_path, "河口乡,,冯兴敏,commissioner,,"), clock)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)
    assert (await person(db, "冯兴敏"))["phone"] == "13800000010"


async def test_identity_by_telegram_id_and_without_phone(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    await import_roster(
        db,
        csv_rows(tmp_path, "河口乡,马庄村,陈静,liaison,,4242", "河口乡,大黄村,杨磊,liaison,,"),
        clock,
    )
    chen, yang = await person(db, "陈静"), await person(db, "杨磊")
    result = await import_roster(
        db,
        csv_rows(
            tmp_path,
            "河口乡,高河村,陈静,liaison,13800000005,4242",  # found by telegram_id
            "河口乡,大黄村,杨磊,liaison,13800000006,",  # found by name+role+place
        ),
        clock,
    )
    assert (result.created, result.updated) == (0, 2)
    chen2, yang2 = await person(db, "陈静"), await person(db, "杨磊")
    assert (chen2["id"], chen2["village"], chen2["phone"]) == (chen["id"], "高河村", "13800000005")
    assert chen2["bound_at"] == chen["bound_at"]  # same binding, not rebound
    assert (yang2["id"], yang2["phone"]) == (yang["id"], "13800000006")


async def test_telegram_id_taken_by_another_person(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    await import_roster(db, parse_roster(DATA / "roster_hekou.csv"), clock)
    before = await dump(db)
    parsed = csv_rows(
        tmp_path,
        "河口乡,方庄村,王建国,liaison,13800000001,",
        "河口乡,高河村,李秀英,liaison,13800000002,987654321",  # 周明's account
    )
    with pytest.raises(RosterImportError) as caught:
        await import_roster(db, parsed, clock)
    assert [(e.line, e.code) for e in caught.value.errors] == [(3, "telegram_id_taken")]
    assert "周明" in str(caught.value)
    assert await dump(db) == before


async def test_telegram_id_in_file_binds_existing_person(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    first = await import_roster(
        db, csv_rows(tmp_path, "河口乡,方庄村,王建国,liaison,13800000001,"), clock
    )
    old_code = code_of(first, "王建国")
    clock.advance(hours=1)
    parsed = csv_rows(tmp_path, "河口乡,方庄村,王建国,liaison,13800000001,777")
    result = await import_roster(db, parsed, clock)
    assert result.updated == 1 and code_of(result, "王建国") is None
    wang = await person(db, "王建国")
    assert wang["telegram_id"] == 777 and wang["bound_at"] == "2026-11-21T03:00:00.000000Z"
    # The outstanding code could have bound another account: it is revoked.
    assert (await redeem_invite(db, old_code, 888, clock)).status == "expired"


async def test_ambiguous_existing_namesakes_need_a_phone(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    await import_roster(
        db,
        csv_rows(
            tmp_path,
            "河口乡,方庄村,王伟,liaison,13800000001,",
            "河口乡,方庄村,王伟,liaison,13800000002,",
        ),
        clock,
    )
    before = await dump(db)
    with pytest.raises(RosterImportError) as caught:
        await import_roster(db, csv_rows(tmp_path, "河口乡,方庄村,王伟,liaison,,"), clock)
    assert [(e.line, e.code) for e in caught.value.errors] == [(2, "ambiguous_person")]
    assert await dump(db) == before


async def test_expired_code_is_replaced_on_reimport(db: Database, clock: FakeClock) -> None:
    first = await import_roster(db, parse_roster(DATA / "roster_hekou.csv"), clock)
    clock.advance(days=14)
    again = await import_roster(db, parse_roster(DATA / "roster_hekou.csv"), clock)
    assert (again.unchanged, again.new_codes) == (11, 9)
    assert code_of(again, "王建国") not in (None, code_of(first, "王建国"))


async def test_bound_person_gets_no_new_code_on_reimport(db: Database, clock: FakeClock) -> None:
    first = await import_roster(db, parse_roster(DATA / "roster_hekou.csv"), clock)
    assert (await redeem_invite(db, code_of(first, "王建国"), 1001, clock)).status == "ok"
    again = await import_roster(db, parse_roster(DATA / "roster_hekou.csv"), clock)
    assert code_of(again, "王建国") is None and again.new_codes == 0
    assert (await person(db, "王建国"))["telegram_id"] == 1001


# ---------------------------------------------------------------- invite codes


async def test_redeem_binds_once(db: Database, clock: FakeClock) -> None:
    result = await import_roster(db, parse_roster(DATA / "roster_hekou.csv"), clock)
    code = code_of(result, "李秀英")
    li = await person(db, "李秀英")
    clock.advance(minutes=5)

    typed = f" {code[:4].lower()}-{code[4:].lower()} "  # as typed on a phone
    ok = await redeem_invite(db, typed, 2002, clock)
    assert (ok.status, ok.person_id, ok.repeated) == ("ok", li["id"], False)
    li = await person(db, "李秀英")
    assert li["telegram_id"] == 2002 and li["bound_at"] == "2026-11-21T02:05:00.000000Z"
    invite = await db.fetchone("SELECT used_at, used_by FROM invites WHERE code = ?", (code,))
    assert tuple(invite) == ("2026-11-21T02:05:00.000000Z", 2002)

    before = await dump(db)
    again = await redeem_invite(db, code, 2002, clock)  # redelivered /start
    assert (again.status, again.person_id, again.repeated) == ("ok", li["id"], True)
    assert await dump(db) == before

    other = await redeem_invite(db, code, 3003, clock)
    assert (other.status, other.person_id) == ("used", None)
    assert await dump(db) == before


async def test_unknown_codes(db: Database, clock: FakeClock) -> None:
    await import_roster(db, parse_roster(DATA / "roster_hekou.csv"), clock)
    before = await dump(db)
    for code in ("ABCDEFGH", "", "hello", "AB0DEFGH", "ABCDEFGHJ"):
        assert (await redeem_invite(db, code, 4004, clock)).status == "unknown"
    assert await dump(db) == before


async def test_code_expires_after_14_days(db: Database, clock: FakeClock) -> None:
    result = await import_roster(db, parse_roster(DATA / "roster_hekou.csv"), clock)
    clock.set(START + timedelta(days=14) - timedelta(seconds=1))
    assert (await redeem_invite(db, code_of(result, "王建国"), 5005, clock)).status == "ok"
    clock.set(START + timedelta(days=14))
    assert (await redeem_invite(db, code_of(result, "张伟"), 5006, clock)).status == "expired"
    assert (await person(db, "张伟"))["telegram_id"] is None


async def test_new_invite_by_name_and_phone(db: Database, clock: FakeClock) -> None:
    first = await import_roster(db, parse_roster(DATA / "roster_hekou.csv"), clock)
    old = code_of(first, "李秀英")
    clock.advance(hours=1)

    by_name = await new_invite(db, " 李秀英 ", clock)
    assert (by_name.name, by_name.role, by_name.township, by_name.village) == (
        "李秀英",
        "liaison",
        "河口乡",
        "高河村",
    )
    assert by_name.invite_code not in (None, old)
    expires = await db.fetchval(
        "SELECT expires_at FROM invites WHERE code = ?", (by_name.invite_code,)
    )
    assert expires == "2026-12-05T03:00:00.000000Z"

    by_phone = await new_invite(db, "+86 138-0000-0002", clock, days=3)
    assert by_phone.name == "李秀英" and by_phone.invite_code != by_name.invite_code

    # Earlier unused codes are revoked; only the newest works.
    assert (await redeem_invite(db, old, 6006, clock)).status == "expired"
    assert (await redeem_invite(db, by_name.invite_code, 6006, clock)).status == "expired"
    assert (await redeem_invite(db, by_phone.invite_code, 6006, clock)).status == "ok"

    # Re-import reports the pending code instead of making another.
    again = await import_roster(db, parse_roster(DATA / "roster_hekou.csv"), clock)
    assert again.new_codes == 0


async def test_new_invite_not_found_and_ambiguous(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    await import_roster(
        db,
        csv_rows(
            tmp_path,
            "河口乡,方庄村,王伟,liaison,13800000001,",
            "金汇镇,白沙社区,王伟,liaison,13800000002,",
        ),
        clock,
    )
    with pytest.raises(PersonNotFound, match="张三"):
        await new_invite(db, "张三", clock)
    with pytest.raises(LookupError):
        await new_invite(db, "13999999999", clock)
    before = await dump(db)
    with pytest.raises(AmbiguousPerson) as caught:
        await new_invite(db, "王伟", clock)
    assert isinstance(caught.value, LookupError)
    assert [(c.village, c.phone) for c in caught.value.candidates] == [
        ("方庄村", "13800000001"),
        ("白沙社区", "13800000002"),
    ]
    assert "金汇镇 白沙社区" in str(caught.value) and "13800000002" in str(caught.value)
    assert await dump(db) == before
    # The phone picks one of them.
    assert (await new_invite(db, "13800000002", clock)).village == "白沙社区"


async def test_bound_person_rebinds_with_new_code(db: Database, clock: FakeClock) -> None:
    result = await import_roster(db, parse_roster(DATA / "roster_hekou.csv"), clock)
    wang = await person(db, "王建国")
    assert (await redeem_invite(db, code_of(result, "王建国"), 7001, clock)).status == "ok"
    # New phone, new Telegram account: the admin issues a new code.
    fresh = await new_invite(db, "王建国", clock)
    assert (await redeem_invite(db, fresh.invite_code, 7002, clock)).person_id == wang["id"]
    assert (await person(db, "王建国"))["telegram_id"] == 7002


async def test_account_changing_hands_unbinds_previous_person(
    db: Database, clock: FakeClock
) -> None:
    result = await import_roster(db, parse_roster(DATA / "roster_hekou.csv"), clock)
    assert (await redeem_invite(db, code_of(result, "王建国"), 8001, clock)).status == "ok"
    # The same Telegram account now redeems 陈静's code (the phone was handed on).
    assert (await redeem_invite(db, code_of(result, "陈静"), 8001, clock)).status == "ok"
    assert (await person(db, "陈静"))["telegram_id"] == 8001
    wang = await person(db, "王建国")
    assert wang["telegram_id"] is None and wang["bound_at"] is None
    # 王建国's used code no longer answers 'ok' for that account.
    assert (await redeem_invite(db, code_of(result, "王建国"), 8001, clock)).status == "used"


# ---------------------------------------------------------------- wait rule


async def test_five_wrong_codes_make_the_user_wait(db: Database, clock: FakeClock) -> None:
    user = 9001
    for _ in range(5):
        assert await wait_seconds(db, user, clock) == 0
        await record_failed_start(db, user, clock)
        clock.advance(minutes=1)
    # Failures at 02:00..02:04; now 02:05. Blocked until 02:10 (the first drops out).
    assert await wait_seconds(db, user, clock) == 300
    assert await wait_seconds(db, 9002, clock) == 0  # other users are not affected
    clock.set(START + timedelta(minutes=9, seconds=59))
    assert await wait_seconds(db, user, clock) == 1
    clock.set(START + timedelta(minutes=10))
    assert await wait_seconds(db, user, clock) == 0

    # A sixth failure re-blocks until the second one is 10 minutes old.
    await record_failed_start(db, user, clock)
    assert await wait_seconds(db, user, clock) == 60


async def test_old_attempts_are_forgotten(db: Database, clock: FakeClock) -> None:
    for _ in range(5):
        await record_failed_start(db, 9100, clock)
    clock.advance(days=2)
    await record_failed_start(db, 9100, clock)
    assert await db.fetchval("SELECT count(*) FROM start_attempts WHERE telegram_id = 9100") == 1
    assert await wait_seconds(db, 9100, clock) == 0


def test_roster_error_text() -> None:
    assert str(RosterError(7, "name is missing", "missing_name")) == "line 7: name is missing"
