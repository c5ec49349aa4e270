"""Drafts of the notice, reply and leave forms, kept to the form-runtime rules.

One draft per form and person, with its own token on every button (`prefix:token:step:action:
value`, at most 64 bytes); a button of an earlier draft is refused as stale; the draft is
mirrored in form_drafts, so the one 24 h idle sweep (bot/reminders/drafts.py) drops it and
says so. Written to be replaced by bot/forms/ once that runtime is on main.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from telegram import Update

from bot.context import BotContext, drafts
from bot.handlers.common import answer, button, refuse
from bot.storage import drafts as mirror

_FIELD_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")


@dataclass(frozen=True)
class Press:
    """A form button: which draft, which step, what it does."""

    token: str
    step: str
    action: str
    value: str


def decode(data: str | None, prefix: str) -> Press | None:
    """Parse form button data; None for anything malformed (forged or from another form)."""
    if not data or len(data.encode()) > 64 or not data.startswith(prefix + ":"):
        return None
    fields = data.split(":")[1:]
    if len(fields) != 4 or not all(len(f) <= 40 and set(f) <= _FIELD_OK for f in fields):
        return None
    if len(fields[0]) != 8:
        return None
    return Press(*fields)


class Drafts:
    """The draft of one form for the person of the update (stored in user_data, mirrored)."""

    def __init__(self, form: str, prefix: str) -> None:
        self.form = form
        self.prefix = prefix

    def get(self, context: BotContext) -> dict[str, Any] | None:
        """Return the open draft's data, or None."""
        return drafts(context).get(self.form)

    async def start(self, update: Update, context: BotContext, **data: Any) -> dict[str, Any]:
        """Open a new draft (an older one of this form is closed as cancelled)."""
        await self.close(context, "cancelled")
        draft = {"token": secrets.token_hex(4), "editing": False, **data}
        drafts(context)[self.form] = draft
        await self.touch(update, context)
        return draft

    async def touch(self, update: Update, context: BotContext) -> None:
        """Record that the draft was just worked on (for the idle sweep)."""
        draft = self.get(context)
        assert draft is not None and context.actor is not None and update.effective_chat
        await mirror.touch_draft(
            context.deps.db,
            self.form,
            draft["token"],
            context.actor.id,
            update.effective_chat.id,
            context.deps.clock.now(),
        )

    async def alive(self, context: BotContext) -> dict[str, Any] | None:
        """Return the draft if it is still open (the sweep may have dropped it meanwhile)."""
        draft = self.get(context)
        if draft is None:
            return None
        row = await mirror.get_draft(context.deps.db, self.form, draft["token"])
        if row is not None and row.state != "open":
            drafts(context).pop(self.form, None)
            return None
        return draft

    async def alive_or_say(self, update: Update, context: BotContext) -> dict[str, Any] | None:
        """Return the open draft, or tell the user it is gone (swept, sent or cancelled)."""
        draft = await self.alive(context)
        if draft is None:
            if update.callback_query is not None:
                await refuse(update, context, "common.stale")
            else:
                await answer(update, context, context.t("notice.draft_gone"))
        return draft

    async def close(self, context: BotContext, state: str, record_id: int | None = None) -> None:
        """Close the draft (submitted, cancelled) and forget it."""
        draft = drafts(context).pop(self.form, None)
        if draft is None:
            return
        async with context.deps.db.transaction() as tx:
            await mirror.close_draft(
                tx, self.form, draft["token"], state, context.deps.clock.now(), record_id
            )

    def forget(self, context: BotContext) -> None:
        """Forget the draft locally (its row was closed in the caller's transaction)."""
        drafts(context).pop(self.form, None)

    def press(self, update: Update) -> Press | None:
        """Return the pressed form button, or None."""
        query = update.callback_query
        return decode(query.data if query else None, self.prefix)

    def button(self, draft: dict[str, Any], text: str, step: str, action: str, value: str = ""):
        """Return a button of this draft."""
        return button(text, f"{self.prefix}:{draft['token']}:{step}:{action}:{value}")
