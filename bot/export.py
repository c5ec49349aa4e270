"""Exports for the office's ledgers: five sheets (patrols, disputes, submissions, summary,
the register) as one .xlsx, or as CSV files in one .zip.

collect() reads one scope and period from the database; sheets() turns it into rows of real
values (dates stay dates) with headers in the reader's language; write_xlsx()/write_csv_zip()
write them. Writing is plain blocking code: callers in the bot run it in a worker thread.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from bot import xlsx
from bot.config import Policy
from bot.domain import office as dom
from bot.domain import vocab
from bot.domain.calendar import week_monday
from bot.domain.info import STATE_KEYS
from bot.domain.periods import Span
from bot.domain.register import Category, category_name
from bot.domain.report import PLACES
from bot.domain.summary import CATEGORY_KEYS, KIND_KEYS, LEVEL_KEYS, SEVERITY_KEYS, period_label
from bot.i18n import Translator
from bot.register_io import categories as register_categories
from bot.storage import office as store
from bot.storage import register as register_store
from bot.storage.db import Database

STATUS_KEYS = {
    dom.ON_TIME: "office.status.on_time",
    dom.LATE: "office.status.late",
    dom.MISSING: "office.status.missing",
    dom.EXCUSED: "office.status.excused",
}
PLACE_KEYS = {place: f"report.place.{place}" for place in PLACES}
ALERT_STATE_KEYS = vocab.ALERT_STATE_KEYS
LEVEL_ROLE_KEYS = vocab.LEVEL_KEYS
PATROL_HEADERS = (
    "office.h.township",
    "office.h.village",
    "office.h.week",
    "office.h.week_start",
    "office.h.due",
    "office.h.status",
    "office.h.submitted_at",
    "office.h.liaison",
    "office.h.phone",
    "office.h.patrol_date",
    "office.h.places",
    "office.h.visited",
    "office.h.outcome",
    "office.h.findings",
    "office.h.unstable",
    "office.h.follow_up",
    "office.h.dispute",
)
ALERT_HEADERS = (
    "office.h.ref",
    "office.h.township",
    "office.h.village",
    "office.h.category",
    "office.h.severity",
    "office.h.people_count",
    "office.h.place",
    "office.h.description",
    "office.h.liaison",
    "office.h.phone",
    "office.h.raised_at",
    "office.h.acked_at",
    "office.h.acked_by",
    "office.h.ack_minutes",
    "office.h.level_reached",
    "office.h.state",
    "office.h.resolved_at",
    "office.h.settled_at",
    "office.h.outcome_note",
)
SUB_HEADERS = (
    "office.h.ref",
    "office.h.township",
    "office.h.village",
    "office.h.kind",
    "office.h.title",
    "office.h.state",
    "office.h.versions",
    "office.h.sender",
    "office.h.phone",
    "office.h.submitted_at",
    "office.h.reviewer",
    "office.h.adopted_at",
)
SUMMARY_HEADERS = (
    "office.h.level",
    "office.h.township",
    "office.h.village",
    "office.h.owed",
    "office.h.reported",
    "office.h.on_time",
    "office.h.excused",
    "office.h.report_rate",
    "office.h.on_time_rate",
    "office.h.alerts",
    "alert.sev.critical",
    "alert.sev.high",
    "alert.sev.medium",
    "alert.sev.low",
    "office.h.resolved",
    "alert.rlevel.village",
    "alert.rlevel.township",
    "alert.rlevel.county",
    "office.h.village_share",
    "office.h.median_ack",
    "office.h.escalated",
    "office.h.submitted",
    "office.h.adopted",
)


Pct = xlsx.Percent


@dataclass
class Sheet:
    title: str
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)


@dataclass
class ExportData:
    """One scope and period, read from the database."""

    span: Span
    scope: str  # township name, or "" for every township
    tz: ZoneInfo
    overview: dom.Overview
    places: list[dom.Place]
    reports: dict[tuple[int, str], Any]
    contacts: dict[int, list[tuple[str, str | None]]]
    excused: set[tuple[int, str]]
    alerts: list[Any]
    submissions: list[Any]
    register: list[register_store.Entry] = field(default_factory=list)
    register_visits: dict[int, tuple[int, str]] = field(default_factory=dict)
    categories: list[Category] = field(default_factory=list)

    @property
    def rows(self) -> int:
        """Return how many detail rows the export holds (for the audit)."""
        owed = sum(1 for p in self.places for w in self.overview.weeks if dom.owes(p, w.due))
        return owed + len(self.alerts) + len(self.submissions)


async def collect(
    db: Database,
    policy: Policy,
    tz: ZoneInfo,
    span: Span,
    now: datetime,
    township_id: int | None,
    scope: str,
) -> ExportData:
    """Read everything an export of one scope and period holds."""
    ov = await store.overview(db, policy, tz, span, now, township_id)
    return ExportData(
        span=span,
        scope=scope,
        tz=tz,
        overview=ov,
        places=await store.places(db, township_id),
        reports=await store.report_details(db, ov.weeks, township_id),
        contacts=await store.liaison_contacts(db, township_id),
        excused=await store.excused_weeks(db, policy, tz, ov.weeks, township_id),
        alerts=await store.alert_details(db, span, tz, township_id),
        submissions=await store.submission_details(db, span, tz, township_id),
        register=await register_store.all_entries(db, township_id),
        register_visits=await register_store.period_visits(db, span.start, span.end, township_id),
        categories=register_categories(policy),
    )


def _local(value: str | datetime | None, tz: ZoneInfo) -> datetime | None:
    """Return a stored instant as a naive local datetime (what Excel shows)."""
    if not value:
        return None
    # fromisoformat reads the stored "…Z" form and is ten times faster than strptime.
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.astimezone(tz).replace(tzinfo=None)


def _yes_no(t: Translator, value: Any) -> str:
    if value is None:
        return ""
    return t("office.yes") if value else t("office.no")


def _patrol_rows(data: ExportData, t: Translator) -> Iterable[list[Any]]:
    due = {w.week: _local(w.due, data.tz) for w in data.overview.weeks}
    monday = {w.week: week_monday(w.week) for w in data.overview.weeks}
    label = {w.week: t("office.week_no", n=int(w.week.split("-W")[1])) for w in data.overview.weeks}
    words = {state: t(key) for state, key in STATUS_KEYS.items()}
    for place in data.places:
        for w in data.overview.weeks:
            if not dom.owes(place, w.due):
                continue
            r = data.reports.get((place.village_id, w.week))
            state = dom.week_state(
                None if r is None else bool(r["late"]), (place.village_id, w.week) in data.excused
            )
            head = [
                place.township,
                place.village,
                label[w.week],
                monday[w.week],
                due[w.week],
                words[state],
            ]
            if r is None:
                contacts = data.contacts.get(place.village_id, [])
                names = t("common.list_sep").join(n for n, _ in contacts)
                phones = t("common.list_sep").join(p or "" for _, p in contacts)
                yield [*head, None, names, phones] + [None] * 7
                continue
            places = [t(PLACE_KEYS[p]) for p in json.loads(r["places"]) if p in PLACE_KEYS]
            yield [
                *head,
                _local(r["submitted_at"], data.tz),
                r["person"],
                r["phone"],
                date.fromisoformat(r["patrol_date"]),
                t("common.list_sep").join(places),
                r["visited"],
                t("office.outcome.issues" if r["outcome"] == "issues" else "office.outcome.normal"),
                r["findings"],
                _yes_no(t, r["unstable"]),
                _yes_no(t, r["follow_up"]),
                _yes_no(t, r["dispute"]),
            ]


def _alert_rows(data: ExportData, t: Translator) -> Iterable[list[Any]]:
    for a in data.alerts:
        settled = a["resolution_level"] if a["state"] == "resolved" else None
        yield [
            f"A-{a['id']}",
            a["township"],
            a["village"],
            t(CATEGORY_KEYS.get(a["category"], "alert.cat.other")),
            t(SEVERITY_KEYS.get(a["severity"], "alert.sev.low")),
            a["people_count"],
            a["place_text"],
            a["description"],
            a["liaison"],
            a["liaison_phone"],
            _local(a["created_at"], data.tz),
            _local(a["acknowledged_at"], data.tz),
            a["acknowledger"],
            round(a["ack_seconds"] / 60) if a["ack_seconds"] is not None else None,
            t(LEVEL_ROLE_KEYS.get(a["level"], "role.county")),
            t(ALERT_STATE_KEYS.get(a["state"], "alert.state.open")),
            _local(a["resolved_at"], data.tz),
            t(LEVEL_KEYS[settled]) if settled in LEVEL_KEYS else None,
            a["resolution_note"],
        ]


def _submission_rows(data: ExportData, t: Translator) -> Iterable[list[Any]]:
    for s in data.submissions:
        adopted = s["state"] == "adopted"
        yield [
            f"I-{s['id']}",
            s["township"],
            s["village"],
            t(KIND_KEYS.get(s["kind"], "info.kind.work_update")),
            s["title"],
            t(STATE_KEYS.get(s["state"], "info.state.pending")),
            s["version"],
            s["person"],
            s["phone"],
            _local(s["submitted_at"], data.tz),
            s["reviewer"],
            _local(s["reviewed_at"], data.tz) if adopted else None,
        ]


def _figures_row(level: str, township: str, village: str, f: dom.Figures) -> list[Any]:
    def share(part: int, whole: int) -> Pct | None:
        return Pct(part / whole) if whole else None

    return [
        level,
        township,
        village,
        f.owed,
        f.reported,
        f.on_time,
        f.excused,
        share(f.reported, f.owed),
        share(f.on_time, f.owed),
        f.alerts,
        *(f.by_severity.get(s, 0) for s in dom.SEVERITIES),
        f.resolved,
        *(f.settled.get(level_, 0) for level_ in dom.SETTLED_LEVELS),
        share(f.settled.get("village", 0), f.resolved),
        round(f.median_ack / 60) if f.median_ack is not None else None,
        f.escalated,
        f.submitted,
        f.adopted,
    ]


def _summary_sheet(data: ExportData, t: Translator) -> Sheet:
    ov = data.overview
    # One pair of columns (sent, required) per township quota rule, named after its kinds.
    rules = [q for q in ov.townships[0].quotas if q.village is None] if ov.townships else []
    quota_heads = []
    for q in rules:
        kinds = "/".join(t(KIND_KEYS[k]) for k in q.kinds)
        quota_heads += [
            t("office.h.quota_sent", kinds=kinds),
            t("office.h.quota_required", kinds=kinds),
        ]
    sheet = Sheet(t("office.sheet.summary"), [t(h) for h in SUMMARY_HEADERS] + quota_heads)
    for town in ov.townships:
        for v in town.children:
            sheet.rows.append(_figures_row(t("office.level.village"), town.name, v.name, v.figures))
    for town in ov.townships:
        row = _figures_row(t("office.level.township"), town.name, "", town.figures)
        by_kinds = {tuple(q.kinds): q for q in town.quotas if q.village is None}
        for q in rules:
            mine = by_kinds.get(tuple(q.kinds))
            row += [mine.count, mine.required] if mine else [None, None]
        sheet.rows.append(row)
    if len(ov.townships) > 1:
        sheet.rows.append(_figures_row(t("office.level.all"), "", "", ov.total.figures))
    return sheet


def sheets(data: ExportData, t: Translator) -> list[Sheet]:
    """Return the sheets in the reader's language (patrols, disputes, submissions, summary,
    register)."""
    return [
        Sheet(
            t("office.sheet.patrols"), [t(h) for h in PATROL_HEADERS], list(_patrol_rows(data, t))
        ),
        Sheet(t("office.sheet.alerts"), [t(h) for h in ALERT_HEADERS], list(_alert_rows(data, t))),
        Sheet(
            t("office.sheet.submissions"),
            [t(h) for h in SUB_HEADERS],
            list(_submission_rows(data, t)),
        ),
        _summary_sheet(data, t),
        _register_sheet(data, t),
    ]


REGISTER_HEADERS = (
    "register.field.township",
    "register.field.village",
    "register.f.category",
    "register.field.name",
    "register.field.phone",
    "register.field.state",
    "register.field.close_reason",
    "register.h.visits",
    "register.h.last_visit",
)


def _register_sheet(data: ExportData, t: Translator) -> Sheet:
    """The register of the scope: every entry, open and closed, with its visits in the period."""
    cats = {c.code: c for c in data.categories}
    sheet = Sheet(t("register.sheet"), [t(h) for h in REGISTER_HEADERS])
    for e in data.register:
        cat = cats.get(e.category)
        count, last = data.register_visits.get(e.id, (0, None))
        state = t("register.state.open") if e.is_open else t("register.state.closed")
        sheet.rows.append(
            [
                e.township,
                e.village,
                category_name(cat, t) if cat else e.category,
                e.name,
                e.fields.get("phone", ""),
                state,
                e.close_reason or "",
                count,
                date.fromisoformat(last) if last else None,
            ]
        )
    return sheet


def file_name(t: Translator, data: ExportData, fmt: str) -> str:
    """Return a file name a person recognises: scope, period, extension."""
    scope = data.scope or t("office.scope.county")
    ext = "xlsx" if fmt == "xlsx" else "zip"
    name = t("office.file_name", scope=scope, period=period_label(t, data.span))
    return f"{name}.{ext}".replace("/", "-").replace(" ", "_")


# --- writing -------------------------------------------------------------------------------


def _width(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    text = str(value)
    # Wide (CJK) characters take two columns.
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text[:60])


def write_xlsx(book: list[Sheet], out: IO[bytes] | Path) -> None:
    """Write the sheets as one workbook: frozen header row, fitted widths, real dates."""
    tables = []
    for sheet in book:
        widths = [_width(h) for h in sheet.headers]
        for row in sheet.rows[:300]:
            for i, value in enumerate(row):
                widths[i] = max(widths[i], _width(value))
        fitted = [min(max(w + 2, 8), 50) for w in widths]
        tables.append(xlsx.Table(sheet.title, sheet.headers, sheet.rows, fitted))
    xlsx.write(tables, out)


def _csv_value(value: Any) -> Any:
    if isinstance(value, Pct):
        return f"{round(100 * value)}%"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else value


def write_csv_zip(book: list[Sheet], out: IO[bytes] | Path) -> None:
    """Write one CSV per sheet (UTF-8 with BOM, so Excel and WPS read Chinese) into a zip."""
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for sheet in book:
            text = io.StringIO()
            writer = csv.writer(text)
            writer.writerow(sheet.headers)
            writer.writerows([_csv_value(v) for v in row] for row in sheet.rows)
            zf.writestr(f"{sheet.title}.csv", "\ufeff" + text.getvalue())


def render(data: ExportData, t: Translator, fmt: str) -> bytes:
    """Return the export file's bytes in the given format."""
    buffer = io.BytesIO()
    book = sheets(data, t)
    if fmt == "csv":
        write_csv_zip(book, buffer)
    else:
        write_xlsx(book, buffer)
    return buffer.getvalue()
