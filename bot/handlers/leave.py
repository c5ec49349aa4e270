"""/leave: a liaison asks for leave (a commissioner approves or declines), or a commissioner
puts a liaison of the township on leave directly; a named substitute may file the village's
report while the leave lasts. The form is declared on the runtime (bot/forms/, leave.mmd).
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field
from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.domain import leave as dom
from bot.domain.leave import STAND_IN, Leave, LeaveState, RangeErr
from bot.domain.people import Role
from bot.forms import Choice, Done, Form, Stay, Step, Summary, codec
from bot.handlers.common import answer, button, guard, keyboard, refuse, safe_answer_query
from bot.reminders.leave import STATE_KEYS, leave_text, tell_decision, tell_request
from bot.storage import leave as store
from bot.storage.db import Tx

ASKERS = (Role.LIAISON, Role.COMMISSIONER)
RANGE_KEYS = {
    "today": "leave.range.today",
    "tomorrow": "leave.range.tomorrow",
    "this_week": "leave.range.this_week",
    "next_week": "leave.range.next_week",
}
RANGE_ERRORS = {
    RangeErr.UNREADABLE: "leave.err.unreadable",
    RangeErr.ORDER: "leave.err.order",
    RangeErr.TOO_LONG: "leave.err.too_long",
    RangeErr.PAST: "leave.err.past",
}


class LeaveDraft(BaseModel):
    """The leave being asked for or put (the runtime stores it as JSON)."""

    liaisons: list[tuple[str, str]] = Field(default_factory=list)  # commissioner: who to pick
    people: list[tuple[str, str]] = Field(default_factory=list)  # possible substitutes
    person_id: str | None = None
    name: str = ""
    village: str = ""
    start: date | None = None
    end: date | None = None
    reason: str | None = None
    reason_done: bool = False
    substitute_id: str | None = None
    substitute: str | None = None
    substitute_done: bool = False


def _today(context: BotContext) -> date:
    return context.deps.clock.now().astimezone(context.deps.tz).date()


def _pick(context: BotContext, draft: LeaveDraft, value: str) -> None:
    draft.person_id = value
    label = dict(draft.liaisons)[value]
    draft.village, _, draft.name = label.partition(" · ")


def _quick(context: BotContext, draft: LeaveDraft) -> list[tuple[str, str]]:
    t, today = context.t, _today(context)
    found = []
    for choice in dom.QUICK_RANGES:
        start, end = dom.quick_range(choice, today)
        span = _span(context, start, end)
        found.append((choice, t(RANGE_KEYS[choice], range=span)))
    return found


def _span(context: BotContext, start: date, end: date) -> str:
    return dom.span(context.t, start, end)


def _set_quick(context: BotContext, draft: LeaveDraft, value: str) -> None:
    draft.start, draft.end = dom.quick_range(value, _today(context))


def _typed(context: BotContext, draft: LeaveDraft, message: Message) -> Stay | None:
    found = dom.parse_range(message.text or "", _today(context))
    if isinstance(found, RangeErr):
        return Stay(context.t(RANGE_ERRORS[found], max=dom.MAX_DAYS))
    draft.start, draft.end = found
    return None


def _skip_reason(context: BotContext, draft: LeaveDraft, value: str) -> None:
    draft.reason, draft.reason_done = None, True


def _reason(context: BotContext, draft: LeaveDraft, message: Message) -> None:
    draft.reason, draft.reason_done = dom.check_reason(message.text or ""), True


def _substitutes(context: BotContext, draft: LeaveDraft) -> list[tuple[str, str]]:
    found = [(pid, label) for pid, label in draft.people if pid != draft.person_id]
    return [*found[:30], ("none", context.t("leave.btn.no_substitute"))]


def _set_substitute(context: BotContext, draft: LeaveDraft, value: str) -> None:
    labels = dict(draft.people)
    draft.substitute_id = value if value in labels else None
    draft.substitute = labels[value].partition(" · ")[2] if value in labels else None
    draft.substitute_done = True


def _summary(context: BotContext, draft: LeaveDraft) -> str:
    t = context.t
    span = _span(context, draft.start, draft.end) if draft.start and draft.end else "—"
    return "\n".join(
        [
            t("leave.sum.head"),
            t("leave.sum.who", name=draft.name, village=draft.village),
            t("leave.sum.dates", range=span),
            t("leave.sum.reason", reason=draft.reason or "—"),
            t("leave.sum.substitute", name=draft.substitute or "—"),
        ]
    )


async def _submit(context: BotContext, draft: LeaveDraft, tx: Tx) -> Done | Stay:
    """Store the leave: pending for a liaison's request, approved when a commissioner puts it."""
    deps, actor, t = context.deps, context.actor, context.t
    assert actor is not None and actor.township_id is not None
    person = await deps.people.get(int(draft.person_id or 0), tx=tx)
    ok = person is not None and person.township_id == actor.township_id
    if not ok or person is None or draft.start is None or draft.end is None:
        return Done(None, t("common.not_allowed"))
    substitute = None
    if draft.substitute_id:
        chosen = await deps.people.get(int(draft.substitute_id), tx=tx)
        if chosen is not None and chosen.township_id == actor.township_id:
            substitute = chosen.id
    direct = actor.role is Role.COMMISSIONER
    now = deps.clock.now()
    leave_id = await store.create_leave(
        tx,
        person_id=person.id,
        township_id=actor.township_id,
        village_id=person.village_id,
        start=draft.start,
        end=draft.end,
        reason=draft.reason,
        substitute_id=substitute,
        requested_by=actor.id,
        now=now,
        approved=direct,
    )
    leave = await store.get_leave(tx, leave_id)
    assert leave is not None
    if direct:
        await tell_decision(deps, tx, leave, actor, now)
    else:
        await tell_request(deps, tx, leave, now)
    key = "leave.put_done" if direct else "leave.requested"
    return Done(leave_id, t(key, text=leave_text(t, leave)))


