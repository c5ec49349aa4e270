"""The one global error handler: log with context (never report contents), tell the user."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.context import BotContext

log = logging.getLogger("bot.errors")

# Known harmless Telegram errors, by message: swallowed after a debug line.
_HARMLESS = ("message is not modified", "query is too old", "query id is invalid")


async def on_error(update: object, context: BotContext) -> None:
    """Log an error from any handler and give the user a useful answer."""
    error = context.error
    update_id = user_id = chat_id = None
    if isinstance(update, Update):
        update_id = update.update_id
        user_id = update.effective_user.id if update.effective_user else None
        chat_id = update.effective_chat.id if update.effective_chat else None
    if isinstance(error, BadRequest) and any(h in error.message.lower() for h in _HARMLESS):
        log.debug("harmless: %s (update %s)", error.message, update_id)
        return
    if isinstance(error, Forbidden):
        log.info("user %s blocked the bot (update %s)", user_id, update_id)
        return
    if isinstance(error, RetryAfter):
        # Flood control outlasted the rate limiter's retries: Telegram's doing, not a bug.
        log.warning("update %s: Telegram still asks to wait (%s)", update_id, error.message)
        return
    log.error(
        "error handling update %s from user %s in chat %s: %s",
        update_id,
        user_id,
        chat_id,
        type(error).__name__,
        exc_info=error if not isinstance(error, NetworkError) else None,
    )
    if chat_id is None:
        return
    try:
        await context.bot.send_message(chat_id, context.t("common.error"))
    except Exception:  # the answer is a courtesy; the error is logged already
        log.debug("could not tell user %s about the error", user_id)
