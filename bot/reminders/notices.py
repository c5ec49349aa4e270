"""Notices through the outbox: cards with ✅ 收到, the sender's live copy, reminders, deadlines.

Due work (every tick, derived from the stored notices): halfway to a notice's deadline the
unconfirmed get one reminder (notice-half:{id}); at the deadline the sender gets the list of
who never confirmed (notice-deadline:{id}). Quiet hours hold both: the tick waits until they
end. Recipients on approved leave get no reminder.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.domain import notice as dom
from bot.domain.calendar import end_of_quiet, in_quiet_hours
from bot.domain.leave import Leave
from bot.domain.notice import Notice
from bot.domain.people import Person
from bot.domain.vocab import day_month
from bot.i18n import Translator
from bot.notify import notify, refresh_copies
from bot.reminders.scheduler import Scheduler, Tick
from bot.storage import leave as leave_store
from bot.storage import notices as store
from bot.storage.db import Tx
from bot.storage.jobs import claim_run
from bot.storage.outbox import Lane, enqueue

if TYPE_CHECKING:
    from bot.deps import Deps

COPY = "notice_copy"  # ref_kind of the sender's copy (edited as confirmations come in)
CARD = "notice_card"
REMINDER = "notice_reminder"
# Deadlines further back than this are not looked at any more (their work is long done).
LOOK_BACK = timedelta(days=7)


def card_markup(t: Translator, n: Notice, confirmed_at: datetime | None) -> dict[str, Any]:
    """Return a recipient's buttons: ✅ 收到 (or 已确认 HH:MM), and 回复 where allowed."""
    if confirmed_at is None:
        first = {"text": t("notice.btn.confirm"), "callback_data": f"nt:ok:{n.id}"}
    else:
        first = {
            "text": t("notice.btn.confirmed", at=t.time(confirmed_at)),
            "callback_data": f"nt:okd:{n.id}",
        }
    rows = [[first]]
    if n.replies:
        rows.append([{"text": t("notice.btn.reply"), "callback_data": f"nt:re:{n.id}"}])
    return {"inline_keyboard": rows}


def copy_markup(t: Translator, n: Notice) -> dict[str, Any]:
    """Return the sender's buttons: who has not confirmed, remind them, the timeline."""
    rows = []
    if n.confirmed < n.total:
        rows.append(
            [
                {
                    "text": t("notice.btn.who", n=n.total - n.confirmed),
                    "callback_data": f"nt:who:{n.id}",
                },
                {"text": t("notice.btn.remind"), "callback_data": f"nt:rem:{n.id}"},
            ]
        )
    rows.append([{"text": t("notice.btn.timeline"), "callback_data": f"nt:tl:{n.id}"}])
    return {"inline_keyboard": rows}


def copy_payload(t: Translator, n: Notice, townships: list[str]) -> dict[str, Any]:
    """Return the sender's copy as it stands."""
    return {"text": dom.render_sender_copy(t, n, townships), "reply_markup": copy_markup(t, n)}


async def deliver(deps: Deps, tx: Tx, notice_id: int, now: datetime) -> None:
    """Queue the notice to every recipient (card, then its files) and the sender's copy."""
    n = await store.get_notice(tx, notice_id)
    assert n is not None
    files = await store.files_of(tx, "notice", notice_id)
    sent = await notify(
        deps,
        tx,
        now,
        await store.unconfirmed(tx, notice_id),
        lambda t, _p: {
            "text": dom.render_card(t, n, len(files)),
            "reply_markup": card_markup(t, n, None),
        },
        key=lambda p: f"notice:{n.id}:card:{p.id}",
        ref_kind=CARD,
        ref_id=n.id,
        lane=Lane.BULK,  # a fan-out: alerts go first
    )
    for s in sent:
        await send_files(tx, now, s.person, files, n.ref, f"notice:{n.id}:f:{s.person.id}")
    sender = await deps.people.get(n.sender_id, tx=tx)
    names = await store.township_names(tx, n.townships)
    await notify(
        deps,
        tx,
        now,
        [sender] if sender else [],
        lambda t, _p: copy_payload(t, n, names),
        key=lambda p: f"notice:{n.id}:copy",
        ref_kind=COPY,
        ref_id=n.id,
    )


async def send_files(
    tx: Tx, now: datetime, person: Person, files: list[dom.NoticeFile], caption: str, key: str
) -> None:
    """Queue photos and documents to one person, each captioned with what they belong to."""
    assert person.telegram_id is not None
    for i, f in enumerate(files):
        method, field = (
            ("sendPhoto", "photo") if f.kind == "photo" else ("sendDocument", "document")
        )
        await enqueue(
            tx,
            now,
            chat_id=person.telegram_id,
            person_id=person.id,
            method=method,
            payload={field: f.file_id, "caption": caption},
            dedup_key=f"{key}:{i}",
        )


async def refresh_copy(deps: Deps, tx: Tx, notice_id: int, now: datetime) -> None:
    """Bring the sender's copy to the current count (edit if sent, rewrite if still queued)."""
    n = await store.get_notice(tx, notice_id)
    assert n is not None

    names = await store.township_names(tx, n.townships)
    await refresh_copies(deps, tx, now, COPY, notice_id, lambda t, _p: copy_payload(t, n, names))


