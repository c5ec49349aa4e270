"""How an alert looks: its card, its buttons and its timeline (pure: data and a Translator in)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.domain.alert import TOP_LEVEL, Alert, AlertDraft
from bot.domain.vocab import ALERT_STATE_KEYS as STATE_KEYS
from bot.domain.vocab import (
    CATEGORY_KEYS,
    LEVEL_KEYS,
    RESOLUTION_KEYS,
    SEVERITY_KEYS,
    role,
    severity,
)
from bot.i18n import Translator
from bot.views.evidence import Evidence, follows_line

EVENT_KEYS = {
    "created": "alert.ev.created",
    "delivered": "alert.ev.delivered",
    "acknowledged": "alert.ev.acknowledged",
    "escalated": "alert.ev.escalated",
    "skipped": "alert.ev.skipped",
    "update": "alert.ev.update",
    "resolved": "alert.ev.resolved",
    "reopened": "alert.ev.reopened",
    "reminded": "alert.ev.reminded",
}


def evidence_of(alert: Alert, photos: Sequence[str] = ()) -> Evidence:
    """Return the alert's evidence: its photos, voice note and shared location."""
    location = (
        (alert.latitude, alert.longitude)
        if alert.latitude is not None and alert.longitude is not None
        else None
    )
    return Evidence(
        label=f"{alert.ref} · {alert.village}",
        photos=list(photos),
        voice=alert.voice_file_id,
        location=location,
        address=alert.place_text or f"{alert.township} {alert.village}",
    )


def place_of(t: Translator, alert: Alert) -> str:
    """Return the place answer: the text, and whether a location was shared (sent as a map)."""
    parts = []
    if alert.place_text:
        parts.append(alert.place_text)
    if alert.latitude is not None and alert.longitude is not None:
        parts.append(t("alert.card.location"))
    return " · ".join(parts) or "—"


def status_line(t: Translator, alert: Alert) -> str:
    """Return the line saying where the alert stands."""
    if alert.state == "resolved" and alert.resolved_at is not None:
        return t(
            "alert.status.resolved",
            name=alert.resolver or "—",
            time=t.datetime(alert.resolved_at),
            level=t(RESOLUTION_KEYS.get(alert.resolution_level or "", "alert.rlevel.village")),
            note=alert.resolution_note or "",
        )
    if alert.state == "acknowledged" and alert.acknowledged_at is not None:
        return t(
            "alert.status.acknowledged",
            name=alert.acknowledger or "—",
            time=t.time(alert.acknowledged_at),
        )
    return t("alert.status.open", level=t(LEVEL_KEYS[alert.level]))


def card_text(
    t: Translator, alert: Alert, head: str | None = None, evidence: Evidence | None = None
) -> str:
    """Return the alert as the people who act on it see it (saying what media follow)."""
    description = alert.description or ""
    if alert.voice_file_id:
        description = (description + "\n" if description else "") + t("alert.card.voice")
    body = t(
        "alert.card",
        ref=alert.ref,
        severity=severity(t, alert.severity),
        village=alert.village,
        township=alert.township,
        liaison=alert.liaison,
        phone=alert.liaison_phone or "—",
        category=t(CATEGORY_KEYS.get(alert.category, "alert.cat.other")),
        people=alert.people_count if alert.people_count is not None else "—",
        place=place_of(t, alert),
        time=t.datetime(alert.created_at),
        description=description or "—",
    )
    follows = follows_line(t, evidence) if evidence else ""
    if follows:
        body += "\n" + follows
    text = f"{body}\n\n{status_line(t, alert)}"
    return f"{head}\n\n{text}" if head else text


def alert_button(t: Translator, key: str, action: str, alert: Alert) -> dict[str, str]:
    """Return one al:<action>:<id> button as a plain dict for the outbox."""
    return {"text": t(key), "callback_data": f"al:{action}:{alert.id}"}


def card_markup(t: Translator, alert: Alert) -> dict[str, Any]:
    """Return the buttons of the alert message for its current state (plain dict for the outbox)."""

    def b(key: str, action: str) -> dict[str, str]:
        return alert_button(t, key, action, alert)

    if alert.state == "resolved":
        rows = [[b("alert.btn.reopen", "reo")], [b("alert.btn.timeline", "tl")]]
    elif alert.state == "acknowledged":
        rows = [
            [b("alert.btn.resolve", "res"), b("alert.btn.escalate", "esc")],
            [b("alert.btn.timeline", "tl")],
        ]
    else:
        rows = [
            [
                b("alert.btn.ack", "ack"),
                b("alert.btn.resolve", "res"),
                b("alert.btn.escalate", "esc"),
            ],
            [b("alert.btn.timeline", "tl")],
        ]
    if alert.state != "resolved" and alert.level >= TOP_LEVEL:
        rows[0] = [x for x in rows[0] if not x["callback_data"].startswith("al:esc:")]
    return {"inline_keyboard": rows}


def climb_head(
    t: Translator, alert: Alert, minutes: int, by: str | None, reason: str | None
) -> str:
    """Return the head of the card an alert brings to the level it climbed to."""
    if by is None:
        return t("alert.head.auto", ref=alert.ref, minutes=minutes)
    return t("alert.head.manual", ref=alert.ref, name=by, reason=reason or "—")


def climbed_text(
    t: Translator,
    alert: Alert,
    minutes: int,
    told: Sequence[dict[str, Any]],
    by: str | None,
    reason: str | None,
) -> str:
    """Return what those holding an alert hear when it climbs: whom it went to (or nobody)."""
    key = "alert.climbed.auto" if by is None else "alert.climbed.manual"
    return t(
        key if told else "alert.climbed.nobody",
        ref=alert.ref,
        village=alert.village,
        minutes=minutes,
        names=names_label(t, told),
        name=by,
        reason=reason or "—",
    )


