"""One vocabulary: the words for severities, states, kinds, roles, weeks and periods.

Every message takes these words from here, so the digest, the alert card and the form all
say 特急/紧急/一般/轻微 alike, and no reader sees machine notation (2026-W48, 2026-Q4).
"""

from __future__ import annotations

from datetime import date, timedelta

from bot.domain.calendar import week_monday, week_number
from bot.i18n import Translator

SEVERITY_KEYS = {
    "critical": "alert.sev.critical",
    "high": "alert.sev.high",
    "medium": "alert.sev.medium",
    "low": "alert.sev.low",
}
CATEGORY_KEYS = {
    "land": "alert.cat.land",
    "neighbours": "alert.cat.neighbours",
    "ethnic": "alert.cat.ethnic",
    "religious": "alert.cat.religious",
    "wages": "alert.cat.wages",
    "relocation": "alert.cat.relocation",
    "other": "alert.cat.other",
}
ALERT_STATE_KEYS = {
    "open": "alert.state.open",
    "acknowledged": "alert.state.acknowledged",
    "resolved": "alert.state.resolved",
}
RESOLUTION_KEYS = {
    "village": "alert.rlevel.village",
    "township": "alert.rlevel.township",
    "county": "alert.rlevel.county",
}
ROLE_KEYS = {
    "liaison": "role.liaison",
    "commissioner": "role.commissioner",
    "leader": "role.leader",
    "county": "role.county",
    "admin": "role.admin",
}
# A village's weekly report for one week.
REPORT_STATE_KEYS = {
    "on_time": "report.state.on_time",
    "late": "report.state.late",
    "missing": "report.state.missing",
    "pending": "report.state.pending",
}
# Information submissions under review.
SUBMISSION_STATE_KEYS = {
    "pending": "info.state.pending",
    "returned": "info.state.returned",
    "adopted": "info.state.adopted",
}
# Who an alert level reaches: 1 commissioners, 2 leaders, 3 the county.
LEVEL_KEYS = {1: "role.commissioner", 2: "role.leader", 3: "role.county"}
KIND_KEYS = {
    "work_update": "info.kind.work_update",
    "experience_summary": "info.kind.experience_summary",
    "highlight": "info.kind.highlight",
    "public_opinion": "info.kind.public_opinion",
}
QUARTER_KEYS = {
    1: "vocab.quarter.1",
    2: "vocab.quarter.2",
    3: "vocab.quarter.3",
    4: "vocab.quarter.4",
}


def severity(t: Translator, value: str) -> str:
    """Return the form's word for a severity."""
    return t(SEVERITY_KEYS.get(value, "alert.sev.low"))


def role(t: Translator, value: str) -> str:
    """Return the word for a role."""
    return t(ROLE_KEYS.get(value, "role.liaison"))


def day_month(t: Translator, day: date) -> str:
    """Return "11月23日" / "23 Nov"."""
    return t.date(day, t("vocab.fmt.day_month"))


def week_label(t: Translator, week: str) -> str:
    """Return "第48周（11月23日—29日）" for an ISO week key."""
    monday = week_monday(week)
    return t(
        "vocab.week", n=week_number(week), span=span_label(t, monday, monday + timedelta(days=6))
    )


def span_label(t: Translator, start: date, end: date) -> str:
    """Return "11月18日—24日" for an inclusive span of days."""
    if start.month == end.month and start.year == end.year:
        return t("vocab.span", start=day_month(t, start), end=t.date(end, t("vocab.fmt.day")))
    return t("vocab.span", start=day_month(t, start), end=day_month(t, end))


def period_label(t: Translator, kind: str, key: str) -> str:
    """Return "2026年11月", "2026年第四季度" or a week label for a period key."""
    if kind == "quarter" and "-Q" in key:
        year, quarter = key.split("-Q")
        return t("vocab.period.quarter", year=year, quarter=t(QUARTER_KEYS[int(quarter)]))
    if kind == "week" and "-W" in key:
        return week_label(t, key)
    year, month = key.split("-")[:2]
    return t.date(date(int(year), int(month), 1), t("vocab.fmt.year_month"))
