"""Dispute alerts: /alert (liaison), the alert buttons, /alerts, and liaison updates from /mine.

State machines (see alert.mmd): "alert" is the liaison's form; "alert_action" asks a
commissioner for the resolution level and note, or an escalation reason; "alert_update"
collects a liaison's update to an open alert.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from telegram import InlineKeyboardMarkup, Message, Update
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
    CATEGORIES,
    MAX_DESCRIPTION,
    MAX_NOTE,
    MAX_PHOTOS,
    MAX_PLACE,
    RESOLUTION_LEVELS,
    SEVERITIES,
    TOP_LEVEL,
    Alert,
    AlertDraft,
    check_text,
    parse_people,
)
from bot.domain.people import Person, Role
from bot.domain.vocab import ALERT_STATE_KEYS as STATE_KEYS
from bot.domain.vocab import CATEGORY_KEYS, LEVEL_KEYS, RESOLUTION_KEYS, SEVERITY_KEYS
from bot.forms import Choice, Collect, Done, Form, Invalid, Stay, Summary, Text, codec, fixed
from bot.handlers.common import (
    answer,
    button,
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
from bot.storage.reports import get_report
from bot.views import alert as alert_view

# Commissioner-side states.
RES_LEVEL, RES_NOTE, ESC_REASON = range(10, 13)
# Liaison update state.
UPDATE = 20

END = ConversationHandler.END
OVERSIGHT = (Role.COMMISSIONER, Role.LEADER, Role.COUNTY)
PEOPLE_CHOICES = (2, 5, 10, 30, 100)

SEVERITY_HINT_KEYS = {
    "critical": "alert.sev_hint.critical",
    "high": "alert.sev_hint.high",
    "medium": "alert.sev_hint.medium",
    "low": "alert.sev_hint.low",
}
TEXT_ERRORS = {"empty": "alert.err.empty", "too_long": "alert.err.too_long"}
PEOPLE_ERRORS = {"not_a_number": "alert.err.people_nan", "out_of_range": "alert.err.people_range"}

# --- the liaison's form (declared; bot/forms/ walks it) ----------------------------------


def _summary(context: BotContext, form: AlertDraft) -> str:
    t = context.t
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


def _severity_text(context: BotContext, form: AlertDraft) -> str:
    t = context.t
    lines = [t("alert.ask_severity")]
    lines += [f"• {t(SEVERITY_KEYS[s])}: {t(SEVERITY_HINT_KEYS[s])}" for s in SEVERITIES]
    return "\n".join(lines)


def _what_text(context: BotContext, form: AlertDraft) -> str:
    text = context.t("alert.ask_what")
    if form.description:
        text += "\n\n" + context.t("alert.carried", text=form.description)
    return text


def _limit(limit: int) -> Callable[[str], str | Invalid]:
    def parse(text: str) -> str | Invalid:
        error = check_text(text, limit)
        return Invalid(TEXT_ERRORS[error], {"limit": limit}) if error else text.strip()

    return parse


def _people(text: str) -> int | Invalid:
    value, error = parse_people(text)
    if value is None:
        return Invalid(PEOPLE_ERRORS[error or "not_a_number"])
    return value


def _location(context: BotContext, form: AlertDraft, message: Message) -> None:
    assert message.location is not None
    form.latitude, form.longitude = message.location.latitude, message.location.longitude


def _voice(context: BotContext, form: AlertDraft, message: Message) -> None:
    assert message.voice is not None
    form.voice_file_id = message.voice.file_id


def _photo(context: BotContext, form: AlertDraft, message: Message) -> Stay:
    if len(form.photos) >= MAX_PHOTOS:
        return Stay(context.t("alert.err.photos_max", n=MAX_PHOTOS))
    best = message.photo[-1]
    form.photos.append([best.file_id, best.file_unique_id])
    return Stay(context.t("alert.photo_added", n=len(form.photos)))


def _here(context: BotContext, form: AlertDraft, value: str) -> None:
    assert context.actor is not None
    form.place_text = context.actor.village


async def _submit(context: BotContext, form: AlertDraft, tx: Tx) -> Done | Stay:
    """Store the alert and queue it for the township (the runtime closes the draft)."""
    actor, deps = context.actor, context.deps
    if form.missing() or actor is None or actor.village_id is None or actor.township_id is None:
        return Stay(context.t("alert.err.use_buttons"))
    now = deps.clock.now()
    if form.report_id is not None:
        report = await get_report(tx, form.report_id)
        if report is None or report.village_id != actor.village_id or report.alert_id is not None:
            form.report_id = None
    alert_id = await repo.create_alert(
        tx,
        now,
        form,
        person_id=actor.id,
        township_id=actor.township_id,
        village_id=actor.village_id,
    )
    alert = await repo.get_alert(tx, alert_id)
    assert alert is not None
    await notify.deliver_new(deps, tx, alert, now)
    return Done(alert_id, context.t("alert.submitted", ref=alert.ref))


ALERT = Form(
    name="alert",
    prefix="alf",
    model=AlertDraft,
    steps=[
        Choice(
            "category",
            "alert.ask_category",
            fixed(CATEGORIES, CATEGORY_KEYS),
            label="alert.f.category",
        ),
        Choice(
            "severity", _severity_text, fixed(SEVERITIES, SEVERITY_KEYS), label="alert.f.severity"
        ),
        Text(
            "people_count",
            "alert.ask_people",
            _people,
            options=lambda c, f: [(str(n), c.t("alert.people_n", n=n)) for n in PEOPLE_CHOICES],
            convert=int,
            columns=len(PEOPLE_CHOICES),
            wrong="alert.err.people_nan",
            label="alert.f.people",
        ),
        Text(
            "place",
            "alert.ask_place",
            _limit(MAX_PLACE),
            store="place_text",
            accept={"location": _location},
            options=lambda c, f: [
                ("here", c.t("alert.btn.in_village", village=c.actor.village if c.actor else "—"))
            ],
            apply=_here,
            done=lambda f: bool(f.place_text) or f.latitude is not None,
            wrong="alert.err.place",
            label="alert.f.place",
        ),
        Text(
            "what",
            _what_text,
            _limit(MAX_DESCRIPTION),
            store="description",
            accept={"voice": _voice},
            options=lambda c, f: [("keep", c.t("alert.btn.keep_text"))] if f.description else [],
            apply=lambda c, f, v: None,
            done=lambda f: bool(f.description) or f.voice_file_id is not None,
            wrong="alert.err.what",
            label="alert.f.what",
        ),
        Collect(
            name="photos",
            ask="alert.ask_photos",
            flow=False,
            accept={"photo": _photo},
            done_label="alert.btn.photos_done",
            wrong="alert.err.photo",
        ),
    ],
    summary=Summary(
        render=_summary,
        edit=("category", "severity", "people_count", "place", "what"),
        extras=(("alert.btn.add_photos", "photos"),),
    ),
    submit=_submit,
    keys={
        "cancelled": "alert.cancelled",
        "dropped": "alert.draft_dropped",
        "submit": "alert.btn.submit",
        "edit": "alert.btn.edit",
        "cancel": "alert.btn.cancel",
        "ask_edit": "alert.ask_edit",
        "use_buttons": "alert.err.use_buttons",
    },
)


async def start_alert(update: Update, context: BotContext) -> object:
    """/alert: continue a half-filled alert, or start a new one."""
    resumed = await ALERT.resume(update, context, note=context.t("alert.resumed"))
    return resumed if resumed is not None else await ALERT.begin(update, context, AlertDraft())


ALERT.restart = start_alert


async def from_report(update: Update, context: BotContext) -> object:
    """The weekly report's "Raise a dispute alert": check the report is the liaison's own."""
    query = update.callback_query
    assert query is not None
    actor = context.actor
    found = codec.ids(query.data, "alert", "fromreport")
    report = await get_report(context.deps.db, found[0]) if found else None
    if report is None or not may_act_on(actor, report.township_id, report.village_id):
        await refuse(update, context, "common.not_allowed")
        return END
    if report.alert_id is not None:
        await safe_answer_query(
            query, context.t("alert.already_linked", ref=f"A-{report.alert_id}"), alert=True
        )
        return END
    await safe_answer_query(query)
    draft = AlertDraft(description=report.findings or None, report_id=report.id)
    return await ALERT.begin(update, context, draft)


# --- commissioner actions and liaison updates keep their state in user_data ---------------


def _now_iso(context: BotContext) -> str:
    return context.deps.clock.now().isoformat()


def _load(context: BotContext, name: str) -> dict[str, Any] | None:
    return drafts(context).get(name)


def _drop(context: BotContext, name: str) -> None:
    drafts(context).pop(name, None)


def _cancel_row(t: Translator, data: str) -> list:
    return [button(t("alert.btn.cancel"), data)]


# --- the alert buttons (commissioners and above) -------------------------------------------


async def _target(
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
    alert = await _target(update, context, "ack")
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
    alert = await _target(update, context, "tl")
    if alert is None:
        return
    await answer(update, context, await _timeline_text(context, alert))


async def _timeline_text(context: BotContext, alert: Alert) -> str:
    events = await repo.events(context.deps.db, alert.id)
    return alert_view.timeline_text(context.t, alert, events)


@guard()
async def on_reopen(update: Update, context: BotContext) -> None:
    """Reopen a resolved alert."""
    alert = await _target(update, context, "reo")
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
    alert = await _target(update, context, "open")
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
    alert = await _target(update, context, "res")
    if alert is None:
        return END
    t = context.t
    if alert.state == "resolved":
        await _say_already(update, context, alert)
        return END
    drafts(context)["alert_action"] = {"id": alert.id, "updated_at": _now_iso(context)}
    rows = [[button(t(RESOLUTION_KEYS[lv]), f"alr:lv:{lv}")] for lv in RESOLUTION_LEVELS]
    await answer(
        update,
        context,
        t("alert.ask_rlevel", ref=alert.ref),
        keyboard(*rows, _cancel_row(t, "alr:cancel")),
    )
    return RES_LEVEL


@guard(end_conversation=True)
async def on_rlevel(update: Update, context: BotContext) -> int:
    """The resolution level was chosen; ask for the outcome note."""
    query = update.callback_query
    assert query is not None
    data = _load(context, "alert_action")
    fields = codec.split(query.data, "alr", 2)
    if data is None or fields is None or fields[1] not in RESOLUTION_LEVELS:
        await safe_answer_query(query, context.t("common.stale"), alert=True)
        return RES_LEVEL if data else END
    data["level"] = fields[1]
    data["updated_at"] = _now_iso(context)
    t = context.t
    await answer(
        update, context, t("alert.ask_note"), keyboard(_cancel_row(t, "alr:cancel")), edit=True
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
        _drop(context, "alert_action")
        await refuse(update, context, "common.not_allowed")
        return None
    return alert


@guard(end_conversation=True)
async def on_note(update: Update, context: BotContext) -> int:
    """The outcome note: resolve, update every copy, tell the liaison."""
    data = _load(context, "alert_action")
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
    _drop(context, "alert_action")
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
    alert = await _target(update, context, "esc")
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
        "updated_at": _now_iso(context),
    }
    await answer(
        update,
        context,
        t("alert.ask_reason", ref=alert.ref, level=t(LEVEL_KEYS[alert.level + 1])),
        keyboard(_cancel_row(t, "alr:cancel")),
    )
    return ESC_REASON


@guard(end_conversation=True)
async def on_reason(update: Update, context: BotContext) -> int:
    """The escalation reason: climb one level now."""
    data = _load(context, "alert_action")
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
    _drop(context, "alert_action")
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
    _drop(context, "alert_action")
    await answer(
        update, context, context.t("alert.cancelled"), edit=update.callback_query is not None
    )
    return END


@guard(end_conversation=True)
async def update_cancel(update: Update, context: BotContext) -> int:
    """Cancel a liaison's update to an alert (/cancel), dropping what was typed."""
    _drop(context, "alert_update")
    await answer(update, context, context.t("alert.cancelled"))
    return END