LEAVE = Form(
    name="leave",
    prefix="lvf",
    model=LeaveDraft,
    roles=ASKERS,
    steps=[
        Choice(
            "person_id",
            "leave.ask.who",
            lambda c, d: d.liaisons,
            apply=_pick,
            when=lambda d: bool(d.liaisons),
            label="leave.f.who",
        ),
        Step(
            name="dates",
            ask=lambda c, d: c.t("leave.ask.dates", name=d.name),
            options=_quick,
            apply=_set_quick,
            accept={"text": _typed},
            done=lambda d: d.start is not None,
            reset=lambda d: setattr(d, "start", None),
            wrong="leave.err.use_text",
            label="leave.f.dates",
        ),
        Step(
            name="reason",
            ask=lambda c, d: c.t("leave.ask.reason", max=dom.MAX_REASON),
            options=lambda c, d: [("skip", c.t("leave.btn.skip"))],
            apply=_skip_reason,
            accept={"text": _reason},
            done=lambda d: d.reason_done,
            reset=lambda d: setattr(d, "reason_done", False),
            wrong="leave.err.use_text",
            label="leave.f.reason",
        ),
        Choice(
            "substitute",
            "leave.ask.substitute",
            _substitutes,
            apply=_set_substitute,
            done=lambda d: d.substitute_done,
            label="leave.f.substitute",
        ),
    ],
    summary=Summary(render=_summary, edit=("person_id", "dates", "reason", "substitute")),
    submit=_submit,
    keys={
        "cancelled": "leave.cancelled",
        "dropped": "leave.draft_dropped",
        "submit": "leave.btn.submit",
        "edit": "leave.btn.edit",
        "cancel": "leave.btn.cancel",
        "ask_edit": "leave.ask.edit",
        "use_buttons": "leave.err.use_buttons",
        "old_button": "forms.old_button",
    },
)


async def _show_current(update: Update, context: BotContext, leaves: list[Leave]) -> None:
    """List leaves still to come or running, each with a Withdraw button."""
    if not leaves:
        return
    t = context.t
    lines = [t("leave.current_head"), *(leave_text(t, lv) for lv in leaves)]
    rows = [[button(t("leave.btn.withdraw", name=lv.person), f"lv:x:{lv.id}")] for lv in leaves]
    await answer(update, context, "\n".join(lines), keyboard(*rows[:20]))


async def start(update: Update, context: BotContext) -> object:
    """/leave: show current leave, then continue or open the leave form."""
    actor, deps = context.actor, context.deps
    assert actor is not None
    if actor.township_id is None:
        await refuse(update, context, "common.not_allowed")
        return None
    resumed = await LEAVE.resume(update, context, note=context.t("leave.resumed"))
    if resumed is not None:
        return resumed
    today = _today(context)
    roles = (Role.LIAISON, Role.COMMISSIONER, Role.LEADER)
    people = [
        (str(p.id), f"{p.place()} · {p.name}")
        for p in await deps.people.in_township(actor.township_id, roles)
        if p.telegram_id is not None
    ]
    if actor.role is Role.LIAISON:
        leaves = await store.current_leaves(deps.db, today, person_id=actor.id)
        draft = LeaveDraft(
            people=people, person_id=str(actor.id), name=actor.name, village=actor.village or ""
        )
    else:
        leaves = await store.current_leaves(deps.db, today, township_id=actor.township_id)
        liaisons = await deps.people.in_township(actor.township_id, (Role.LIAISON,))
        choices = [(str(p.id), f"{p.village} · {p.name}") for p in liaisons]
        draft = LeaveDraft(people=people, liaisons=choices)
    await _show_current(update, context, leaves)
    return await LEAVE.begin(update, context, draft)


