"""Alert delivery and due work: the first level, escalation when nobody acknowledges, reminders.

The rules (README "Escalation"): a level where nobody new can be reached — nobody on the
roster, everyone blocked or unbound, or everyone already holding the alert — is skipped at
once, in the same transaction, and the skip is on the timeline. Texts name who was actually
told and the real minutes without acknowledgement. Everything here runs inside the caller's
transaction and only writes outbox rows, so handlers and the tick share one way of telling.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
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
from bot.domain.vocab import LEVEL_KEYS
from bot.i18n import Translator
from bot.notify import notify, refresh_copies, send_evidence
from bot.reminders.scheduler import Scheduler, Tick
from bot.storage import alerts as repo
from bot.storage.db import Tx, to_db_time
from bot.storage.outbox import Lane
from bot.views import alert as view
from bot.views.evidence import Evidence

if TYPE_CHECKING:
    from bot.deps import Deps

log = logging.getLogger(__name__)

# Alerts whose cards go before any bulk send (reminders, digests) still queued; an alert
# that climbs a level is as urgent as these whatever its severity.
URGENT_SEVERITIES = frozenset({"critical", "high"})


def lane_of(alert: Alert) -> Lane:
    """Return the outbox lane of a new alert's card."""
    return Lane.URGENT if alert.severity in URGENT_SEVERITIES else Lane.NORMAL


async def reachable(deps: Deps, tx: Tx, person_id: int | None) -> Person | None:
    """Return the roster person if the bot can write to them, else None."""
    if person_id is None:
        return None
    person = await deps.people.get(person_id, tx=tx)
    return person if person is not None and person.telegram_id else None


async def level_people(deps: Deps, tx: Tx, alert: Alert, level: int) -> list[Person]:
    """Return the people of one level the bot can reach (bound, not blocked)."""
    people = await deps.people.in_township(alert.township_id, (LEVEL_ROLES[level],), tx=tx)
    bound = [p for p in people if p.telegram_id]
    blocked = await deps.people.blocked([p.id for p in bound], tx=tx)
    return [p for p in bound if p.id not in blocked]


async def holders(deps: Deps, tx: Tx, alert_id: int) -> set[int]:
    """Return who holds the alert: a card was sent or is on its way to them."""
    return {
        m.person_id
        for m in await deps.outbox.for_ref("alert", alert_id, tx=tx)
        if m.person_id is not None and m.state not in ("failed", "cancelled")
    }


def _same_key(key: str) -> Callable[[Person], str]:
    """Return an idempotency key function giving every person the same key."""
    return lambda _person: key


def _who(people: Sequence[Person]) -> list[dict[str, str]]:
    return [{"name": p.name, "role": p.role.value} for p in people]


async def _send_cards(
    deps: Deps,
    tx: Tx,
    alert: Alert,
    people: Sequence[Person],
    now: datetime,
    head: Callable[[Translator], str | None],
    lane: Lane,
) -> list[Person]:
    """Queue the card and its evidence for each person (once per person, ever)."""
    evidence = view.evidence_of(alert, await repo.photos_of(tx, "alert", alert.id))
    sent = await notify(
        deps,
        tx,
        now,
        people,
        lambda t, _p: view.card_payload(t, alert, head(t), evidence),
        key=lambda p: f"alert:{alert.id}:card:{p.id}",
        ref_kind="alert",
        ref_id=alert.id,
        lane=lane,
    )
    await send_evidence(deps, tx, now, sent, evidence, f"alert:{alert.id}:ev", lane)
    return [s.person for s in sent]


async def _next_level(
    deps: Deps, tx: Tx, alert: Alert, held: set[int]
) -> tuple[int, list[Person], list[tuple[int, str]]]:
    """Return the first level above the alert's with someone new to tell, those people, and
    the levels skipped on the way with why ("nobody" reachable, or all "holding" it)."""
    level, skipped = alert.level, list[tuple[int, str]]()
    while level < TOP_LEVEL:
        level += 1
        people = await level_people(deps, tx, alert, level)
        new = [p for p in people if p.id not in held]
        if new:
            return level, new, skipped
        skipped.append((level, "holding" if people else "nobody"))
    return level, [], skipped


async def _record_skips(tx: Tx, alert_id: int, now: datetime, skipped: list[tuple[int, str]]):
    for level, why in skipped:
        await repo.add_event(tx, alert_id, now, "skipped", None, {"level": level, "why": why})


def _levels(t: Translator, skipped: list[tuple[int, str]]) -> str:
    return t("common.list_sep").join(t(LEVEL_KEYS[level]) for level, _ in skipped)


async def deliver_new(deps: Deps, tx: Tx, alert: Alert, now: datetime) -> None:
    """Send a new alert to the commissioners (critical ones to the leaders as well); with no
    commissioner reachable, straight to the first level that has someone."""
    first = await level_people(deps, tx, alert, 1)
    if first:
        people = first + (
            await level_people(deps, tx, alert, 2) if alert.severity == "critical" else []
        )
        told = await _send_cards(deps, tx, alert, people, now, lambda t: None, lane_of(alert))
        await repo.add_event(tx, alert.id, now, "delivered", None, {"level": 1, "to": _who(told)})
        return
    level, new, skipped = await _next_level(deps, tx, alert, set())
    skipped = [(1, "nobody"), *skipped]
    await _record_skips(tx, alert.id, now, skipped)
    if level > alert.level:
        await repo.climb(tx, alert, now, None, None, level)
    fresh = await repo.get_alert(tx, alert.id)
    assert fresh is not None
    told = await _send_cards(
        deps,
        tx,
        fresh,
        new,
        now,
        lambda t: t("alert.head.skipped", ref=fresh.ref, levels=_levels(t, skipped)),
        Lane.URGENT,
    )
    await repo.add_event(tx, alert.id, now, "delivered", None, {"level": level, "to": _who(told)})


