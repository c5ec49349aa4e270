"""Due work of the weekly report: reminders, overdue notices and lists, the weekly digest.

Everything is derived from the database and the clock at each tick. Idempotency keys
(outbox dedup_key, job_runs) make a restart, a repeated tick or two racing ticks harmless:
remind:{person}:{week}:{i}, overdue:{person}:{week}, overdue-list:{commissioner}:{week},
digest:{township}:{week}.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from bot import charts
from bot.domain import digest as dom
from bot.domain.calendar import due_at, end_of_quiet
from bot.domain.people import Role
from bot.domain.periods import weeks_ending
from bot.domain.report import Outcome
from bot.i18n import Translator
from bot.register_io import due_names
from bot.reminders.scheduler import Scheduler, Tick
from bot.storage import digest as store
from bot.storage import leave as leave_store
from bot.storage.db import Tx
from bot.storage.jobs import claim_run, has_run
from bot.storage.outbox import Lane, enqueue, store_file
from bot.storage.reports import latest_before

log = logging.getLogger(__name__)

# The reminder's button; the report conversation takes it as an entry point.
REPORT_START = "rpstart"
# Reminders are queued this many per transaction (a few ms of work): a fan-out to 10,000
# liaisons never holds the write lock, or the event loop, long enough to stall a reply.
ENQUEUE_CHUNK = 20


async def report_buttons(
    tx: Tx, t: Translator, village_id: int | None, week: str
) -> dict[str, Any]:
    """Return the reminder's buttons: a normal week in one tap next to the form, when it fits.

    One tap ("rpn:<week>") files the week as normal with the last report's places and
    households, so it needs an earlier report that found nothing; else the button says why
    the form is needed.
    """
    last = await latest_before(tx, village_id or 0, week)
    if last is None:
        label = "forms.report.btn.first"
    elif last.outcome != Outcome.NORMAL:
        label = "forms.report.btn.after_issues"
    else:
        tap = {"text": t("forms.report.normal_this_week"), "callback_data": f"rpn:{week}"}
        fill = {"text": t("forms.report.btn.fill"), "callback_data": REPORT_START}
        return {"inline_keyboard": [[tap, fill]]}
    return {"inline_keyboard": [[{"text": t(label), "callback_data": REPORT_START}]]}


def _to_visit(t: Translator, names: list[str] | None) -> str:
    if not names:
        return ""
    return "\n" + t("register.reminder_due", names=t("common.list_sep").join(names))


async def send_reminders(tick: Tick) -> None:
    """Remind liaisons without a report at each reminder moment (held by quiet hours)."""
    deps, now = tick.deps, tick.now
    # Cancelling is a write: done only when a reminder is actually waiting (a read), not as an
    # empty UPDATE every tick.
    for week in dom.weeks_past_due(now, deps.policy, deps.tz):
        # A reminder still waiting (quiet hours, outage) when the deadline passes is dropped.
        if await store.reminders_pending(deps.db, week):
            async with deps.db.transaction() as tx:
                await store.cancel_reminders(tx, week, all_of_week=True)
    for due in dom.due_reminders(now, deps.policy, deps.tz):
        send_at = end_of_quiet(now, deps.policy.quiet_hours, deps.tz)
        if await store.reminders_pending(deps.db, due.week):
            async with deps.db.transaction() as tx:
                # Whoever reported meanwhile is not nudged by a reminder still waiting.
                await store.cancel_reminders(tx, due.week, all_of_week=False)
        if send_at >= due.due:
            continue
        # One pass per moment: later ticks of the day cost one lookup, not one query per person.
        run_key = f"remind:{due.week}:{due.index}"
        if await has_run(deps.db, run_key):
            continue
        missing = await store.missing_liaisons(deps.db, due.week)
        # A liaison on approved leave is not nudged (their substitute is: reminders/leave.py).
        missing = await leave_store.not_on_leave(deps.db, missing, now, deps.tz)
        # Register entries past their visit rhythm are named in the village's reminder.
        to_visit = await due_names(deps.db, deps.policy, now.astimezone(deps.tz).date())
        for start in range(0, len(missing), ENQUEUE_CHUNK):
            async with deps.db.transaction() as tx:
                for person in missing[start : start + ENQUEUE_CHUNK]:
                    t = deps.i18n.for_person(person)
                    await enqueue(
                        tx,
                        now,
                        chat_id=person.telegram_id,  # type: ignore[arg-type]
                        person_id=person.id,
                        payload={
                            "text": dom.render_reminder(t, due.week, due.due, person.village or "")
                            + _to_visit(t, to_visit.get(person.village_id or 0)),
                            "reply_markup": await report_buttons(
                                tx, t, person.village_id, due.week
                            ),
                        },
                        dedup_key=f"remind:{person.id}:{due.week}:{due.index}",
                        not_before=send_at,
                        ref_kind="weekly_reminder",
                        lane=Lane.BULK,
                        ref_id=person.village_id,
                    )
            deps.wake_outbox()  # the first reminders go out while later ones are queued
        # Recorded last: a pass cut short by a crash is redone, the dedup keys skip what was
        # already queued.
        async with deps.db.transaction() as tx:
            await claim_run(tx, run_key, now)
        log.info("reminder %s #%d: %d liaisons", due.week, due.index, len(missing))


async def send_overdue(tick: Tick) -> None:
    """Once per week, tell missing liaisons they are overdue and commissioners who is missing."""
    deps, now = tick.deps, tick.now
    for week, _at in dom.due_overdue(now, deps.policy, deps.tz):
        due = due_at(week, deps.policy, deps.tz)
        if await has_run(deps.db, f"overdue:{week}"):
            continue  # a read per tick for the rest of the day, not an empty write
        async with deps.db.transaction() as tx:
            if not await claim_run(tx, f"overdue:{week}", now):
                continue
            missing, totals = await store.missing_villages(tx, week, due)
            # A village whose liaison was on leave on the due day is excused, not missing.
            excused = await leave_store.excused_in_week(tx, deps.policy, deps.tz, week)
            missing = [r for r in missing if r.village_id not in excused]
            away = await leave_store.on_leave(tx, now.astimezone(deps.tz).date())
            by_township: dict[int, list[store.MissingRow]] = defaultdict(list)
            for row in missing:
                by_township[row.township_id].append(row)
                for person in row.liaisons:
                    if person.telegram_id is None or person.id in away:
                        continue
                    t = deps.i18n.for_person(person)
                    await enqueue(
                        tx,
                        now,
                        chat_id=person.telegram_id,
                        person_id=person.id,
                        payload={
                            "text": dom.render_overdue_notice(t, week, due, row.village),
                            "reply_markup": await report_buttons(tx, t, row.village_id, week),
                        },
                        dedup_key=f"overdue:{person.id}:{week}",
                        ref_kind="weekly_overdue",
                        lane=Lane.BULK,
                        ref_id=row.village_id,
                    )
            for township_id, rows in by_township.items():
                listed = [
                    dom.MissingVillage(r.village, [(p.name, p.phone) for p in r.liaisons])
                    for r in rows
                ]
                for boss in await deps.people.in_township(township_id, (Role.COMMISSIONER,), tx=tx):
                    if boss.telegram_id is None:
                        continue
                    t = deps.i18n.for_person(boss)
                    text = dom.render_overdue_list(
                        t, rows[0].township, week, due, listed, totals.get(township_id, 0)
                    )
                    await enqueue(
                        tx,
                        now,
                        chat_id=boss.telegram_id,
                        person_id=boss.id,
                        payload={"text": text},
                        dedup_key=f"overdue-list:{boss.id}:{week}",
                        ref_kind="weekly_overdue_list",
                        lane=Lane.BULK,
                        ref_id=township_id,
                    )
            log.info("overdue %s: %d villages missing", week, len(missing))


async def send_digests(tick: Tick) -> None:
    """Post the weekly digest to every bound group, once per township and week."""
    deps, now = tick.deps, tick.now
    for week, post_at in dom.due_digests(now, deps.policy, deps.tz):
        for group in await store.bound_groups(deps.db):
            key = f"digest:{group.township_id}:{week}"
            if await store.key_used(deps.db, key):
                continue
            digest = await store.collect_digest(
                deps.db, deps.policy, deps.tz, group.township_id, group.township, week, now, post_at
            )
            t = deps.i18n.get(group.language)
            text = dom.render_digest(digest, t)
            # The chart: reporting rate per village over the last weeks, alerts by where settled.
            chart = await charts.overview_png(
                deps, weeks_ending(week, charts.DIGEST_WEEKS), group.township_id, group.township, t
            )
            async with deps.db.transaction() as tx:
                # The key check inside enqueue makes a racing tick a no-op.
                queued = await enqueue(
                    tx,
                    now,
                    chat_id=group.chat_id,
                    payload={"text": text},
                    dedup_key=key,
                    ref_kind="digest",
                    lane=Lane.BULK,
                    ref_id=group.township_id,
                )
                if queued and chart is not None:
                    photo = await store_file(tx, now, "digest-chart.png", chart)
                    await enqueue(
                        tx,
                        now,
                        chat_id=group.chat_id,
                        method="sendPhoto",
                        payload={"photo": photo, "caption": group.township},
                        dedup_key=f"{key}:chart",
                        ref_kind="digest",
                        lane=Lane.BULK,
                        ref_id=group.township_id,
                    )


def register(scheduler: Scheduler) -> None:
    """Plug the weekly report's due work into the scheduler."""
    scheduler.register("weekly-reminders", send_reminders)
    scheduler.register("weekly-overdue", send_overdue)
    scheduler.register("weekly-digest", send_digests)
