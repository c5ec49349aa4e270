"""How a weekly patrol report reads to the liaison: the draft of the /report form (also a
stored report turned into one) and its summary."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from bot.domain import report as dom
from bot.domain.report import PLACES, Outcome, Report
from bot.domain.vocab import week_label
from bot.i18n import Translator
from bot.storage.attachments import Attachment

PLACE_KEYS = {
    "religious": "report.place.religious",
    "folk": "report.place.folk",
    "minority": "report.place.minority",
    "enterprise": "report.place.enterprise",
    "overseas": "report.place.overseas",
    "other": "report.place.other",
}
YES_NO = {"1": "report.yes", "0": "report.no"}


class ReportDraft(BaseModel):
    """What a liaison has answered so far (and what the form needs to ask it)."""

    week: str | None = None
    weeks: list[str] = Field(default_factory=list)  # the weeks offered at the start
    normal_weeks: list[str] = Field(default_factory=list)  # weeks a one-tap normal fits
    date: str | None = None
    more_days: bool = False
    places: list[str] | None = None
    last_places: list[str] | None = None
    entry_options: list[tuple[str, str, bool]] = Field(default_factory=list)  # register entries
    entries: list[str] | None = None  # the register entries visited
    visited: int | None = None
    last_visited: int | None = None
    outcome: str | None = None
    findings: str | None = None
    unstable: bool | None = None
    follow_up: bool | None = None
    dispute: bool | None = None
    photos: list[dict[str, Any]] = Field(default_factory=list)
    voice: dict[str, Any] | None = None
    location: dict[str, Any] | None = None
    evidence_done: bool = False
    report_id: int | None = None  # editing this stored report
    base_version: int | None = None

    @classmethod
    def of(cls, report: Report, files: list[Attachment]) -> ReportDraft:
        """Return a stored report as a draft (to show or edit it)."""
        photos = [
            {"file_id": a.file_id, "file_unique_id": a.file_unique_id}
            for a in files
            if a.kind == "photo"
        ]
        voice = next(
            (
                {"file_id": a.file_id, "file_unique_id": a.file_unique_id, "meta": a.meta}
                for a in files
                if a.kind == "voice"
            ),
            None,
        )
        return cls(
            week=report.week,
            date=report.patrol_date.isoformat(),
            places=report.places,
            visited=report.visited,
            outcome=report.outcome.value,
            findings=report.findings,
            unstable=report.unstable,
            follow_up=report.follow_up,
            dispute=report.dispute,
            photos=photos,
            voice=voice,
            location=next((a.meta for a in files if a.kind == "location"), None),
            evidence_done=True,
            report_id=report.id,
            base_version=report.version,
        )

    def files(self) -> list[Attachment]:
        """Return the evidence to store with the report."""
        if self.outcome != Outcome.ISSUES:
            return []
        files = [Attachment("photo", p["file_id"], p["file_unique_id"], {}) for p in self.photos]
        if self.voice:
            v = self.voice
            files.append(
                Attachment("voice", v["file_id"], v["file_unique_id"], v.get("meta") or {})
            )
        if self.location:
            files.append(Attachment("location", None, None, self.location))
        return files


# --- texts --------------------------------------------------------------------------------


def _places_text(t: Translator, places: list[str]) -> str:
    return t("common.list_sep").join(t(PLACE_KEYS[p]) for p in PLACES if p in places) or "—"


def _yes_no(t: Translator, value: bool | None) -> str:
    return "—" if value is None else t(YES_NO["1" if value else "0"])


def evidence_text(t: Translator, draft: ReportDraft) -> str:
    parts = []
    if draft.photos:
        parts.append(t("report.ev.photos", n=len(draft.photos)))
    if draft.voice:
        parts.append(t("report.ev.voice"))
    if draft.location:
        parts.append(t("report.ev.location"))
    return t("common.list_sep").join(parts) or t("report.ev.none")


def summary_text(t: Translator, draft: ReportDraft, *, village: str) -> str:
    """Return the summary of a draft (or of a stored report turned into a draft)."""
    week = draft.week or ""
    outcome = (
        "report.outcome.issues" if draft.outcome == Outcome.ISSUES else "report.outcome.normal"
    )
    day = t.date(date.fromisoformat(draft.date)) if draft.date else "—"
    lines = [
        t("report.summary_title", ref=dom.reference(week, village)),
        t("report.s.week", value=week_label(t, week)),
        t("report.s.date", value=day),
        t("report.s.places", value=_places_text(t, draft.places or [])),
        t("report.s.visited", value=draft.visited if draft.visited is not None else "—"),
        t("report.s.outcome", value=t(outcome)),
    ]
    if draft.outcome == Outcome.ISSUES:
        lines += [
            t("report.s.findings", value=draft.findings or "—"),
            t("report.s.unstable", value=_yes_no(t, draft.unstable)),
            t("report.s.follow_up", value=_yes_no(t, draft.follow_up)),
            t("report.s.dispute", value=_yes_no(t, draft.dispute)),
            t("report.s.evidence", value=evidence_text(t, draft)),
        ]
    return "\n".join(lines)


def report_text(t: Translator, report: Report, files: list[Attachment]) -> str:
    """Return a stored report for reading, with who submitted it and when."""
    head = summary_text(t, ReportDraft.of(report, files), village=report.village)
    by = t("report.by", name=report.person, at=t.datetime(report.submitted_at))
    if report.late:
        by += " " + t("report.late_mark")
    if report.version > 1:
        by += "\n" + t("report.edited", at=t.datetime(report.updated_at), n=report.version - 1)
    return f"{head}\n{by}"
