"""The register of united-front subjects (统战对象台账): categories, fields and import files.

Pure code: no SQL, no Telegram. Entries are places (a religious venue) or people (a returned
overseas Chinese) of one village and one category. The categories and their fields come from
the policy file; field and category names shown to people come from locales/ (`register.cat.*`,
`register.field.*`), or from the policy's own `label` for categories an office adds itself.

Import files have one sheet per category (the sheet is named by the category's Chinese name or
its code) or, for CSV, one `类别` column. Headers are the fields' Chinese names (or their codes).
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Protocol

from bot.domain.roster import RosterError, RosterFileError, _cell_text, _read_bytes, _read_csv

MAX_FIELD = 200
MAX_ENTRY_NAME = 100

# Columns every sheet has besides the category's own fields.
PLACE_COLUMNS = ("township", "village")
STATE_COLUMNS = ("state", "close_reason")
# Column spellings people type (after _key()): NFKC, lower case, no spaces/underscores/dashes.
_FIXED_ALIASES = {
    "township": "township",
    "乡镇": "township",
    "乡镇街道": "township",
    "village": "village",
    "村社区": "village",
    "村": "village",
    "社区": "village",
    "category": "category",
    "类别": "category",
    "类型": "category",
    "state": "state",
    "状态": "state",
    "closereason": "close_reason",
    "关闭原因": "close_reason",
    # The name column is often headed by what the category names: a person or a place.
    "name": "name",
    "姓名": "name",
    "名称": "name",
    "名字": "name",
    "场所名称": "name",
}
# State words accepted in a file: open entries and closed ones.
STATE_WORDS = {"": "open", "open": "open", "在册": "open", "closed": "closed", "已关闭": "closed"}

# Field codes whose text is a phone number (normalised like the roster's).
PHONE_FIELDS = frozenset({"phone"})


@dataclass(frozen=True)
class Category:
    """One register category as the policy declares it."""

    code: str
    kind: str  # "place" or "person"
    fields: tuple[str, ...]  # field codes; the first is the entry's name
    visit_weeks: int | None = None  # visit rhythm: at least every N weeks
    label: str | None = None  # a name of the office's own, instead of register.cat.<code>
    field_labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_venue(self) -> bool:
        """Venues come first where a liaison picks where they checked."""
        return self.kind == "place"


@dataclass(frozen=True)
class RegisterRow:
    """One valid line of an import file."""

    line: int
    sheet: str
    category: str
    township: str
    village: str
    name: str
    fields: dict[str, str]
    state: str = "open"
    close_reason: str | None = None


@dataclass
class ParsedRegister:
    """Every valid row and every problem of an import file."""

    rows: list[RegisterRow] = field(default_factory=list)
    errors: list[RosterError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the file can be imported (all or nothing)."""
        return not self.errors


def _key(text: str) -> str:
    return re.sub(r"[\s_\-()（）]", "", unicodedata.normalize("NFKC", text)).lower()


def normalise_text(text: str) -> str:
    """Trim and NFKC a field (full-width digits in phone numbers become ASCII)."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


class Headings:
    """Resolves sheet names and column headers to category and field codes.

    names: {category code: every spelling of its name (one per language)};
    fields: {field code: every spelling of its label}.
    """

    def __init__(
        self,
        categories: Sequence[Category],
        names: Mapping[str, Iterable[str]],
        fields: Mapping[str, Iterable[str]],
        states: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.categories = {c.code: c for c in categories}
        self._category = {_key(c.code): c.code for c in categories}
        for code, spellings in names.items():
            for spelling in spellings:
                self._category.setdefault(_key(spelling), code)
                # A workbook cuts sheet names at 31 characters.
                self._category.setdefault(_key(spelling[:31]), code)
        self._state = {_key(k): v for k, v in STATE_WORDS.items()}
        for state, spellings in (states or {}).items():
            for spelling in spellings:
                self._state.setdefault(_key(spelling), state)
        self._field: dict[str, str] = {}
        for code, spellings in fields.items():
            self._field.setdefault(_key(code), code)
            for spelling in spellings:
                self._field.setdefault(_key(spelling), code)

    def category(self, text: str) -> str | None:
        """Return the category code a sheet name or a cell names, or None."""
        return self._category.get(_key(text))

    def state(self, text: str) -> str | None:
        """Return "open" or "closed" for a state cell (empty means open), or None."""
        return self._state.get(_key(text))

    def column(self, text: str) -> str | None:
        """Return the column code a header cell names, or None."""
        k = _key(text)
        return _FIXED_ALIASES.get(k) or self._field.get(k)


Sheet = tuple[str, list[tuple[int, list[object]]]]


def parse_sheets(sheets: Sequence[Sheet], headings: Headings) -> ParsedRegister:
    """Validate every sheet; a sheet's name is its category unless it has a category column."""
    parsed = ParsedRegister()
    seen: dict[tuple[str, str, str, str], tuple[str, int]] = {}
    for sheet_name, records in sheets:
        rows = [(line, [_cell_text(c) for c in cells]) for line, cells in records]
        rows = [(line, texts) for line, texts in rows if any(texts)]
        if not rows:
            continue
        line, header = rows[0]
        sheet_category = headings.category(sheet_name)
        columns, problems = _columns(header, headings)
        if problems:
            parsed.errors.extend(RosterError(line, f"[{sheet_name}] {p}") for p in problems)
            continue
        if sheet_category is None and "category" not in columns.values():
            parsed.errors.append(
                RosterError(
                    line,
                    f"[{sheet_name}] the sheet name is not a category and there is no 类别 column",
                )
            )
            continue
        for line, texts in rows[1:]:
            row, errors = _parse_row(line, sheet_name, texts, columns, sheet_category, headings)
            parsed.errors.extend(errors)
            if row is None:
                continue
            ident = (row.category, row.township, row.village, row.name)
            if ident in seen:
                first_sheet, first_line = seen[ident]
                parsed.errors.append(
                    RosterError(
                        line,
                        f"[{sheet_name}] {row.name} appears twice in "
                        f"{row.village} (first on line {first_line} of [{first_sheet}])",
                    )
                )
                continue
            seen[ident] = (sheet_name, line)
            parsed.rows.append(row)
    if not parsed.rows and not parsed.errors:
        raise RosterFileError("the file has no register entries")
    return parsed


