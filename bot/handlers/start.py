"""Onboarding: /start CODE binds an account; /help; /lang; unknown users are told what to do."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.config import Policy
from bot.context import BotContext
from bot.domain.people import Person, Role
from bot.forms import codec
from bot.handlers.common import (
    answer,
    button,
    choose_language,
    keyboard,
    safe_answer_query,
)
from bot.handlers.menu import set_person_menu
from bot.i18n import LANGUAGES, Translator
from bot.storage import roster as roster_repo

log = logging.getLogger(__name__)

_ROLE_KEYS = {
    Role.LIAISON: "role.liaison",
    Role.COMMISSIONER: "role.commissioner",
    Role.LEADER: "role.leader",
    Role.COUNTY: "role.county",
    Role.ADMIN: "role.admin",
}
_HELP_KEYS = {
    Role.LIAISON: "help.liaison",
    Role.COMMISSIONER: "help.commissioner",
    Role.LEADER: "help.leader",
    Role.COUNTY: "help.county",
    Role.ADMIN: "help.admin",
}
_LANG_KEYS = {"zh_Hans": "lang.zh_Hans", "zh_Hant": "lang.zh_Hant", "en": "lang.en"}


def role_name(t: Translator, role: Role) -> str:
    """Return the localized name of a role."""
    return t(_ROLE_KEYS[role])


def help_text(t: Translator, person: Person, policy: Policy) -> str:
    """Return a person's greeting and the commands of their role."""
    where = " · ".join(p for p in (person.township, person.village) if p)
    head = t("help.header", name=person.name, role=role_name(t, person.role), place=where or "—")
    due = policy.weekly_report.due
    return f"{head}\n\n{t(_HELP_KEYS[person.role], due=t.weekly(due.weekday, due.at))}"


async def start(update: Update, context: BotContext) -> None:
    """Bind with an invite code, or greet a bound person, or explain invites to a stranger."""
    chat = update.effective_chat
    user = update.effective_user
    if chat is None or user is None or update.effective_message is None:
        return
    if chat.type != ChatType.PRIVATE:
        await answer(update, context, context.t("common.private_only"))
        return
    code = " ".join(context.args or []).strip()
    if not code:
        if context.actor is not None:
            await answer(update, context, help_text(context.t, context.actor, context.deps.policy))
            await set_person_menu(context.bot, context.actor, context.t)
        else:
            await answer(update, context, context.t("start.need_invite"))
        return
    await _redeem(update, context, code, user.id)


async def _redeem(update: Update, context: BotContext, code: str, telegram_id: int) -> None:
    deps = context.deps
    if len(code) > 64:
        code = code[:64]
    wait = await roster_repo.wait_seconds(deps.db, telegram_id, deps.clock)
    if wait > 0:
        await answer(update, context, context.t("start.too_many", minutes=max(1, -(-wait // 60))))
        return
    result = await roster_repo.redeem_invite(deps.db, code, telegram_id, deps.clock)
    if result.status not in ("ok", "already"):
        await roster_repo.record_failed_start(deps.db, telegram_id, deps.clock)
        key = {
            "used": "start.code_used",
            "expired": "start.code_expired",
        }.get(result.status, "start.code_unknown")
        await answer(update, context, context.t(key))
        return
    person = await deps.people.by_telegram_id(telegram_id)
    if person is None:  # bound to an inactive roster entry
        await answer(update, context, context.t("start.code_unknown"))
        return
    guest_choice = (context.user_data or {}).get("lang")
    if guest_choice and not person.language:
        # A language picked with /lang before binding becomes the person's choice.
        await deps.people.set_language(person.id, guest_choice)
        person = await deps.people.by_telegram_id(telegram_id) or person
    user = update.effective_user
    if user is not None and user.language_code:
        # Messages queued for this person before their next update use this language.
        await deps.people.note_tg_language(person.id, user.language_code)
    t = deps.i18n.get(choose_language(person, user.language_code if user else None))
    context.actor, context.t = person, t
    log.info("person %s bound to telegram user %s", person.id, telegram_id)
    await answer(update, context, t("start.bound") + "\n\n" + help_text(t, person, deps.policy))
    await set_person_menu(context.bot, person, t)


async def help_command(update: Update, context: BotContext) -> None:
    """Show the role's help, or how to join for strangers."""
    if context.actor is None:
        await answer(update, context, context.t("start.need_invite"))
        return
    await answer(update, context, help_text(context.t, context.actor, context.deps.policy))


async def lang_command(update: Update, context: BotContext) -> None:
    """Offer the three languages as buttons."""
    t = context.t
    markup = keyboard([button(t(_LANG_KEYS[lang]), f"lang:{lang}") for lang in LANGUAGES])
    await answer(update, context, t("lang.choose"), markup)


async def lang_chosen(update: Update, context: BotContext) -> None:
    """Store the language choice and refresh the command menu in it."""
    query = update.callback_query
    assert query is not None
    fields = codec.split(query.data, "lang", 1)
    if fields is None or fields[0] not in LANGUAGES:
        await safe_answer_query(query, context.t("common.stale"), alert=True)
        return
    lang = fields[0]
    t = context.deps.i18n.get(lang)
    context.t = t
    if context.actor is not None:
        await context.deps.people.set_language(context.actor.id, lang)
        await set_person_menu(context.bot, context.actor, t)
    elif context.user_data is not None:
        context.user_data["lang"] = lang
    await answer(update, context, t("lang.set"), edit=True)


async def nothing_to_cancel(update: Update, context: BotContext) -> None:
    """Answer /cancel when no form is open (forms handle their own /cancel first)."""
    await answer(update, context, context.t("common.nothing_to_cancel"))


async def stranger(update: Update, context: BotContext) -> None:
    """Answer a private message no feature took: the invite hint, or where to start."""
    if context.actor is None:
        await answer(update, context, context.t("start.need_invite"))
    else:
        await answer(update, context, context.t("common.not_understood"))


def get_handlers() -> list[BaseHandler]:
    """Return onboarding handlers, in the order they must be tried."""
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("start", start),
        CommandHandler("help", help_command, filters=private),
        CommandHandler("lang", lang_command, filters=private),
        CallbackQueryHandler(lang_chosen, pattern=r"^lang:"),
    ]


async def unknown_button(update: Update, context: BotContext) -> None:
    """Answer a press no feature recognised (an old message, forged data): never a spinner."""
    assert update.callback_query is not None
    await safe_answer_query(update.callback_query, context.t("common.stale"), alert=True)


def get_fallback_handlers() -> list[BaseHandler]:
    """Return the last-resort handlers (registered after every feature)."""
    return [
        CallbackQueryHandler(unknown_button),
        CommandHandler("cancel", nothing_to_cancel, filters=filters.ChatType.PRIVATE),
        MessageHandler(filters.ChatType.PRIVATE & ~filters.StatusUpdate.ALL, stranger),
    ]
