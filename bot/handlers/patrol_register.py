"""The register in the weekly patrol: the report form offers the village's register entries
(past their visit rhythm first, then venues, then by category) and stores the choices as visits
(a one-tap normal week: the entries the previous report visited)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from bot.config import Policy
from bot.context import BotContext
from bot.domain.people import Person
from bot.domain.register import past_rhythm
from bot.domain.report import Report
from bot.forms import Multi, parse_int
from bot.i18n import Translator
from bot.register_io import categories
from bot.storage import register as store
from bot.storage.db import Database, Tx

MAX_OFFERED = 24  # buttons on one screen of a cheap phone
NONE = "none"


async def entry_options(
    db: Database, policy: Policy, village_id: int, today: date
) -> list[tuple[str, str, bool]]:
    """Return (value, name, past its rhythm) for the village's open entries, in offer order."""
    cats = {c.code: (i, c) for i, c in enumerate(categories(policy))}
    entries = await store.village_entries(db, village_id)
    last = {k: date.fromisoformat(v) for k, v in (await store.last_visits(db, village_id)).items()}

    def due(e: store.Entry) -> bool:
        cat = cats.get(e.category)
        return past_rhythm(last.get(e.id), today, cat[1].visit_weeks if cat else None)

    def order(e: store.Entry) -> tuple[bool, bool, int, str]:
        index, cat = cats.get(e.category, (len(cats), None))
        return (not due(e), not (cat is not None and cat.is_venue), index, e.name)

    return [(f"e{e.id}", e.name, due(e)) for e in sorted(entries, key=order)][:MAX_OFFERED]


def _options(context: BotContext, draft: Any) -> list[tuple[str, str]]:
    t = context.t
    return [
        (value, t("register.due_mark", name=name) if due else name)
        for value, name, due in draft.entry_options
    ]


def _none(context: BotContext, draft: Any, value: str) -> None:
    draft.entries = []


def _ask(context: BotContext, draft: Any) -> str:
    due = [name for _, name, late in draft.entry_options if late]
    text = context.t("register.ask_entries")
    if due:
        text += "\n" + context.t("register.due_hint", names=context.t("common.list_sep").join(due))
    return text


def step() -> Multi:
    """Return the report form's step "which register entries did you visit"."""
    return Multi(
        name="entries",
        ask=_ask,
        options=_options,
        quick=lambda c, d: [(NONE, c.t("register.btn.no_entries"))],
        apply=_none,
        when=lambda d: bool(d.entry_options),
        done_label="report.btn.done",
        empty="register.err.no_entries",
        label="register.f.entries",
    )


def summary_line(t: Translator, draft: Any) -> str | None:
    """Return the summary's line of visited entries (None when the step did not apply)."""
    if not draft.entry_options or draft.entries is None:
        return None
    names = {value: name for value, name, _ in draft.entry_options}
    chosen = [names[v] for v in draft.entries if v in names]
    return t("register.sum.entries", names=t("common.list_sep").join(chosen) or "—")


def _ids(values: list[str]) -> list[int]:
    found = [parse_int(v[1:]) for v in values if v.startswith("e")]
    return [i for i in found if i is not None]


async def record(tx: Tx, draft: Any, report: Report, actor: Person, now: datetime) -> None:
    """Store the entries chosen in the form as visits of the report (an edit replaces them)."""
    if draft.entries is None or actor.village_id is None:
        return
    await store.record_visits(
        tx,
        _ids(draft.entries),
        village_id=actor.village_id,
        report_id=report.id,
        person_id=actor.id,
        week=report.week,
        visited_on=report.patrol_date,
        now=now,
    )