def _columns(header: list[str], headings: Headings) -> tuple[dict[int, str], list[str]]:
    columns: dict[int, str] = {}
    problems: list[str] = []
    for index, text in enumerate(header):
        if not text:
            continue
        code = headings.column(text)
        if code is None:
            problems.append(f"unknown column {text!r}")
        elif code in columns.values():
            problems.append(f"column {text!r} appears twice")
        else:
            columns[index] = code
    for needed, word in (("township", "乡镇"), ("village", "村社区")):
        if needed not in columns.values():
            problems.append(f"missing column {word} ({needed})")
    return columns, problems


def _parse_row(
    line: int,
    sheet: str,
    texts: list[str],
    columns: dict[int, str],
    sheet_category: str | None,
    headings: Headings,
) -> tuple[RegisterRow | None, list[RosterError]]:
    values = {
        code: normalise_text(texts[i]) if i < len(texts) else "" for i, code in columns.items()
    }
    errors: list[RosterError] = []

    def bad(reason: str) -> None:
        errors.append(RosterError(line, f"[{sheet}] {reason}"))

    category = sheet_category
    if values.get("category"):
        category = headings.category(values["category"])
        if category is None:
            bad(f"unknown category {values['category']!r}")
            return None, errors
    if category is None:
        bad("no category")
        return None, errors
    cat = headings.categories[category]
    for code in values:
        own = code in (*PLACE_COLUMNS, *STATE_COLUMNS, "category") or code in cat.fields
        if not own and values[code]:
            bad(f"column {code!r} does not belong to this category")
    for place in PLACE_COLUMNS:
        if not values.get(place):
            bad(f"{place} is empty")
    name = values.get(cat.fields[0], "")
    if not name:
        bad(f"{cat.fields[0]} (the name) is empty")
    elif len(name) > MAX_ENTRY_NAME:
        bad(f"{cat.fields[0]} is longer than {MAX_ENTRY_NAME} characters")
    fields: dict[str, str] = {}
    for code in cat.fields[1:]:
        text = values.get(code, "")
        if len(text) > MAX_FIELD:
            bad(f"{code} is longer than {MAX_FIELD} characters")
        if text and code in PHONE_FIELDS and not re.fullmatch(r"\+?[\d\- ]{5,20}", text):
            bad(f"{code} {text!r} is not a phone number")
        if text:
            fields[code] = text
    state = headings.state(values.get("state", ""))
    if state is None:
        bad(f"unknown state {values['state']!r} (在册 or 已关闭)")
    reason = values.get("close_reason") or None
    if state == "closed" and not reason:
        bad("a closed entry needs its close reason (关闭原因)")
    if errors:
        return None, errors
    return (
        RegisterRow(
            line=line,
            sheet=sheet,
            category=category,
            township=values["township"],
            village=values["village"],
            name=name,
            fields=fields,
            state=state or "open",
            close_reason=reason if state == "closed" else None,
        ),
        errors,
    )


def past_rhythm(last_visit: date | None, today: date, weeks: int | None) -> bool:
    """True when an entry with a visit rhythm of `weeks` is due: never visited, or not within
    the last `weeks` weeks."""
    if weeks is None:
        return False
    return last_visit is None or (today - last_visit).days >= 7 * weeks


