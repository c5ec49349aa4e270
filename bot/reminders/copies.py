"""Bring every copy of a message about one record to its current form."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.i18n import Translator
from bot.storage.db import Tx
from bot.storage.outbox import enqueue

if TYPE_CHECKING:
    from bot.deps import Deps

Render = Callable[[Translator], Awaitable[dict[str, Any]]]


async def update_copies(
    deps: Deps, tx: Tx, ref_kind: str, ref_id: int, now: datetime, render: Render
) -> None:
    """Edit delivered copies and rewrite queued ones (each in its reader's language)."""
    for sent in await deps.outbox.for_ref(ref_kind, ref_id, tx=tx):
        person = await deps.people.get(sent.person_id, tx=tx) if sent.person_id else None
        if person is None:
            continue
        payload = await render(deps.i18n.for_person(person))
        if sent.state == "pending":
            await deps.outbox.rewrite_pending(tx, sent.outbox_id, payload)
        elif sent.message_id is not None:
            edit = {"message_id": sent.message_id, **payload}
            # An edit still waiting for this copy is brought up to date instead of queueing
            # another: a burst of confirmations costs one edit, not one each.
            waiting = [
                e
                for e in await deps.outbox.for_ref(f"{ref_kind}_edit", ref_id, tx=tx)
                if e.state == "pending" and e.chat_id == sent.chat_id
            ]
            if waiting and await deps.outbox.rewrite_pending(tx, waiting[-1].outbox_id, edit):
                continue
            await enqueue(
                tx,
                now,
                chat_id=sent.chat_id,
                person_id=person.id,
                method="editMessageText",
                payload=edit,
                ref_kind=f"{ref_kind}_edit",
                ref_id=ref_id,
            )
