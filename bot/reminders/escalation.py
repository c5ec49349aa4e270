"""Alert messages and their due work: escalation when nobody acknowledges, follow-up reminders.

Everything here runs inside the caller's transaction and only writes outbox rows, so the
handlers (acknowledge, escalate by hand) and the tick share one way of telling people.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.domain.alert import (
    LEVEL_ROLES,
    TOP_LEVEL,
    Alert,
    followup_reminder,
    followup_time,
    should_escalate,
)
from bot.domain.calendar import end_of_quiet
from bot.domain.people import Person
from bot.domain.vocab import CATEGORY_KEYS, LEVEL_KEYS, RESOLUTION_KEYS, SEVERITY_KEYS
from bot.i18n import Translator
from bot.reminders.scheduler import Scheduler, Tick
from bot.storage import alerts as repo
from bot.storage.db import Tx, to_db_time
from bot.storage.outbox import enqueue

if TYPE_CHECKING:
    from bot.deps import Deps

log = logging.getLogger(__name__)


def place_of(t: Translator, alert: Alert) -> str:
    """Return the place answer: text, a shared location, or both."""
    parts = []
    if alert.place_text:
        parts.append(alert.place_text)
    if alert.latitude is not None and alert.longitude is not None:
        parts.append(
            t("alert.card.location", lat=f"{alert.latitude:.5f}", lon=f"{alert.longitude:.5f}")
        )
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


def card_text(t: Translator, alert: Alert, head: str | None = None) -> str:
    """Return the alert as the people who act on it see it."""
    description = alert.description or ""
    if alert.voice_file_id:
        description = (description + "\n" if description else "") + t("alert.card.voice")
    body = t(
        "alert.card",
        ref=alert.ref,
        severity=t(SEVERITY_KEYS[alert.severity]),
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


def card_payload(t: Translator, alert: Alert, head: str | None = None) -> dict[str, Any]:
    """Return the alert message, text and buttons, as an outbox payload."""
    return {"text": card_text(t, alert, head), "reply_markup": card_markup(t, alert)}


async def reachable(deps: Deps, tx: Tx, person_id: int | None) -> Person | None:
    """Return the roster person if the bot can write to them, else None."""
    if person_id is None:
        return None
    person = await deps.people.get(person_id, tx=tx)
    return person if person is not None and person.telegram_id else None


async def level_people(deps: Deps, tx: Tx, alert: Alert, level: int) -> list[Person]:
    """Return the bound people notified at one level of an alert."""
    role = LEVEL_ROLES[level]
    people = await deps.people.in_township(alert.township_id, (role,), tx=tx)
    return [p for p in people if p.telegram_id]


async def send_card(
    deps: Deps,
    tx: Tx,
    alert: Alert,
    person: Person,
    now: datetime,
    head_key: str | None = None,
    **head: Any,
) -> bool:
    """Queue the alert message for one person (once per person, ever)."""
    assert person.telegram_id is not None
    t = deps.i18n.for_person(person)
    ids = await enqueue(
        tx,
        now,
        chat_id=person.telegram_id,
        person_id=person.id,
        payload=card_payload(t, alert, t(head_key, **head) if head_key else None),
        dedup_key=f"alert:{alert.id}:card:{person.id}",
        ref_kind="alert",
        ref_id=alert.id,
    )
    return bool(ids)


async def deliver_new(deps: Deps, tx: Tx, alert: Alert, now: datetime) -> None:
    """Send a new alert to the commissioners (critical ones to the leaders as well)."""
    people = await level_people(deps, tx, alert, 1)
    if alert.severity == "critical":
        people += await level_people(deps, tx, alert, 2)
    sent = [p for p in people if await send_card(deps, tx, alert, p, now)]
    await repo.add_event(
        tx, alert.id, now, "delivered", None, {"level": 1, "to": [p.name for p in sent]}
    )


async def escalate(
    deps: Deps,
    tx: Tx,
    alert: Alert,
    now: datetime,
    by: Person | None = None,
    reason: str | None = None,
) -> bool:
    """Climb one level: notify the next level, remind the earlier ones, restart the clock."""
    if alert.level >= TOP_LEVEL or not await repo.climb(
        tx, alert, now, by.id if by else None, reason
    ):
        return False
    level = alert.level + 1
    fresh = await repo.get_alert(tx, alert.id)
    assert fresh is not None
    minutes = deps.policy.escalation.minutes(alert.severity)
    had_card = {m.person_id for m in await deps.outbox.for_ref("alert", alert.id, tx=tx)}
    new = await level_people(deps, tx, fresh, level)
    told = []
    for person in new:
        if person.id in had_card:
            continue
        if by is None:
            ok = await send_card(
                deps, tx, fresh, person, now, "alert.head.auto", ref=fresh.ref, minutes=minutes
            )
        else:
            ok = await send_card(
                deps,
                tx,
                fresh,
                person,
                now,
                "alert.head.manual",
                ref=fresh.ref,
                name=by.name,
                reason=reason or "—",
            )
        if ok:
            told.append(person.name)
    # Everyone who already has the alert hears that it climbed (and to whom).
    for person_id in sorted(pid for pid in had_card if pid is not None):
        person = await reachable(deps, tx, person_id)
        if person is None or (by and person.id == by.id):
            continue
        t = deps.i18n.for_person(person)
        key = "alert.climbed.auto" if by is None else "alert.climbed.manual"
        await enqueue(
            tx,
            now,
            chat_id=person.telegram_id,
            person_id=person.id,
            payload={
                "text": t(
                    key,
                    ref=fresh.ref,
                    village=fresh.village,
                    level=t(LEVEL_KEYS[level]),
                    minutes=minutes,
                    name=by.name if by else "",
                    reason=reason or "—",
                )
            },
            dedup_key=f"alert:{alert.id}:climbed:{level}:{person.id}",
        )
    await repo.add_event(tx, alert.id, now, "delivered", None, {"level": level, "to": told})
    return True


async def refresh_cards(deps: Deps, tx: Tx, alert_id: int, now: datetime) -> None:
    """Bring every copy of an alert message to its current state.

    Delivered copies are edited; copies still waiting in the outbox (an outage, quiet hours)
    are rewritten so they go out as they are now, not with stale buttons.
    """
    alert = await repo.get_alert(tx, alert_id)
    assert alert is not None
    for sent in await deps.outbox.for_ref("alert", alert_id, tx=tx):
        if sent.person_id is None:
            continue
        person = await deps.people.get(sent.person_id, tx=tx)
        if person is None:
            continue
        t = deps.i18n.for_person(person)
        if sent.state == "pending":
            await deps.outbox.rewrite_pending(tx, sent.outbox_id, card_payload(t, alert))
            continue
        if sent.message_id is None:
            continue
        await enqueue(
            tx,
            now,
            chat_id=sent.chat_id,
            person_id=person.id,
            method="editMessageText",
            payload={"message_id": sent.message_id, **card_payload(t, alert)},
            ref_kind="alert_edit",
            ref_id=alert_id,
        )


async def tell(
    deps: Deps,
    tx: Tx,
    person_id: int | None,
    now: datetime,
    key: str,
    dedup_key: str | None = None,
    markup: dict[str, Any] | None = None,
    **values: Any,
) -> None:
    """Queue one short message to a roster person in their language."""
    person = await reachable(deps, tx, person_id)
    if person is None:
        return
    payload: dict[str, Any] = {"text": deps.i18n.for_person(person)(key, **values)}
    if markup:
        payload["reply_markup"] = markup
    await enqueue(
        tx,
        now,
        chat_id=person.telegram_id,
        person_id=person.id,
        payload=payload,
        dedup_key=dedup_key,
    )


# --- due work -----------------------------------------------------------------------------


async def escalate_due(tick: Tick) -> None:
    """Climb every open alert whose level's time ran out (held in quiet hours unless critical)."""
    deps = tick.deps
    for alert in await repo.in_state(deps.db, "open"):
        if not should_escalate(alert, tick.now, deps.policy, deps.tz):
            continue
        async with deps.db.transaction() as tx:
            fresh = await repo.get_alert(tx, alert.id)
            if fresh is None or not should_escalate(fresh, tick.now, deps.policy, deps.tz):
                continue
            if await escalate(deps, tx, fresh, tick.now):
                log.info("alert %s escalated to level %s", fresh.id, fresh.level + 1)


