"""Shared handler plumbing: who is acting, in which language, and may they do this."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MaybeInaccessibleMessage,
    Message,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.context import BotContext
from bot.domain.leave import STAND_IN
from bot.domain.people import Person, Role, covers
from bot.domain.report import current_week
from bot.domain.text import MAX_TEXT
from bot.i18n import language_from_telegram
from bot.logs import handler_var
from bot.storage import leave as leave_store
from bot.storage.db import Tx
from bot.storage.outbox import OR_SEND, Lane, enqueue

log = logging.getLogger(__name__)

# PTB's handlers take coroutine functions (they schedule the coroutine), not any awaitable.
Callback = Callable[[Update, BotContext], Coroutine[Any, Any, Any]]


def choose_language(person: Person | None, telegram_code: str | None) -> str:
    """Pick the language: /lang choice, else Telegram's language_code (PRODUCT.md §6)."""
    if person is not None and person.language:
        return person.language
    return language_from_telegram(telegram_code)


async def load_actor(update: object, context: BotContext) -> None:
    """Attach the roster person and their translator to the context of every update."""
    if not isinstance(update, Update):
        return
    user = update.effective_user
    person = None
    if user is not None and not user.is_bot:
        person = await context.deps.people.by_telegram_id(user.id)
        if person is not None and user.language_code and person.tg_language != user.language_code:
            await context.deps.people.note_tg_language(person.id, user.language_code)
    if person is not None and context.user_data and context.user_data.get(STAND_IN):
        person = await _standing_in(context, person)
    context.actor = person
    language = choose_language(person, user.language_code if user else None)
    if person is None and context.user_data and context.user_data.get("lang"):
        language = context.user_data["lang"]  # a guest's /lang choice
    context.t = context.deps.i18n.get(language)


async def _standing_in(context: BotContext, person: Person) -> Person:
    """Return the substitute as their village's liaison while the stand-in holds (/leave)."""
    assert context.user_data is not None
    now = context.deps.clock.now()
    acting = await leave_store.acting_as(
        context.deps.db,
        person,
        int(context.user_data[STAND_IN]),
        now.astimezone(context.deps.tz).date(),
        current_week(now, context.deps.tz),
    )
    if acting is None:
        context.user_data.pop(STAND_IN, None)
    return acting or person


async def edited_message(update: Update, context: BotContext) -> None:
    """Tell the user edits are not read (an edit must not count as a new answer to a form)."""
    if update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE:
        await context.bot.send_message(update.effective_chat.id, context.t("common.edit_ignored"))
    raise ApplicationHandlerStop


def edited_message_handler() -> MessageHandler:
    """Return the handler that stops edited messages before any feature sees them."""
    return MessageHandler(filters.UpdateType.EDITED, edited_message)


def actor_handler() -> TypeHandler:
    """Return the handler that runs load_actor before any feature handler."""
    return TypeHandler(Update, load_actor)


async def answer(
    update: Update,
    context: BotContext,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    edit: bool = False,
) -> Message | None:
    """Reply in the chat of an update; with edit=True, replace the pressed message instead."""
    query = update.callback_query
    if query is not None:
        await safe_answer_query(query)
        if edit and query.message is not None:
            try:
                result = await query.edit_message_text(text, reply_markup=markup)
                return result if isinstance(result, Message) else None
            except BadRequest as exc:
                if "not modified" in exc.message.lower():
                    return None
                log.info("edit failed (%s); sending a new message", exc.message)
    chat = update.effective_chat
    if chat is None:
        return None
    return await context.bot.send_message(chat.id, text, reply_markup=markup)


async def safe_answer_query(
    query: CallbackQuery | None, text: str | None = None, alert: bool = False
) -> None:
    """Answer a button press once; a second answer or a stale query is harmless."""
    if query is None:  # not a button press: nothing to answer
        return
    try:
        await query.answer(text=text, show_alert=alert)
    except BadRequest as exc:
        # "query is too old" / "query ID is invalid": the user pressed long ago; nothing to do.
        log.debug("answerCallbackQuery ignored: %s", exc.message)


