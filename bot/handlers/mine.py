"""/mine: the liaison's own records — reports here; alerts and submissions by their features."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.domain import report as dom
from bot.domain.calendar import due_at, shift_week, week_number
from bot.domain.people import Role
from bot.domain.vocab import REPORT_STATE_KEYS as STATE_KEYS
from bot.forms import codec
from bot.handlers.common import answer, button, guard, keyboard, may_act_on, refuse
from bot.handlers.leave import leave_lines
from bot.storage import reports as repo
from bot.storage.leave import current_leaves
from bot.views.patrol import report_text

WEEKS_SHOWN = 8


@guard(Role.LIAISON)
async def mine(update: Update, context: BotContext) -> None:
    """Show the three kinds of own records to choose from."""
    t = context.t
    markup = keyboard(
        [button(t("mine.btn.reports"), "mine:r")],
        [button(t("mine.btn.alerts"), "mine:a")],
        [button(t("mine.btn.submissions"), "mine:i")],
    )
    assert context.actor is not None
    today = context.deps.clock.now().astimezone(context.deps.tz).date()
    leaves = await current_leaves(context.deps.db, today, person_id=context.actor.id)
    text = t("mine.menu")
    if leaves:
        text += "\n\n" + "\n".join(leave_lines(context, leaves))
    await answer(update, context, text, markup)


@guard(Role.LIAISON)
async def reports(update: Update, context: BotContext) -> None:
    """List the recent weeks of the liaison's village: on time, late or missing."""
    deps = context.deps
    actor = context.actor
    t = context.t
    assert actor is not None and actor.village_id is not None
    now = deps.clock.now()
    week = dom.current_week(now, deps.tz)
    oldest = shift_week(week, -(WEEKS_SHOWN - 1))
    stored = await repo.village_reports(deps.db, actor.village_id, oldest)
    joined = await repo.village_joined(deps.db, actor.village_id)
    lines = [t("mine.reports_title", village=actor.village or "")]
    rows = []
    for i in range(WEEKS_SHOWN):
        key = shift_week(week, -i)
        report = stored.get(key)
        if report is None and not repo.owes(joined, due_at(key, deps.policy, deps.tz)):
            break  # the village had not joined yet: nothing was owed from here back
        state = dom.report_state(report.late if report else None)
        if report is None and now <= due_at(key, deps.policy, deps.tz):
            state = "pending"
        lines.append(t("mine.report_line", n=week_number(key), state=t(STATE_KEYS[state])))
        if report is not None:
            rows.append(button(t("mine.btn.open", n=week_number(key)), f"mine:r:{report.id}"))
    markup = keyboard(*[rows[i : i + 4] for i in range(0, len(rows), 4)])
    await answer(update, context, "\n".join(lines), markup, edit=True)


@guard(Role.LIAISON)
async def open_report(update: Update, context: BotContext) -> None:
    """Show one of the liaison's reports, with Edit while its week lasts."""
    deps = context.deps
    query = update.callback_query
    assert query is not None
    found = codec.ids(query.data, "mine", "r")
    if found is None:
        await refuse(update, context, "common.stale")
        return
    report = await repo.get_report(deps.db, found[0])
    if report is None or not may_act_on(context.actor, report.township_id, report.village_id):
        await refuse(update, context, "common.not_allowed")
        return
    files = await repo.attachments(deps.db, report.id)
    text = report_text(context.t, report, files)
    markup = None
    if dom.week_is_open(report.week, deps.clock.now(), deps.tz):
        # Editing goes through the /report form (its entry point "rpo:<id>").
        markup = keyboard([button(context.t("report.btn.edit"), f"rpo:{report.id}")])
    await answer(update, context, text, markup)


def get_handlers() -> list[BaseHandler]:
    """Return /mine and its report buttons (alerts "mine:a", submissions "mine:i": elsewhere)."""
    return [
        CommandHandler("mine", mine),
        CallbackQueryHandler(reports, pattern=r"^mine:r$"),
        CallbackQueryHandler(open_report, pattern=r"^mine:r:\d+$"),
    ]
