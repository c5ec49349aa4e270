"""Dispute alerts from the liaison's side: the /alert form, raising one from a weekly report,
and updates to one's alerts from /mine (the "alert_update" form). Both are declared on
bot/forms/ (alert.mmd and alert_update.mmd are generated). The commissioner's side:
bot/handlers/alert_desk.py.
"""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.domain.alert import (
    CATEGORIES,
    MAX_DESCRIPTION,
    MAX_PHOTOS,
    MAX_PLACE,
    SEVERITIES,
    AlertDraft,
    UpdateDraft,
    check_text,
    parse_people,
)
from bot.domain.people import Role
from bot.domain.vocab import ALERT_STATE_KEYS as STATE_KEYS
from bot.domain.vocab import CATEGORY_KEYS, SEVERITY_KEYS
from bot.forms import END, Choice, Collect, Done, Form, Invalid, Stay, Summary, Text, codec, fixed
from bot.handlers import alert_desk
from bot.handlers.alert_desk import TEXT_ERRORS, alert_in_scope, limited
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
from bot.storage.reports import get_report
from bot.views import alert as alert_view

PEOPLE_CHOICES = (2, 5, 10, 30, 100)

SEVERITY_HINT_KEYS = {
    "critical": "alert.sev_hint.critical",
    "high": "alert.sev_hint.high",
    "medium": "alert.sev_hint.medium",
    "low": "alert.sev_hint.low",
}
PEOPLE_ERRORS = {"not_a_number": "alert.err.people_nan", "out_of_range": "alert.err.people_range"}

# --- the liaison's form (declared; bot/forms/ walks it) ----------------------------------


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


def _photo(context: BotContext, form: AlertDraft | UpdateDraft, message: Message) -> Stay:
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
            limited(MAX_PLACE),
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
            limited(MAX_DESCRIPTION),
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
        render=lambda c, d: alert_view.draft_text(c.t, d),
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
    rows = [[button(f"{a.ref} · {t(STATE_KEYS[a.state])}", f"al:mine:{a.id}")] for a in items]
    await answer(update, context, alert_view.mine_text(t, items), keyboard(*rows))


@guard(Role.LIAISON)
async def mine_open(update: Update, context: BotContext) -> None:
    """Show one of the liaison's alerts with "Add an update" while it is open."""
    alert = await alert_in_scope(update, context, "mine", (Role.LIAISON,))
    if alert is None:
        return
    t = context.t
    rows = [[button(t("alert.btn.timeline_mine"), f"al:mtl:{alert.id}")]]
    if alert.state != "resolved":
        rows.insert(0, [button(t("alert.btn.add_update"), f"al:upd:{alert.id}")])
    await answer(update, context, alert_view.card_text(t, alert), keyboard(*rows))


def _update_text(context: BotContext, draft: UpdateDraft, message: Message) -> Stay:
    text = f"{draft.text}\n{message.text or ''}".strip()
    if error := check_text(text, MAX_DESCRIPTION):
        return Stay(context.t(TEXT_ERRORS[error], limit=MAX_DESCRIPTION))
    draft.text = text
    return Stay(context.t("alert.update_noted"))


def _update_photo(context: BotContext, draft: UpdateDraft, message: Message) -> Stay:
    if message.caption:
        draft.text = f"{draft.text}\n{message.caption}".strip()[:MAX_DESCRIPTION]
    return _photo(context, draft, message)


def _send(context: BotContext, draft: UpdateDraft) -> Stay | None:
    if not draft.text and not draft.photos:
        return Stay(context.t("alert.update_empty"), popup=True)
    draft.send = True
    return None


async def _store_update(context: BotContext, draft: UpdateDraft, tx: Tx) -> Done:
    """Record the update and forward it (text, then photos) to whoever acknowledged the alert."""
    deps, actor = context.deps, context.actor
    alert = await repo.get_alert(tx, draft.alert_id)
    if alert is None or not may_act_on(actor, alert.township_id, alert.village_id):
        return Done(None, context.t("common.not_allowed"))
    assert actor is not None
    now, photos = deps.clock.now(), draft.photos
    detail = {"text": draft.text, "photos": len(photos)}
    event_id = await repo.add_event(tx, alert.id, now, "update", actor.id, detail)
    await repo.add_attachments(tx, now, "alert_update", event_id, photos)
    files = [f for f, _u in photos]
    await notify.forward_update(deps, tx, alert, actor, now, event_id, draft.text, files)
    return Done(event_id, context.t("alert.update_sent", ref=alert.ref))


UPDATE = Form(
    name="alert_update",
    prefix="alu",
    model=UpdateDraft,
    steps=[
        Collect(
            name="update",
            ask=lambda c, d: c.t("alert.ask_update", ref=d.ref),
            accept={"text": _update_text, "photo": _update_photo},
            done_label="alert.btn.send_update",
            finish=_send,
            done=lambda d: d.send,
            wrong="alert.err.update",
        ),
    ],
    submit=_store_update,
    keys={
        "cancelled": "alert.cancelled",
        "dropped": "alert.update_dropped",
        "cancel": "alert.btn.cancel",
    },
)


async def start_update(update: Update, context: BotContext) -> object:
    """Add an update to one's open alert: text and photos until Send."""
    alert = await alert_in_scope(update, context, "upd", (Role.LIAISON,))
    if alert is None:
        return END
    if alert.state == "resolved":
        text = context.t("alert.update_closed", ref=alert.ref)
        await safe_answer_query(update.callback_query, text, alert=True)
        return END
    return await UPDATE.begin(update, context, UpdateDraft(alert_id=alert.id, ref=alert.ref))


# --- wiring ----------------------------------------------------------------------------------


def get_handlers() -> list[BaseHandler]:
    """Return the alert form, the liaison's updates, then the commissioner's desk."""
    form = ALERT.conversation(
        [
            CommandHandler("alert", ALERT.guarded(start_alert)),
            CallbackQueryHandler(ALERT.guarded(from_report), pattern=r"^alert:fromreport:"),
        ]
    )
    updates = UPDATE.conversation(
        [CallbackQueryHandler(UPDATE.guarded(start_update), pattern=r"^al:upd:\d+$")]
    )
    return [
        form,
        updates,
        *alert_desk.get_handlers(),
        CallbackQueryHandler(mine_open, pattern=r"^al:mine:"),
        CallbackQueryHandler(mine_alerts, pattern=r"^mine:a$"),
    ]