def _action_reprompt(key: str, state: int) -> Any:
    @guard(end_conversation=True)
    async def callback(update: Update, context: BotContext) -> int:
        if update.callback_query is not None:
            await safe_answer_query(update.callback_query, context.t(key), alert=True)
        else:
            await answer(update, context, context.t(key))
        return state

    return callback


# --- liaison updates from /mine -------------------------------------------------------------


@guard(Role.LIAISON)
async def mine_alerts(update: Update, context: BotContext) -> None:
    """The /mine menu's "Alerts": the liaison's recent alerts, each openable."""
    actor, t = context.actor, context.t
    assert actor is not None
    items = await repo.of_liaison(context.deps.db, actor.id)
    if not items:
        await answer(update, context, t("alert.mine_empty"))
        return
    lines = [t("alert.mine_head")]
    rows = []
    for a in items:
        lines.append(
            t(
                "alert.mine_line",
                ref=a.ref,
                time=t.datetime(a.created_at),
                category=t(CATEGORY_KEYS.get(a.category, "alert.cat.other")),
                state=t(STATE_KEYS[a.state]),
            )
        )
        rows.append([button(f"{a.ref} · {t(STATE_KEYS[a.state])}", f"al:mine:{a.id}")])
    await answer(update, context, "\n".join(lines), keyboard(*rows))


