"""/report: the weekly patrol report conversation; /overdue: who has not reported this week.

Every button carries the draft's own token ("rp:<token>:<action>:<arg>") and is checked
against the pressing user's draft, so a stale or someone else's button is refused. The
draft lives in user_data (persisted after every update) and is mirrored in form_drafts
(form "report") so the 24 h idle drop can run as due work (bot/reminders/drafts.py).
Diagram: report.mmd.
"""

from __future__ import annotations

import logging
import secrets
from datetime import date, timedelta
from typing import Any

from telegram import InlineKeyboardButton, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import BotContext, drafts
from bot.domain import report as dom
from bot.domain.calendar import due_at, shift_week, week_monday, week_number
from bot.domain.people import Person, Role
from bot.domain.report import PLACES, Err, Outcome, Report
from bot.handlers.common import (
    answer,
    button,
    guard,
    keyboard,
    may_act_on,
    refuse,
    safe_answer_query,
)
from bot.i18n import Translator
from bot.reminders import findings
from bot.reminders.weekly import REPORT_START
from bot.storage import drafts as mirror
from bot.storage import reports as repo

log = logging.getLogger(__name__)

END = ConversationHandler.END
FORM = "report"  # this form's name in form_drafts
# Named states; the draft's "step" says which question is on screen.
WEEK, DATE, PLACES_, VISITED, OUTCOME, FINDINGS = (
    "WEEK",
    "DATE",
    "PLACES",
    "VISITED",
    "OUTCOME",
    "FINDINGS",
)
UNSTABLE, FOLLOW_UP, DISPUTE, EVIDENCE, SUMMARY, EDIT, EXISTING = (
    "UNSTABLE",
    "FOLLOW_UP",
    "DISPUTE",
    "EVIDENCE",
    "SUMMARY",
    "EDIT",
    "EXISTING",
)
STEP_STATE = {
    "week": WEEK,
    "date": DATE,
    "places": PLACES_,
    "visited": VISITED,
    "outcome": OUTCOME,
    "findings": FINDINGS,
    "unstable": UNSTABLE,
    "follow_up": FOLLOW_UP,
    "dispute": DISPUTE,
    "evidence": EVIDENCE,
    "summary": SUMMARY,
    "edit": EDIT,
    "existing": EXISTING,
}

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
# Fields the Edit menu offers, with their button labels.
EDIT_FIELDS = {
    "date": "report.f.date",
    "places": "report.f.places",
    "visited": "report.f.visited",
    "outcome": "report.f.outcome",
    "findings": "report.f.findings",
    "unstable": "report.f.unstable",
    "follow_up": "report.f.follow_up",
    "dispute": "report.f.dispute",
    "evidence": "report.f.evidence",
}
YES_NO_STEPS = {
    "unstable": "report.ask_unstable",
    "follow_up": "report.ask_follow_up",
    "dispute": "report.ask_dispute",
}
QUICK_VISITED = (0, 5, 10, 20)


# --- the draft ----------------------------------------------------------------------------


def _draft(context: BotContext) -> dict[str, Any] | None:
    return drafts(context).get("report")


def _drop_local(context: BotContext) -> None:
    drafts(context).pop("report", None)


async def _new_draft(context: BotContext, **fields: Any) -> dict[str, Any]:
    old = _draft(context)
    if old is not None:  # one form at a time: the one it replaces is closed
        async with context.deps.db.transaction() as tx:
            await mirror.close_draft(tx, FORM, old["token"], "cancelled", context.deps.clock.now())
    draft: dict[str, Any] = {
        "token": secrets.token_hex(4),
        "photos": [],
        "voice": None,
        "location": None,
        "evidence_done": False,
        **fields,
    }
    drafts(context)["report"] = draft
    return draft


async def _touch(update: Update, context: BotContext, draft: dict[str, Any]) -> None:
    now = context.deps.clock.now()
    draft["updated_at"] = now.isoformat()
    assert context.actor is not None and update.effective_chat is not None
    await mirror.touch_draft(
        context.deps.db, FORM, draft["token"], context.actor.id, update.effective_chat.id, now
    )


