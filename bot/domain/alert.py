"""Dispute alerts: categories, severities, escalation levels and their timing (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from bot.config import Policy
from bot.domain.calendar import in_quiet_hours
from bot.domain.people import Role

CATEGORIES = ("land", "neighbours", "ethnic", "religious", "wages", "relocation", "other")
SEVERITIES = ("critical", "high", "medium", "low")
RESOLUTION_LEVELS = ("village", "township", "county")

# Who is notified at each level: 1 commissioners, 2 leaders, 3 county officers.
LEVEL_ROLES: dict[int, Role] = {1: Role.COMMISSIONER, 2: Role.LEADER, 3: Role.COUNTY}
TOP_LEVEL = 3

MAX_DESCRIPTION = 2000
MAX_PLACE = 200
MAX_NOTE = 1000
MAX_PEOPLE = 100_000
MAX_PHOTOS = 10


class AlertDraft(BaseModel):
    """What a liaison has answered so far (JSON-safe, kept in the form_drafts row)."""

    category: str | None = None
    severity: str | None = None
    people_count: int | None = None
    place_text: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    description: str | None = None
    voice_file_id: str | None = None
    photos: list[list[str]] = Field(default_factory=list)  # [file_id, file_unique_id]
    report_id: int | None = None

    def missing(self) -> str | None:
        """Return the first unanswered required field, or None when complete."""
        if self.category not in CATEGORIES:
            return "category"
        if self.severity not in SEVERITIES:
            return "severity"
        if self.people_count is None:
            return "people"
        if not self.place_text and self.latitude is None:
            return "place"
        if not self.description and not self.voice_file_id:
            return "what"
        return None


class ActionDraft(BaseModel):
    """A commissioner's resolving (a level, then a note) or escalating (a reason) of an alert."""

    alert_id: int
    ref: str
    escalate: bool = False
    level_was: int = 0  # escalating: the level it was at when the reason was asked for
    level: str | None = None  # resolving: the level it was settled at
    note: str | None = None  # the outcome note, or the reason to escalate


class UpdateDraft(BaseModel):
    """A liaison's update to one of their alerts: text and photos until Send."""

    alert_id: int
    ref: str
    text: str = ""
    photos: list[list[str]] = Field(default_factory=list)  # [file_id, file_unique_id]
    send: bool = False  # Send was pressed


def parse_people(text: str) -> tuple[int | None, str | None]:
    """Parse 'roughly how many people'; return (count, error code)."""
    # Allow a word around the number ("about 12 people"), nothing else.
    match = re.fullmatch(r"[^\d\-]{0,3}(-?\d{1,7})[^\d]{0,3}", text.strip())
    if match is None:
        return None, "not_a_number"
    value = int(match[1])
    if value < 1 or value > MAX_PEOPLE:
        return None, "out_of_range"
    return value, None


def check_text(text: str, limit: int) -> str | None:
    """Return an error code for a free-text answer, or None."""
    if not text.strip():
        return "empty"
    if len(text) > limit:
        return "too_long"
    return None


@dataclass(frozen=True)
class Alert:
    """A stored alert with the names it is shown with."""

    id: int
    township_id: int
    village_id: int
    person_id: int
    category: str
    severity: str
    people_count: int | None
    place_text: str | None
    latitude: float | None
    longitude: float | None
    description: str | None
    voice_file_id: str | None
    state: str
    level: int
    level_since: datetime
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: int | None
    ack_seconds: int | None
    resolved_at: datetime | None
    resolved_by: int | None
    resolution_level: str | None
    resolution_note: str | None
    report_id: int | None
    escalated: bool
    followup_since: datetime | None
    village: str
    township: str
    liaison: str
    liaison_phone: str | None
    acknowledger: str | None = None
    resolver: str | None = None

    @property
    def ref(self) -> str:
        """Return the short reference shown to people, e.g. A-17."""
        return f"A-{self.id}"


def escalation_due_at(alert: Alert, policy: Policy) -> datetime | None:
    """Return when the alert climbs from its current level if nobody acknowledges it."""
    if alert.state != "open" or alert.level >= TOP_LEVEL:
        return None
    return alert.level_since + timedelta(minutes=policy.escalation.minutes(alert.severity))


def should_escalate(alert: Alert, now: datetime, policy: Policy, tz: ZoneInfo) -> bool:
    """Return whether the alert climbs a level now (quiet hours hold non-critical ones)."""
    due = escalation_due_at(alert, policy)
    if due is None or now < due:
        return False
    return alert.severity == "critical" or not in_quiet_hours(now, policy.quiet_hours, tz)


def followup_reminder(alert: Alert, now: datetime, policy: Policy) -> int | None:
    """Return the number of the resolution reminder due now (0, 1, 2… daily), or None."""
    if alert.state != "acknowledged":
        return None
    since = alert.followup_since or alert.acknowledged_at
    if since is None:
        return None
    first = since + timedelta(hours=policy.resolution.hours(alert.severity))
    if now < first:
        return None
    return (now - first) // timedelta(days=1)


def followup_time(alert: Alert, n: int, policy: Policy) -> datetime:
    """Return when reminder number n falls due."""
    since = alert.followup_since or alert.acknowledged_at
    assert since is not None
    return since + timedelta(hours=policy.resolution.hours(alert.severity), days=n)


def ack_seconds(created_at: datetime, now: datetime) -> int:
    """Return the whole seconds it took to acknowledge."""
    return max(0, int((now - created_at).total_seconds()))