LEAVE.restart = start


# --- decisions, withdrawal, standing in ------------------------------------------------------


def _leave_id(update: Update, tag: str) -> int | None:
    found = codec.ids(update.callback_query.data if update.callback_query else None, "lv", tag)
    return found[0] if found else None


async def _decide(update: Update, context: BotContext, state: LeaveState, tag: str) -> None:
    """Approve or Decline a pending leave (a commissioner of the liaison's township)."""
    leave_id = _leave_id(update, tag)
    deps, actor, t = context.deps, context.actor, context.t
    assert actor is not None
    leave = await store.get_leave(deps.db, leave_id) if leave_id is not None else None
    if leave is None or leave.township_id != actor.township_id:
        await refuse(update, context, "common.not_allowed")
        return
    now = deps.clock.now()
    async with deps.db.transaction() as tx:
        decided = await store.decide(tx, leave.id, state, actor.id, now)
        leave = await store.get_leave(tx, leave.id)
        assert leave is not None
        if decided:
            await tell_decision(deps, tx, leave, actor, now)
    if not decided:
        text = t("leave.already", state=t(STATE_KEYS[leave.state]))
        await safe_answer_query(update.callback_query, text, alert=True)
        return
    deps.wake_outbox()
    await safe_answer_query(update.callback_query)


@guard(Role.COMMISSIONER)
async def on_approve(update: Update, context: BotContext) -> None:
    """✅ 批准."""
    await _decide(update, context, LeaveState.APPROVED, "ap")


@guard(Role.COMMISSIONER)
async def on_decline(update: Update, context: BotContext) -> None:
    """❌ 不批准."""
    await _decide(update, context, LeaveState.DECLINED, "dc")


@guard(*ASKERS)
async def on_withdraw(update: Update, context: BotContext) -> None:
    """Withdraw a leave: the liaison's own, or any of the commissioner's township."""
    leave_id = _leave_id(update, "x")
    deps, actor, t = context.deps, context.actor, context.t
    assert actor is not None
    leave = await store.get_leave(deps.db, leave_id) if leave_id is not None else None
    allowed = leave is not None and (
        leave.person_id == actor.id
        or (actor.role is Role.COMMISSIONER and leave.township_id == actor.township_id)
    )
    if not allowed or leave is None:
        await refuse(update, context, "common.not_allowed")
        return
    async with deps.db.transaction() as tx:
        done = await store.cancel(tx, leave.id, actor.id, deps.clock.now())
    key = "leave.withdrawn" if done else "leave.nothing_to_withdraw"
    await safe_answer_query(update.callback_query, t(key), alert=True)


@guard()
async def on_stand_in(update: Update, context: BotContext) -> None:
    """A substitute starts filing the village's report for a liaison on leave."""
    leave_id = _leave_id(update, "sub")
    deps, actor, t = context.deps, context.actor, context.t
    assert actor is not None
    leave = await store.get_leave(deps.db, leave_id) if leave_id is not None else None
    if leave is None or leave.substitute_id != actor.id or not leave.covers(_today(context)):
        await refuse(update, context, "common.not_allowed")
        return
    context.user_data[STAND_IN] = leave.id  # type: ignore[index]
    await safe_answer_query(update.callback_query)
    # The report form's own entry button; from now on the actor is the village's stand-in
    # (common.load_actor) until the report is filed or the leave ends.
    markup = keyboard(
        [button(t("leave.btn.report"), "rpstart")],
        [button(t("leave.btn.stop_stand_in"), "lv:subend")],
    )
    await answer(update, context, t("leave.stand_in", village=leave.village), markup)


@guard()
async def on_stand_in_end(update: Update, context: BotContext) -> None:
    """Stop acting for the village."""
    context.user_data.pop(STAND_IN, None)  # type: ignore[union-attr]
    await safe_answer_query(update.callback_query, context.t("leave.stand_in_ended"))


def leave_lines(context: BotContext, leaves: list[Leave]) -> list[str]:
    """Return the lines /mine shows about the liaison's leave."""
    if not leaves:
        return []
    return [context.t("leave.mine_head"), *(leave_text(context.t, lv) for lv in leaves)]


def get_handlers() -> list[BaseHandler]:
    """Return the /leave form and the leave buttons."""
    return [
        LEAVE.conversation([CommandHandler("leave", LEAVE.guarded(start))]),
        CallbackQueryHandler(on_approve, pattern=r"^lv:ap:"),
        CallbackQueryHandler(on_decline, pattern=r"^lv:dc:"),
        CallbackQueryHandler(on_withdraw, pattern=r"^lv:x:"),
        CallbackQueryHandler(on_stand_in, pattern=r"^lv:sub:"),
        CallbackQueryHandler(on_stand_in_end, pattern=r"^lv:subend$"),
    ]
