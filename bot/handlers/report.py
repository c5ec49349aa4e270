"""/report: where the form starts (resume, this week's stored report, or a new draft), the
one-tap normal week ("✅ 本周一切正常") offered by the reminder, the overdue notice and the
form's first question, and the buttons of a stored report. The form: report_form.py.

Buttons outside the form: "rpn:<week>" files a normal week in one tap, "rpf:<week>" opens the
form for a week, "rpo:<id>" edits a stored report, "rpw:<id>" withdraws one, "rpc" closes the
view of a stored report.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.domain import report as dom
from bot.domain.calendar import week_number
from bot.domain.report import Err, Outcome, Report
from bot.forms import EDIT, END, codec
from bot.handlers.common import (
    answer,
    button,
    confirm,
    keyboard,
    may_act_on,
    refuse,
    safe_answer_query,
    send_confirmations,
)
from bot.handlers.report_form import (
    REPORT,
    changeable,
    fresh,
    last_was_normal,
    offered,
    one_taps,
    store_report,
    today,
)
from bot.i18n import Translator
from bot.reminders.weekly import REPORT_START
from bot.storage import drafts as store
from bot.storage import register as register_store
from bot.storage import reports as repo
from bot.views.patrol import ReportDraft, report_text


def _stored_rows(t: Translator, context: BotContext, report: Report) -> list[list[Any]]:
    if not changeable(context, report):
        return []
    edit = button(t("report.btn.edit"), f"rpo:{report.id}")
    if report.alert_id is not None:
        return [[edit]]
    return [[edit, button(t("forms.report.btn.withdraw"), f"rpw:{report.id}")]]


# --- entry points -------------------------------------------------------------------------


async def start(update: Update, context: BotContext) -> object:
    """/report and the reminder's button: resume, show this week's report, or a new form."""
    actor = context.actor
    assert actor is not None
    await safe_answer_query(update.callback_query)  # the reminder's button
    resumed = await REPORT.resume(update, context)
    if resumed is not None:
        return resumed
    week, offer = await offered(context, actor)
    existing = await repo.report_for(context.deps.db, actor.village_id or 0, week)
    if existing is not None:
        return await _show_existing(update, context, existing, offer)
    weeks = [offer, week] if offer else [week]
    return await REPORT.begin(update, context, await fresh(context, actor, weeks))


async def _show_existing(
    update: Update, context: BotContext, report: Report, offer: str | None
) -> object:
    """Show this week's stored report (Edit / Withdraw while allowed), not a duplicate."""
    t, actor = context.t, context.actor
    assert actor is not None
    files = await repo.attachments(context.deps.db, report.id)
    head = (
        t("report.already_yours")
        if report.person_id == actor.id
        else t("report.already_by", name=report.person, at=t.datetime(report.submitted_at))
    )
    rows = _stored_rows(t, context, report)
    if offer:
        rows.append([button(t("report.btn.prev_week", n=week_number(offer)), f"rpf:{offer}")])
        if await last_was_normal(context, actor, offer):
            rows += [[button(label, data)] for label, data in one_taps(context, [offer])]
    rows.append([button(t("report.btn.close"), "rpc")])
    await answer(update, context, head + "\n\n" + report_text(t, report, files), keyboard(*rows))
    return END


async def _week_from(update: Update, context: BotContext, tag: str) -> str | None:
    """Return the week a button names if this liaison may report it now; refuse otherwise."""
    assert update.callback_query is not None and context.actor is not None
    fields = codec.split(update.callback_query.data, tag, 1)
    week, offer = await offered(context, context.actor)
    if fields is None or fields[0] not in (week, offer):
        await refuse(update, context, "common.stale")
        return None
    return fields[0]


async def full_form(update: Update, context: BotContext) -> object:
    """ "rpf:<week>": the form for that week (from the view of a stored report)."""
    week = await _week_from(update, context, "rpf")
    if week is None or context.actor is None:
        return END
    await safe_answer_query(update.callback_query)
    return await REPORT.begin(update, context, await fresh(context, context.actor, [week]))


