"""/overdue: this week's villages without a patrol report, for commissioners and above."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import BotContext
from bot.domain import report as dom
from bot.domain.calendar import due_at, week_number
from bot.domain.people import Role
from bot.domain.text import split_text
from bot.domain.vocab import day_month
from bot.handlers import unregistered
from bot.handlers.common import answer, button, guard, keyboard, may_act_on
from bot.storage import reports as repo
from bot.storage.leave import excused_in_week


@guard(Role.COMMISSIONER, Role.LEADER, Role.COUNTY)
async def overdue(update: Update, context: BotContext) -> None:
    """List this week's villages without a report in the actor's scope, counts on top."""
    deps = context.deps
    actor = context.actor
    t = context.t
    assert actor is not None
    now = deps.clock.now()
    week = dom.current_week(now, deps.tz)
    township = actor.scope
    rows = [
        r
        for r in await repo.week_status(deps.db, week, township, due_at(week, deps.policy, deps.tz))
        if may_act_on(actor, r.township_id, None)
    ]
    missing = [r for r in rows if r.report_id is None]
    # Villages whose liaison is on leave on the due day: listed, marked, counted as excused.
    excused = await excused_in_week(deps.db, deps.policy, deps.tz, week, township)
    away = sum(1 for r in missing if r.village_id in excused)
    late = [r for r in rows if r.report_id is not None and r.late]
    past_due = now > due_at(week, deps.policy, deps.tz)
    lines = [
        t("report.ov.title", n=week_number(week)),
        t(
            "report.ov.counts",
            total=len(rows) - away,
            done=len(rows) - len(missing),
            missing=len(missing) - away,
            late=len(late),
        ),
        t("report.ov.due", due=t.datetime(due_at(week, deps.policy, deps.tz))),
    ]
    if not missing:
        lines.append(t("report.ov.none"))
    current_tsp = None
    for r in missing:
        if r.township != current_tsp and township is None:
            lines.append("\n" + t("report.ov.township", name=r.township))
        current_tsp = r.township
        people = t("common.list_sep").join(
            f"{p.name} {p.phone}" if p.phone else p.name for p in r.liaisons
        ) or t("report.ov.no_liaison")
        mark = " " + t("report.ov.overdue_mark") if past_due else ""
        if r.village_id in excused:
            end = day_month(t, excused[r.village_id].end)
            mark = " " + t("leave.mark", end=end)
        lines.append(t("report.ov.line", village=r.village, people=people) + mark)
    if late:
        lines.append("")
        lines.append(t("report.ov.late_title"))
        for r in late:
            when = t.datetime(r.submitted_at) if r.submitted_at else ""
            lines.append(t("report.ov.late_line", village=r.village, at=when))
    # Every report of the week opens with one tap (bot/handlers/reports_view.py).
    opened = [button(r.village, f"rv:{r.report_id}") for r in rows if r.report_id is not None]
    parts = split_text("\n".join(lines))
    # Who never bound the bot comes first, so the list stays the last message on screen.
    await unregistered.show(update, context, township)
    for part in parts[:-1]:
        await answer(update, context, part)
    await answer(
        update, context, parts[-1], keyboard(*[opened[i : i + 3] for i in range(0, 90, 3)])
    )


def get_handlers() -> list[BaseHandler]:
    """Return the /overdue command."""
    return [CommandHandler("overdue", overdue)]