async def _still_open(update: Update, context: BotContext, draft: dict[str, Any] | None) -> bool:
    """Drop a draft idle for 24 h (or dropped by due work) and tell the user; False then."""
    if draft is None:
        return False
    now = context.deps.clock.now()
    row = await mirror.get_draft(context.deps.db, FORM, draft["token"])
    dropped = row is not None and row.state != "open"
    if not dropped and not dom.is_stale(draft.get("updated_at"), now):
        return True
    if row is not None and row.state == "open":
        async with context.deps.db.transaction() as tx:
            await mirror.close_draft(tx, FORM, draft["token"], "dropped", now)
    _drop_local(context)
    if update.callback_query is not None:
        await safe_answer_query(update.callback_query)
    await answer(update, context, context.t("report.draft_dropped"))
    return False


def _data(context: BotContext, update: Update) -> tuple[str, str, str] | None:
    query = update.callback_query
    parts = (query.data or "").split(":") if query else []
    if len(parts) != 4 or parts[0] != "rp" or any(len(p) > 40 for p in parts):
        return None
    return parts[1], parts[2], parts[3]


def _cb(draft: dict[str, Any], action: str, arg: str = "-") -> str:
    return f"rp:{draft['token']}:{action}:{arg}"


# --- rendering ----------------------------------------------------------------------------


def _cancel_row(t: Translator, draft: dict[str, Any]) -> list[InlineKeyboardButton]:
    return [button(t("report.btn.cancel"), _cb(draft, "cancel"))]


def _places_text(t: Translator, places: list[str]) -> str:
    return t("common.list_sep").join(t(PLACE_KEYS[p]) for p in PLACES if p in places) or "—"


def _yes_no(t: Translator, value: bool | None) -> str:
    if value is None:
        return "—"
    return t("report.yes") if value else t("report.no")


def _evidence_text(t: Translator, draft: dict[str, Any]) -> str:
    parts = []
    if draft.get("photos"):
        parts.append(t("report.ev.photos", n=len(draft["photos"])))
    if draft.get("voice"):
        parts.append(t("report.ev.voice"))
    if draft.get("location"):
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


def summary_text(t: Translator, draft: dict[str, Any], *, village: str) -> str:
    """Return the summary of a draft (or of a stored report turned into a draft)."""
    lines = [
        t("report.summary_title", ref=dom.reference(draft["week"], village)),
        t("report.s.week", value=_week_label(t, draft["week"])),
        t(
            "report.s.date",
            value=t.date(date.fromisoformat(draft["date"])) if draft.get("date") else "—",
        ),
        t("report.s.places", value=_places_text(t, draft.get("places") or [])),
        t(
            "report.s.visited",
            value=draft.get("visited") if draft.get("visited") is not None else "—",
        ),
        t(
            "report.s.outcome",
            value=t("report.outcome.issues")
            if draft.get("outcome") == Outcome.ISSUES
            else t("report.outcome.normal"),
        ),
    ]
    if draft.get("outcome") == Outcome.ISSUES:
        lines += [
            t("report.s.findings", value=draft.get("findings") or "—"),
            t("report.s.unstable", value=_yes_no(t, draft.get("unstable"))),
            t("report.s.follow_up", value=_yes_no(t, draft.get("follow_up"))),
            t("report.s.dispute", value=_yes_no(t, draft.get("dispute"))),
            t("report.s.evidence", value=_evidence_text(t, draft)),
        ]
    return "\n".join(lines)


def draft_from_report(report: Report, files: list[repo.Attachment]) -> dict[str, Any]:
    """Return the JSON draft fields of a stored report (to show or edit it)."""
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
    location = next((a.meta for a in files if a.kind == "location"), None)
    return {
        "week": report.week,
        "date": report.patrol_date.isoformat(),
        "places": report.places,
        "visited": report.visited,
        "outcome": report.outcome.value,
        "findings": report.findings,
        "unstable": report.unstable,
        "follow_up": report.follow_up,
        "dispute": report.dispute,
        "photos": photos,
        "voice": voice,
        "location": location,
        "evidence_done": True,
    }


