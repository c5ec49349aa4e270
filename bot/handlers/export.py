"""/export: the office's data of a period as one .xlsx file, in a private chat only.

Commissioners and leaders get their township, county officers every township. The file holds
names and phone numbers, so the scope comes from the roster (never from the button) and every
export is written to the audit table before the file is sent. The file is built in the
background (a county year takes seconds), so other people's updates do not wait behind it.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import BotContext
from bot.deps import Deps
from bot.domain.people import Person, Role
from bot.domain.periods import Span
from bot.domain.summary import period_label
from bot.forms import codec
from bot.handlers import stats
from bot.handlers.common import answer, guard, refuse
from bot.handlers.period_menu import (
    OVERSIGHT,
    RANGE_PATTERN,
    period_rows,
    range_target,
    remember,
    span_of,
    typed_span,
)
from bot.i18n import Translator
from bot.storage import office as store

log = logging.getLogger(__name__)
PREFIX = "ex"
TASK_PREFIX = "export:"  # name of the background task building a file (tests wait for it)


@guard(*OVERSIGHT)
async def export_command(update: Update, context: BotContext) -> None:
    """Offer the periods (or export a typed range at once)."""
    typed, span = typed_span(context)
    if typed and span is None:
        await answer(update, context, context.t("office.range_bad"))
        return
    if span is not None:
        await start_export(update, context, span)
        return
    remember(context, "export")
    t = context.t
    await answer(
        update, context, t("office.export.choose"), InlineKeyboardMarkup(period_rows(t, PREFIX))
    )


@guard(*OVERSIGHT)
async def on_button(update: Update, context: BotContext) -> None:
    """Export the period pressed."""
    data = update.callback_query.data if update.callback_query else None
    fields = codec.split(data, PREFIX, 1)
    span = span_of(fields[0], context) if fields else None
    if span is None:
        await refuse(update, context, "common.stale")
        return
    await start_export(update, context, span)


@guard(*OVERSIGHT)
async def on_range(update: Update, context: BotContext) -> None:
    """A typed range answers the last of /stats or /export shown."""
    target, span = range_target(update, context)
    if span is None:
        await answer(update, context, context.t("office.range_bad"))
        return
    if target == "stats":
        await stats.show(update, context, span, None, edit=False)
    else:
        await start_export(update, context, span)


async def start_export(update: Update, context: BotContext, span: Span) -> None:
    """Check the scope, say the file is coming, and build it in the background."""
    actor, t, chat = context.actor, context.t, update.effective_chat
    assert actor is not None and chat is not None
    township_id = actor.scope
    if actor.role is not Role.COUNTY and township_id is None:
        await refuse(update, context, "common.not_allowed")
        return
    scope = "" if township_id is None else (actor.township or "")
    await answer(
        update,
        context,
        t(
            "office.export.preparing",
            scope=scope or t("office.scope.county"),
            period=period_label(t, span),
        ),
    )
    context.application.create_task(
        _build_and_send(context, actor, chat.id, t, span, township_id, scope),
        update=update,
        name=f"{TASK_PREFIX}{actor.id}",
    )


async def _build_and_send(
    context: BotContext,
    actor: Person,
    chat_id: int,
    t: Translator,
    span: Span,
    township_id: int | None,
    scope: str,
) -> None:
    deps: Deps = context.deps
    now = deps.clock.now()
    # The export code (and its xlsx writer) loads on first use, not at start-up.
    from bot import export

    data = await export.collect(deps.db, deps.policy, deps.tz, span, now, township_id, scope)
    content = await asyncio.to_thread(export.render, data, t, "xlsx")
    async with deps.db.transaction() as tx:
        await store.record_export(
            tx,
            now,
            store.ExportRecord(actor.id, "bot", township_id, span, "xlsx", data.rows),
        )
    log.info(
        "export by person %s: township %s, %s to %s, %d rows",
        actor.id,
        township_id or "all",
        span.start,
        span.last,
        data.rows,
    )
    await context.bot.send_document(
        chat_id,
        document=content,
        filename=export.file_name(t, data, "xlsx"),
        caption=t("office.export.caption", rows=data.rows),
    )


def get_handlers() -> list[BaseHandler]:
    """Return /export, its buttons, and the typed-range message (for /stats and /export)."""
    return [
        CommandHandler("export", export_command),
        CallbackQueryHandler(on_button, pattern=rf"^{PREFIX}:"),
        MessageHandler(
            filters.ChatType.PRIVATE & filters.Regex(RANGE_PATTERN),
            on_range,
        ),
    ]