async def remind(deps: Deps, tx: Tx, n: Notice, now: datetime, *, by: int | None, key: str) -> int:
    """Queue one reminder to each unconfirmed recipient not on leave; return how many."""
    today = now.astimezone(deps.tz).date()
    away = await leave_store.on_leave(tx, today)
    send_at = end_of_quiet(now, deps.policy.quiet_hours, deps.tz)
    head = n.body.splitlines()[0][:60]

    def render(t: Translator, _person: Person) -> dict[str, Any]:
        text = t("notice.reminder", ref=n.ref, sender=n.sender, head=head)
        if n.deadline is not None:
            text += "\n" + t("notice.card.deadline", at=t.datetime(n.deadline))
        return {"text": text, "reply_markup": card_markup(t, n, None)}

    people = [p for p in await store.unconfirmed(tx, n.id) if p.id not in away]
    sent = await notify(
        deps,
        tx,
        now,
        people,
        render,
        key=lambda p: f"{key}:{p.id}",
        ref_kind=REMINDER,
        ref_id=n.id,
        not_before=send_at,
        lane=Lane.BULK,  # a fan-out: alerts go first
    )
    count = len(sent)
    if count or by is not None:  # a half-time pass with nobody left to remind stays quiet
        await store.add_event(tx, n.id, now, "reminded", by, {"n": count, "auto": by is None})
    return count


async def cancel_reminders(tx: Tx, notice_id: int, person_id: int) -> None:
    """Drop reminders still waiting for someone who has just confirmed."""
    await store.cancel_waiting(tx, REMINDER, notice_id, person_id)


async def deliver_reply(
    deps: Deps,
    tx: Tx,
    n: Notice,
    author: Person,
    event_id: int,
    text: str,
    files: list[dom.NoticeFile],
    now: datetime,
) -> None:
    """Queue a recipient's reply (and its files) to the notice's sender."""
    sender = await deps.people.get(n.sender_id, tx=tx)

    def render(t: Translator, _person: Person) -> str:
        body = t(
            "notice.reply_to_sender",
            ref=n.ref,
            name=author.name,
            place=author.place(),
            phone=author.phone or "—",
            text=text,
        )
        return body + ("\n" + t("notice.card.files", n=len(files)) if files else "")

    sent = await notify(
        deps,
        tx,
        now,
        [sender] if sender else [],
        render,
        key=lambda p: f"notice-reply:{event_id}",
        ref_kind="notice_reply",
        ref_id=n.id,
    )
    caption = f"{n.ref} · {author.name}"
    for s in sent:
        await send_files(tx, now, s.person, files, caption, f"notice-reply:{event_id}:f")


def render_people(
    t: Translator, people: list[Person], away: dict[int, Leave] | None = None
) -> list[str]:
    """Return one line per person: name, place, phone, and 请假（至…） for those on leave."""
    lines = []
    for p in people:
        line = t("notice.person_line", name=p.name, place=p.place(), phone=p.phone or "—")
        if away and p.id in away:
            line += " " + t("leave.mark", end=day_month(t, away[p.id].end))
        lines.append(line)
    return lines


async def notice_deadlines(tick: Tick) -> None:
    """Send half-time reminders and deadline lists that are due (held by quiet hours)."""
    deps, now = tick.deps, tick.now
    if in_quiet_hours(now, deps.policy.quiet_hours, deps.tz):
        return  # held: the first tick after the quiet hours does it
    for n in await store.with_deadline_since(deps.db, now - LOOK_BACK):
        assert n.deadline is not None
        if dom.half_time(n.created_at, n.deadline) <= now < n.deadline:
            async with deps.db.transaction() as tx:
                if await claim_run(tx, f"notice-half:{n.id}", now):
                    await remind(deps, tx, n, now, by=None, key=f"notice-half:{n.id}")
        if now >= n.deadline:
            async with deps.db.transaction() as tx:
                if await claim_run(tx, f"notice-deadline:{n.id}", now):
                    await _deadline_list(deps, tx, n, now)


async def _deadline_list(deps: Deps, tx: Tx, n: Notice, now: datetime) -> None:
    """Tell the sender who never confirmed by the deadline."""
    assert n.deadline is not None
    missing = await store.unconfirmed(tx, n.id, as_of=n.deadline)
    await store.add_event(tx, n.id, now, "deadline", None, {"missing": len(missing)})
    sender = await deps.people.get(n.sender_id, tx=tx)
    away = await leave_store.on_leave(tx, n.deadline.astimezone(deps.tz).date())

    def render(t: Translator, _person: Person) -> str:
        if not missing:
            return t("notice.deadline_all", ref=n.ref, total=n.total)
        head = t("notice.deadline_list", ref=n.ref, n=len(missing), total=n.total)
        return "\n".join([head, *render_people(t, missing, away)])

    await notify(
        deps,
        tx,
        now,
        [sender] if sender else [],
        render,
        key=lambda p: f"notice-deadline:{n.id}",
        ref_kind="notice_deadline",
        ref_id=n.id,
    )


def register(scheduler: Scheduler) -> None:
    """Plug the notices' due work into the scheduler."""
    scheduler.register("notice-deadlines", notice_deadlines)
