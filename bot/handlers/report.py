"""/report: the weekly patrol report, declared on the form runtime (bot/forms/), and the
one-tap normal week ("✅ 本周一切正常") offered by the reminder, the overdue notice and /report.

Buttons outside the form: "rpn:<week>" files a normal week in one tap, "rpf:<week>" opens the
form for a week, "rpo:<id>" edits a stored report, "rpw:<id>" withdraws one, "rpc" closes the
view of a stored report. Diagram of the form: report.mmd (generated).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, Field
from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.domain import report as dom
from bot.domain.calendar import due_at, shift_week, week_monday, week_number
from bot.domain.people import Person
from bot.domain.report import PLACES, Err, Outcome, Report
from bot.forms import (
    EDIT,
    END,
    Choice,
    Collect,
    Done,
    Form,
    Invalid,
    Multi,
    Stay,
    Summary,
    Text,
    codec,
    fixed,
)
from bot.handlers.common import answer, button, keyboard, may_act_on, refuse, safe_answer_query
from bot.i18n import Translator
from bot.reminders import findings
from bot.reminders.weekly import REPORT_START
from bot.storage import drafts as store
from bot.storage import reports as repo
from bot.storage.db import Tx
from bot.storage.outbox import Lane, enqueue

PLACE_KEYS = {
    "religious": "report.place.religious",
    "folk": "report.place.folk",
    "minority": "report.place.minority",
    "enterprise": "report.place.enterprise",
    "overseas": "report.place.overseas",
    "other": "report.place.other",
}
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
STATE_KEYS = {
    "on_time": "report.state.on_time",
    "late": "report.state.late",
    "missing": "report.state.missing",
    "pending": "report.state.pending",
}
YES_NO = {"1": "report.yes", "0": "report.no"}
QUICK_VISITED = (0, 5, 10, 20)


class ReportDraft(BaseModel):
    """What a liaison has answered so far (and what the form needs to ask it)."""

    week: str | None = None
    weeks: list[str] = Field(default_factory=list)  # the weeks offered at the start
    normal_weeks: list[str] = Field(default_factory=list)  # weeks a one-tap normal fits
    date: str | None = None
    more_days: bool = False
    places: list[str] | None = None
    last_places: list[str] | None = None
    visited: int | None = None
    last_visited: int | None = None
    outcome: str | None = None
    findings: str | None = None
    unstable: bool | None = None
    follow_up: bool | None = None
    dispute: bool | None = None
    photos: list[dict[str, Any]] = Field(default_factory=list)
    voice: dict[str, Any] | None = None
    location: dict[str, Any] | None = None
    evidence_done: bool = False
    report_id: int | None = None  # editing this stored report
    base_version: int | None = None

    @classmethod
    def of(cls, report: Report, files: list[repo.Attachment]) -> ReportDraft:
        """Return a stored report as a draft (to show or edit it)."""
        photos = [
            {"file_id": a.file_id, "file_unique_id": a.file_unique_id}
            for a in files
            if a.kind == "photo"
        ]
        voice = next(
            (
                {"file_id": a.file_id, "file_unique_id": a.file_unique_id, "meta": a.meta}
                for a in files
                if a.kind == "voice"
            ),
            None,
        )
        return cls(
            week=report.week,
            date=report.patrol_date.isoformat(),
            places=report.places,
            visited=report.visited,
            outcome=report.outcome.value,
            findings=report.findings,
            unstable=report.unstable,
            follow_up=report.follow_up,
            dispute=report.dispute,
            photos=photos,
            voice=voice,
            location=next((a.meta for a in files if a.kind == "location"), None),
            evidence_done=True,
            report_id=report.id,
            base_version=report.version,
        )

    def files(self) -> list[repo.Attachment]:
        """Return the evidence to store with the report."""
        if self.outcome != Outcome.ISSUES:
            return []
        files = [
            repo.Attachment("photo", p["file_id"], p["file_unique_id"], {}) for p in self.photos
        ]
        if self.voice:
            v = self.voice
            files.append(
                repo.Attachment("voice", v["file_id"], v["file_unique_id"], v.get("meta") or {})
            )
        if self.location:
            files.append(repo.Attachment("location", None, None, self.location))
        return files


# --- texts --------------------------------------------------------------------------------


def _places_text(t: Translator, places: list[str]) -> str:
    return t("common.list_sep").join(t(PLACE_KEYS[p]) for p in PLACES if p in places) or "—"


def _yes_no(t: Translator, value: bool | None) -> str:
    return "—" if value is None else t(YES_NO["1" if value else "0"])


def _evidence_text(t: Translator, draft: ReportDraft) -> str:
    parts = []
    if draft.photos:
        parts.append(t("report.ev.photos", n=len(draft.photos)))
    if draft.voice:
        parts.append(t("report.ev.voice"))
    if draft.location:
        parts.append(t("report.ev.location"))
    return t("common.list_sep").join(parts) or t("report.ev.none")


def _week_label(t: Translator, week: str) -> str:
    monday = week_monday(week)
    return t(
        "report.week_label",
        n=week_number(week),
        start=t.date(monday, "short"),
        end=t.date(monday + timedelta(days=6), "short"),
    )


def summary_text(t: Translator, draft: ReportDraft, *, village: str) -> str:
    """Return the summary of a draft (or of a stored report turned into a draft)."""
    week = draft.week or ""
    outcome = (
        "report.outcome.issues" if draft.outcome == Outcome.ISSUES else "report.outcome.normal"
    )
    day = t.date(date.fromisoformat(draft.date)) if draft.date else "—"
    lines = [
        t("report.summary_title", ref=dom.reference(week, village)),
        t("report.s.week", value=_week_label(t, week)),
        t("report.s.date", value=day),
        t("report.s.places", value=_places_text(t, draft.places or [])),
        t("report.s.visited", value=draft.visited if draft.visited is not None else "—"),
        t("report.s.outcome", value=t(outcome)),
    ]
    if draft.outcome == Outcome.ISSUES:
        lines += [
            t("report.s.findings", value=draft.findings or "—"),
            t("report.s.unstable", value=_yes_no(t, draft.unstable)),
            t("report.s.follow_up", value=_yes_no(t, draft.follow_up)),
            t("report.s.dispute", value=_yes_no(t, draft.dispute)),
            t("report.s.evidence", value=_evidence_text(t, draft)),
        ]
    return "\n".join(lines)


def report_text(t: Translator, report: Report, files: list[repo.Attachment]) -> str:
    """Return a stored report for reading, with who submitted it and when."""
    head = summary_text(t, ReportDraft.of(report, files), village=report.village)
    by = t("report.by", name=report.person, at=t.datetime(report.submitted_at))
    if report.late:
        by += " " + t("report.late_mark")
    if report.version > 1:
        by += "\n" + t("report.edited", at=t.datetime(report.updated_at), n=report.version - 1)
    return f"{head}\n{by}"


# --- the steps ----------------------------------------------------------------------------


def _today(context: BotContext) -> date:
    return context.deps.clock.now().astimezone(context.deps.tz).date()


def _normal_label(t: Translator, week: str, current: str) -> str:
    if week == current:
        return t("forms.report.normal_this_week")
    return t("forms.report.normal_week", n=week_number(week))


def _one_taps(context: BotContext, draft: ReportDraft, weeks: list[str]) -> list[tuple[str, str]]:
    """Return the one-tap normal-week buttons for these weeks (links out of the form)."""
    current = dom.current_week(context.deps.clock.now(), context.deps.tz)
    return [
        (_normal_label(context.t, w, current), f"rpn:{w}") for w in weeks if w in draft.normal_weeks
    ]


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
    t, today = context.t, _today(context)
    days = dom.patrol_days(draft.week or "", today)
    if today not in days or draft.more_days:
        # The Babel date pattern of a day button is itself localized.
        return [(d.isoformat(), t.date(d, t("report.day_button"))) for d in days]
    quick = [(today.isoformat(), t("report.btn.today"))]
    if today - timedelta(days=1) in days:
        quick.append(((today - timedelta(days=1)).isoformat(), t("report.btn.yesterday")))
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
    if draft.report_id is None and dom.is_late(
        draft.week or "", deps.clock.now(), deps.policy, deps.tz
    ):
        text += "\n" + t("report.will_be_late")
    return text + "\n\n" + t("report.confirm")


async def _submit(context: BotContext, draft: ReportDraft, tx: Tx) -> Done | Stay:
    """Store the report (or the edit of a stored one); the runtime closes the draft."""
    deps, actor, t = context.deps, context.actor, context.t
    assert actor is not None
    form = dom.form_from_draft(draft.model_dump(mode="json"))
    if isinstance(form, Err):
        return Stay(t(ERR_KEYS[form]))
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
            and _changeable(context, old)
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
    if not stored and draft.report_id is None:  # someone of the village was quicker
        at = t.datetime(report.submitted_at)
        return Done(None, t("report.already_by", name=report.person, at=at))
    if not stored:
        return Done(None, t("report.not_saved"))
    # Findings go to the township's commissioners with the report (issue 9).
    await findings.report_stored(deps, tx, report_id, now)
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
            links=lambda c, d: _one_taps(c, d, d.weeks),
        ),
        Choice(
            "date",
            lambda c, d: c.t("report.ask_date", week=_week_label(c.t, d.week or "")),
            _date_options,
            apply=_choose_date,
            columns=3,
            links=lambda c, d: _one_taps(c, d, [d.week or ""]) if d.report_id is None else [],
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
                "report.ask_evidence", max=dom.MAX_PHOTOS, have=_evidence_text(c.t, d)
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


async def _offered(context: BotContext, actor: Person) -> tuple[str, str | None]:
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


async def _fresh(context: BotContext, actor: Person, weeks: list[str]) -> ReportDraft:
    """Return a new draft with last time's answers as shortcuts and the one-tap weeks."""
    last = await repo.latest_before(context.deps.db, actor.village_id or 0, "9999-W99")
    normal = [w for w in weeks if await _last_was_normal(context, actor, w)]
    return ReportDraft(
        week=weeks[0] if len(weeks) == 1 else None,
        weeks=weeks,
        normal_weeks=normal,
        last_places=last.places if last else None,
        last_visited=last.visited if last else None,
    )


