"""Quota reminders: at two thirds of a period when behind, and three days before its end.

Commissioners hear where the township stands; liaisons of villages with nothing submitted
this period get a gentle nudge. Each (township, rule, period, moment) runs once (job_runs),
never in quiet hours (the tick simply waits until they end), and not when the quota is met.
A moment is caught up for a day at most, and never for a township put on the roster after it.
"""

from __future__ import annotations

from bot.domain.calendar import in_quiet_hours
from bot.domain.info import kinds_label
from bot.domain.people import Role
from bot.domain.quotas import MOMENT_THREE_DAYS, due_moment, rule_period
from bot.reminders.scheduler import Scheduler, Tick
from bot.storage.jobs import claim_run, has_run
from bot.storage.leave import not_on_leave
from bot.storage.outbox import Lane, enqueue
from bot.storage.submissions import quota_progress, villages_with_submissions

_COMMISSIONER_KEYS = {
    "two_thirds": "info.quota.remind_two_thirds",
    "three_days": "info.quota.remind_three_days",
}


async def remind_quotas(tick: Tick) -> None:
    """Send the quota reminders that are due now (idempotent)."""
    deps = tick.deps
    if in_quiet_hours(tick.now, deps.policy.quiet_hours, deps.tz):
        return  # held: the first tick after the quiet hours sends them
    today = tick.now.astimezone(deps.tz).date()
    # Every township shares the rules' periods: most ticks nothing is due and nothing is read.
    periods = [(i, rule_period(rule, today)) for i, rule in enumerate(deps.policy.quotas)]
    due_rules = [(i, p) for i, p in periods if due_moment(p, tick.now, deps.tz)]
    if not due_rules:
        return
    since = await deps.people.on_roster_since()
    for township in await deps.people.townships():
        todo = []
        for index, period in due_rules:
            moment = due_moment(period, tick.now, deps.tz, since.get(township.id))
            key = f"quota:{township.id}:{index}:{period.key}:{moment}"
            if moment is not None and not await has_run(deps.db, key):
                todo.append((index, moment, key))
        if not todo:
            continue
        progress = await quota_progress(deps.db, deps.policy, township.id, today, deps.tz)
        for index, moment, key in todo:
            rows = [p for p in progress if p.rule_index == index]
            period = rows[0].period
            behind = [r for r in rows if not r.met]
            async with deps.db.transaction() as tx:
                if not await claim_run(tx, key, tick.now):
                    continue
                if not behind:
                    continue  # met: claimed, so a later drop below the minimum stays quiet
                start, end = period.start_at(deps.tz), period.end_at(deps.tz)
                quiet_villages = await villages_with_submissions(
                    tx, township.id, rows[0].kinds, start, end, without=True
                )
                days = period.days_left(today)
                for person in await deps.people.in_township(
                    township.id, (Role.COMMISSIONER,), tx=tx
                ):
                    if person.telegram_id is None:
                        continue
                    t = tick.deps.i18n.for_person(person)
                    if rows[0].scope == "village":
                        standing = t(
                            "info.quota.standing_village",
                            met=len(rows) - len(behind),
                            villages=len(rows),
                            min=rows[0].min,
                        )
                    else:
                        standing = t("info.quota.standing", n=rows[0].count, min=rows[0].min)
                    names = t("common.list_sep").join(v for _, v in quiet_villages) or "—"
                    await enqueue(
                        tx,
                        tick.now,
                        chat_id=person.telegram_id,
                        person_id=person.id,
                        payload={
                            "text": t(
                                _COMMISSIONER_KEYS[moment],
                                kinds=kinds_label(t, rows[0].kinds),
                                standing=standing,
                                days=days,
                                villages=names,
                            )
                        },
                        dedup_key=f"{key}:c:{person.id}",
                        lane=Lane.BULK,
                    )
                for village_id, _name in quiet_villages:
                    liaisons = await deps.people.liaisons_of_village(village_id, tx=tx)
                    # No nudge to a liaison on approved leave.
                    for liaison in await not_on_leave(tx, liaisons, tick.now, deps.tz):
                        if liaison.telegram_id is None:
                            continue
                        t = tick.deps.i18n.for_person(liaison)
                        nudge = (
                            "info.quota.nudge_end"
                            if moment == MOMENT_THREE_DAYS
                            else "info.quota.nudge"
                        )
                        await enqueue(
                            tx,
                            tick.now,
                            chat_id=liaison.telegram_id,
                            person_id=liaison.id,
                            payload={
                                "text": t(nudge, kinds=kinds_label(t, rows[0].kinds), days=days)
                            },
                            dedup_key=f"{key}:l:{liaison.id}",
                            lane=Lane.BULK,
                        )


def register(scheduler: Scheduler) -> None:
    """Plug the quota reminders into the scheduler."""
    scheduler.register("quota_reminders", remind_quotas)