def report_text(t: Translator, report: Report, files: list[repo.Attachment]) -> str:
    """Return a stored report for reading, with who submitted it and when."""
    head = summary_text(t, draft_from_report(report, files), village=report.village)
    by = t("report.by", name=report.person, at=t.datetime(report.submitted_at))
    if report.late:
        by += " " + t("report.late_mark")
    if report.version > 1:
        by += "\n" + t("report.edited", at=t.datetime(report.updated_at), n=report.version - 1)
    return f"{head}\n{by}"


async def _render(
    update: Update,
    context: BotContext,
    draft: dict[str, Any],
    step: str,
    *,
    error: str | None = None,
    edit: bool = True,
) -> str:
    """Show the question for `step` (with an error line first) and return its state."""
    t = context.t
    draft["step"] = step
    cancel = _cancel_row(t, draft)
    rows: list[list[InlineKeyboardButton]] = []
    text = ""
    if step == "week":
        current = dom.current_week(context.deps.clock.now(), context.deps.tz)
        previous = shift_week(current, -1)
        text = t(
            "report.ask_week", due=t.datetime(due_at(current, context.deps.policy, context.deps.tz))
        )
        rows = [
            [
                button(
                    t("report.btn.prev_week", n=week_number(previous)), _cb(draft, "wk", previous)
                )
            ],
            [button(t("report.btn.this_week", n=week_number(current)), _cb(draft, "wk", current))],
        ]
    elif step == "date":
        today = context.deps.clock.now().astimezone(context.deps.tz).date()
        days = dom.patrol_days(draft["week"], today)
        text = t("report.ask_date", week=_week_label(t, draft["week"]))
        if today in days and not draft.get("more_days"):
            quick = [button(t("report.btn.today"), _cb(draft, "dt", today.isoformat()))]
            if today - timedelta(days=1) in days:
                quick.append(
                    button(
                        t("report.btn.yesterday"),
                        _cb(draft, "dt", (today - timedelta(days=1)).isoformat()),
                    )
                )
            rows = [quick]
            if len(days) > len(quick):
                rows.append([button(t("report.btn.other_day"), _cb(draft, "days"))])
        else:
            # The Babel date pattern of a day button is itself localized.
            rows = [
                [
                    button(t.date(d, t("report.day_button")), _cb(draft, "dt", d.isoformat()))
                    for d in days[i : i + 3]
                ]
                for i in range(0, len(days), 3)
            ]
    elif step == "places":
        chosen = draft.get("places") or []
        text = t("report.ask_places")
        rows = [
            [
                button(("✅ " if p in chosen else "") + t(PLACE_KEYS[p]), _cb(draft, "pl", p))
                for p in PLACES[i : i + 2]
            ]
            for i in range(0, len(PLACES), 2)
        ]
        last = draft.get("last_places")
        if last and not chosen:
            rows.insert(0, [button(t("report.btn.same_places"), _cb(draft, "same"))])
        rows.append([button(t("report.btn.done"), _cb(draft, "pld"))])
    elif step == "visited":
        text = t("report.ask_visited")
        counts = [draft["last_visited"]] if draft.get("last_visited") is not None else []
        counts += [n for n in QUICK_VISITED if n not in counts]
        rows = [
            [
                button(
                    t("report.btn.same_visited", n=n)
                    if i == 0 and draft.get("last_visited") is not None
                    else str(n),
                    _cb(draft, "vn", str(n)),
                )
                for i, n in enumerate(counts)
            ]
        ]
    elif step == "outcome":
        text = t("report.ask_outcome")
        rows = [
            [button(t("report.btn.normal"), _cb(draft, "oc", "normal"))],
            [button(t("report.btn.issues"), _cb(draft, "oc", "issues"))],
        ]
    elif step == "findings":
        text = t("report.ask_findings", max=dom.MAX_FINDINGS)
    elif step in YES_NO_STEPS:
        text = t(YES_NO_STEPS[step])
        rows = [
            [
                button(t("report.yes"), _cb(draft, step, "1")),
                button(t("report.no"), _cb(draft, step, "0")),
            ]
        ]
    elif step == "evidence":
        text = t("report.ask_evidence", max=dom.MAX_PHOTOS, have=_evidence_text(t, draft))
        has_any = draft.get("photos") or draft.get("voice") or draft.get("location")
        rows = [
            [button(t("report.btn.done") if has_any else t("report.btn.skip"), _cb(draft, "evd"))]
        ]
    elif step == "summary":
        village = context.actor.village if context.actor else ""
        text = summary_text(t, draft, village=village or "")
        if draft.get("report_id") is None and dom.is_late(
            draft["week"], context.deps.clock.now(), context.deps.policy, context.deps.tz
        ):
            text += "\n" + t("report.will_be_late")
        text += "\n\n" + t("report.confirm")
        rows = [
            [button(t("report.btn.submit"), _cb(draft, "submit"))],
            [button(t("report.btn.edit"), _cb(draft, "edit"))],
        ]
    elif step == "edit":
        text = t("report.ask_edit")
        fields = [
            f
            for f in EDIT_FIELDS
            if f in ("date", "places", "visited", "outcome")
            or draft.get("outcome") == Outcome.ISSUES
        ]
        rows = [
            [button(t(EDIT_FIELDS[f]), _cb(draft, "ed", f)) for f in fields[i : i + 3]]
            for i in range(0, len(fields), 3)
        ]
        rows.append([button(t("report.btn.back"), _cb(draft, "ed", "back"))])
    rows.append(cancel)
    if error:
        text = f"{error}\n\n{text}"
    await answer(update, context, text, keyboard(*rows), edit=edit)
    await _touch(update, context, draft)
    return STEP_STATE[step]


