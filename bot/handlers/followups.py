"""Findings of weekly reports, township side: Read, Open as alert, Followed up, /followups.

The card itself is sent by bot/reminders/findings.py when a report with issues is stored.
Every button checks the presser's role and township again (callback data is never trusted).
"Followed up" asks for a note (the "followup" form, declared on bot/forms/; followup.mmd is
generated from it), then records it, updates every copy and tells the liaison.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.context import BotContext
from bot.domain.alert import CATEGORIES, MAX_NOTE, SEVERITIES, AlertDraft, check_text
from bot.domain.people import Person, Role
from bot.domain.report import FollowupDraft, Report
from bot.domain.vocab import CATEGORY_KEYS, SEVERITY_KEYS
from bot.forms import END, Done, Form, Invalid, Text
from bot.handlers.common import answer, button, guard, keyboard, may_act_on, refuse
from bot.notify import notify
from bot.reminders import escalation, findings
from bot.storage import alerts as alerts_repo
from bot.storage import followups as store
from bot.storage import reports as reports_repo
from bot.storage.db import Tx

OVERSIGHT = (Role.COMMISSIONER, Role.LEADER, Role.COUNTY)


async def _report(update: Update, context: BotContext, index: int = 2) -> Report | None:
    """Load the report a button names and check the presser's scope."""
    parts = (update.callback_query.data or "").split(":") if update.callback_query else []
    report = None
    if len(parts) > index and parts[index].isdigit():
        report = await reports_repo.get_report(context.deps.db, int(parts[index]))
    if report is None or not may_act_on(context.actor, report.township_id):
        await refuse(update, context, "common.not_allowed")
        return None
    return report


@guard(*OVERSIGHT)
async def on_read(update: Update, context: BotContext) -> None:
    """Read: record who and when, and update every copy of the card."""
    report = await _report(update, context)
    if report is None:
        return
    deps, actor = context.deps, context.actor
    assert actor is not None
    now = deps.clock.now()
    async with deps.db.transaction() as tx:
        if await store.mark_read(tx, report.id, actor.id, now):
            await findings.refresh(deps, tx, report.id, now)
    deps.wake_outbox()
    assert update.callback_query is not None
    await update.callback_query.answer(context.t("findings.read_done"))


# --- Followed up (with a note; declared, bot/forms/ walks it) ------------------------------


def _note(text: str) -> str | Invalid:
    if check_text(text, MAX_NOTE):
        return Invalid("findings.err.note", {"limit": MAX_NOTE})
    return text.strip()


async def _followed_up(context: BotContext, draft: FollowupDraft, tx: Tx) -> Done:
    """Record the note on the report as stored now, update every copy, tell the liaison."""
    deps, actor, t = context.deps, context.actor, context.t
    report = await reports_repo.get_report(tx, draft.report_id)
    if report is None or actor is None or not may_act_on(actor, report.township_id):
        return Done(None, t("common.not_allowed"))
    now, note = deps.clock.now(), draft.note or ""
    if not await store.mark_followed_up(tx, report.id, actor.id, now, note):
        return Done(None, t("findings.already_done"))
    await store.mark_read(tx, report.id, actor.id, now)
    await findings.refresh(deps, tx, report.id, now)
    await _tell_liaisons(context, tx, report, actor, note)
    return Done(report.id, t("findings.done", ref=report.reference))


FOLLOWUP = Form(
    name="followup",
    prefix="fun",
    model=FollowupDraft,
    roles=OVERSIGHT,
    steps=[
        Text(
            "note",
            lambda c, d: c.t("findings.ask_note", ref=d.ref),
            _note,
            wrong=lambda c, d: c.t("findings.err.note", limit=MAX_NOTE),
        )
    ],
    submit=_followed_up,
    keys={
        "cancelled": "findings.cancelled",
        "dropped": "findings.note_dropped",
        "cancel": "findings.btn.cancel",
    },
)


async def start_done(update: Update, context: BotContext) -> object:
    """Followed up: ask what was done, unless someone already has."""
    report = await _report(update, context)
    if report is None:
        return END
    if await store.followup(context.deps.db, report.id) is not None:
        await refuse(update, context, "findings.already_done")
        return END
    draft = FollowupDraft(report_id=report.id, ref=report.reference)
    return await FOLLOWUP.begin(update, context, draft)


async def _tell_liaisons(
    context: BotContext, tx: Tx, report: Report, actor: Person, note: str
) -> None:
    deps = context.deps
    liaisons = await deps.people.liaisons_of_village(report.village_id, tx=tx)
    await notify(
        deps,
        tx,
        deps.clock.now(),
        liaisons,
        lambda t, _p: t("findings.told_liaison", ref=report.reference, name=actor.name, note=note),
        key=lambda p: f"report:{report.id}:followed:{p.id}",
    )


