"""Alerts on the commissioner's desk: Acknowledge, Timeline, Reopen, /alerts, and resolving or
escalating by hand (the "alert_action" conversation: resolution level and note, or a reason).
Diagram: alert_actions.mmd. The liaison's form and updates: bot/handlers/alert.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import BotContext, drafts
from bot.domain.alert import (
    MAX_NOTE,
    RESOLUTION_LEVELS,
    TOP_LEVEL,
    Alert,
    check_text,
)
from bot.domain.people import Role
from bot.domain.vocab import ALERT_STATE_KEYS as STATE_KEYS
from bot.domain.vocab import LEVEL_KEYS, RESOLUTION_KEYS, SEVERITY_KEYS
from bot.forms import codec
from bot.handlers.common import (
    answer,
    button,
    conversation,
    guard,
    keyboard,
    may_act_on,
    refuse,
    safe_answer_query,
)
from bot.i18n import Translator
from bot.reminders import escalation as notify
from bot.storage import alerts as repo
from bot.storage.db import Tx
from bot.views import alert as alert_view

RES_LEVEL, RES_NOTE, ESC_REASON = range(10, 13)
END = ConversationHandler.END
OVERSIGHT = (Role.COMMISSIONER, Role.LEADER, Role.COUNTY)
TEXT_ERRORS = {"empty": "alert.err.empty", "too_long": "alert.err.too_long"}

# --- state of the short conversations, in user_data ------------------------------------


def now_iso(context: BotContext) -> str:
    return context.deps.clock.now().isoformat()


def load_state(context: BotContext, name: str) -> dict[str, Any] | None:
    return drafts(context).get(name)


def drop_state(context: BotContext, name: str) -> None:
    drafts(context).pop(name, None)


def cancel_row(t: Translator, data: str) -> list:
    return [button(t("alert.btn.cancel"), data)]


# --- the alert buttons (commissioners and above) -------------------------------------------


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


async def _apply(
    context: BotContext,
    alert_id: int,
    now: datetime,
    change: Callable[[Tx, Alert], Awaitable[bool]],
    told_key: str | None = None,
    **told: Any,
) -> tuple[bool, Alert]:
    """Run change on the alert as stored now; if it took, update every copy and tell the liaison."""
    # One transaction, so two people pressing at once cannot both change the alert.
    deps = context.deps
    async with deps.db.transaction() as tx:
        fresh = await repo.get_alert(tx, alert_id)
        assert fresh is not None
        done = await change(tx, fresh)
        if done:
            await notify.refresh_cards(deps, tx, alert_id, now)
            if told_key is not None:
                await notify.tell(deps, tx, fresh.person_id, now, told_key, **told)
    return done, fresh


async def _say_already(update: Update, context: BotContext, alert: Alert) -> None:
    """Answer the button with the state the alert is already in."""
    t = context.t
    assert update.callback_query is not None
    await safe_answer_query(
        update.callback_query,
        t("alert.already", ref=alert.ref, state=t(STATE_KEYS[alert.state])),
        alert=True,
    )


async def _answer_press(
    update: Update, context: BotContext, done: bool, alert: Alert, done_key: str
) -> None:
    """Confirm a one-press change, or say the alert is already past it."""
    if not done:
        await _say_already(update, context, alert)
        return
    assert update.callback_query is not None
    context.deps.wake_outbox()
    await safe_answer_query(update.callback_query, context.t(done_key, ref=alert.ref))


@guard()
async def on_ack(update: Update, context: BotContext) -> None:
    """Acknowledge: record who and when, update every copy, tell the liaison."""
    alert = await alert_in_scope(update, context, "ack")
    if alert is None:
        return
    actor = context.actor
    assert actor is not None
    now = context.deps.clock.now()
    done, fresh = await _apply(
        context,
        alert.id,
        now,
        lambda tx, a: repo.acknowledge(tx, a, actor.id, now),
        "alert.told_ack",
        ref=alert.ref,
        name=actor.name,
        time=context.t.time(now),
        dedup_key=f"alert:{alert.id}:told_ack",
    )
    await _answer_press(update, context, done, fresh, "alert.ack_done")


@guard()
async def on_timeline(update: Update, context: BotContext) -> None:
    """Show every event of an alert with its time."""
    alert = await alert_in_scope(update, context, "tl")
    if alert is None:
        return
    await answer(update, context, await timeline_text(context, alert))


async def timeline_text(context: BotContext, alert: Alert) -> str:
    events = await repo.events(context.deps.db, alert.id)
    return alert_view.timeline_text(context.t, alert, events)


@guard()
async def on_reopen(update: Update, context: BotContext) -> None:
    """Reopen a resolved alert."""
    alert = await alert_in_scope(update, context, "reo")
    if alert is None:
        return
    actor = context.actor
    assert actor is not None
    now = context.deps.clock.now()
    done, fresh = await _apply(
        context,
        alert.id,
        now,
        lambda tx, a: repo.reopen(tx, a, actor.id, now),
        "alert.told_reopen",
        ref=alert.ref,
        name=actor.name,
    )
    await _answer_press(update, context, done, fresh, "alert.reopened")


@guard(*OVERSIGHT)
async def alerts_command(update: Update, context: BotContext) -> None:
    """/alerts: unresolved alerts of the actor's scope, oldest first."""
    actor, t = context.actor, context.t
    assert actor is not None
    scope = None if actor.role is Role.COUNTY else actor.township_id
    items = await repo.open_alerts(context.deps.db, scope)
    if not items:
        await answer(update, context, t("alert.list_empty"))
        return
    now = context.deps.clock.now()
    lines = [t("alert.list_head", n=len(items))]
    rows = []
    for a in items[:30]:
        age = _age(t, now - a.created_at)
        lines.append(
            t(
                "alert.list_line",
                ref=a.ref,
                village=a.village,
                age=age,
                severity=t(SEVERITY_KEYS[a.severity]),
                state=t(STATE_KEYS[a.state]),
            )
        )
        rows.append([button(f"{a.ref} {a.village}", f"al:open:{a.id}")])
    await answer(update, context, "\n".join(lines), keyboard(*rows))


