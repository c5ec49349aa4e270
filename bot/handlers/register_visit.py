"""A holiday visit (重大节庆走访慰问) to a register entry, recorded by an officer from the
entry's card: a one-note form on the runtime (register_visit.mmd is generated from it)."""

from __future__ import annotations

from pydantic import BaseModel
from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.context import BotContext
from bot.forms import END, Done, Form, Stay, Summary, Text
from bot.handlers.common import may_act_on, refuse, safe_answer_query
from bot.handlers.register_search import OFFICERS, entry_in_scope
from bot.storage import register as store
from bot.storage.db import Tx
from bot.views.register import FORM_KEYS, text_answer


class VisitDraft(BaseModel):
    """A holiday visit being recorded."""

    entry_id: int = 0
    entry: str = ""
    note: str | None = None


def _summary(context: BotContext, draft: VisitDraft) -> str:
    return context.t("register.visit_sum", entry=draft.entry, note=draft.note or "—")


async def _submit(context: BotContext, draft: VisitDraft, tx: Tx) -> Done | Stay:
    deps, actor, t = context.deps, context.actor, context.t
    entry = await store.entry(deps.db, draft.entry_id)
    if entry is None or not may_act_on(actor, entry.township_id, entry.village_id):
        return Done(None, t("common.not_allowed"))
    assert actor is not None
    now = deps.clock.now()
    await store.record_visits(
        tx,
        [entry.id],
        village_id=entry.village_id,
        report_id=None,
        person_id=actor.id,
        week=None,
        visited_on=now.astimezone(deps.tz).date(),
        now=now,
        kind="holiday",
        note=draft.note,
    )
    return Done(entry.id, t("register.visit_recorded", entry=entry.name))


VISIT = Form(
    name="register_visit",
    prefix="rgv",
    model=VisitDraft,
    roles=OFFICERS,
    steps=[Text("note", "register.ask.note", text_answer, label="register.f.note")],
    summary=Summary(render=_summary, edit=("note",)),
    submit=_submit,
    keys=FORM_KEYS,
)


async def on_holiday(update: Update, context: BotContext) -> object:
    """🎉 Record a holiday visit to an open entry of one's scope."""
    entry = await entry_in_scope(update, context, "hv")
    if entry is None:
        return END
    if not entry.is_open:
        await refuse(update, context, "common.not_allowed")
        return END
    await safe_answer_query(update.callback_query)
    return await VISIT.begin(update, context, VisitDraft(entry_id=entry.id, entry=entry.name))


def get_handlers() -> list[BaseHandler]:
    """Return the holiday-visit form (its entry: the card's 🎉 button)."""
    return [
        VISIT.conversation([CallbackQueryHandler(VISIT.guarded(on_holiday), pattern=r"^rg:hv:")])
    ]
