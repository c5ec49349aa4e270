"""Due work: drop drafts of every form idle for 24 h and tell their owners, once.

Each draft is one form_drafts row (bot/storage/drafts.py); here it is closed as 'dropped' and
the form's own notice is queued in the same transaction (dedup key per draft). The runtime
(bot/forms/) answers the next press or message of a swept draft once, without a second notice.
"""

from __future__ import annotations

from bot.domain.forms import DRAFT_IDLE
from bot.reminders.scheduler import Scheduler, Tick
from bot.storage import drafts as repo
from bot.storage.outbox import Lane, enqueue


async def drop_stale_drafts(tick: Tick, notices: dict[str, str]) -> None:
    """Drop open drafts idle for 24 h and queue each owner's notice (once).

    `notices`: the locale key of each form's notice (bot/forms/registry.py dropped_notices).
    """
    deps = tick.deps
    for row in await repo.stale_drafts(deps.db, tick.now - DRAFT_IDLE):
        key = notices.get(row.form)
        person = await deps.people.get(row.person_id)
        if key is None or person is None:
            continue
        t = deps.i18n.for_person(person)
        async with deps.db.transaction() as tx:
            if await repo.close_draft(tx, row.form, row.token, "dropped", tick.now):
                await enqueue(
                    tx,
                    tick.now,
                    chat_id=row.chat_id,
                    person_id=person.id,
                    payload={"text": t(key)},
                    dedup_key=f"{row.form}:drop:{row.token}",
                    ref_kind=f"{row.form}_draft",
                    lane=Lane.BULK,
                )


def register(scheduler: Scheduler, notices: dict[str, str]) -> None:
    """Register the 24 h idle-draft drop with the scheduler."""
    scheduler.register("form_drafts", lambda tick: drop_stale_drafts(tick, notices))