def _age(t: Translator, delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return t("alert.age_min", n=minutes)
    if minutes < 48 * 60:
        return t("alert.age_hours", n=minutes // 60)
    return t("alert.age_days", n=minutes // 1440)


@guard(*OVERSIGHT)
async def on_open(update: Update, context: BotContext) -> None:
    """Open one alert from /alerts."""
    alert = await alert_in_scope(update, context, "open")
    if alert is None:
        return
    t = context.t
    await answer(
        update,
        context,
        alert_view.card_text(t, alert),
        InlineKeyboardMarkup.de_json(alert_view.card_markup(t, alert), None),
    )


# --- resolve and escalate by hand ---------------------------------------------------------


@guard(end_conversation=True)
async def start_resolve(update: Update, context: BotContext) -> int:
    """Resolve: ask the level it was settled at."""
    alert = await alert_in_scope(update, context, "res")
    if alert is None:
        return END
    t = context.t
    if alert.state == "resolved":
        await _say_already(update, context, alert)
        return END
    drafts(context)["alert_action"] = {"id": alert.id, "updated_at": now_iso(context)}
    rows = [[button(t(RESOLUTION_KEYS[lv]), f"alr:lv:{lv}")] for lv in RESOLUTION_LEVELS]
    await answer(
        update,
        context,
        t("alert.ask_rlevel", ref=alert.ref),
        keyboard(*rows, cancel_row(t, "alr:cancel")),
    )
    return RES_LEVEL


@guard(end_conversation=True)
async def on_rlevel(update: Update, context: BotContext) -> int:
    """The resolution level was chosen; ask for the outcome note."""
    query = update.callback_query
    assert query is not None
    data = load_state(context, "alert_action")
    fields = codec.split(query.data, "alr", 2)
    if data is None or fields is None or fields[1] not in RESOLUTION_LEVELS:
        await safe_answer_query(query, context.t("common.stale"), alert=True)
        return RES_LEVEL if data else END
    data["level"] = fields[1]
    data["updated_at"] = now_iso(context)
    t = context.t
    await answer(
        update, context, t("alert.ask_note"), keyboard(cancel_row(t, "alr:cancel")), edit=True
    )
    return RES_NOTE


async def _bad_note(update: Update, context: BotContext, text: str) -> bool:
    """Re-prompt if a resolution note or escalation reason is empty or too long."""
    error = check_text(text, MAX_NOTE)
    if not error:
        return False
    await answer(update, context, context.t(TEXT_ERRORS[error], limit=MAX_NOTE))
    return True


async def _action_target(update: Update, context: BotContext, data: dict[str, Any]) -> Alert | None:
    """Reload the alert being resolved or escalated and check the actor's scope again."""
    actor = context.actor
    alert = await repo.get_alert(context.deps.db, int(data["id"]))
    if alert is None or actor is None or not may_act_on(actor, alert.township_id):
        drop_state(context, "alert_action")
        await refuse(update, context, "common.not_allowed")
        return None
    return alert


@guard(end_conversation=True)
async def on_note(update: Update, context: BotContext) -> int:
    """The outcome note: resolve, update every copy, tell the liaison."""
    data = load_state(context, "alert_action")
    message = update.effective_message
    assert message is not None
    t = context.t
    if not data or "level" not in data:
        return END
    text = message.text or ""
    if await _bad_note(update, context, text):
        return RES_NOTE
    alert = await _action_target(update, context, data)
    if alert is None:
        return END
    deps, actor = context.deps, context.actor
    assert actor is not None
    now = deps.clock.now()
    level, note = data["level"], text.strip()
    done, fresh = await _apply(
        context,
        alert.id,
        now,
        lambda tx, a: repo.resolve(tx, a, actor.id, now, level, note),
        "alert.told_resolved",
        ref=alert.ref,
        name=actor.name,
        level=t(RESOLUTION_KEYS[level]),
        note=note,
    )
    drop_state(context, "alert_action")
    deps.wake_outbox()
    await answer(
        update,
        context,
        t(
            "alert.resolved_done" if done else "alert.already",
            ref=alert.ref,
            state=t(STATE_KEYS[fresh.state]),
        ),
    )
    return END


@guard(end_conversation=True)
async def start_escalate(update: Update, context: BotContext) -> int:
    """Escalate by hand: ask for the reason."""
    alert = await alert_in_scope(update, context, "esc")
    if alert is None:
        return END
    t = context.t
    if alert.state == "resolved" or alert.level >= TOP_LEVEL:
        await safe_answer_query(
            update.callback_query,
            t("alert.cannot_escalate", ref=alert.ref),
            alert=True,
        )
        return END
    drafts(context)["alert_action"] = {
        "id": alert.id,
        "level_was": alert.level,
        "updated_at": now_iso(context),
    }
    await answer(
        update,
        context,
        t("alert.ask_reason", ref=alert.ref, level=t(LEVEL_KEYS[alert.level + 1])),
        keyboard(cancel_row(t, "alr:cancel")),
    )
    return ESC_REASON


@guard(end_conversation=True)
async def on_reason(update: Update, context: BotContext) -> int:
    """The escalation reason: climb one level now."""
    data = load_state(context, "alert_action")
    message = update.effective_message
    assert message is not None
    t = context.t
    if not data:
        return END
    text = message.text or ""
    if await _bad_note(update, context, text):
        return ESC_REASON
    alert = await _action_target(update, context, data)
    if alert is None:
        return END
    deps, actor = context.deps, context.actor
    now = deps.clock.now()
    level_was, reason = data.get("level_was"), text.strip()

    async def climb(tx: Tx, fresh: Alert) -> bool:
        # Someone may have escalated it since the reason was asked for: then do nothing.
        return fresh.level == level_was and bool(
            await notify.escalate(deps, tx, fresh, now, by=actor, reason=reason)
        )

    done, _fresh = await _apply(context, alert.id, now, climb)
    drop_state(context, "alert_action")
    deps.wake_outbox()
    if done:
        events = await repo.events(deps.db, alert.id)
        told: list[Any] = next(
            (e.detail.get("to", []) for e in reversed(events) if e.kind == "delivered"), []
        )
        await answer(
            update,
            context,
            t("alert.escalated_done", ref=alert.ref, names=alert_view.names_label(t, told)),
        )
    else:
        await answer(update, context, t("alert.cannot_escalate", ref=alert.ref))
    return END


@guard(end_conversation=True)
async def action_cancel(update: Update, context: BotContext) -> int:
    """Cancel resolving or escalating."""
    drop_state(context, "alert_action")
    await answer(
        update, context, context.t("alert.cancelled"), edit=update.callback_query is not None
    )
    return END


def action_reprompt(key: str, state: int) -> Any:
    @guard(end_conversation=True)
    async def callback(update: Update, context: BotContext) -> int:
        if update.callback_query is not None:
            await safe_answer_query(update.callback_query, context.t(key), alert=True)
        else:
            await answer(update, context, context.t(key))
        return state

    return callback


# --- wiring ----------------------------------------------------------------------------------


def get_handlers() -> list[BaseHandler]:
    """Return the resolve/escalate conversation, then /alerts and the alert card buttons."""
    text = filters.TEXT & ~filters.COMMAND
    other = ~filters.COMMAND

    def action_step(state: int, error_key: str, expected: BaseHandler) -> list[BaseHandler]:
        return [
            expected,
            CallbackQueryHandler(action_cancel, pattern=r"^alr:cancel$"),
            MessageHandler(other, action_reprompt(error_key, state)),
        ]

    action = conversation(
        "alert_action",
        [
            CallbackQueryHandler(start_resolve, pattern=r"^al:res:\d+$"),
            CallbackQueryHandler(start_escalate, pattern=r"^al:esc:\d+$"),
        ],
        {
            RES_LEVEL: action_step(
                RES_LEVEL,
                "alert.err.use_buttons",
                CallbackQueryHandler(on_rlevel, pattern=r"^alr:lv:"),
            ),
            RES_NOTE: action_step(RES_NOTE, "alert.err.note", MessageHandler(text, on_note)),
            ESC_REASON: action_step(ESC_REASON, "alert.err.note", MessageHandler(text, on_reason)),
        },
        [CommandHandler("cancel", action_cancel)],
    )
    return [
        action,
        CommandHandler("alerts", alerts_command, filters=filters.ChatType.PRIVATE),
        CallbackQueryHandler(on_ack, pattern=r"^al:ack:"),
        CallbackQueryHandler(on_timeline, pattern=r"^al:tl:"),
        CallbackQueryHandler(on_reopen, pattern=r"^al:reo:"),
        CallbackQueryHandler(on_open, pattern=r"^al:open:"),
    ]
