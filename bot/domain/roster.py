"""Roster files (PRODUCT.md §4): read CSV/XLSX, validate every row, report every problem.

Pure code: no SQL, no Telegram. The repository in bot/storage/roster.py stores the result.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

from bot.domain.people import Role

MAX_NAME = 50
MAX_PLACE = 100
PHONE_DIGITS = (7, 15)
# Telegram user ids are positive and fit in 52 bits; SQLite INTEGER holds 63.
MAX_TELEGRAM_ID = 2**63 - 1

# Invite codes are read aloud and typed on phones: no 0/O, 1/I/L.
INVITE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
INVITE_LENGTH = 8

COLUMNS = ("township", "village", "name", "role", "phone", "telegram_id")
REQUIRED_COLUMNS = ("name", "role")

# Header spellings after _header_key(): NFKC, lower case, no spaces/underscores/dashes.
_HEADER_ALIASES: dict[str, str] = {
    "township": "township",
    "town": "township",
    "乡镇": "township",
    "乡镇街道": "township",
    "乡镇(街道)": "township",
    "乡/镇": "township",
    "village": "village",
    "community": "village",
    "村社区": "village",
    "村": "village",
    "社区": "village",
    "村(社区)": "village",
    "村/社区": "village",
    "name": "name",
    "姓名": "name",
    "role": "role",
    "角色": "role",
    "phone": "phone",
    "mobile": "phone",
    "电话": "phone",
    "手机": "phone",
    "手机号": "phone",
    "手机号码": "phone",
    "联系电话": "phone",
    "电话号码": "phone",
    "telegramid": "telegram_id",
    "tgid": "telegram_id",
}

# Role spellings after _role_key(): NFKC, lower case, no spaces.
_ROLE_ALIASES: dict[str, Role] = {
    "liaison": Role.LIAISON,
    "联络员": Role.LIAISON,
    "信息员": Role.LIAISON,
    "commissioner": Role.COMMISSIONER,
    "统战委员": Role.COMMISSIONER,
    "leader": Role.LEADER,
    "分管领导": Role.LEADER,
    "党委副书记": Role.LEADER,
    "county": Role.COUNTY,
    "县统战部": Role.COUNTY,
    "县委统战部": Role.COUNTY,
    "admin": Role.ADMIN,
    "管理员": Role.ADMIN,
}
_ROLE_HINT = "liaison/联络员, commissioner/统战委员, leader/分管领导, county/县统战部, admin/管理员"

# Roles that work above any single township.
_NO_TOWNSHIP = frozenset({Role.COUNTY, Role.ADMIN})

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
_PHONE_CHARS = re.compile(r"^\+?[\d\s()\-]+$")


class RosterFileError(Exception):
    """The file as a whole cannot be used (unreadable, wrong format, bad header)."""


@dataclass(frozen=True)
class RosterError:
    """One problem on one line; `reason` is for people, `code` for programs."""

    line: int
    reason: str
    code: str = "invalid"

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True)
class RosterRow:
    """One valid person from the file, normalised."""

    line: int
    township: str | None
    village: str | None
    name: str
    role: Role
    phone: str | None
    telegram_id: int | None


@dataclass
class ParsedRoster:
    """Every valid row and every problem found (import only when errors is empty)."""

    rows: list[RosterRow] = field(default_factory=list)
    errors: list[RosterError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Return whether the roster can be imported."""
        return not self.errors


# ---------------------------------------------------------------- normalisers


def normalise_name(text: str) -> str:
    """Collapse white space; drop it between Chinese characters ("王　伟" → "王伟")."""
    # Chinese spreadsheets pad two-character names with a full-width space for alignment.
    text = " ".join(text.split())
    return _SPACE_BETWEEN_CJK.sub("", text)


def normalise_phone(text: str) -> str | None:
    """Return the phone number as digits, or None if it is not a phone number.

    Spaces, dashes, brackets and a leading +86 / 0086 are allowed; 7–15 digits remain.
    """
    text = unicodedata.normalize("NFKC", text).strip()
    if not text or not _PHONE_CHARS.match(text):
        return None
    digits = re.sub(r"\D", "", text)
    if text.startswith("+86"):
        digits = digits[2:]
    elif text.startswith("0086"):
        digits = digits[4:]
    low, high = PHONE_DIGITS
    return digits if low <= len(digits) <= high else None


def parse_telegram_id(text: str) -> int | None:
    """Return a positive Telegram user id, or None if the text is not one."""
    text = unicodedata.normalize("NFKC", text).strip()
    # Spreadsheets that stored the id as a number may export "123456789.0".
    m = re.fullmatch(r"(\d+)(?:\.0+)?", text)
    if not m:
        return None
    value = int(m[1])
    return value if 0 < value <= MAX_TELEGRAM_ID else None