async def _advance(
    update: Update, context: BotContext, draft: dict[str, Any], *, edit: bool = True
) -> str:
    """Go to the first unanswered question, or to the summary."""
    draft.pop("ask", None)
    step = dom.first_missing(draft) or "summary"
    return await _render(update, context, draft, step, edit=edit)


# --- entry: /report and opening a stored report -----------------------------------------


@guard(Role.LIAISON, end_conversation=True)
async def start(update: Update, context: BotContext) -> str | int:
    """Start (or resume) this week's report; offer last week before the due time."""
    actor = context.actor
    assert actor is not None
    draft = _draft(context)
    if (
        draft is not None
        and draft.get("step") not in (None, "existing")
        and await _still_open(update, context, draft)
    ):
        # A half-filled form (even across a restart): continue where it stopped.
        return await _render(update, context, draft, draft["step"], edit=False)
    deps = context.deps
    now = deps.clock.now()
    week = dom.current_week(now, deps.tz)
    previous = shift_week(week, -1)
    prev_done = await repo.report_for(deps.db, actor.village_id or 0, previous) is not None
    existing = await repo.report_for(deps.db, actor.village_id or 0, week)
    joined = await repo.village_joined(deps.db, actor.village_id or 0)
    offer = dom.offer_previous(
        now, deps.policy, deps.tz, previous_reported=prev_done, joined_at=joined
    )
    if existing is not None:
        return await _show_existing(update, context, existing, offer=offer, edit=False)
    draft = await _fresh(context, actor)
    if offer:
        return await _render(update, context, draft, "week", edit=False)
    draft["week"] = week
    return await _render(update, context, draft, "date", edit=False)


async def _fresh(context: BotContext, actor: Person) -> dict[str, Any]:
    last = await repo.latest_before(context.deps.db, actor.village_id or 0, "9999-W99")
    return await _new_draft(
        context,
        last_places=last.places if last else None,
        last_visited=last.visited if last else None,
    )