async def _last_was_normal(context: BotContext, actor: Person, week: str) -> bool:
    last = await repo.latest_before(context.deps.db, actor.village_id or 0, week)
    return last is not None and last.outcome == Outcome.NORMAL


def _changeable(context: BotContext, report: Report) -> bool:
    """Return whether a stored report may still be edited or withdrawn."""
    deps = context.deps
    now = deps.clock.now()
    filed_this_week = dom.current_week(report.submitted_at, deps.tz) == dom.current_week(
        now, deps.tz
    )
    return dom.week_is_open(report.week, now, deps.tz) or (report.late and filed_this_week)


def _stored_rows(t: Translator, context: BotContext, report: Report) -> list[list[Any]]:
    if not _changeable(context, report):
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
    if update.callback_query is not None:
        await safe_answer_query(update.callback_query)
    resumed = await REPORT.resume(update, context)
    if resumed is not None:
        return resumed
    week, offer = await _offered(context, actor)
    existing = await repo.report_for(context.deps.db, actor.village_id or 0, week)
    if existing is not None:
        return await _show_existing(update, context, existing, offer)
    weeks = [offer, week] if offer else [week]
    return await REPORT.begin(update, context, await _fresh(context, actor, weeks))


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
        if await _last_was_normal(context, actor, offer):
            current = dom.current_week(context.deps.clock.now(), context.deps.tz)
            rows.append([button(_normal_label(t, offer, current), f"rpn:{offer}")])
    rows.append([button(t("report.btn.close"), "rpc")])
    await answer(update, context, head + "\n\n" + report_text(t, report, files), keyboard(*rows))
    return END


