"""/reports: a week of patrol reports of one's scope, each openable with its history and
evidence ("rv:<id>", also from /overdue and /followups); earlier weeks one tap away."""

from __future__ import annotations

from telegram import InlineKeyboardButton, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.context import BotContext
from bot.domain import report as dom
from bot.domain.calendar import due_at, shift_week
from bot.domain.people import Role
from bot.domain.text import split_text
from bot.domain.vocab import REPORT_STATE_KEYS as STATE_KEYS
from bot.domain.vocab import week_label
from bot.forms import codec
from bot.handlers.common import answer, button, guard, keyboard, may_act_on, refuse
from bot.notify import notify, send_evidence
from bot.reminders import findings
from bot.storage import reports as repo

OVERSIGHT = (Role.COMMISSIONER, Role.LEADER, Role.COUNTY)
WEEKS_BACK = 26
MAX_BUTTONS = 90


async def _week(update: Update, context: BotContext, week: str, *, edit: bool) -> None:
    deps, actor, t = context.deps, context.actor, context.t
    assert actor is not None
    now = deps.clock.now()
    scope = actor.scope
    due = due_at(week, deps.policy, deps.tz)
    rows = await repo.week_status(deps.db, week, scope, due)
    lines = [t("reports.head", week=week_label(t, week), due=t.datetime(due))]
    buttons: list[InlineKeyboardButton] = []
    township = None
    for r in rows:
        if scope is None and r.township != township:
            lines.append(t("reports.township", name=r.township))
            township = r.township
        state = dom.report_state(r.late if r.report_id is not None else None)
        if r.report_id is None and now <= due:
            state = "pending"
        lines.append(t("reports.line", village=r.village, state=t(STATE_KEYS[state])))
        if r.report_id is not None and len(buttons) < MAX_BUTTONS:
            buttons.append(button(r.village, f"rv:{r.report_id}"))
    nav = [button(t("reports.btn.earlier"), f"rw:{shift_week(week, -1)}")]
    if week < dom.current_week(now, deps.tz):
        nav.append(button(t("reports.btn.later"), f"rw:{shift_week(week, 1)}"))
    grid = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    parts = split_text("\n".join(lines))
    for part in parts[:-1]:
        await answer(update, context, part)
    await answer(update, context, parts[-1], keyboard(*grid, nav), edit=edit)


@guard(*OVERSIGHT)
async def reports_command(update: Update, context: BotContext) -> None:
    """/reports: this week's reports of the actor's scope."""
    deps = context.deps
    await _week(update, context, dom.current_week(deps.clock.now(), deps.tz), edit=False)


@guard(*OVERSIGHT)
async def on_week(update: Update, context: BotContext) -> None:
    """Earlier / later week."""
    query = update.callback_query
    assert query is not None
    week = (query.data or "")[3:]
    now = context.deps.clock.now()
    current = dom.current_week(now, context.deps.tz)
    if not (shift_week(current, -WEEKS_BACK) <= week <= current):
        await refuse(update, context, "common.stale")
        return
    await _week(update, context, week, edit=True)


@guard(*OVERSIGHT)
async def on_open(update: Update, context: BotContext) -> None:
    """Open one report: the card with its history, then its evidence as replies to it."""
    query = update.callback_query
    assert query is not None
    deps, actor = context.deps, context.actor
    assert actor is not None
    fields = codec.split(query.data, "rv", 1)
    report_id = codec.parse_int(fields[0]) if fields else None
    loaded = await findings.load(deps, deps.db, report_id) if report_id is not None else None
    if loaded is None or not may_act_on(actor, loaded.report.township_id):
        await refuse(update, context, "common.not_allowed")
        return
    await query.answer()
    now = deps.clock.now()
    report_id = loaded.report.id
    async with deps.db.transaction() as tx:
        # Through the outbox like every card, so Read and Followed up update this copy too.
        sent = await notify(
            deps,
            tx,
            now,
            [actor],
            lambda t, _p: loaded.payload(t),
            ref_kind=findings.REF_KIND,
            ref_id=report_id,
        )
        await send_evidence(
            deps, tx, now, sent, loaded.evidence, f"report:{report_id}:opened:{update.update_id}"
        )
    deps.wake_outbox()


def get_handlers() -> list[BaseHandler]:
    """Return /reports and its buttons."""
    return [
        CommandHandler("reports", reports_command, filters=filters.ChatType.PRIVATE),
        CallbackQueryHandler(on_week, pattern=r"^rw:\d{4}-W\d{2}$"),
        CallbackQueryHandler(on_open, pattern=r"^rv:\d+$"),
    ]
