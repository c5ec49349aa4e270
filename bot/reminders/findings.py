"""A weekly report with findings reaches the township's commissioners, evidence and all.

Called in the transaction that stores the report (or its edit): the card, its evidence as
replies, and later the refreshed copies (read by whom, followed up) all go through the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.domain.people import Person, Role
from bot.domain.report import Outcome, Report
from bot.i18n import Translator
from bot.notify import notify, refresh_copies, send_evidence
from bot.storage import followups as store
from bot.storage import reports as reports_repo
from bot.storage.db import Tx
from bot.views import report as view
from bot.views.evidence import Evidence

if TYPE_CHECKING:
    from bot.deps import Deps

REF_KIND = "report"


@dataclass(frozen=True)
class Loaded:
    """A report with everything its card shows."""

    report: Report
    evidence: Evidence
    phone: str | None
    reads: list[store.Mark]
    followup: store.Mark | None
    versions: list[tuple[int, str, datetime]]  # (version, by whom, when), for the history

    def payload(self, t: Translator) -> dict[str, Any]:
        """Return the card and its buttons as an outbox payload."""
        text = view.report_card(
            t,
            self.report,
            phone=self.phone,
            evidence=self.evidence,
            reads=self.reads,
            followup=self.followup,
        )
        history = view.history_lines(t, self.versions)
        if history:
            text += "\n" + "\n".join(history)
        return {
            "text": text,
            "reply_markup": view.card_markup(t, self.report, self.followup is not None),
        }


async def load(deps: Deps, src: Any, report_id: int) -> Loaded | None:
    """Return a report with its evidence, liaison phone, reads and follow-up."""
    report = await reports_repo.get_report(src, report_id)
    if report is None:
        return None
    files = await reports_repo.attachments(src, report_id)
    tx = src if isinstance(src, Tx) else None
    liaison = await deps.people.get(report.person_id, tx=tx)
    versions = []
    for version, person_id, at, _snapshot in await reports_repo.history(src, report_id):
        editor = await deps.people.get(person_id, tx=tx)
        versions.append((version, editor.name if editor else "—", at))
    return Loaded(
        report,
        view.report_evidence(report, files),
        liaison.phone if liaison else None,
        await store.reads(src, report_id),
        await store.followup(src, report_id),
        versions,
    )


async def recipients(deps: Deps, tx: Tx, township_id: int) -> list[Person]:
    """Return the township's commissioners the bot can reach; with none, the leaders, then
    the county (like an alert's levels, findings never go to nobody)."""
    for role in (Role.COMMISSIONER, Role.LEADER, Role.COUNTY):
        people = [
            p for p in await deps.people.in_township(township_id, (role,), tx=tx) if p.telegram_id
        ]
        blocked = await deps.people.blocked([p.id for p in people], tx=tx)
        if reachable := [p for p in people if p.id not in blocked]:
            return reachable
    return []


async def report_stored(deps: Deps, tx: Tx, report_id: int, now: datetime) -> None:
    """After a report is stored or edited: a report with issues goes to the commissioners at
    once (once per person, evidence as replies); copies already sent show the new version."""
    loaded = await load(deps, tx, report_id)
    if loaded is None:
        return
    await refresh(deps, tx, report_id, now, loaded)
    if loaded.report.outcome is not Outcome.ISSUES:
        return
    sent = await notify(
        deps,
        tx,
        now,
        await recipients(deps, tx, loaded.report.township_id),
        lambda t, _p: loaded.payload(t),
        key=lambda p: f"report:{report_id}:card:{p.id}",
        ref_kind=REF_KIND,
        ref_id=report_id,
    )
    await send_evidence(deps, tx, now, sent, loaded.evidence, f"report:{report_id}:ev")


async def refresh(
    deps: Deps, tx: Tx, report_id: int, now: datetime, loaded: Loaded | None = None
) -> None:
    """Bring every copy of a report's card to its current state (edit sent, rewrite queued)."""
    loaded = loaded or await load(deps, tx, report_id)
    if loaded is not None:
        await refresh_copies(deps, tx, now, REF_KIND, report_id, lambda t, _p: loaded.payload(t))