def update_payload(t: Translator, alert: Alert, name: str, text: str, photos: int) -> dict:
    """Return a liaison's update as forwarded to whoever handles the alert (outbox payload)."""
    return {
        "text": t(
            "alert.update_msg",
            ref=alert.ref,
            village=alert.village,
            name=name,
            text=text or "—",
            photos=photos,
        ),
        "reply_markup": {"inline_keyboard": [[alert_button(t, "alert.btn.timeline", "tl", alert)]]},
    }


def followup_payload(t: Translator, alert: Alert, hours: int) -> dict[str, Any]:
    """Return the daily reminder to resolve an acknowledged alert (outbox payload)."""
    buttons = [
        alert_button(t, "alert.btn.resolve", "res", alert),
        alert_button(t, "alert.btn.timeline", "tl", alert),
    ]
    return {
        "text": t("alert.followup", ref=alert.ref, village=alert.village, hours=hours),
        "reply_markup": {"inline_keyboard": [buttons]},
    }


def card_payload(
    t: Translator, alert: Alert, head: str | None = None, evidence: Evidence | None = None
) -> dict[str, Any]:
    """Return the alert message, text and buttons, as an outbox payload."""
    return {"text": card_text(t, alert, head, evidence), "reply_markup": card_markup(t, alert)}


def person_label(t: Translator, name: str, role_value: str | None) -> str:
    """Return "冯兴敏（统战委员）": a person with their own role."""
    return t("alert.person_role", name=name, role=role(t, role_value)) if role_value else name


def names_label(t: Translator, people: Sequence[dict[str, Any] | str]) -> str:
    """Return the people of an event, each with their own role (older events: names only)."""
    labels = [
        person_label(t, p["name"], p.get("role")) if isinstance(p, dict) else str(p) for p in people
    ]
    return t("common.list_sep").join(labels) or "—"


def _event_extra(t: Translator, kind: str, detail: dict[str, Any]) -> str:
    if kind == "delivered":
        return t("alert.ev.to", names=names_label(t, detail.get("to", [])))
    if kind == "escalated":
        extra = t(LEVEL_KEYS.get(detail.get("level", 2), "role.leader"))
        return extra + (f" · {detail['reason']}" if detail.get("reason") else "")
    if kind == "skipped":
        level = t(LEVEL_KEYS.get(detail.get("level", 2), "role.leader"))
        key = "alert.ev.skip_holding" if detail.get("why") == "holding" else "alert.ev.skip_nobody"
        return t(key, level=level)
    if kind == "resolved":
        level = t(RESOLUTION_KEYS.get(detail.get("level", ""), "alert.rlevel.village"))
        return f"{level} · {detail.get('note', '')}"
    if kind == "update":
        extra = detail.get("text") or ""
        if detail.get("photos"):
            extra += " " + t("alert.ev.photos", n=detail["photos"])
        return extra
    return ""


def timeline_text(t: Translator, alert: Alert, events: Sequence[Any]) -> str:
    """Return every event of an alert with its time, each person labelled with their role."""
    lines = [t("alert.timeline_head", ref=alert.ref, village=alert.village)]
    for ev in events:
        lines.append(
            t(
                "alert.ev.line",
                time=t.datetime(ev.at),
                event=t(EVENT_KEYS.get(ev.kind, "alert.ev.update")),
                who=ev.person or "",
                extra=_event_extra(t, ev.kind, ev.detail),
            ).rstrip(" ·")
        )
    return "\n".join(lines)


LISTED = 30  # alerts listed (and buttons) in /alerts


def _age(t: Translator, delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return t("alert.age_min", n=minutes)
    if minutes < 48 * 60:
        return t("alert.age_hours", n=minutes // 60)
    return t("alert.age_days", n=minutes // 1440)


def list_text(t: Translator, alerts: Sequence[Alert], now: datetime) -> str:
    """Return /alerts: how many are unresolved, then the first LISTED with age and state."""
    lines = [t("alert.list_head", n=len(alerts))]
    for a in alerts[:LISTED]:
        line = t(
            "alert.list_line",
            ref=a.ref,
            village=a.village,
            age=_age(t, now - a.created_at),
            severity=t(SEVERITY_KEYS[a.severity]),
            state=t(STATE_KEYS[a.state]),
        )
        lines.append(line)
    return "\n".join(lines)


def mine_text(t: Translator, alerts: Sequence[Alert]) -> str:
    """Return the liaison's recent alerts, each with its time, category and state."""
    lines = [t("alert.mine_head")]
    for a in alerts:
        line = t(
            "alert.mine_line",
            ref=a.ref,
            time=t.datetime(a.created_at),
            category=t(CATEGORY_KEYS.get(a.category, "alert.cat.other")),
            state=t(STATE_KEYS[a.state]),
        )
        lines.append(line)
    return "\n".join(lines)


def draft_text(t: Translator, form: AlertDraft) -> str:
    """Return the summary of an alert being written, before it is sent."""
    located = form.latitude is not None and form.longitude is not None
    where = [
        form.place_text,
        t("alert.card.location", lat=f"{form.latitude:.5f}", lon=f"{form.longitude:.5f}")
        if located
        else None,
    ]
    what = form.description or ""
    if form.voice_file_id:
        what = (what + "\n" if what else "") + t("alert.card.voice")
    return t(
        "alert.summary",
        category=t(CATEGORY_KEYS[form.category or "other"]),
        severity=t(SEVERITY_KEYS[form.severity or "low"]),
        people=form.people_count if form.people_count is not None else "—",
        place=" · ".join(x for x in where if x) or "—",
        description=what or "—",
        photos=len(form.photos),
    )
