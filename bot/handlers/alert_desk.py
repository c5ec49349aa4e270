"""Alerts on the commissioner's desk: Acknowledge, Timeline, Reopen, /alerts, and resolving or
escalating by hand (the "alert_action" form: the resolution level and a note, or a reason;
declared on bot/forms/, alert_action.mmd is generated from it). The liaison's side:
bot/handlers/alert.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.context import BotContext
from bot.domain.alert import MAX_NOTE, RESOLUTION_LEVELS, TOP_LEVEL, ActionDraft, Alert, check_text
from bot.domain.people import Role
from bot.domain.vocab import ALERT_STATE_KEYS as STATE_KEYS
from bot.domain.vocab import LEVEL_KEYS, RESOLUTION_KEYS
from bot.forms import END, Choice, Done, Form, Invalid, Text, codec, fixed
from bot.handlers.common import (
    answer,
    button,
    guard,
    keyboard,
    may_act_on,
    refuse,
    safe_answer_query,
)
from bot.reminders import escalation as notify
from bot.storage import alerts as repo
from bot.storage.db import Tx
from bot.views import alert as alert_view

OVERSIGHT = (Role.COMMISSIONER, Role.LEADER, Role.COUNTY)
TEXT_ERRORS = {"empty": "alert.err.empty", "too_long": "alert.err.too_long"}


def limited(limit: int) -> Callable[[str], str | Invalid]:
    """Return a parser of free text: the stripped text, or Invalid when empty or too long."""

    def parse(text: str) -> str | Invalid:
        error = check_text(text, limit)
        return Invalid(TEXT_ERRORS[error], {"limit": limit}) if error else text.strip()

    return parse


async def alert_in_scope(
    update: Update, context: BotContext, action: str, roles: tuple[Role, ...] = OVERSIGHT
) -> Alert | None:
    """Parse al:<action>:<id>, load the alert and check the actor's role and scope."""
    # Callback data is never trusted: the role and scope are checked again on every press.
    query = update.callback_query
    assert query is not None
    found = codec.ids(query.data, "al", action)
    if found is None:
        await safe_answer_query(query, context.t("common.stale"), alert=True)
        return None
    alert = await repo.get_alert(context.deps.db, found[0])
    actor = context.actor
    if (
        alert is None
        or actor is None
        or actor.role not in roles
        or not may_act_on(actor, alert.township_id, alert.village_id)
    ):
        await refuse(update, context, "common.not_allowed")
        return None
    return alert


# --- the alert buttons (commissioners and above) -------------------------------------------

Change = Callable[[Tx, Alert, int, datetime], Awaitable[bool]]


async def _one_press(
    update: Update, context: BotContext, tag: str, change: Change, told: str, done_key: str
) -> None:
    """Acknowledge or Reopen: change the alert as stored now, update every copy, tell the
    liaison; or say the alert is already past it."""
    alert = await alert_in_scope(update, context, tag)
    if alert is None:
        return
    actor, deps, t, query = context.actor, context.deps, context.t, update.callback_query
    assert actor is not None
    now = deps.clock.now()
    # One transaction, so two people pressing at once cannot both change the alert.
    async with deps.db.transaction() as tx:
        fresh = await repo.get_alert(tx, alert.id)
        assert fresh is not None
        if done := await change(tx, fresh, actor.id, now):
            await notify.refresh_cards(deps, tx, alert.id, now)
            once = f"alert:{alert.id}:told_ack" if tag == "ack" else None
            values: dict[str, Any] = {"ref": alert.ref, "name": actor.name, "time": t.time(now)}
            await notify.tell(deps, tx, fresh.person_id, now, told, dedup_key=once, **values)
    if not done:
        state = t(STATE_KEYS[fresh.state])
        await safe_answer_query(query, t("alert.already", ref=alert.ref, state=state), alert=True)
        return
    deps.wake_outbox()
    await safe_answer_query(query, t(done_key, ref=alert.ref))


@guard()
async def on_ack(update: Update, context: BotContext) -> None:
    """Acknowledge: record who and when, update every copy, tell the liaison."""
    await _one_press(update, context, "ack", repo.acknowledge, "alert.told_ack", "alert.ack_done")


@guard()
async def on_reopen(update: Update, context: BotContext) -> None:
    """Reopen a resolved alert."""
    await _one_press(update, context, "reo", repo.reopen, "alert.told_reopen", "alert.reopened")


@guard()
async def on_timeline(update: Update, context: BotContext) -> None:
    """Show every event of an alert with its time: to those who hold it (al:tl), and to its
    liaison from /mine (al:mtl)."""
    query = update.callback_query
    assert query is not None
    mine = (query.data or "").startswith("al:mtl:")
    roles = (Role.LIAISON,) if mine else OVERSIGHT
    alert = await alert_in_scope(update, context, "mtl" if mine else "tl", roles)
    if alert is None:
        return
    events = await repo.events(context.deps.db, alert.id)
    await answer(update, context, alert_view.timeline_text(context.t, alert, events))