async def _show_existing(
    update: Update,
    context: BotContext,
    report: Report,
    *,
    offer: str | None = None,
    edit: bool = True,
) -> str | int:
    """Show a stored report with Edit (while its week lasts) instead of a duplicate."""
    t = context.t
    actor = context.actor
    assert actor is not None
    files = await repo.attachments(context.deps.db, report.id)
    text = report_text(t, report, files)
    if report.person_id != actor.id:
        text = (
            t("report.already_by", name=report.person, at=t.datetime(report.submitted_at))
            + "\n\n"
            + text
        )
    else:
        text = t("report.already_yours") + "\n\n" + text
    draft = await _new_draft(
        context,
        week=report.week,
        report_id=report.id,
        base_version=report.version,
        **{k: v for k, v in draft_from_report(report, files).items() if k != "week"},
    )
    rows = []
    if dom.week_is_open(report.week, context.deps.clock.now(), context.deps.tz):
        rows.append([button(t("report.btn.edit"), _cb(draft, "edit"))])
    if offer:
        rows.append(
            [button(t("report.btn.prev_week", n=week_number(offer)), _cb(draft, "wk", offer))]
        )
    rows.append([button(t("report.btn.close"), _cb(draft, "cancel", "close"))])
    draft["step"] = "existing"
    await answer(update, context, text, keyboard(*rows), edit=edit)
    await _touch(update, context, draft)
    return EXISTING


@guard(Role.LIAISON, end_conversation=True)
async def open_report(update: Update, context: BotContext) -> str | int:
    """Open a stored report from /mine ("rpo:<id>") to read or edit it."""
    query = update.callback_query
    assert query is not None and context.actor is not None
    try:
        report_id = int((query.data or "").split(":")[1])
    except (IndexError, ValueError):
        await refuse(update, context, "common.stale")
        return END
    report = await repo.get_report(context.deps.db, report_id)
    if report is None or not may_act_on(context.actor, report.township_id, report.village_id):
        await refuse(update, context, "common.not_allowed")
        return END
    _drop_local(context)
    return await _show_existing(update, context, report, edit=False)


# --- buttons ------------------------------------------------------------------------------


@guard(Role.LIAISON, end_conversation=True)
async def on_button(update: Update, context: BotContext) -> str | int | None:
    """Handle every form button after checking it belongs to this user's open draft."""
    parsed = _data(context, update)
    draft = _draft(context)
    query = update.callback_query
    assert query is not None and context.actor is not None
    if parsed is None:
        await refuse(update, context, "common.stale")
        return None
    token, action, arg = parsed
    if draft is None or draft["token"] != token:
        await _foreign_or_stale(update, context, token)
        return None
    if not await _still_open(update, context, draft):
        return END
    step = draft.get("step")
    t = context.t
    if action == "cancel":
        return await _cancel(update, context, quiet=arg == "close")
    if action == "wk" and step in ("week", "existing"):
        return await _choose_week(update, context, draft, arg)
    if action in ("dt", "days") and step == "date":
        if action == "days":
            draft["more_days"] = True
            return await _render(update, context, draft, "date")
        today = context.deps.clock.now().astimezone(context.deps.tz).date()
        try:
            day = date.fromisoformat(arg)
        except ValueError:
            day = None
        if day is None or day not in dom.patrol_days(draft["week"], today):
            await refuse(update, context, "common.stale")
            return None
        draft["date"] = arg
        draft.pop("more_days", None)
        return await _advance(update, context, draft)
    if step == "places" and action in ("pl", "pld", "same"):
        if action == "same" and draft.get("last_places"):
            draft["places"] = list(draft["last_places"])
            return await _advance(update, context, draft)
        if action == "pl" and arg in PLACES:
            chosen = draft.setdefault("places", [])
            if arg in chosen:
                chosen.remove(arg)
            else:
                chosen.append(arg)
            return await _render(update, context, draft, "places")
        if action == "pld":
            if not draft.get("places"):
                await safe_answer_query(query, t(ERR_KEYS[Err.NO_PLACES]), alert=True)
                return None
            return await _advance(update, context, draft)
    if action == "vn" and step == "visited":
        value = dom.parse_visited(arg)
        if isinstance(value, Err):
            await refuse(update, context, "common.stale")
            return None
        draft["visited"] = value
        return await _advance(update, context, draft)
    if action == "oc" and step == "outcome" and arg in ("normal", "issues"):
        if arg == Outcome.NORMAL:
            for f in ("findings", "unstable", "follow_up", "dispute", "location", "voice"):
                draft[f] = None
            draft["photos"] = []
            draft["evidence_done"] = False
        draft["outcome"] = arg
        return await _advance(update, context, draft)
    if action in YES_NO_STEPS and step == action and arg in ("0", "1"):
        draft[action] = arg == "1"
        return await _advance(update, context, draft)
    if action == "evd" and step == "evidence":
        draft["evidence_done"] = True
        return await _advance(update, context, draft)
    if action == "submit" and step == "summary":
        return await _submit(update, context, draft)
    if action == "edit" and step in ("summary", "existing"):
        return await _render(update, context, draft, "edit")
    if action == "ed" and step == "edit":
        if arg == "back":
            return await _advance(update, context, draft)
        if arg in EDIT_FIELDS:
            if arg == "evidence":
                draft["evidence_done"] = False
            draft["ask"] = arg
            return await _render(update, context, draft, arg)
    # A button of an earlier question of this same form: it no longer applies.
    await safe_answer_query(query, t("report.old_button"), alert=False)
    return None