def parse_role(text: str) -> Role | None:
    """Return the canonical role for an English or Chinese spelling."""
    key = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()
    return _ROLE_ALIASES.get(key)


def normalise_invite_code(text: str) -> str:
    """Normalise a typed code: trim, upper-case, drop spaces and dashes."""
    return re.sub(r"[\s\-_]", "", unicodedata.normalize("NFKC", text)).upper()


def looks_like_invite_code(code: str) -> bool:
    """Return whether a normalised code could have been issued by new_invite_code."""
    return len(code) == INVITE_LENGTH and all(c in INVITE_ALPHABET for c in code)


def new_invite_code() -> str:
    """Return a fresh random invite code."""
    return "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))


# ---------------------------------------------------------------- reading files


def parse_roster(path: Path) -> ParsedRoster:
    """Read a .csv or .xlsx roster and validate every row."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        records = _read_csv(path)
    elif suffix == ".xlsx":
        records = _read_xlsx(path)
    else:
        raise RosterFileError(
            f"{path.name}: unsupported file type {suffix or '(none)'!r}; use .csv (UTF-8) or .xlsx"
        )
    return parse_records(records)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise RosterFileError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _read_csv(path: Path) -> list[tuple[int, list[object]]]:
    """Return (line number, cells) for each CSV record."""
    raw = _read_bytes(path)
    try:
        # utf-8-sig also accepts files without a BOM.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise RosterFileError(
            f"{path.name} is not UTF-8 (first bad byte on line {line}); in Excel use "
            "'Save As → CSV UTF-8', or save as .xlsx"
        ) from exc
    # newline="" keeps \r\n inside the text so the csv module handles Windows line endings
    # and line breaks inside quoted cells itself.
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[tuple[int, list[object]]] = []
    start = 1
    try:
        for cells in reader:
            records.append((start, list(cells)))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise RosterFileError(
            f"{path.name}, line {reader.line_num}: not valid CSV ({exc})"
        ) from exc
    return records


def _read_xlsx(path: Path) -> list[tuple[int, list[object]]]:
    """Return (row number, cell values) for each row of the first sheet."""
    # Imported here so CSV-only use does not pay for loading openpyxl.
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    _read_bytes(path)  # a clear message for a missing or unreadable file
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise RosterFileError(f"{path.name} is not a readable .xlsx workbook ({exc})") from exc
    try:
        if not book.worksheets:
            raise RosterFileError(f"{path.name} has no worksheet")
        sheet = book.worksheets[0]
        # Some programs write a wrong <dimension>; without it openpyxl reads what is there.
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()
        # iter_rows yields every row from 1, filling gaps, so the index is the sheet row.
        return [
            (number, list(values))
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        ]
    finally:
        book.close()


def _cell_text(value: object) -> str:
    """Turn a CSV/XLSX cell into trimmed text; whole floats lose their ".0"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        # Excel keeps phone numbers typed as numbers as floats: 13800138000.0.
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()


# ---------------------------------------------------------------- header and rows


def _header_key(text: str) -> str:
    return re.sub(r"[\s_\-]", "", unicodedata.normalize("NFKC", text)).lower()


def parse_header(cells: Sequence[object]) -> dict[int, str]:
    """Map cell positions to canonical column names; raise RosterFileError on problems."""
    columns: dict[int, str] = {}
    seen: dict[str, str] = {}
    unknown: list[str] = []
    for index, cell in enumerate(cells):
        text = _cell_text(cell)
        if not text:
            continue
        column = _HEADER_ALIASES.get(_header_key(text))
        if column is None:
            unknown.append(text)
        elif column in seen:
            raise RosterFileError(
                f"header (line 1): column {column!r} appears twice ({seen[column]!r} and {text!r})"
            )
        else:
            seen[column] = text
            columns[index] = column
    if unknown:
        names = ", ".join(repr(u) for u in unknown)
        raise RosterFileError(
            f"header (line 1): unknown column(s) {names}; "
            f"known columns: {', '.join(COLUMNS)} (or 乡镇, 村社区, 姓名, 角色, 电话, TelegramID)"
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in seen]
    if missing:
        raise RosterFileError(
            f"header (line 1): missing required column(s) {', '.join(missing)} "
            "(姓名 = name, 角色 = role)"
        )
    return columns


def parse_records(records: Iterable[tuple[int, Sequence[object]]]) -> ParsedRoster:
    """Validate (line, cells) records whose first one is the header."""
    it = iter(records)
    first = next(it, None)
    if first is None:
        raise RosterFileError("the file is empty; line 1 must be the header row")
    line, header = first
    if not any(_cell_text(c) for c in header):
        raise RosterFileError(f"line {line} must be the header row but it is empty")
    columns = parse_header(header)
    parsed = ParsedRoster()
    seen = _SeenPeople()
    for line, cells in it:
        texts = [_cell_text(c) for c in cells]
        if not any(texts):
            continue
        row, errors = _parse_row(line, texts, columns)
        if row is not None:
            duplicate = seen.check(row)
            if duplicate is None:
                parsed.rows.append(row)
            else:
                errors.append(duplicate)
        parsed.errors.extend(errors)
    return parsed


