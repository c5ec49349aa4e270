"""/stats: this week's reporting, alerts and quota progress for oversight roles."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import BotContext
from bot.domain.calendar import due_at, period_of, week_key
from bot.domain.info import kinds_label
from bot.domain.people import Role
from bot.handlers import unregistered
from bot.handlers.common import answer, guard, refuse
from bot.i18n import Translator
from bot.storage.alerts import alert_stats
from bot.storage.leave import excused_in_week
from bot.storage.reports import week_status
from bot.storage.submissions import quota_progress

OVERSIGHT = (Role.COMMISSIONER, Role.LEADER, Role.COUNTY)


async def _township_stats(context: BotContext, township_id: int) -> dict[str, Any]:
    deps = context.deps
    now = context.deps.clock.now()
    today = now.astimezone(deps.tz).date()
    week = week_key(today)
    statuses = await week_status(deps.db, week, township_id, due_at(week, deps.policy, deps.tz))
    # A village excused by leave counts in no rate (it is neither reported nor missing).
    excused = await excused_in_week(deps.db, deps.policy, deps.tz, week, township_id)
    statuses = [s for s in statuses if s.report_id is not None or s.village_id not in excused]
    total = len(statuses)
    reported = sum(1 for s in statuses if s.report_id is not None)
    on_time = sum(1 for s in statuses if s.report_id is not None and not s.late)
    period = period_of("week", today)
    alerts = await alert_stats(
        deps.db, period.start_at(deps.tz), period.end_at(deps.tz), now, township_id
    )
    quotas = await quota_progress(deps.db, deps.policy, township_id, today, deps.tz)
    return {
        "total": total,
        "reported": reported,
        "on_time": on_time,
        "alerts": alerts,
        "quotas": quotas,
        "today": today,
        "week": week,
        "excused": len(excused),
    }


def _quota_lines(t: Translator, quotas: list, today: Any) -> list[str]:
    lines: list[str] = []
    seen: set[int] = set()
    for q in quotas:
        if q.scope == "village":
            if q.rule_index in seen:
                continue
            seen.add(q.rule_index)
            rows = [r for r in quotas if r.rule_index == q.rule_index]
            lines.append(
                t(
                    "stats.quota_village",
                    kinds=kinds_label(t, q.kinds),
                    met=sum(1 for r in rows if r.met),
                    villages=len(rows),
                    min=q.min,
                    days=q.period.days_left(today),
                )
            )
        else:
            lines.append(
                t(
                    "stats.quota",
                    kinds=kinds_label(t, q.kinds),
                    n=q.count,
                    min=q.min,
                    days=q.period.days_left(today),
                )
            )
    return lines


def _median_text(t: Translator, seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return t("stats.minutes", n=t.number(round(seconds / 60)))


@guard(*OVERSIGHT)
async def stats(update: Update, context: BotContext) -> None:
    """Show this week's reporting, alerts and the quotas (county: one line per township)."""
    actor = context.actor
    assert actor is not None
    t = context.t
    if actor.role is Role.COUNTY:
        lines = [
            t(
                "stats.county_header",
                week=week_key(context.deps.clock.now().astimezone(context.deps.tz).date()),
            )
        ]
        for township in await context.deps.people.townships():
            s = await _township_stats(context, township.id)
            quotas = "; ".join(_quota_lines(t, s["quotas"], s["today"]))
            lines.append(
                t(
                    "stats.county_line",
                    township=township.name,
                    reported=s["reported"],
                    total=s["total"],
                    rate=t.percent(s["reported"], s["total"]),
                    on_time=t.percent(s["on_time"], s["total"]),
                    opened=s["alerts"].opened,
                    acked=s["alerts"].acknowledged,
                    resolved=s["alerts"].resolved,
                    quotas=quotas,
                )
            )
        await unregistered.show(update, context, None)
        await answer(update, context, "\n".join(lines))
        return
    if actor.township_id is None:
        await refuse(update, context, "common.not_allowed")
        return
    s = await _township_stats(context, actor.township_id)
    a = s["alerts"]
    text = t(
        "stats.township",
        township=actor.township or "",
        week=s["week"],
        reported=s["reported"],
        total=s["total"],
        rate=t.percent(s["reported"], s["total"]),
        on_time_n=s["on_time"],
        on_time=t.percent(s["on_time"], s["total"]),
        opened=a.opened,
        acked=a.acknowledged,
        resolved=a.resolved,
        median=_median_text(t, a.median_ack_seconds),
    )
    quota_lines = _quota_lines(t, s["quotas"], s["today"])
    if s["excused"]:
        text += "\n" + t("leave.stats_excused", n=s["excused"])
    if quota_lines:
        text += "\n" + t("stats.quotas_header") + "\n" + "\n".join(quota_lines)
    # Who never bound the bot comes first, so the figures stay the last message on screen.
    await unregistered.show(update, context, actor.township_id)
    await answer(update, context, text)


def get_handlers() -> list[BaseHandler]:
    """Return the /stats command."""
    return [CommandHandler("stats", stats)]  # type: ignore[arg-type]
