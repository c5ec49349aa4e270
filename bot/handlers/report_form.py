"""/report's form, declared on the runtime (bot/forms/; report.mmd is generated from it):
which weeks are offered, the steps, the summary and the submit. Entry points, the one-tap
normal week and stored reports: bot/handlers/report.py."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from telegram import Message

from bot.context import BotContext
from bot.domain import report as dom
from bot.domain.calendar import due_at, shift_week, week_number
from bot.domain.people import Person
from bot.domain.report import PLACES, Err, Outcome, Report
from bot.domain.vocab import week_label
from bot.forms import (
    Choice,
    Collect,
    Done,
    Form,
    Invalid,
    Multi,
    Stay,
    Summary,
    Text,
    fixed,
)
from bot.handlers import patrol_register
from bot.handlers.common import may_act_on
from bot.reminders import findings
from bot.storage import reports as repo
from bot.storage.db import Tx
from bot.views.patrol import (
    PLACE_KEYS,
    YES_NO,
    ReportDraft,
    evidence_text,
    summary_text,
)

ERR_KEYS = {
    Err.NOT_NUMBER: "report.err.not_number",
    Err.OUT_OF_RANGE: "report.err.out_of_range",
    Err.EMPTY: "report.err.empty",
    Err.TOO_LONG: "report.err.too_long",
    Err.NO_PLACES: "report.err.no_places",
    Err.BAD_PLACE: "report.err.missing",
    Err.BAD_DATE: "report.err.missing",
    Err.TOO_MANY_PHOTOS: "report.err.too_many_photos",
    Err.MISSING: "report.err.missing",
}
QUICK_VISITED = (0, 5, 10, 20)


# --- the steps ----------------------------------------------------------------------------


def today(context: BotContext) -> date:
    return context.deps.clock.now().astimezone(context.deps.tz).date()


def one_taps(context: BotContext, weeks: list[str]) -> list[tuple[str, str]]:
    """Return (label, data) of the one-tap normal-week button of each of these weeks."""
    t, current = context.t, dom.current_week(context.deps.clock.now(), context.deps.tz)
    label = lambda w: (  # noqa: E731
        t("forms.report.normal_this_week")
        if w == current
        else t("forms.report.normal_week", n=week_number(w))
    )
    return [(label(w), f"rpn:{w}") for w in weeks]


def _ask_week(context: BotContext, draft: ReportDraft) -> str:
    deps = context.deps
    current = dom.current_week(deps.clock.now(), deps.tz)
    return context.t(
        "report.ask_week", due=context.t.datetime(due_at(current, deps.policy, deps.tz))
    )


def _week_options(context: BotContext, draft: ReportDraft) -> list[tuple[str, str]]:
    current = dom.current_week(context.deps.clock.now(), context.deps.tz)
    key = {True: "report.btn.this_week", False: "report.btn.prev_week"}
    return [(w, context.t(key[w == current], n=week_number(w))) for w in draft.weeks]


def _date_options(context: BotContext, draft: ReportDraft) -> list[tuple[str, str]]:
    t, day = context.t, today(context)
    days = dom.patrol_days(draft.week or "", day)
    if day not in days or draft.more_days:
        # The Babel date pattern of a day button is itself localized.
        return [(d.isoformat(), t.date(d, t("report.day_button"))) for d in days]
    quick = [(day.isoformat(), t("report.btn.today"))]
    if day - timedelta(days=1) in days:
        quick.append(((day - timedelta(days=1)).isoformat(), t("report.btn.yesterday")))
    return quick + ([("more", t("report.btn.other_day"))] if len(days) > len(quick) else [])


def _choose_date(context: BotContext, draft: ReportDraft, value: str) -> Stay | None:
    if value == "more":
        draft.more_days = True
        return Stay()
    draft.date, draft.more_days = value, False
    return None


def _same_places(context: BotContext, draft: ReportDraft) -> list[tuple[str, str]]:
    return [("same", context.t("report.btn.same_places"))] if draft.last_places else []


def _copy_places(context: BotContext, draft: ReportDraft, value: str) -> None:
    draft.places = list(draft.last_places or [])


def _visited_options(context: BotContext, draft: ReportDraft) -> list[tuple[str, str]]:
    last = draft.last_visited
    quick = ([last] if last is not None else []) + [n for n in QUICK_VISITED if n != last]
    label = lambda n: context.t("report.btn.same_visited", n=n) if n == last else str(n)  # noqa: E731
    return [(str(n), label(n)) for n in quick]


def _visited(text: str) -> int | Invalid:
    value = dom.parse_visited(text)
    return Invalid(ERR_KEYS[value], {"max": dom.MAX_VISITED}) if isinstance(value, Err) else value


def _findings(text: str) -> str | Invalid:
    value = dom.check_findings(text)
    if isinstance(value, Err):
        return Invalid(ERR_KEYS[value], {"max": dom.MAX_FINDINGS, "n": len(text)})
    return value


def _choose_outcome(context: BotContext, draft: ReportDraft, value: str) -> None:
    if value == Outcome.NORMAL:
        draft.findings = draft.unstable = draft.follow_up = draft.dispute = None
        draft.photos, draft.voice, draft.location, draft.evidence_done = [], None, None, False
    draft.outcome = value


def _evidence(context: BotContext, draft: ReportDraft, message: Message) -> Stay:
    t = context.t
    if message.photo:
        if len(draft.photos) >= dom.MAX_PHOTOS:
            return Stay(t(ERR_KEYS[Err.TOO_MANY_PHOTOS], max=dom.MAX_PHOTOS))
        big = message.photo[-1]
        draft.photos.append({"file_id": big.file_id, "file_unique_id": big.file_unique_id})
    elif message.voice:
        v = message.voice
        meta = {"duration": v.duration}
        draft.voice = {"file_id": v.file_id, "file_unique_id": v.file_unique_id, "meta": meta}
    elif message.location:
        loc = message.location
        draft.location = {"latitude": loc.latitude, "longitude": loc.longitude}
    return Stay(t("report.ev.got"))


def _evidence_done(context: BotContext, draft: ReportDraft) -> None:
    draft.evidence_done = True


def _issues(draft: ReportDraft) -> bool:
    return draft.outcome == Outcome.ISSUES


def _yes_no_step(name: str, ask: str, label: str) -> Any:
    return Choice(
        name,
        ask,
        fixed(("1", "0"), YES_NO),
        convert=lambda v: v == "1",
        when=_issues,
        columns=2,
        label=label,
    )


def _summary(context: BotContext, draft: ReportDraft) -> str:
    deps, t = context.deps, context.t
    village = context.actor.village if context.actor else ""
    text = summary_text(t, draft, village=village or "")
    visited = patrol_register.summary_line(t, draft)
    if visited:
        text += "\n" + visited
    if draft.report_id is None and dom.is_late(
        draft.week or "", deps.clock.now(), deps.policy, deps.tz
    ):
        text += "\n" + t("report.will_be_late")
    return text + "\n\n" + t("report.confirm")


async def store_report(
    context: BotContext, tx: Tx, draft: ReportDraft
) -> tuple[Report, bool] | Err:
    """Store a new report (or the edit of a stored one) with its register visits, findings
    to the commissioners (issue 9); return it and whether it was stored (False: someone of the
    village was quicker, or the edit came too late)."""
    deps, actor = context.deps, context.actor
    assert actor is not None
    form = dom.form_from_draft(draft.model_dump(mode="json"))
    if isinstance(form, Err):
        return form
    now = deps.clock.now()
    if draft.report_id is None:
        late = dom.is_late(form.week, now, deps.policy, deps.tz)
        report_id, stored = await repo.create_report(
            tx, person=actor, form=form, late=late, now=now, files=draft.files()
        )
    else:
        report_id = draft.report_id
        old = await repo.get_report(tx, report_id)
        stored = (
            old is not None
            and may_act_on(actor, old.township_id, old.village_id)
            and changeable(context, old)
            and await repo.update_report(
                tx,
                report_id=report_id,
                base_version=draft.base_version or 0,
                person=actor,
                form=form,
                now=now,
                files=draft.files(),
            )
        )
    report = await repo.get_report(tx, report_id)
    assert report is not None
    if stored:
        await patrol_register.record(tx, draft, report, actor, now)
        await findings.report_stored(deps, tx, report_id, now)
    return report, bool(stored)


async def _submit(context: BotContext, draft: ReportDraft, tx: Tx) -> Done | Stay:
    """Store the report (or the edit of a stored one); the runtime closes the draft."""
    t = context.t
    found = await store_report(context, tx, draft)
    if isinstance(found, Err):
        return Stay(t(ERR_KEYS[found]))
    report, stored = found
    if not stored and draft.report_id is None:  # someone of the village was quicker
        at = t.datetime(report.submitted_at)
        return Done(None, t("report.already_by", name=report.person, at=at))
    if not stored:
        return Done(None, t("report.not_saved"))
    text = t(
        "report.submitted" if draft.report_id is None else "report.updated", ref=report.reference
    )
    if report.late and draft.report_id is None:
        text += "\n" + t("report.stored_late")
    markup = None
    if report.dispute and report.alert_id is None:
        text += "\n" + t("report.dispute_hint")
        alert = {
            "text": t("report.btn.raise_alert"),
            "callback_data": f"alert:fromreport:{report.id}",
        }
        markup = {"inline_keyboard": [[alert]]}
    return Done(report.id, text, markup)


async def _already(context: BotContext, report_id: int) -> str:
    report = await repo.get_report(context.deps.db, report_id)
    return context.t("report.already_submitted", ref=report.reference if report else "")


REPORT = Form(
    name="report",
    prefix="rp",
    model=ReportDraft,
    steps=[
        Choice(
            "week",
            _ask_week,
            _week_options,
            when=lambda d: len(d.weeks) > 1,  # last week is still offered (late)
            links=lambda c, d: one_taps(c, d.normal_weeks),
        ),
        Choice(
            "date",
            lambda c, d: c.t("report.ask_date", week=week_label(c.t, d.week or "")),
            _date_options,
            apply=_choose_date,
            columns=3,
            links=lambda c, d: one_taps(c, [w for w in d.normal_weeks if w == d.week]),
            label="report.f.date",
        ),
        Multi(
            name="places",
            ask="report.ask_places",
            options=fixed(PLACES, PLACE_KEYS),
            quick=_same_places,
            apply=_copy_places,
            columns=2,
            done_label="report.btn.done",
            empty="report.err.no_places",
            label="report.f.places",
        ),
        patrol_register.step(),
        Text(
            "visited",
            "report.ask_visited",
            _visited,
            options=_visited_options,
            convert=int,
            columns=5,
            wrong="report.err.number_expected",
            label="report.f.visited",
        ),
        Choice(
            "outcome",
            "report.ask_outcome",
            lambda c, d: [
                ("normal", c.t("report.btn.normal")),
                ("issues", c.t("report.btn.issues")),
            ],
            apply=_choose_outcome,
            label="report.f.outcome",
        ),
        Text(
            "findings",
            lambda c, d: c.t("report.ask_findings", max=dom.MAX_FINDINGS),
            _findings,
            when=_issues,
            wrong="report.err.text_expected",
            label="report.f.findings",
        ),
        _yes_no_step("unstable", "report.ask_unstable", "report.f.unstable"),
        _yes_no_step("follow_up", "report.ask_follow_up", "report.f.follow_up"),
        _yes_no_step("dispute", "report.ask_dispute", "report.f.dispute"),
        Collect(
            name="evidence",
            ask=lambda c, d: c.t(
                "report.ask_evidence", max=dom.MAX_PHOTOS, have=evidence_text(c.t, d)
            ),
            accept={"photo": _evidence, "voice": _evidence, "location": _evidence},
            done_label=lambda c, d: c.t(
                "report.btn.done" if d.photos or d.voice or d.location else "report.btn.skip"
            ),
            finish=_evidence_done,
            done=lambda d: d.evidence_done,
            when=_issues,
            wrong="report.err.evidence_expected",
            label="report.f.evidence",
        ),
    ],
    summary=Summary(
        render=_summary,
        edit=(
            "date",
            "places",
            "entries",
            "visited",
            "outcome",
            "findings",
            "unstable",
            "follow_up",
            "dispute",
            "evidence",
        ),
        back="report.btn.back",
    ),
    submit=_submit,
    already=_already,
    keys={
        "cancelled": "report.cancelled",
        "dropped": "report.draft_dropped",
        "submit": "report.btn.submit",
        "edit": "report.btn.edit",
        "cancel": "report.btn.cancel",
        "ask_edit": "report.ask_edit",
        "use_buttons": "report.err.use_buttons",
        "not_yours": "report.not_yours",
    },
)


# --- which weeks, and whether a normal week fits in one tap -----------------------------


async def offered(context: BotContext, actor: Person) -> tuple[str, str | None]:
    """Return this week and the previous week when it is still offered (late), else None."""
    deps, village = context.deps, actor.village_id or 0
    now = deps.clock.now()
    week = dom.current_week(now, deps.tz)
    previous = shift_week(week, -1)
    reported = await repo.report_for(deps.db, village, previous) is not None
    joined = await repo.village_joined(deps.db, village)
    offer = dom.offer_previous(
        now, deps.policy, deps.tz, previous_reported=reported, joined_at=joined
    )
    return week, offer


async def fresh(context: BotContext, actor: Person, weeks: list[str]) -> ReportDraft:
    """Return a new draft with last time's answers as shortcuts and the one-tap weeks."""
    last = await repo.latest_before(context.deps.db, actor.village_id or 0, "9999-W99")
    normal = [w for w in weeks if await last_was_normal(context, actor, w)]
    options = await patrol_register.entry_options(
        context.deps.db, context.deps.policy, actor.village_id or 0, today(context)
    )
    return ReportDraft(
        entry_options=options,
        week=weeks[0] if len(weeks) == 1 else None,
        weeks=weeks,
        normal_weeks=normal,
        last_places=last.places if last else None,
        last_visited=last.visited if last else None,
    )


async def last_was_normal(context: BotContext, actor: Person, week: str) -> bool:
    last = await repo.latest_before(context.deps.db, actor.village_id or 0, week)
    return last is not None and last.outcome == Outcome.NORMAL


def changeable(context: BotContext, report: Report) -> bool:
    """Return whether a stored report may still be edited or withdrawn."""
    deps = context.deps
    now = deps.clock.now()
    filed_this_week = dom.current_week(report.submitted_at, deps.tz) == dom.current_week(
        now, deps.tz
    )
    return dom.week_is_open(report.week, now, deps.tz) or (report.late and filed_this_week)
