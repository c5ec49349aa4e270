"""How a weekly report looks to the township: the card with its findings, reads and follow-up."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.domain.report import Outcome, Report
from bot.domain.vocab import role, week_label
from bot.i18n import Translator
from bot.views.evidence import Evidence, follows_line
from bot.views.patrol import PLACE_KEYS


def report_evidence(report: Report, files: Sequence[Any]) -> Evidence:
    """Return a report's photos, voice note and shared location as evidence."""
    location = next(
        (
            (float(a.meta["latitude"]), float(a.meta["longitude"]))
            for a in files
            if a.kind == "location" and "latitude" in a.meta
        ),
        None,
    )
    return Evidence(
        label=f"{report.reference} · {report.village}",
        photos=[a.file_id for a in files if a.kind == "photo" and a.file_id],
        voice=next((a.file_id for a in files if a.kind == "voice"), None),
        location=location,
        address=f"{report.township} {report.village}",
    )


def _yes_no(t: Translator, value: bool | None) -> str:
    if value is None:
        return "—"
    return t("findings.yes") if value else t("findings.no")


def report_card(
    t: Translator,
    report: Report,
    *,
    phone: str | None,
    evidence: Evidence,
    reads: Sequence[Any] = (),
    followup: Any = None,
) -> str:
    """Return the report as its township reads it, with who read it and its follow-up."""
    issues = report.outcome is Outcome.ISSUES
    head = "findings.head.issues" if issues else "findings.head.normal"
    lines = [
        t(head, village=report.village, township=report.township),
        t("findings.ref", ref=report.reference, week=week_label(t, report.week)),
        t("findings.liaison", name=report.person, phone=phone or "—"),
        t("findings.date", date=t.date(report.patrol_date)),
        t(
            "findings.places",
            places=t("common.list_sep").join(t(PLACE_KEYS[p]) for p in report.places) or "—",
        ),
        t("findings.visited", n=report.visited),
    ]
    submitted = t("findings.submitted", time=t.datetime(report.submitted_at))
    if report.late:
        submitted += t("findings.late")
    lines.append(submitted)
    if issues:
        lines += [
            t("findings.findings", text=report.findings or "—"),
            t(
                "findings.flags",
                unstable=_yes_no(t, report.unstable),
                follow_up=_yes_no(t, report.follow_up),
                dispute=_yes_no(t, report.dispute),
            ),
        ]
    else:
        lines.append(t("findings.outcome_normal"))
    follows = follows_line(t, evidence)
    if follows:
        lines.append(follows)
    lines.append("")
    names = t("common.list_sep").join(
        t("findings.reader", name=r.name, role=role(t, r.role), time=t.datetime(r.at))
        for r in reads
    )
    lines.append(t("findings.read_by", names=names) if names else t("findings.unread"))
    if followup is not None:
        lines.append(
            t(
                "findings.follow_done",
                name=followup.name,
                time=t.datetime(followup.at),
                note=followup.note,
            )
        )
    elif issues and report.follow_up:
        lines.append(t("findings.follow_open"))
    if report.alert_id is not None:
        lines.append(t("findings.alert", ref=f"A-{report.alert_id}"))
    return "\n".join(lines)


def card_markup(t: Translator, report: Report, followed_up: bool) -> dict[str, Any]:
    """Return the card's buttons: Read, Open as alert, and Followed up while it is due."""
    first = [{"text": t("findings.btn.read"), "callback_data": f"fu:read:{report.id}"}]
    if report.alert_id is None:
        first.append({"text": t("findings.btn.alert"), "callback_data": f"fu:al:{report.id}"})
    rows = [first]
    if report.follow_up and not followed_up:
        rows.append([{"text": t("findings.btn.done"), "callback_data": f"fu:done:{report.id}"}])
    return {"inline_keyboard": rows}


def history_lines(t: Translator, versions: Sequence[tuple[int, str, Any]]) -> list[str]:
    """Return the edit history lines: each version with when and by whom."""
    if len(versions) <= 1:
        return []
    return [t("findings.history_head")] + [
        t("findings.history_line", n=n, name=name, time=t.datetime(at)) for n, name, at in versions
    ]