async def _foreign_or_stale(update: Update, context: BotContext, token: str) -> None:
    row = await mirror.get_draft(context.deps.db, FORM, token)
    assert context.actor is not None
    if row is not None and row.person_id != context.actor.id:
        await refuse(update, context, "report.not_yours")
    elif row is not None and row.state == "submitted" and row.record_id is not None:
        report = await repo.get_report(context.deps.db, row.record_id)
        assert update.callback_query is not None and report is not None
        await safe_answer_query(
            update.callback_query,
            context.t("report.already_submitted", ref=report.reference),
            alert=True,
        )
    else:
        await refuse(update, context, "common.stale")
    return None


async def _choose_week(
    update: Update, context: BotContext, draft: dict[str, Any], week: str
) -> str | int:
    deps = context.deps
    actor = context.actor
    assert actor is not None
    now = deps.clock.now()
    current = dom.current_week(now, deps.tz)
    allowed = {current}
    joined = await repo.village_joined(deps.db, actor.village_id or 0)
    if dom.offer_previous(now, deps.policy, deps.tz, previous_reported=False, joined_at=joined):
        allowed.add(shift_week(current, -1))
    if week not in allowed:
        await refuse(update, context, "common.stale")
        return END
    existing = await repo.report_for(deps.db, actor.village_id or 0, week)
    if existing is not None:
        return await _show_existing(update, context, existing)
    if draft.get("report_id") is not None:  # from an existing-report view: a new form
        draft = await _fresh(context, actor)
    draft["week"] = week
    return await _render(update, context, draft, "date")


async def _cancel(update: Update, context: BotContext, *, quiet: bool = False) -> int:
    draft = _draft(context)
    if draft is not None:
        async with context.deps.db.transaction() as tx:
            await mirror.close_draft(
                tx, FORM, draft["token"], "cancelled", context.deps.clock.now()
            )
    _drop_local(context)
    await answer(
        update, context, context.t("report.closed" if quiet else "report.cancelled"), edit=True
    )
    return END


@guard(Role.LIAISON, end_conversation=True)
async def cancel_command(update: Update, context: BotContext) -> int:
    """/cancel: drop the form at any step."""
    return await _cancel(update, context)


# --- typed answers ------------------------------------------------------------------------


async def _typed_guard(update: Update, context: BotContext) -> dict[str, Any] | None:
    draft = _draft(context)
    if draft is None:
        await answer(update, context, context.t("common.stale"))
        return None
    if not await _still_open(update, context, draft):
        return None
    return draft