@guard(Role.LIAISON)
async def mine_open(update: Update, context: BotContext) -> None:
    """Show one of the liaison's alerts with "Add an update" while it is open."""
    alert = await _target(update, context, "mine", (Role.LIAISON,))
    if alert is None:
        return
    t = context.t
    rows = [[button(t("alert.btn.timeline_mine"), f"al:mtl:{alert.id}")]]
    if alert.state != "resolved":
        rows.insert(0, [button(t("alert.btn.add_update"), f"al:upd:{alert.id}")])
    await answer(update, context, alert_view.card_text(t, alert), keyboard(*rows))


@guard(Role.LIAISON)
async def mine_timeline(update: Update, context: BotContext) -> None:
    """The liaison's view of the timeline of their alert."""
    alert = await _target(update, context, "mtl", (Role.LIAISON,))
    if alert is None:
        return
    await answer(update, context, await _timeline_text(context, alert))


@guard(Role.LIAISON, end_conversation=True)
async def start_update(update: Update, context: BotContext) -> int:
    """Add an update: collect text and photos until Send."""
    alert = await _target(update, context, "upd", (Role.LIAISON,))
    if alert is None:
        return END
    t = context.t
    if alert.state == "resolved":
        await safe_answer_query(
            update.callback_query,
            t("alert.update_closed", ref=alert.ref),
            alert=True,
        )
        return END
    drafts(context)["alert_update"] = {
        "id": alert.id,
        "text": "",
        "photos": [],
        "updated_at": _now_iso(context),
    }
    await answer(update, context, t("alert.ask_update", ref=alert.ref), _update_markup(t))
    return UPDATE