async def remind_followup(tick: Tick) -> None:
    """Remind whoever acknowledged an alert to resolve it, once a day after the allowed hours."""
    deps = tick.deps
    for alert in await repo.in_state(deps.db, "acknowledged"):
        n = followup_reminder(alert, tick.now, deps.policy)
        if n is None or alert.acknowledged_by is None:
            continue
        since = alert.followup_since or alert.acknowledged_at
        assert since is not None
        due = followup_time(alert, n, deps.policy)
        async with deps.db.transaction() as tx:
            person = await reachable(deps, tx, alert.acknowledged_by)
            if person is None:
                continue
            t = deps.i18n.for_person(person)
            enqueued = await enqueue(
                tx,
                tick.now,
                chat_id=person.telegram_id,
                person_id=person.id,
                payload={
                    "text": t(
                        "alert.followup",
                        ref=alert.ref,
                        village=alert.village,
                        hours=int((due - since).total_seconds() // 3600),
                    ),
                    "reply_markup": {
                        "inline_keyboard": [
                            [
                                alert_button(t, "alert.btn.resolve", "res", alert),
                                alert_button(t, "alert.btn.timeline", "tl", alert),
                            ]
                        ]
                    },
                },
                dedup_key=f"alert:{alert.id}:follow:{to_db_time(since)}:{n}",
                not_before=end_of_quiet(max(due, tick.now), deps.policy.quiet_hours, deps.tz),
            )
            if enqueued:
                await repo.add_event(tx, alert.id, tick.now, "reminded", person.id, {"n": n})


def register(scheduler: Scheduler) -> None:
    """Plug alert escalation and follow-up reminders into the scheduler."""
    scheduler.register("alert-escalation", escalate_due)
    scheduler.register("alert-followup", remind_followup)
