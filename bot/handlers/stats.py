"""/stats: figures of a period for oversight roles, with a chart.

A commissioner or leader sees their township, one line per village; a county officer sees one
line per township and taps a township to see its villages. Six period buttons (this month …
last year) or a typed range ("/stats 2026-10-01 2026-12-31"). Scope is checked on every press:
the township in a button is honoured only for the county.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot import charts
from bot.context import BotContext
from bot.domain.office import Overview
from bot.domain.people import Role
from bot.domain.periods import CHOICES, Span, choose
from bot.domain.summary import chart_data, stats_text
from bot.domain.text import split_text
from bot.forms import codec
from bot.handlers import unregistered
from bot.handlers.common import answer, button, guard, refuse
from bot.handlers.period_menu import OVERSIGHT, period_rows, remember, span_of, today, typed_span
from bot.register_io import scope_counts
from bot.storage import office as store

log = logging.getLogger(__name__)
PREFIX = "st"
TOWNSHIP_BUTTONS_PER_ROW = 3


async def _township_name(context: BotContext, township_id: int) -> str | None:
    township = await context.deps.people.township(township_id)
    return township.name if township else None


def _markup(context: BotContext, ov: Overview, township_id: int | None) -> InlineKeyboardMarkup:
    """Period buttons (keeping the township in view) and, for the county, one per township."""
    t = context.t
    rows = period_rows(t, PREFIX, str(township_id or 0))
    if township_id is None and len(ov.townships) > 1:
        towns = [button(u.name, f"{PREFIX}:{ov.span.code}:{u.id}") for u in ov.townships]
        step = TOWNSHIP_BUTTONS_PER_ROW
        rows += [towns[i : i + step] for i in range(0, len(towns), step)]
    return InlineKeyboardMarkup(rows)


async def show(
    update: Update, context: BotContext, span: Span, township_id: int | None, *, edit: bool
) -> None:
    """Send (or put in place of the pressed message) a scope's figures, then its chart."""
    deps, t, actor = context.deps, context.t, context.actor
    assert actor is not None
    if actor.role is not Role.COUNTY:
        township_id = actor.township_id
        if township_id is None:
            await refuse(update, context, "common.not_allowed")
            return
    scope = t("office.scope.county")
    if township_id is not None:
        name = await _township_name(context, township_id)
        if name is None:
            await refuse(update, context, "common.not_allowed")
            return
        scope = name
    ov = await store.overview(deps.db, deps.policy, deps.tz, span, deps.clock.now(), township_id)
    by_township = township_id is None
    text = stats_text(t, ov, scope, by_township=by_township)
    total, due = await scope_counts(deps.db, deps.policy, today(context), township_id)
    if total:
        text += "\n" + t("register.stats_due", total=total, due=due)
    markup = _markup(context, ov, township_id)
    parts = split_text(text)
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        await answer(update, context, part, markup if last else None, edit=edit and i == 0)
    await send_chart(update, context, chart_data(t, ov, scope, by_township=by_township))


async def send_chart(update: Update, context: BotContext, data: charts.ChartData) -> None:
    """Draw a chart in a worker thread and send it; nothing when no CJK font is installed."""
    font = context.deps.chart_font
    chat = update.effective_chat
    if font is None or chat is None or not data.rows:
        return
    png = await asyncio.to_thread(charts.render, data, font)
    await context.bot.send_photo(chat.id, photo=png, caption=data.title[:1024])


@guard(*OVERSIGHT)
async def stats(update: Update, context: BotContext) -> None:
    """Show this month's figures (or a typed range) with the period buttons."""
    typed, span = typed_span(context)
    if typed and span is None:
        await answer(update, context, context.t("office.range_bad"))
        return
    remember(context, "stats")
    actor = context.actor
    assert actor is not None
    # Who never bound the bot comes first, so the figures stay the last message on screen.
    await unregistered.show(update, context, actor.scope)
    await show(update, context, span or choose("this_month", today(context)), None, edit=False)


@guard(*OVERSIGHT)
async def on_button(update: Update, context: BotContext) -> None:
    """Switch the period, or (county) open one township's villages."""
    data = update.callback_query.data if update.callback_query else None
    fields = codec.split(data, PREFIX, 2)
    span = span_of(fields[0], context) if fields else None
    number = codec.parse_int(fields[1]) if fields else None
    if fields is None or span is None or number is None:
        await refuse(update, context, "common.stale")
        return
    township_id = number or None
    actor = context.actor
    assert actor is not None
    if township_id not in (None, actor.township_id) and actor.role is not Role.COUNTY:
        await refuse(update, context, "common.not_allowed")
        return
    # A township tap (a fixed period code) opens a new message; a period press replaces the
    # message pressed.
    await show(update, context, span, township_id, edit=fields[0] in CHOICES)


def get_handlers() -> list[BaseHandler]:
    """Return the /stats command and its buttons."""
    return [
        CommandHandler("stats", stats),
        CallbackQueryHandler(on_button, pattern=rf"^{PREFIX}:"),
    ]
