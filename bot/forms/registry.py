"""Every declared form with its module (for diagrams and tests)."""

from __future__ import annotations

from datetime import datetime
from types import ModuleType

from telegram import Update
from telegram.ext import Application

from bot.context import BotContext
from bot.forms.runtime import Form
from bot.handlers.common import load_actor
from bot.pipeline import Again


def all_forms() -> list[tuple[ModuleType, Form]]:
    """Return (module, form) for each form built on the runtime."""
    from bot.handlers import (
        alert,
        alert_desk,
        followups,
        info,
        info_review,
        leave,
        notice,
        notices,
        register,
        register_visit,
        report_form,
    )

    return [
        (alert, alert.ALERT),
        (alert, alert.UPDATE),
        (alert_desk, alert_desk.ACTION),
        (followups, followups.FOLLOWUP),
        (info, info.INFO),
        (info_review, info_review.RETURN),
        (notice, notice.NOTICE),
        (notices, notices.REPLY),
        (leave, leave.LEAVE),
        (report_form, report_form.REPORT),
        (register, register.CHANGE),
        (register_visit, register_visit.VISIT),
    ]


def dropped_notices() -> dict[str, str]:
    """Return the locale key of the notice each form sends when its draft is dropped."""
    return {form.name: form.keys["dropped"] for _, form in all_forms()}


async def questions_again(app: Application, update: Update, since: datetime) -> list[Again]:
    """Return the current question of each form draft a cut-short update may have left unshown.

    The again hook of the inbox (bot/pipeline.py); forms live in private chats only.
    """
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or chat.type != "private":
        return []
    context = BotContext.from_update(update, app)
    await load_actor(update, context)
    if context.actor is None:
        return []
    found = [await form.again(context, chat.id, since) for _, form in all_forms()]
    return [message for message in found if message is not None]