@guard(Role.LIAISON, end_conversation=True)
async def on_visited(update: Update, context: BotContext) -> str | int | None:
    """Take the number of households or people visited."""
    draft = await _typed_guard(update, context)
    if draft is None:
        return END
    value = dom.parse_visited(update.effective_message.text or "")  # type: ignore[union-attr]
    if isinstance(value, Err):
        return await _render(
            update,
            context,
            draft,
            "visited",
            error=context.t(ERR_KEYS[value], max=dom.MAX_VISITED),
            edit=False,
        )
    draft["visited"] = value
    return await _advance(update, context, draft, edit=False)


@guard(Role.LIAISON, end_conversation=True)
async def on_findings(update: Update, context: BotContext) -> str | int | None:
    """Take what was found."""
    draft = await _typed_guard(update, context)
    if draft is None or update.effective_message is None:
        return END
    value = dom.check_findings(update.effective_message.text)
    if isinstance(value, Err):
        return await _render(
            update,
            context,
            draft,
            "findings",
            error=context.t(
                ERR_KEYS[value], max=dom.MAX_FINDINGS, n=len(update.effective_message.text or "")
            ),
            edit=False,
        )
    draft["findings"] = value
    return await _advance(update, context, draft, edit=False)


@guard(Role.LIAISON, end_conversation=True)
async def on_evidence(update: Update, context: BotContext) -> str | int | None:
    """Collect photos (up to 5), one voice note and one location."""
    draft = await _typed_guard(update, context)
    if draft is None:
        return END
    msg = update.effective_message
    assert msg is not None
    t = context.t
    if msg.photo:
        if len(draft["photos"]) >= dom.MAX_PHOTOS:
            return await _render(
                update,
                context,
                draft,
                "evidence",
                error=t(ERR_KEYS[Err.TOO_MANY_PHOTOS], max=dom.MAX_PHOTOS),
                edit=False,
            )
        big = msg.photo[-1]
        draft["photos"].append({"file_id": big.file_id, "file_unique_id": big.file_unique_id})
    elif msg.voice:
        draft["voice"] = {
            "file_id": msg.voice.file_id,
            "file_unique_id": msg.voice.file_unique_id,
            "meta": {"duration": msg.voice.duration},
        }
    elif msg.location:
        draft["location"] = {"latitude": msg.location.latitude, "longitude": msg.location.longitude}
    return await _render(update, context, draft, "evidence", error=t("report.ev.got"), edit=False)


WRONG_KEYS = {
    "visited": "report.err.number_expected",
    "findings": "report.err.text_expected",
    "evidence": "report.err.evidence_expected",
}


@guard(Role.LIAISON, end_conversation=True)
async def on_wrong(update: Update, context: BotContext) -> str | int | None:
    """Re-ask the current question after an answer of the wrong kind; keep the draft."""
    draft = await _typed_guard(update, context)
    if draft is None:
        return END
    step = draft.get("step") or "date"
    key = WRONG_KEYS.get(step, "report.err.use_buttons")
    return await _render(update, context, draft, step, error=context.t(key), edit=False)


# --- submit -------------------------------------------------------------------------------


def _files(draft: dict[str, Any]) -> list[repo.Attachment]:
    if draft.get("outcome") != Outcome.ISSUES:
        return []
    files = [
        repo.Attachment("photo", p["file_id"], p["file_unique_id"], {}) for p in draft["photos"]
    ]
    if draft.get("voice"):
        v = draft["voice"]
        files.append(
            repo.Attachment("voice", v["file_id"], v["file_unique_id"], v.get("meta") or {})
        )
    if draft.get("location"):
        files.append(repo.Attachment("location", None, None, draft["location"]))
    return files


