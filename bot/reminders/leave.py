"""Leave through the outbox: requests to commissioners, decisions, and substitutes' reminders.

Due work: at each weekly reminder moment, the substitute of a liaison on leave is reminded to
file the village's report (remind:s{substitute}v{village}:{week}:{i}, so the weekly pass's
cancellation of reminders for villages that reported covers these too).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.domain import digest as weekly_dom
from bot.domain.calendar import end_of_quiet
from bot.domain.leave import Leave, LeaveState, span
from bot.domain.people import Person, Role
from bot.i18n import Translator
from bot.notify import Render, notify, refresh_copies
from bot.reminders.scheduler import Scheduler, Tick
from bot.storage import leave as store
from bot.storage.db import Tx
from bot.storage.reports import report_for

if TYPE_CHECKING:
    from bot.deps import Deps

REQUEST = "leave_request"
STATE_KEYS = {
    LeaveState.PENDING: "leave.state.pending",
    LeaveState.APPROVED: "leave.state.approved",
    LeaveState.DECLINED: "leave.state.declined",
    LeaveState.CANCELLED: "leave.state.cancelled",
}


def day_range(t: Translator, lv: Leave) -> str:
    """Return "11月24日至11月30日" (one day: just the day)."""
    return span(t, lv.start, lv.end)


def leave_text(t: Translator, lv: Leave) -> str:
    """Return one line describing a leave and its state."""
    text = t(
        "leave.line",
        name=lv.person,
        village=lv.village or "—",
        range=day_range(t, lv),
        state=t(STATE_KEYS[lv.state]),
    )
    if lv.reason:
        text += t("leave.line_reason", reason=lv.reason)
    if lv.substitute:
        text += t("leave.line_substitute", name=lv.substitute)
    return text


async def tell_request(deps: Deps, tx: Tx, lv: Leave, now: datetime) -> None:
    """Ask the township's commissioners to approve or decline a liaison's leave."""

    def render(t: Translator, _person: Person) -> dict[str, Any]:
        approve = {"text": t("leave.btn.approve"), "callback_data": f"lv:ap:{lv.id}"}
        decline = {"text": t("leave.btn.decline"), "callback_data": f"lv:dc:{lv.id}"}
        return {
            "text": t("leave.request", text=leave_text(t, lv)),
            "reply_markup": {"inline_keyboard": [[approve, decline]]},
        }

    bosses = await deps.people.in_township(lv.township_id, (Role.COMMISSIONER,), tx=tx)
    key = f"leave:{lv.id}:req"
    await notify(
        deps, tx, now, bosses, render, key=lambda p: f"{key}:{p.id}", ref_kind=REQUEST, ref_id=lv.id
    )


async def tell_decision(deps: Deps, tx: Tx, lv: Leave, by: Person, now: datetime) -> None:
    """Tell the liaison and the substitute, and close every commissioner's request copy."""
    liaison = await deps.people.get(lv.person_id, tx=tx)
    key = "leave.approved" if lv.state is LeaveState.APPROVED else "leave.declined"
    if lv.requested_by != lv.person_id:
        key = "leave.put_by"
    told = [(liaison, key)]
    if lv.substitute_id and lv.state is LeaveState.APPROVED:
        told.append((await deps.people.get(lv.substitute_id, tx=tx), "leave.substitute_named"))
    for person, text_key in told:

        def render_one(t: Translator, _p: Person, k: str = text_key) -> str:
            return t(k, by=by.name, name=lv.person, village=lv.village, range=day_range(t, lv))

        await notify(
            deps,
            tx,
            now,
            [person] if person else [],
            render_one,
            key=lambda p: f"leave:{lv.id}:{lv.state.value}:{p.id}",
            ref_kind="leave",
            ref_id=lv.id,
        )

    def render(t: Translator, _person: Person) -> str:
        return t("leave.decided", text=leave_text(t, lv), by=by.name)

    await refresh_copies(deps, tx, now, REQUEST, lv.id, render)


async def remind_substitutes(tick: Tick) -> None:
    """Remind substitutes to file the village's report at each weekly reminder moment."""
    deps, now = tick.deps, tick.now
    today = now.astimezone(deps.tz).date()
    for due in weekly_dom.due_reminders(now, deps.policy, deps.tz):
        send_at = end_of_quiet(now, deps.policy.quiet_hours, deps.tz)
        if send_at >= due.due:
            continue
        async with deps.db.transaction() as tx:
            excused = await store.excused_on(tx, today)
            for village_id, lv in excused.items():
                if lv.substitute_id is None or await report_for(tx, village_id, due.week):
                    continue
                sub = await deps.people.get(lv.substitute_id, tx=tx)
                dedup = f"remind:s{lv.substitute_id}v{village_id}:{due.week}:{due.index}"
                await notify(
                    deps,
                    tx,
                    now,
                    [sub] if sub else [],
                    _sub_reminder(lv, due.due),
                    key=lambda _p: dedup,  # used at once, inside this iteration
                    ref_kind="weekly_reminder",
                    ref_id=village_id,
                    not_before=send_at,
                )


def _sub_reminder(lv: Leave, due: datetime) -> Render:
    """Return the substitute's reminder: file the village's report, with the stand-in button."""

    def render(t: Translator, _person: Person) -> dict[str, Any]:
        button = {"text": t("leave.btn.stand_in"), "callback_data": f"lv:sub:{lv.id}"}
        text = t("leave.sub_reminder", village=lv.village, name=lv.person, due=t.datetime(due))
        return {"text": text, "reply_markup": {"inline_keyboard": [[button]]}}

    return render


def register(scheduler: Scheduler) -> None:
    """Plug the substitutes' reminders into the scheduler."""
    scheduler.register("leave-substitutes", remind_substitutes)