# ---------------------------------------------------------------- files


def read_sheets(path: Path) -> list[Sheet]:
    """Read every sheet of an .xlsx file, or the one table of a .csv file (sheet "csv")."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return [("csv", _read_csv(path))]
    if suffix != ".xlsx":
        raise RosterFileError(
            f"{path.name}: unsupported file type {suffix or '(none)'!r}; use .xlsx or .csv (UTF-8)"
        )
    from xml.etree.ElementTree import ParseError

    from bot.xlsx_read import read

    _read_bytes(path)  # a clear message for a missing or unreadable file
    try:
        return [(title, rows) for title, rows in read(path)]
    except (zipfile.BadZipFile, KeyError, ParseError, ValueError, OSError) as exc:
        raise RosterFileError(f"{path.name} is not a readable .xlsx workbook ({exc})") from exc


# Locale keys of the default categories and fields (literal, so the locale test sees them).
CATEGORY_KEYS = {
    "religious_venue": "register.cat.religious_venue",
    "folk_belief": "register.cat.folk_belief",
    "private_enterprise": "register.cat.private_enterprise",
    "overseas": "register.cat.overseas",
    "entrepreneur": "register.cat.entrepreneur",
    "professional": "register.cat.professional",
    "party_member": "register.cat.party_member",
    "religious_head": "register.cat.religious_head",
    "folk_belief_head": "register.cat.folk_belief_head",
    "minority": "register.cat.minority",
    "outside_worker": "register.cat.outside_worker",
    "notable": "register.cat.notable",
    "talent": "register.cat.talent",
}
FIELD_KEYS = {
    "name": "register.field.name",
    "religion": "register.field.religion",
    "person_in_charge": "register.field.person_in_charge",
    "phone": "register.field.phone",
    "relation": "register.field.relation",
    "abroad_at": "register.field.abroad_at",
    "employer": "register.field.employer",
    "title": "register.field.title",
    "party": "register.field.party",
    "ethnicity": "register.field.ethnicity",
    "township": "register.field.township",
    "village": "register.field.village",
    "state": "register.field.state",
    "close_reason": "register.field.close_reason",
}


class Words(Protocol):
    """A translator: key (+ values) to text."""

    def __call__(self, key: str, /, **values: object) -> str: ...


def category_name(cat: Category, t: Words) -> str:
    """Return the category's name in t's language (the policy's own label wins)."""
    if cat.label:
        return cat.label
    key = CATEGORY_KEYS.get(cat.code)
    return t(key) if key else cat.code


def field_name(cat: Category | None, code: str, t: Words) -> str:
    """Return a field's name in t's language."""
    if cat is not None and code in cat.field_labels:
        return cat.field_labels[code]
    key = FIELD_KEYS.get(code)
    return t(key) if key else code


def headings(categories: Sequence[Category], translators: Sequence[Words]) -> Headings:
    """Return the headings of every language (a file may use any of them)."""
    names = {c.code: [category_name(c, t) for t in translators] for c in categories}
    fields: dict[str, list[str]] = {
        code: [field_name(None, code, t) for t in translators]
        for code in (*PLACE_COLUMNS, *STATE_COLUMNS)
    }
    for c in categories:
        for code in c.fields:
            fields.setdefault(code, []).extend(field_name(c, code, t) for t in translators)
    states = {
        "open": [t("register.state.open") for t in translators],
        "closed": [t("register.state.closed") for t in translators],
    }
    return Headings(categories, names, fields, states)


def export_sheets(
    categories: Sequence[Category], entries: Iterable[ExportEntry], t: Words
) -> list[tuple[str, list[str], list[list[str]]]]:
    """Return (sheet name, headers, rows) per category, in the layout import reads back."""
    by_cat: dict[str, list[ExportEntry]] = {c.code: [] for c in categories}
    for e in entries:
        by_cat.setdefault(e.category, []).append(e)
    known = {c.code: c for c in categories}
    out = []
    for code, rows in by_cat.items():
        cat = known.get(code) or Category(code=code, kind="place", fields=("name",))
        columns = ["township", "village", *cat.fields, "state", "close_reason"]
        headers = [field_name(cat, col, t) for col in columns]
        body = []
        for e in rows:
            values = {"township": e.township, "village": e.village, "name": e.name, **e.fields}
            values["state"] = t("register.state.closed") if e.closed else t("register.state.open")
            values["close_reason"] = e.close_reason or ""
            body.append([values.get(col, "") for col in columns])
        out.append((category_name(cat, t), headers, body))
    return out


@dataclass(frozen=True)
class ExportEntry:
    """What export needs of an entry."""

    township: str
    village: str
    category: str
    name: str
    fields: Mapping[str, str]
    closed: bool
    close_reason: str | None