async def one_tap(update: Update, context: BotContext) -> object:
    """ "rpn:<week>": file the week as normal, with last report's places, households and visits."""
    deps, actor, t = context.deps, context.actor, context.t
    week = await _week_from(update, context, "rpn")
    if week is None or actor is None:
        return END
    query = update.callback_query
    last = await repo.latest_before(deps.db, actor.village_id or 0, week)
    if last is None or last.outcome != Outcome.NORMAL:  # the short form instead
        await safe_answer_query(query)
        draft = await fresh(context, actor, [week])
        return await REPORT.begin(update, context, draft, note=t("forms.report.needs_form"))
    visits = await register_store.report_visits(deps.db, last.id)
    draft = ReportDraft(
        week=week,
        date=dom.patrol_days(week, today(context))[-1].isoformat(),  # the latest day so far
        places=last.places,
        visited=last.visited,
        outcome=Outcome.NORMAL,
        entries=[f"e{i}" for i in visits],
    )
    async with deps.db.transaction() as tx:
        found = await store_report(context, tx, draft)
        assert not isinstance(found, Err)  # last report's answers are valid ones
        report, created = found
        if created:
            open_draft = await store.open_of(tx, REPORT.name, actor.id)
            if open_draft is not None:  # the form this tap replaces is done
                now = deps.clock.now()
                await store.close_draft(
                    tx, REPORT.name, open_draft.token, "submitted", now, report.id
                )
            text = t("forms.report.filed", ref=report.reference)
            rows = [[b.to_dict() for b in r] for r in _stored_rows(t, context, report)]
            markup = {"inline_keyboard": rows} if rows else None
            await confirm(context, tx, text + "\n\n" + report_text(t, report, []), markup)
    if not created:
        await safe_answer_query(
            query, t("report.already_submitted", ref=report.reference), alert=True
        )
        return END
    await send_confirmations(update, context)
    return END


async def edit_report(update: Update, context: BotContext) -> object:
    """ "rpo:<id>": edit a stored report of one's village while it may still change."""
    report = await _own_report(update, context, "rpo")
    if report is None:
        return END
    if not changeable(context, report):
        await refuse(update, context, "report.not_saved")
        return END
    await safe_answer_query(update.callback_query)
    files = await repo.attachments(context.deps.db, report.id)
    return await REPORT.begin(update, context, ReportDraft.of(report, files), step=EDIT)


async def _own_report(update: Update, context: BotContext, tag: str) -> Report | None:
    """Load the report a "<tag>:<id>" button names; refuse if forged or out of scope."""
    assert update.callback_query is not None
    fields = codec.split(update.callback_query.data, tag, 1)
    report_id = codec.parse_int(fields[0]) if fields else None
    report = await repo.get_report(context.deps.db, report_id) if report_id else None
    if report is None or not may_act_on(context.actor, report.township_id, report.village_id):
        await refuse(update, context, "common.not_allowed")
        return None
    return report


async def withdraw(update: Update, context: BotContext) -> object:
    """ "rpw:<id>": take back a report filed this week (before it can no longer change)."""
    report = await _own_report(update, context, "rpw")
    if report is None:
        return END
    t = context.t
    if not changeable(context, report) or report.alert_id is not None:
        await refuse(update, context, "forms.report.cannot_withdraw")
        return END
    assert context.actor is not None
    async with context.deps.db.transaction() as tx:
        done = await repo.withdraw_report(tx, report.id, context.actor.id, context.deps.clock.now())
        if done:
            again = {"text": t("forms.report.btn.again"), "callback_data": REPORT_START}
            text = t("forms.report.withdrawn", ref=report.reference)
            await confirm(context, tx, text, {"inline_keyboard": [[again]]})
    await send_confirmations(update, context)
    return END


async def close_view(update: Update, context: BotContext) -> object:
    """ "rpc": close the view of a stored report."""
    await answer(update, context, context.t("report.closed"), edit=True)
    return END


REPORT.restart = start


def get_handlers() -> list[BaseHandler]:
    """Return the report conversation (its entry points include the one-tap buttons)."""
    buttons = {
        f"^{REPORT_START}$": start,  # the reminder's "fill in the report" (bot/reminders/weekly.py)
        r"^rpn:": one_tap,
        r"^rpf:": full_form,
        r"^rpo:": edit_report,
        r"^rpw:": withdraw,
        r"^rpc$": close_view,
    }
    entries: list[BaseHandler] = [CommandHandler("report", REPORT.guarded(start))]
    entries += [CallbackQueryHandler(REPORT.guarded(f), pattern=p) for p, f in buttons.items()]
    return [REPORT.conversation(entries)]
