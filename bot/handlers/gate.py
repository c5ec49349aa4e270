"""The door: what strangers and unbound groups may cost us, and texts we cannot store.

Anyone can add the bot to a group and flood it with commands; anyone can write to it. Such
traffic gets at most one answer per chat per minute, so it can never fill Telegram's limits
(20 messages a minute per group) or our queue. People on the roster are not limited, except
in groups that are not a township's bound group, where only /bindgroup always gets through.
A stranger's /start with an invite code is always read (it is how people join; failed codes
have their own limit in the roster).

A text with a lone surrogate (a broken UTF-16 pair some clients send) cannot be stored in
SQLite's UTF-8: it is refused with an answer before any form sees it, so nothing half-stores.
"""

from __future__ import annotations

import re

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop, BaseHandler, TypeHandler

from bot.context import BotContext
from bot.handlers.common import answer
from bot.storage.digest import groups_of_chat

_GROUPS = (ChatType.GROUP, ChatType.SUPERGROUP)
_ALWAYS_IN_UNBOUND_GROUPS = re.compile(r"^/bindgroup(@\w+)?(\s|$)")
_START_WITH_CODE = re.compile(r"^/start(@\w+)?\s+\S")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def has_lone_surrogate(text: str | None) -> bool:
    """Return whether a text holds a code point UTF-8 cannot encode."""
    return bool(text) and _LONE_SURROGATE.search(text) is not None  # type: ignore[arg-type]


async def door(update: object, context: BotContext) -> None:
    """Stop what a stranger or an unbound group may not cost, and unstorable texts."""
    if not isinstance(update, Update):
        return
    chat = update.effective_chat
    if chat is None or not (update.message or update.callback_query):
        return  # membership changes and the like always go through
    message = update.message
    text = (message.text or message.caption) if message else None
    limited = context.actor is None
    if chat.type in _GROUPS and not (text and _ALWAYS_IN_UNBOUND_GROUPS.match(text)):
        limited = limited or not await groups_of_chat(context.deps.db, chat.id)
    if limited and chat.type == ChatType.PRIVATE and text and _START_WITH_CODE.match(text):
        limited = False
    if limited and not context.deps.answer_budget.take(chat.id, context.deps.clock.now()):
        raise ApplicationHandlerStop
    if has_lone_surrogate(text):
        await answer(update, context, context.t("reliability.unreadable_text"))
        raise ApplicationHandlerStop


def door_handler() -> BaseHandler:
    """Return the handler that runs the door right after the actor is known."""
    return TypeHandler(Update, door)
