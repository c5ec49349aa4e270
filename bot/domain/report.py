"""The weekly patrol report: fields, validation codes, which week to offer, late or not."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from bot.config import Policy
from bot.domain.calendar import due_at, shift_week, week_key, week_monday, week_number

# Places a patrol checks (DOMAIN.md), in display order.
PLACES: tuple[str, ...] = ("religious", "folk", "minority", "enterprise", "overseas", "other")
MAX_FINDINGS = 2000
MAX_VISITED = 999
MAX_PHOTOS = 5


class Outcome(StrEnum):
    NORMAL = "normal"
    ISSUES = "issues"


class Err(StrEnum):
    """Validation error codes; the words live in locales (report.err.*)."""

    NOT_NUMBER = "not_number"
    OUT_OF_RANGE = "out_of_range"
    EMPTY = "empty"
    TOO_LONG = "too_long"
    NO_PLACES = "no_places"
    BAD_PLACE = "bad_place"
    BAD_DATE = "bad_date"
    TOO_MANY_PHOTOS = "too_many_photos"
    MISSING = "missing"


def parse_visited(text: str) -> int | Err:
    """Parse the households/people visited: a whole number 0–999, or an error code."""
    # NFKC turns full-width digits (typed with a Chinese keyboard) into ASCII ones.
    raw = unicodedata.normalize("NFKC", text or "").strip()
    if raw.startswith("-") and raw[1:].isdigit():
        return Err.OUT_OF_RANGE
    if not raw.isdigit() or not raw.isascii():
        return Err.NOT_NUMBER
    value = int(raw)
    if value > MAX_VISITED:
        return Err.OUT_OF_RANGE
    return value


def check_findings(text: str | None) -> str | Err:
    """Validate the findings text (1–2,000 characters after trimming)."""
    value = (text or "").strip()
    if not value:
        return Err.EMPTY
    if len(value) > MAX_FINDINGS:
        return Err.TOO_LONG
    return value


class ReportForm(BaseModel):
    """A complete report as the liaison is about to submit it."""

    week: str = Field(pattern=r"^\d{4}-W\d{2}$")
    patrol_date: date
    places: list[str] = Field(min_length=1)
    visited: int = Field(ge=0, le=MAX_VISITED)
    outcome: Outcome
    findings: str | None = None
    unstable: bool | None = None
    follow_up: bool | None = None
    dispute: bool = False

    @field_validator("places")
    @classmethod
    def _known_places(cls, value: list[str]) -> list[str]:
        if any(p not in PLACES for p in value):
            raise ValueError(Err.BAD_PLACE)
        return [p for p in PLACES if p in value]  # display order, no duplicates

    @model_validator(mode="after")
    def _consistent(self) -> ReportForm:
        monday = week_monday(self.week)
        if not monday <= self.patrol_date < monday + timedelta(days=7):
            raise ValueError(Err.BAD_DATE)
        if self.outcome is Outcome.ISSUES:
            if isinstance(check_findings(self.findings), Err):
                raise ValueError(Err.MISSING)
            if self.unstable is None or self.follow_up is None:
                raise ValueError(Err.MISSING)
        else:
            self.findings = None
            self.unstable = self.follow_up = None
            self.dispute = False
        return self


def form_from_draft(draft: dict[str, Any]) -> ReportForm | Err:
    """Build the validated form from a JSON draft, or return the first error code."""
    try:
        return ReportForm(
            week=draft.get("week"),
            patrol_date=draft.get("date"),
            places=draft.get("places") or [],
            visited=draft.get("visited"),
            outcome=draft.get("outcome"),
            findings=draft.get("findings"),
            unstable=draft.get("unstable"),
            follow_up=draft.get("follow_up"),
            dispute=bool(draft.get("dispute")),
        )
    except ValidationError as exc:
        for e in exc.errors():
            ctx = e.get("ctx") or {}
            err = ctx.get("error")
            if isinstance(err, ValueError) and str(err) in Err.__members__.values():
                return Err(str(err))
        return Err.MISSING


@dataclass(frozen=True)
class Report:
    """A stored weekly patrol report."""

    id: int
    village_id: int
    township_id: int
    week: str
    person_id: int
    patrol_date: date
    places: list[str]
    visited: int
    outcome: Outcome
    findings: str | None
    unstable: bool | None
    follow_up: bool | None
    dispute: bool
    alert_id: int | None
    late: bool
    submitted_at: datetime
    updated_at: datetime
    version: int
    village: str = ""
    township: str = ""
    person: str = ""

    @property
    def reference(self) -> str:
        """Return the short reference shown to people, e.g. "W48-方庄村"."""
        return reference(self.week, self.village)


def reference(week: str, village: str) -> str:
    """Return "W48-方庄村" for a week and village."""
    return f"W{week_number(week):02d}-{village}"


def current_week(now: datetime, tz: ZoneInfo) -> str:
    """Return the ISO week containing an instant, in local time."""
    return week_key(now.astimezone(tz).date())


def is_late(week: str, at: datetime, policy: Policy, tz: ZoneInfo) -> bool:
    """Return whether a report of `week` submitted at `at` is late."""
    return at > due_at(week, policy, tz)


def week_is_open(week: str, now: datetime, tz: ZoneInfo) -> bool:
    """Return whether a week has not ended yet (its report may still be edited)."""
    return week >= current_week(now, tz)


def offer_previous(
    now: datetime,
    policy: Policy,
    tz: ZoneInfo,
    *,
    previous_reported: bool,
    joined_at: datetime | None = None,
) -> str | None:
    """Return the previous week to offer (late) before this week's due time, else None.

    A village that joined the network after last week's due time owes nothing for it: a
    liaison's first /report must not start with a late report.
    """
    week = current_week(now, tz)
    if previous_reported or now > due_at(week, policy, tz):
        return None
    previous = shift_week(week, -1)
    if joined_at is not None and joined_at > due_at(previous, policy, tz):
        return None
    return previous


def patrol_days(week: str, today: date) -> list[date]:
    """Return the days of a week a patrol may have happened on (not after today)."""
    monday = week_monday(week)
    return [d for d in (monday + timedelta(days=i) for i in range(7)) if d <= today]


def report_state(report_late: bool | None) -> str:
    """Return the state of a week for a village: on_time, late or missing."""
    if report_late is None:
        return "missing"
    return "late" if report_late else "on_time"


def snapshot(form: ReportForm) -> dict[str, Any]:
    """Return a JSON-safe snapshot of the report fields for the history table."""
    return form.model_dump(mode="json")


class FollowupDraft(BaseModel):
    """A township officer's note on how a report's findings were followed up."""

    report_id: int
    ref: str
    note: str | None = None
