"""The command menu each person sees, by role and language (setMyCommands per chat)."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from bot.domain.people import Person, Role
from bot.i18n import I18n, Translator

log = logging.getLogger(__name__)

_ALL = tuple(Role)
_LIAISON = (Role.LIAISON,)
_OVERSIGHT = (Role.COMMISSIONER, Role.LEADER, Role.COUNTY)

# (command, description key, roles that see it), in menu order.
COMMANDS: list[tuple[str, str, tuple[Role, ...]]] = [
    ("report", "cmd.report", _LIAISON),
    ("alert", "cmd.alert", _LIAISON),
    ("info", "cmd.info", _LIAISON),
    ("mine", "cmd.mine", _LIAISON),
    ("alerts", "cmd.alerts", _OVERSIGHT),
    ("followups", "cmd.followups", _OVERSIGHT),
    ("reports", "cmd.reports", _OVERSIGHT),
    ("overdue", "cmd.overdue", _OVERSIGHT),
    ("review", "cmd.review", (Role.COMMISSIONER, Role.LEADER)),
    ("stats", "cmd.stats", _OVERSIGHT),
    ("export", "cmd.export", _OVERSIGHT),
    ("digest", "cmd.digest", _OVERSIGHT),
    ("notice", "cmd.notice", (Role.COMMISSIONER, Role.COUNTY)),
    ("notices", "cmd.notices", (Role.LIAISON, *_OVERSIGHT)),
    ("leave", "cmd.leave", (Role.LIAISON, Role.COMMISSIONER)),
    ("register", "cmd.register", (Role.LIAISON, *_OVERSIGHT)),
    ("help", "cmd.help", _ALL),
    ("lang", "cmd.lang", _ALL),
    ("cancel", "cmd.cancel", _ALL),
]

# Before binding, only these make sense.
GUEST_COMMANDS = [("start", "cmd.start"), ("help", "cmd.help"), ("lang", "cmd.lang")]


def commands_for(role: Role, t: Translator) -> list[BotCommand]:
    """Return the menu of one role in one language."""
    return [BotCommand(cmd, t(key)) for cmd, key, roles in COMMANDS if role in roles]


async def set_person_menu(bot: Bot, person: Person, t: Translator) -> None:
    """Show a person their role's commands in their language (failures only logged)."""
    if person.telegram_id is None:
        return
    try:
        await bot.set_my_commands(
            commands_for(person.role, t), scope=BotCommandScopeChat(person.telegram_id)
        )
    except TelegramError as exc:
        log.warning("setMyCommands for person %s failed: %s", person.id, exc)


async def set_default_menus(bot: Bot, i18n: I18n) -> None:
    """Install the guest menu: Simplified Chinese by default, English for English clients."""
    try:
        zh = i18n.get("zh_Hans")
        await bot.set_my_commands(
            [BotCommand(c, zh(k)) for c, k in GUEST_COMMANDS], scope=BotCommandScopeDefault()
        )
        en = i18n.get("en")
        await bot.set_my_commands(
            [BotCommand(c, en(k)) for c, k in GUEST_COMMANDS],
            scope=BotCommandScopeDefault(),
            language_code="en",
        )
    except TelegramError as exc:
        log.warning("setMyCommands (default) failed: %s", exc)
