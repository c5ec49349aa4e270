"""/register for officers: search the register within one's scope (`/register 观音`, or a
category's name), open an entry's card (fields, last visits, open changes) with its holiday
visit button (bot/handlers/register_visit.py). Every search and opening goes to the audit table.
"""

from __future__ import annotations

from datetime import date

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.context import BotContext
from bot.domain.people import Person, Role
from bot.domain.register import field_name, headings
from bot.domain.vocab import day_month
from bot.forms import codec
from bot.handlers.common import (
    answer,
    button,
    guard,
    keyboard,
    may_act_on,
    refuse,
    safe_answer_query,
)
from bot.storage import register as store
from bot.views.register import MAX_SHOWN, MAX_TEXT, cat_name, cats

OFFICERS = (Role.COMMISSIONER, Role.LEADER, Role.COUNTY)


async def search(update: Update, context: BotContext, actor: Person, query: str) -> None:
    """Answer an officer's /register: the matches of `query`, or how to search."""
    t, deps = context.t, context.deps
    pending = []
    if actor.role is Role.COMMISSIONER and actor.township_id is not None:
        pending = await store.pending_changes(deps.db, actor.township_id)
    if not query:
        lines = [t("register.search_help")]
        if pending:
            lines.append(t("register.pending", count=len(pending)))
        rows = [[button(t("register.btn.pending"), "rg:pend")]] if pending else []
        await answer(update, context, "\n".join(lines), keyboard(*rows))
        return
    # A category's name (in any language) lists that category; anything else is matched
    # against names, phones, fields and villages.
    category = headings(list(cats(deps.policy).values()), deps.i18n.all()).category(query)
    scope = actor.scope
    found, total = await store.search(
        deps.db, "" if category else query[:MAX_TEXT], township_id=scope, category=category
    )
    await store.audit(
        deps.db,
        person_id=actor.id,
        action="search",
        query=query[:MAX_TEXT],
        results=total,
        now=deps.clock.now(),
    )
    if not found:
        await answer(update, context, t("register.no_match", query=query[:50]))
        return
    lines = [t("register.found", count=total, shown=min(total, MAX_SHOWN))]
    rows = []
    for e in found[:MAX_SHOWN]:
        label = f"{e.village} · {e.name}"
        category_text = cat_name(deps.policy, t, e.category)
        lines.append(t("register.found_line", entry=label, category=category_text))
        rows.append([button(label[:40], f"rg:open:{e.id}")])
    await answer(update, context, "\n".join(lines), keyboard(*rows))


async def _card(context: BotContext, entry: store.Entry) -> str:
    t, deps = context.t, context.deps
    cat = cats(deps.policy).get(entry.category)
    lines = [
        t("register.card_head", name=entry.name, category=cat_name(deps.policy, t, entry.category)),
        t("register.card_place", township=entry.township, village=entry.village),
    ]
    for code, value in entry.fields.items():
        lines.append(t("register.card_field", field=field_name(cat, code, t), value=value))
    if not entry.is_open:
        lines.append(t("register.card_closed", reason=entry.close_reason or "—"))
    visits = await store.visits(deps.db, entry.id)
    if visits:
        lines.append(t("register.card_visits"))
        for v in visits:
            kind = t("register.visit_holiday") if v["kind"] == "holiday" else ""
            lines.append(
                t(
                    "register.visit_line",
                    date=day_month(t, date.fromisoformat(v["visited_on"])),
                    who=v["who"] or "",
                    kind=kind,
                    note=v["note"] or "",
                )
            )
    else:
        lines.append(t("register.never_visited"))
    open_changes = [
        c
        for c in await store.pending_changes(deps.db, entry.township_id)
        if c["entry_id"] == entry.id
    ]
    if open_changes:
        lines.append(t("register.card_changes", count=len(open_changes)))
    return "\n".join(lines)


async def entry_in_scope(update: Update, context: BotContext, tag: str) -> store.Entry | None:
    """Load the entry a pressed "rg:<tag>:<id>" names; refuse it when forged or out of scope."""
    found = codec.ids(update.callback_query.data if update.callback_query else None, "rg", tag)
    entry = await store.entry(context.deps.db, found[0]) if found else None
    if entry is None or not may_act_on(context.actor, entry.township_id, entry.village_id):
        await refuse(update, context, "common.not_allowed")
        return None
    return entry


@guard(*OFFICERS)
async def on_open(update: Update, context: BotContext) -> None:
    """Open an entry's card from search results."""
    deps, actor = context.deps, context.actor
    assert actor is not None
    entry = await entry_in_scope(update, context, "open")
    if entry is None:
        return
    await store.audit(
        deps.db,
        person_id=actor.id,
        action="open",
        query=str(entry.id),
        results=1,
        now=deps.clock.now(),
    )
    await safe_answer_query(update.callback_query)
    markup = keyboard([button(context.t("register.btn.holiday"), f"rg:hv:{entry.id}")])
    await answer(update, context, await _card(context, entry), markup if entry.is_open else None)


def get_handlers() -> list[BaseHandler]:
    """Return the button that opens an entry's card."""
    return [CallbackQueryHandler(on_open, pattern=r"^rg:open:")]