async def _week_from(update: Update, context: BotContext, tag: str) -> str | None:
    """Return the week a button names if this liaison may report it now; refuse otherwise."""
    assert update.callback_query is not None and context.actor is not None
    fields = codec.split(update.callback_query.data, tag, 1)
    week, offer = await _offered(context, context.actor)
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
    return await REPORT.begin(update, context, await _fresh(context, context.actor, [week]))


async def one_tap(update: Update, context: BotContext) -> object:
    """ "rpn:<week>": file the week as normal, with last report's places and households."""
    deps, actor, t = context.deps, context.actor, context.t
    week = await _week_from(update, context, "rpn")
    if week is None or actor is None:
        return END
    query = update.callback_query
    assert query is not None
    existing = await repo.report_for(deps.db, actor.village_id or 0, week)
    if existing is not None:
        await safe_answer_query(
            query, t("report.already_submitted", ref=existing.reference), alert=True
        )
        return END
    last = await repo.latest_before(deps.db, actor.village_id or 0, week)
    if last is None or last.outcome != Outcome.NORMAL:  # the short form instead
        await safe_answer_query(query)
        draft = await _fresh(context, actor, [week])
        return await REPORT.begin(update, context, draft, note=t("forms.report.needs_form"))
    now = deps.clock.now()
    days = dom.patrol_days(week, _today(context))
    form = dom.ReportForm(
        week=week,
        patrol_date=days[-1],
        places=last.places,
        visited=last.visited,
        outcome=Outcome.NORMAL,
    )
    async with deps.db.transaction() as tx:
        late = dom.is_late(week, now, deps.policy, deps.tz)
        report_id, created = await repo.create_report(
            tx, person=actor, form=form, late=late, now=now, files=[]
        )
        open_draft = await store.open_of(tx, REPORT.name, actor.id)
        if open_draft is not None:  # the form this tap replaces is done
            await store.close_draft(tx, REPORT.name, open_draft.token, "submitted", now, report_id)
        report = await repo.get_report(tx, report_id)
        assert report is not None
        text = t("forms.report.filed", ref=report.reference) + "\n\n" + report_text(t, report, [])
        rows = [[b.to_dict() for b in row] for row in _stored_rows(t, context, report)]
        if created:
            await findings.report_stored(deps, tx, report_id, now)
            await _confirm(context, tx, text, {"inline_keyboard": rows} if rows else None)
    if not created:
        await safe_answer_query(
            query, t("report.already_submitted", ref=report.reference), alert=True
        )
        return END
    await safe_answer_query(query)
    await _send_confirmation(update, context)
    return END


