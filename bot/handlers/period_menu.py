"""The period menu shared by /stats and /export: six buttons, or a range typed as two dates."""

from __future__ import annotations

from datetime import date

from telegram import InlineKeyboardButton, Update

from bot.context import BotContext
from bot.domain.people import Role
from bot.domain.periods import CHOICES, RANGE_PATTERN, Span, choose, from_code, parse_range
from bot.handlers.common import button
from bot.i18n import Translator

__all__ = ["RANGE_PATTERN"]

OVERSIGHT = (Role.COMMISSIONER, Role.LEADER, Role.COUNTY)
CHOICE_KEYS = {
    "this_month": "office.p.this_month",
    "last_month": "office.p.last_month",
    "this_quarter": "office.p.this_quarter",
    "last_quarter": "office.p.last_quarter",
    "this_year": "office.p.this_year",
    "last_year": "office.p.last_year",
}
# Which command a bare typed range ("2026-10-01 2026-12-31") answers: the last one shown.
RANGE_FOR = "office_range_for"


def today(context: BotContext) -> date:
    """Return today's local date."""
    return context.deps.clock.now().astimezone(context.deps.tz).date()


def period_rows(t: Translator, prefix: str, suffix: str = "") -> list[list[InlineKeyboardButton]]:
    """Return the six period buttons, two per row, as "prefix:choice[:suffix]"."""
    tail = f":{suffix}" if suffix else ""
    buttons = [button(t(CHOICE_KEYS[c]), f"{prefix}:{c}{tail}") for c in CHOICES]
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def span_of(value: str, context: BotContext) -> Span | None:
    """Return the period a button names: a choice relative to today, or a fixed code."""
    if value in CHOICES:
        return choose(value, today(context))
    return from_code(value)


def typed_span(context: BotContext) -> tuple[bool, Span | None]:
    """Return (typed anything, the range) from a command's arguments."""
    text = " ".join(context.args or [])
    if not text.strip():
        return False, None
    return True, parse_range(text)


def remember(context: BotContext, command: str) -> None:
    """Note which command a range typed next belongs to."""
    if context.user_data is not None:
        context.user_data[RANGE_FOR] = command


def range_target(update: Update, context: BotContext) -> tuple[str, Span | None]:
    """Return (command, range) for a message that is a typed range."""
    text = update.effective_message.text if update.effective_message else ""
    target = (context.user_data or {}).get(RANGE_FOR, "export")
    return target, parse_range(text or "")