async def refuse(update: Update, context: BotContext, key: str) -> None:
    """Tell the user they may not do this (a popup for buttons, a message otherwise)."""
    text = context.t(key)
    if update.callback_query is not None:
        await safe_answer_query(update.callback_query, text, alert=True)
    elif update.effective_chat is not None:
        await context.bot.send_message(update.effective_chat.id, text)


def guard(
    *roles: Role, private: bool = True, end_conversation: bool = False
) -> Callable[[Callback], Callback]:
    """Let a callback run only for bound people with one of `roles` (all roles when empty).

    Unknown users are told they need an invite; others without the role are refused. The
    check runs on every update, buttons included: callback data is never trusted.
    """

    def decorate(func: Callback) -> Callback:
        @functools.wraps(func)
        async def wrapper(update: Update, context: BotContext) -> Any:
            handler_var.set(func.__qualname__)
            stop = ConversationHandler.END if end_conversation else None
            if private and update.effective_chat and update.effective_chat.type != ChatType.PRIVATE:
                await refuse(update, context, "common.private_only")
                return stop
            actor = context.actor
            if actor is None:
                await refuse(update, context, "common.need_invite")
                return stop
            if roles and actor.role not in roles:
                await refuse(update, context, "common.not_allowed")
                return stop
            return await func(update, context)

        return wrapper

    return decorate


def may_act_on(
    actor: Person | None, township_id: int | None, village_id: int | None = None
) -> bool:
    """Return whether the actor's role and scope cover a record (server-side check)."""
    return actor is not None and covers(actor, township_id, village_id)


def button(text: str, data: str) -> InlineKeyboardButton:
    """Return an inline button; callback data must fit Telegram's 64 bytes."""
    if len(data.encode()) > 64:
        raise ValueError(f"callback data too long: {data!r}")
    return InlineKeyboardButton(text, callback_data=data)


def keyboard(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup | None:
    """Return an inline keyboard from rows of buttons, dropping empty rows; None if none is left
    (Telegram is never sent an empty reply_markup)."""
    kept = [r for r in rows if r]
    return InlineKeyboardMarkup(kept) if kept else None


def conversation(
    name: str,
    entry_points: list[BaseHandler],
    states: dict[object, list[BaseHandler]],
    fallbacks: list[BaseHandler],
) -> ConversationHandler:
    """Return a persistent conversation that its entry points can restart at any step."""
    return ConversationHandler(
        entry_points=entry_points,
        states=states,
        fallbacks=fallbacks,
        name=name,
        persistent=True,
        allow_reentry=True,
    )


async def confirm(
    context: BotContext,
    tx: Tx,
    text: str,
    markup: dict[str, Any] | None = None,
    dedup_key: str | None = None,
    *,
    card: MaybeInaccessibleMessage | None = None,
) -> None:
    """Queue the confirmation of the actor's own action in the transaction that did it.

    An outage then delays it and never loses it (README, "Which replies go through the
    outbox"); send_confirmations() sends it at once after the commit. Given the `card` the
    person pressed (a form's summary), the confirmation replaces it: no button is left on it
    to press twice, and the chat gets one message fewer (Telegram's 30 a second counts new
    messages). A card that can no longer be edited gets the confirmation as a new message.
    """
    actor = context.actor
    assert actor is not None and actor.telegram_id is not None
    payload: dict[str, Any] = {"text": text, **({"reply_markup": markup} if markup else {})}
    method = "sendMessage"
    if card is not None and card.chat.id == actor.telegram_id and len(text) <= MAX_TEXT:
        method = "editMessageText"
        payload |= {"message_id": card.message_id, OR_SEND: True}
    await enqueue(
        tx,
        context.deps.clock.now(),
        chat_id=actor.telegram_id,
        person_id=actor.id,
        payload=payload,
        method=method,
        dedup_key=dedup_key,
        lane=Lane.URGENT,
    )


async def send_confirmations(update: Update, context: BotContext) -> None:
    """Answer a pressed button and send the chat's queued confirmations now."""
    deps, chat = context.deps, update.effective_chat
    if update.callback_query is not None:
        await safe_answer_query(update.callback_query)
    deps.wake_outbox()
    if deps.delivery is not None and chat is not None:
        await deps.delivery.send_now(chat.id)