async def _submit(update: Update, context: BotContext, draft: dict[str, Any]) -> str | int:
    deps = context.deps
    actor = context.actor
    t = context.t
    assert actor is not None
    form = dom.form_from_draft(draft)
    if isinstance(form, Err):
        return await _render(update, context, draft, "summary", error=t(ERR_KEYS[form]))
    now = deps.clock.now()
    report_id = draft.get("report_id")
    async with deps.db.transaction() as tx:
        if report_id is None:
            late = dom.is_late(form.week, now, deps.policy, deps.tz)
            report_id, created = await repo.create_report(
                tx, person=actor, form=form, late=late, now=now, files=_files(draft)
            )
            stored = created
        else:
            report = await repo.get_report(tx, report_id)
            if (
                report is None
                or not may_act_on(actor, report.township_id, report.village_id)
                or not dom.week_is_open(report.week, now, deps.tz)
            ):
                stored = False
            else:
                stored = await repo.update_report(
                    tx,
                    report_id=report_id,
                    base_version=draft["base_version"],
                    person=actor,
                    form=form,
                    now=now,
                    files=_files(draft),
                )
            created = False
        await mirror.close_draft(tx, FORM, draft["token"], "submitted", now, report_id)
        if stored:
            # Findings go to the township's commissioners with the report (issue 9).
            await findings.report_stored(deps, tx, report_id, now)
    deps.wake_outbox()
    _drop_local(context)
    report = await repo.get_report(deps.db, report_id)
    assert report is not None
    if not stored and report.person_id != actor.id and draft.get("report_id") is None:
        # Someone else of the same village was quicker: show theirs.
        await answer(
            update,
            context,
            t("report.already_by", name=report.person, at=t.datetime(report.submitted_at)),
            edit=True,
        )
        return END
    if not stored:
        await answer(update, context, t("report.not_saved"), edit=True)
        return END
    key = "report.submitted" if created else "report.updated"
    text = t(key, ref=report.reference)
    if report.late and created:
        text += "\n" + t("report.stored_late")
    rows = []
    if report.dispute and report.alert_id is None:
        text += "\n" + t("report.dispute_hint")
        rows.append([button(t("report.btn.raise_alert"), f"alert:fromreport:{report.id}")])
    await answer(update, context, text, keyboard(*rows) if rows else None, edit=True)
    return END


# --- outside the form: stale buttons (the 24 h drop: bot/reminders/drafts.py) -----------


@guard(Role.LIAISON)
async def stray_button(update: Update, context: BotContext) -> None:
    """A form button pressed when no form is open: refuse, or say it was already stored."""
    parsed = _data(context, update)
    if parsed is None:
        await refuse(update, context, "common.stale")
        return
    await _foreign_or_stale(update, context, parsed[0])


# --- wiring -------------------------------------------------------------------------------


def _buttons() -> CallbackQueryHandler:
    return CallbackQueryHandler(on_button, pattern=r"^rp:")


def _wrong() -> MessageHandler:
    return MessageHandler(~filters.COMMAND, on_wrong)


def conversation() -> ConversationHandler:
    """Return the /report conversation (see report.mmd)."""
    plain = [_buttons(), _wrong()]
    return ConversationHandler(
        entry_points=[
            CommandHandler("report", start),
            # The reminder's "Report now" button (bot/reminders/weekly.py REPORT_START).
            CallbackQueryHandler(start, pattern=f"^{REPORT_START}$"),
            CallbackQueryHandler(open_report, pattern=r"^rpo:\d+$"),
        ],
        states={
            WEEK: plain,
            DATE: plain,
            PLACES_: plain,
            VISITED: [
                _buttons(),
                MessageHandler(filters.TEXT & ~filters.COMMAND, on_visited),
                _wrong(),
            ],
            OUTCOME: plain,
            FINDINGS: [
                _buttons(),
                MessageHandler(filters.TEXT & ~filters.COMMAND, on_findings),
                _wrong(),
            ],
            UNSTABLE: plain,
            FOLLOW_UP: plain,
            DISPUTE: plain,
            EVIDENCE: [
                _buttons(),
                MessageHandler(filters.PHOTO | filters.VOICE | filters.LOCATION, on_evidence),
                _wrong(),
            ],
            SUMMARY: plain,
            EDIT: plain,
            EXISTING: plain,
        },
        fallbacks=[CommandHandler("cancel", cancel_command)],
        name="report",
        persistent=True,
        allow_reentry=True,
    )


def get_handlers() -> list[BaseHandler]:
    """Return the report conversation and the handler for stray form buttons."""
    return [
        conversation(),
        CallbackQueryHandler(stray_button, pattern=r"^rp:"),
    ]