# --- Open as alert --------------------------------------------------------------------------


@guard(*OVERSIGHT)
async def open_as_alert(update: Update, context: BotContext) -> None:
    """Open as alert: pick its category, then its severity; the rest comes from the report."""
    report = await _report(update, context)
    if report is None:
        return
    t = context.t
    if report.alert_id is not None:
        await refuse(update, context, "findings.already_alert")
        return
    query = update.callback_query
    assert query is not None
    parts = (query.data or "").split(":")
    if parts[1] == "al":
        rows = [[button(t(CATEGORY_KEYS[c]), f"fu:ac:{report.id}:{c}")] for c in CATEGORIES]
        await answer(
            update, context, t("findings.ask_category", ref=report.reference), keyboard(*rows)
        )
        return
    category = parts[3] if len(parts) > 3 and parts[3] in CATEGORIES else None
    if category is None:
        await refuse(update, context, "common.stale")
        return
    if parts[1] == "ac":
        rows = [
            [button(t(SEVERITY_KEYS[s]), f"fu:as:{report.id}:{category}:{s}")] for s in SEVERITIES
        ]
        await answer(update, context, t("findings.ask_severity"), keyboard(*rows), edit=True)
        return
    severity = parts[4] if len(parts) > 4 and parts[4] in SEVERITIES else None
    if severity is None:
        await refuse(update, context, "common.stale")
        return
    ref = await _create_alert(context, report, category, severity)
    if ref is None:
        await refuse(update, context, "findings.already_alert")
        return
    await answer(
        update, context, t("findings.alert_opened", ref=ref, report=report.reference), edit=True
    )


async def _create_alert(
    context: BotContext, report: Report, category: str, severity: str
) -> str | None:
    """Store an alert prefilled from the report, linked to it and taken on by the opener."""
    deps, actor = context.deps, context.actor
    assert actor is not None
    now = deps.clock.now()
    async with deps.db.transaction() as tx:
        fresh = await reports_repo.get_report(tx, report.id)
        if fresh is None or fresh.alert_id is not None:
            return None
        files = await reports_repo.attachments(tx, report.id)
        location = next((a.meta for a in files if a.kind == "location"), None)
        draft = AlertDraft(
            category=category,
            severity=severity,
            place_text=fresh.village,
            latitude=location.get("latitude") if location else None,
            longitude=location.get("longitude") if location else None,
            description=fresh.findings or None,
            voice_file_id=next((a.file_id for a in files if a.kind == "voice"), None),
            photos=[
                [a.file_id, a.file_unique_id or ""]
                for a in files
                if a.kind == "photo" and a.file_id
            ],
            report_id=fresh.id,
        )
        alert_id = await alerts_repo.create_alert(
            tx,
            now,
            draft,
            person_id=fresh.person_id,
            township_id=fresh.township_id,
            village_id=fresh.village_id,
        )
        alert = await alerts_repo.get_alert(tx, alert_id)
        assert alert is not None
        # Whoever opens it has taken it on: acknowledged by them, so it does not climb.
        await alerts_repo.acknowledge(tx, alert, actor.id, now)
        alert = await alerts_repo.get_alert(tx, alert_id)
        assert alert is not None
        await escalation.deliver_new(deps, tx, alert, now)
        await findings.refresh(deps, tx, report.id, now)
    deps.wake_outbox()
    return alert.ref


# --- /followups ---------------------------------------------------------------------------


@guard(*OVERSIGHT)
async def followups_command(update: Update, context: BotContext) -> None:
    """/followups: reports asking for follow-up that nobody has followed up, oldest first."""
    actor, t = context.actor, context.t
    assert actor is not None
    scope = actor.scope
    items = await store.open_followups(context.deps.db, scope)
    if not items:
        await answer(update, context, t("findings.list_empty"))
        return
    lines = [t("findings.list_head", n=len(items))]
    rows = []
    for r in items[:30]:
        lines.append(
            t(
                "findings.list_line",
                ref=r.reference,
                village=r.village,
                time=t.datetime(r.submitted_at),
            )
        )
        rows.append([button(f"{r.reference}", f"rv:{r.id}")])
    await answer(update, context, "\n".join(lines), keyboard(*rows))


def get_handlers() -> list[BaseHandler]:
    """Return the findings buttons, the follow-up note conversation and /followups."""
    note = FOLLOWUP.conversation(
        [CallbackQueryHandler(FOLLOWUP.guarded(start_done), pattern=r"^fu:done:\d+$")]
    )
    return [
        note,
        CallbackQueryHandler(on_read, pattern=r"^fu:read:\d+$"),
        CallbackQueryHandler(open_as_alert, pattern=r"^fu:(al|ac|as):\d+"),
        CommandHandler("followups", followups_command, filters=filters.ChatType.PRIVATE),
    ]