def _parse_row(
    line: int, texts: list[str], columns: dict[int, str]
) -> tuple[RosterRow | None, list[RosterError]]:
    """Return the row (None if invalid) and every problem on it."""
    values = {c: "" for c in COLUMNS}
    errors: list[RosterError] = []
    stray = [i for i, t in enumerate(texts) if t and i not in columns]
    if stray:
        errors.append(
            RosterError(line, f"{len(stray)} value(s) in a column without a header", "extra_cells")
        )
    for index, column in columns.items():
        if index < len(texts):
            values[column] = texts[index]

    name = normalise_name(values["name"])
    if not name:
        errors.append(RosterError(line, "name is missing", "missing_name"))
    elif len(name) > MAX_NAME:
        errors.append(
            RosterError(line, f"name is longer than {MAX_NAME} characters", "name_too_long")
        )

    role = parse_role(values["role"]) if values["role"] else None
    if not values["role"]:
        errors.append(RosterError(line, "role is missing", "missing_role"))
    elif role is None:
        errors.append(
            RosterError(
                line, f"unknown role {values['role']!r}; use one of {_ROLE_HINT}", "unknown_role"
            )
        )

    township = normalise_name(values["township"]) or None
    village = normalise_name(values["village"]) or None
    errors.extend(_place_errors(line, role, township, village))

    phone = None
    if values["phone"]:
        phone = normalise_phone(values["phone"])
        if phone is None:
            errors.append(
                RosterError(
                    line,
                    f"phone {values['phone']!r} is not a phone number "
                    f"({PHONE_DIGITS[0]}–{PHONE_DIGITS[1]} digits; spaces, dashes, +86 allowed)",
                    "bad_phone",
                )
            )
    telegram_id = None
    if values["telegram_id"]:
        telegram_id = parse_telegram_id(values["telegram_id"])
        if telegram_id is None:
            errors.append(
                RosterError(
                    line,
                    f"telegram_id {values['telegram_id']!r} is not a positive whole number",
                    "bad_telegram_id",
                )
            )
    if errors or role is None:
        return None, errors
    return RosterRow(line, township, village, name, role, phone, telegram_id), errors


def _place_errors(
    line: int, role: Role | None, township: str | None, village: str | None
) -> list[RosterError]:
    """Check the township/village a role needs."""
    errors = []
    for label, value in (("township", township), ("village", village)):
        if value and len(value) > MAX_PLACE:
            reason = f"{label} is longer than {MAX_PLACE} characters"
            errors.append(RosterError(line, reason, "place_too_long"))
    if role is not None and role not in _NO_TOWNSHIP and not township:
        reason = f"township is missing (required for {role})"
        errors.append(RosterError(line, reason, "missing_township"))
    elif village and not township:
        # A village is stored under its township; without one it cannot be placed.
        reason = "village given without a township"
        errors.append(RosterError(line, reason, "village_without_township"))
    if role is Role.LIAISON and not village:
        reason = "village is missing (required for liaison)"
        errors.append(RosterError(line, reason, "missing_village"))
    return errors


class _SeenPeople:
    """Remember valid rows to catch the same person listed twice."""

    def __init__(self) -> None:
        self.by_phone: dict[tuple[str, str], int] = {}
        self.by_telegram: dict[int, int] = {}
        self.by_place: dict[tuple[str, str, str | None, str | None], int] = {}

    def check(self, row: RosterRow) -> RosterError | None:
        """Return an error if an earlier row is the same person, else remember this one."""
        if row.telegram_id is not None and row.telegram_id in self.by_telegram:
            first = self.by_telegram[row.telegram_id]
            return RosterError(
                row.line,
                f"telegram_id {row.telegram_id} is already on line {first}",
                "duplicate_telegram_id",
            )
        if row.phone is not None:
            phone_key = (row.name, row.phone)
            if phone_key in self.by_phone:
                return self._duplicate(row, self.by_phone[phone_key], "same name and phone")
            self.by_phone[phone_key] = row.line
        elif row.telegram_id is None:
            # Without phone or telegram_id these fields are the only identity on re-import.
            place_key = (row.name, row.role.value, row.township, row.village)
            if place_key in self.by_place:
                how = "same name, role and place, and no phone to tell them apart"
                return self._duplicate(row, self.by_place[place_key], how)
            self.by_place[place_key] = row.line
        if row.telegram_id is not None:
            self.by_telegram[row.telegram_id] = row.line
        return None

    @staticmethod
    def _duplicate(row: RosterRow, first: int, how: str) -> RosterError:
        return RosterError(row.line, f"same person as line {first} ({how})", "duplicate_person")