@guard(*OVERSIGHT)
async def alerts_command(update: Update, context: BotContext) -> None:
    """/alerts: unresolved alerts of the actor's scope, oldest first."""
    actor, t = context.actor, context.t
    assert actor is not None
    scope = actor.scope
    items = await repo.open_alerts(context.deps.db, scope)
    if not items:
        await answer(update, context, t("alert.list_empty"))
        return
    text = alert_view.list_text(t, items, context.deps.clock.now())
    rows = [[button(f"{a.ref} {a.village}", f"al:open:{a.id}")] for a in items[: alert_view.LISTED]]
    await answer(update, context, text, keyboard(*rows))


@guard(*OVERSIGHT)
async def on_open(update: Update, context: BotContext) -> None:
    """Open one alert from /alerts."""
    alert = await alert_in_scope(update, context, "open")
    if alert is None:
        return
    markup = InlineKeyboardMarkup.de_json(alert_view.card_markup(context.t, alert), None)
    await answer(update, context, alert_view.card_text(context.t, alert), markup)


# --- resolve and escalate by hand (declared; bot/forms/ walks it) ---------------------------


def _ask_note(context: BotContext, draft: ActionDraft) -> str:
    t = context.t
    if draft.escalate:
        return t("alert.ask_reason", ref=draft.ref, level=t(LEVEL_KEYS[draft.level_was + 1]))
    return t("alert.ask_note")


async def _act(context: BotContext, draft: ActionDraft, tx: Tx) -> Done:
    """Resolve or escalate the alert as stored now; update every copy, tell whoever must know."""
    deps, actor, t = context.deps, context.actor, context.t
    alert = await repo.get_alert(tx, draft.alert_id)
    if alert is None or actor is None or not may_act_on(actor, alert.township_id):
        return Done(None, t("common.not_allowed"))
    now, note, level = deps.clock.now(), draft.note or "", draft.level or "village"
    if draft.escalate:
        # Someone may have escalated it since the reason was asked for: then do nothing. No
        # refresh of the cards here, as on time: it would strip the new cards of their reason.
        climbed = alert.level == draft.level_was and await notify.escalate(
            deps, tx, alert, now, by=actor, reason=note
        )
        if not climbed:
            return Done(None, t("alert.cannot_escalate", ref=alert.ref))
        events = await repo.events(tx, alert.id)
        to: list[Any] = next(
            (e.detail.get("to", []) for e in reversed(events) if e.kind == "delivered"), []
        )
        text = t("alert.escalated_done", ref=alert.ref, names=alert_view.names_label(t, to))
    elif await repo.resolve(tx, alert, actor.id, now, level, note):
        told: dict[str, Any] = {"ref": alert.ref, "name": actor.name, "note": note}
        told["level"] = t(RESOLUTION_KEYS[level])
        await notify.tell(deps, tx, alert.person_id, now, "alert.told_resolved", **told)
        await notify.refresh_cards(deps, tx, alert.id, now)
        text = t("alert.resolved_done", ref=alert.ref)
    else:
        state = t(STATE_KEYS[alert.state])
        return Done(None, t("alert.already", ref=alert.ref, state=state))
    return Done(alert.id, text)


ACTION = Form(
    name="alert_action",
    prefix="ala",
    model=ActionDraft,
    roles=OVERSIGHT,
    steps=[
        Choice(
            "level",
            lambda c, d: c.t("alert.ask_rlevel", ref=d.ref),
            fixed(RESOLUTION_LEVELS, RESOLUTION_KEYS),
            when=lambda d: not d.escalate,
        ),
        Text("note", _ask_note, limited(MAX_NOTE), wrong="alert.err.note"),
    ],
    submit=_act,
    keys={
        "cancelled": "alert.cancelled",
        "dropped": "alert.action_dropped",
        "cancel": "alert.btn.cancel",
        "use_buttons": "alert.err.use_buttons",
    },
)


async def start_action(update: Update, context: BotContext) -> object:
    """Resolve or Escalate on an alert card: open the form, unless the alert is past it."""
    query = update.callback_query
    assert query is not None
    escalate = (query.data or "").startswith("al:esc:")
    alert = await alert_in_scope(update, context, "esc" if escalate else "res")
    if alert is None:
        return END
    if alert.state == "resolved" or (escalate and alert.level >= TOP_LEVEL):
        key = "alert.cannot_escalate" if escalate else "alert.already"
        text = context.t(key, ref=alert.ref, state=context.t(STATE_KEYS[alert.state]))
        await safe_answer_query(query, text, alert=True)
        return END
    draft = ActionDraft(alert_id=alert.id, ref=alert.ref, escalate=escalate, level_was=alert.level)
    return await ACTION.begin(update, context, draft)


# --- wiring ----------------------------------------------------------------------------------


def get_handlers() -> list[BaseHandler]:
    """Return the resolve/escalate form, then /alerts and the alert card buttons."""
    return [
        ACTION.conversation(
            [CallbackQueryHandler(ACTION.guarded(start_action), pattern=r"^al:(res|esc):\d+$")]
        ),
        CommandHandler("alerts", alerts_command, filters=filters.ChatType.PRIVATE),
        CallbackQueryHandler(on_ack, pattern=r"^al:ack:"),
        CallbackQueryHandler(on_timeline, pattern=r"^al:m?tl:"),
        CallbackQueryHandler(on_reopen, pattern=r"^al:reo:"),
        CallbackQueryHandler(on_open, pattern=r"^al:open:"),
    ]