def _update_markup(t: Translator) -> InlineKeyboardMarkup | None:
    return keyboard([button(t("alert.btn.send_update"), "alu:send")], _cancel_row(t, "alu:cancel"))


@guard(Role.LIAISON, end_conversation=True)
async def on_update_text(update: Update, context: BotContext) -> int:
    """Text of an update (several messages are joined)."""
    data = _load(context, "alert_update")
    message = update.effective_message
    assert message is not None
    if data is None:
        return END
    t = context.t
    text = ((data.get("text") or "") + "\n" + (message.text or "")).strip()
    error = check_text(text, MAX_DESCRIPTION)
    if error:
        await answer(
            update, context, t(TEXT_ERRORS[error], limit=MAX_DESCRIPTION), _update_markup(t)
        )
        return UPDATE
    data["text"], data["updated_at"] = text, _now_iso(context)
    await answer(update, context, t("alert.update_noted"), _update_markup(t))
    return UPDATE


@guard(Role.LIAISON, end_conversation=True)
async def on_update_photo(update: Update, context: BotContext) -> int:
    """A photo for an update."""
    data = _load(context, "alert_update")
    message = update.effective_message
    assert message is not None and message.photo
    if data is None:
        return END
    t = context.t
    if len(data["photos"]) >= MAX_PHOTOS:
        await answer(update, context, t("alert.err.photos_max", n=MAX_PHOTOS), _update_markup(t))
        return UPDATE
    best = message.photo[-1]
    data["photos"].append([best.file_id, best.file_unique_id])
    if message.caption:
        data["text"] = ((data.get("text") or "") + "\n" + message.caption).strip()[:MAX_DESCRIPTION]
    data["updated_at"] = _now_iso(context)
    await answer(update, context, t("alert.photo_added", n=len(data["photos"])), _update_markup(t))
    return UPDATE


