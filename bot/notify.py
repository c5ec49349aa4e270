"""One way to tell people something: a translator per recipient, a payload, a key, the outbox.

Everything runs inside the caller's transaction and only writes outbox rows, so a change and
the messages it causes commit together. Evidence follows its card as replies to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.domain.people import Person
from bot.i18n import Translator
from bot.storage.db import Tx
from bot.storage.outbox import REPLY_TO_ROW, Lane, enqueue
from bot.views.evidence import Evidence, evidence_messages

if TYPE_CHECKING:
    from bot.deps import Deps

# What a recipient gets: a whole payload, or just a text.
Render = Callable[[Translator, Person], dict[str, Any] | str]
EVIDENCE = "evidence"


@dataclass(frozen=True)
class Sent:
    """One recipient told, with the outbox rows of their message (the last one has buttons)."""

    person: Person
    rows: list[int]


async def notify(
    deps: Deps,
    tx: Tx,
    now: datetime,
    people: Iterable[Person],
    render: Render,
    *,
    key: Callable[[Person], str | None] | None = None,
    ref_kind: str | None = None,
    ref_id: int | None = None,
    not_before: datetime | None = None,
    lane: Lane = Lane.NORMAL,
) -> list[Sent]:
    """Queue one message per bound person (once per person); return who got a new one.

    `key(person)` is the idempotency key: a key used before makes that person a no-op.
    """
    sent: list[Sent] = []
    seen: set[int] = set()
    for person in people:
        if person.telegram_id is None or person.id in seen:
            continue
        seen.add(person.id)
        payload = render(deps.i18n.for_person(person), person)
        rows = await enqueue(
            tx,
            now,
            chat_id=person.telegram_id,
            person_id=person.id,
            payload={"text": payload} if isinstance(payload, str) else payload,
            dedup_key=key(person) if key else None,
            not_before=not_before,
            ref_kind=ref_kind,
            ref_id=ref_id,
            lane=lane,
        )
        if rows:
            sent.append(Sent(person, rows))
    return sent


async def send_evidence(
    deps: Deps,
    tx: Tx,
    now: datetime,
    sent: Iterable[Sent],
    evidence: Evidence,
    key: str,
    lane: Lane = Lane.NORMAL,
) -> None:
    """Queue the evidence after each card just sent, as replies to it (key: per record)."""
    if not evidence:
        return
    for s in sent:
        assert s.person.telegram_id is not None
        t = deps.i18n.for_person(s.person)
        for i, (method, payload) in enumerate(evidence_messages(t, evidence)):
            await enqueue(
                tx,
                now,
                chat_id=s.person.telegram_id,
                person_id=s.person.id,
                method=method,
                payload={**payload, REPLY_TO_ROW: s.rows[0]},
                dedup_key=f"{key}:{s.person.id}:{i}",
                ref_kind=EVIDENCE,
                lane=lane,
            )


async def refresh_copies(
    deps: Deps, tx: Tx, now: datetime, ref_kind: str, ref_id: int, render: Render
) -> None:
    """Bring every copy of a record's message to its current form: copies already delivered
    are edited, copies still queued (an outage, quiet hours) are rewritten before they go."""
    for sent in await deps.outbox.for_ref(ref_kind, ref_id, tx=tx):
        if sent.person_id is None:
            continue
        person = await deps.people.get(sent.person_id, tx=tx)
        if person is None:
            continue
        payload = render(deps.i18n.for_person(person), person)
        payload = {"text": payload} if isinstance(payload, str) else payload
        if sent.state == "pending":
            await deps.outbox.rewrite_pending(tx, sent.outbox_id, payload)
        elif sent.message_id is not None:
            edit = {"message_id": sent.message_id, **payload}
            # An edit still waiting for this copy is brought up to date instead of queueing
            # another: a burst of changes (confirmations of a notice) costs one edit.
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