async def _confirm(context: BotContext, tx: Tx, text: str, markup: dict[str, Any] | None) -> None:
    """Queue the confirmation of a person's own action with it (an outage only delays it)."""
    actor = context.actor
    assert actor is not None and actor.telegram_id is not None
    payload: dict[str, Any] = {"text": text}
    if markup:
        payload["reply_markup"] = markup
    now = context.deps.clock.now()
    await enqueue(
        tx, now, chat_id=actor.telegram_id, person_id=actor.id, payload=payload, lane=Lane.URGENT
    )


async def _send_confirmation(update: Update, context: BotContext) -> None:
    deps, chat = context.deps, update.effective_chat
    deps.wake_outbox()
    if deps.delivery is not None and chat is not None:
        await deps.delivery.send_now(chat.id)


async def edit_report(update: Update, context: BotContext) -> object:
    """ "rpo:<id>": edit a stored report of one's village while it may still change."""
    report = await _own_report(update, context, "rpo")
    if report is None:
        return END
    if not _changeable(context, report):
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
    if not _changeable(context, report) or report.alert_id is not None:
        await refuse(update, context, "forms.report.cannot_withdraw")
        return END
    assert context.actor is not None
    async with context.deps.db.transaction() as tx:
        done = await repo.withdraw_report(tx, report.id, context.actor.id, context.deps.clock.now())
        if done:
            again = {"text": t("forms.report.btn.again"), "callback_data": REPORT_START}
            text = t("forms.report.withdrawn", ref=report.reference)
            await _confirm(context, tx, text, {"inline_keyboard": [[again]]})
    await safe_answer_query(update.callback_query)
    await _send_confirmation(update, context)
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