@guard(Role.LIAISON, end_conversation=True)
async def on_update_button(update: Update, context: BotContext) -> int:
    """Send or cancel an update."""
    query = update.callback_query
    assert query is not None
    data = _load(context, "alert_update")
    t = context.t
    if data is None:
        await safe_answer_query(query, t("common.stale"), alert=True)
        return END
    if query.data == "alu:cancel":
        _drop(context, "alert_update")
        await answer(update, context, t("alert.cancelled"), edit=True)
        return END
    if not data.get("text") and not data.get("photos"):
        await safe_answer_query(query, t("alert.update_empty"), alert=True)
        return UPDATE
    deps, actor = context.deps, context.actor
    assert actor is not None
    alert = await repo.get_alert(deps.db, int(data["id"]))
    if alert is None or not may_act_on(actor, alert.township_id, alert.village_id):
        _drop(context, "alert_update")
        await refuse(update, context, "common.not_allowed")
        return END
    now = deps.clock.now()
    async with deps.db.transaction() as tx:
        await _store_update(deps, tx, alert, actor, now, data)
    _drop(context, "alert_update")
    deps.wake_outbox()
    await answer(update, context, t("alert.update_sent", ref=alert.ref), edit=True)
    return END


async def _store_update(
    deps: Any, tx: Any, alert: Alert, actor: Person, now: datetime, data: dict[str, Any]
) -> None:
    """Record the update and forward it (text, then photos) to whoever acknowledged the alert."""
    photos = data.get("photos") or []
    event_id = await repo.add_event(
        tx,
        alert.id,
        now,
        "update",
        actor.id,
        {"text": data.get("text") or "", "photos": len(photos)},
    )
    await repo.add_attachments(tx, now, "alert_update", event_id, photos)
    await notify.forward_update(
        deps, tx, alert, actor, now, event_id, data.get("text") or "", [f for f, _u in photos]
    )


# --- wiring ----------------------------------------------------------------------------------


def _conversation(
    name: str,
    entry_points: list[BaseHandler],
    states: dict[object, list[BaseHandler]],
    cancel: BaseHandler,
) -> ConversationHandler:
    """Return a persistent conversation that its entry points can restart at any step."""
    return ConversationHandler(
        entry_points=entry_points,
        states=states,
        fallbacks=[cancel],
        name=name,
        persistent=True,
        allow_reentry=True,
    )


def get_handlers() -> list[BaseHandler]:
    """Return the alert handlers, conversations first."""
    text = filters.TEXT & ~filters.COMMAND
    other = ~filters.COMMAND

    def action_step(state: int, error_key: str, expected: BaseHandler) -> list[BaseHandler]:
        return [
            expected,
            CallbackQueryHandler(action_cancel, pattern=r"^alr:cancel$"),
            MessageHandler(other, _action_reprompt(error_key, state)),
        ]

    form = ALERT.conversation(
        [
            CommandHandler("alert", ALERT.guarded(start_alert)),
            CallbackQueryHandler(ALERT.guarded(from_report), pattern=r"^alert:fromreport:"),
        ]
    )
    action = _conversation(
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
        CommandHandler("cancel", action_cancel),
    )
    updates = _conversation(
        "alert_update",
        [CallbackQueryHandler(start_update, pattern=r"^al:upd:\d+$")],
        {
            UPDATE: [
                MessageHandler(filters.PHOTO, on_update_photo),
                MessageHandler(text, on_update_text),
                CallbackQueryHandler(on_update_button, pattern=r"^alu:(send|cancel)$"),
                MessageHandler(other, _action_reprompt("alert.err.update", UPDATE)),
            ],
        },
        CommandHandler("cancel", update_cancel),
    )
    return [
        form,
        action,
        updates,
        CommandHandler("alerts", alerts_command, filters=filters.ChatType.PRIVATE),
        CallbackQueryHandler(on_ack, pattern=r"^al:ack:"),
        CallbackQueryHandler(on_timeline, pattern=r"^al:tl:"),
        CallbackQueryHandler(on_reopen, pattern=r"^al:reo:"),
        CallbackQueryHandler(on_open, pattern=r"^al:open:"),
        CallbackQueryHandler(mine_open, pattern=r"^al:mine:"),
        CallbackQueryHandler(mine_timeline, pattern=r"^al:mtl:"),
        CallbackQueryHandler(mine_alerts, pattern=r"^mine:a$"),
    ]