async def escalate(
    deps: Deps,
    tx: Tx,
    alert: Alert,
    now: datetime,
    by: Person | None = None,
    reason: str | None = None,
) -> int:
    """Climb to the next level with someone new to tell; return that level (0: no climb).

    By hand, a climb with nobody new to tell above is refused; on time, the alert goes to
    the top anyway and whoever holds it hears that nobody above could be reached.
    """
    if alert.level >= TOP_LEVEL or alert.state == "resolved":
        return 0
    held = await holders(deps, tx, alert.id)
    level, new, skipped = await _next_level(deps, tx, alert, held)
    if not new and by is not None:
        return 0
    if not await repo.climb(tx, alert, now, by.id if by else None, reason, level):
        return 0
    await _record_skips(tx, alert.id, now, skipped)
    fresh = await repo.get_alert(tx, alert.id)
    assert fresh is not None
    minutes = int((now - alert.created_at).total_seconds() // 60)

    name = by.name if by else None
    head = lambda t: view.climb_head(t, fresh, minutes, name, reason)  # noqa: E731
    told = await _send_cards(deps, tx, fresh, new, now, head, Lane.URGENT)
    # Whoever already holds the alert hears who it went to now (never that it went to them).
    others = [await reachable(deps, tx, pid) for pid in sorted(held)]

    await notify(
        deps,
        tx,
        now,
        [p for p in others if p is not None and (by is None or p.id != by.id)],
        lambda t, _p: view.climbed_text(t, fresh, minutes, _who(told), name, reason),
        key=lambda p: f"alert:{alert.id}:climbed:{level}:{p.id}",
        lane=Lane.URGENT,
    )
    await repo.add_event(tx, alert.id, now, "delivered", None, {"level": level, "to": _who(told)})
    return level


async def refresh_cards(deps: Deps, tx: Tx, alert_id: int, now: datetime) -> None:
    """Bring every copy of an alert message to its current state.

    Delivered copies are edited; copies still waiting in the outbox (an outage, quiet hours)
    are rewritten so they go out as they are now, not with stale buttons.
    """
    alert = await repo.get_alert(tx, alert_id)
    assert alert is not None
    evidence = view.evidence_of(alert, await repo.photos_of(tx, "alert", alert_id))
    await refresh_copies(
        deps, tx, now, "alert", alert_id, lambda t, _p: view.card_payload(t, alert, None, evidence)
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

    def render(t: Translator, _p: Person) -> dict[str, Any]:
        payload: dict[str, Any] = {"text": t(key, **values)}
        if markup:
            payload["reply_markup"] = markup
        return payload

    await notify(deps, tx, now, [person], render, key=lambda _p: dedup_key)


async def forward_update(
    deps: Deps,
    tx: Tx,
    alert: Alert,
    actor: Person,
    now: datetime,
    event_id: int,
    text: str,
    photos: list[str],
) -> None:
    """Forward a liaison's update, with its photos replying to it, to whoever acknowledged the
    alert (not yet acknowledged: to everyone who holds it)."""
    targets = (
        [alert.acknowledged_by]
        if alert.acknowledged_by
        else sorted(await holders(deps, tx, alert.id))
    )
    people = [p for p in [await reachable(deps, tx, pid) for pid in targets] if p is not None]

    def render(t: Translator, _p: Person) -> dict[str, Any]:
        return view.update_payload(t, alert, actor.name, text, len(photos))

    key = f"alert:{alert.id}:upd:{event_id}"
    sent = await notify(deps, tx, now, people, render, key=lambda p: f"{key}:{p.id}")
    evidence = Evidence(label=f"{alert.ref} · {actor.name}", photos=photos)
    await send_evidence(deps, tx, now, sent, evidence, f"{key}:ev")


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
            if level := await escalate(deps, tx, fresh, tick.now):
                log.info("alert %s escalated to level %s", fresh.id, level)


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
        hours = int((due - since).total_seconds() // 3600)

        def render(t: Translator, _p: Person, alert: Alert = alert, hours: int = hours) -> dict:
            return view.followup_payload(t, alert, hours)

        follow_key: str = f"alert:{alert.id}:follow:{to_db_time(since)}:{n}"
        async with deps.db.transaction() as tx:
            person = await reachable(deps, tx, alert.acknowledged_by)
            if person is None:
                continue
            sent = await notify(
                deps,
                tx,
                tick.now,
                [person],
                render,
                key=_same_key(follow_key),
                not_before=end_of_quiet(max(due, tick.now), deps.policy.quiet_hours, deps.tz),
            )
            if sent:
                await repo.add_event(tx, alert.id, tick.now, "reminded", person.id, {"n": n})


def register(scheduler: Scheduler) -> None:
    """Plug alert escalation and follow-up reminders into the scheduler."""
    scheduler.register("alert-escalation", escalate_due)
    scheduler.register("alert-followup", remind_followup)
