"""People on the roster who never bound the bot, shown in /overdue and /stats so they can be
chased; one button sends the presser a fresh invite link to forward to that person."""

from __future__ import annotations

from telegram import InlineKeyboardButton, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.context import BotContext
from bot.domain.people import Person, Role
from bot.domain.text import split_text
from bot.domain.vocab import role
from bot.forms import codec
from bot.handlers.common import answer, button, guard, keyboard, may_act_on, refuse
from bot.storage import facts
from bot.storage.roster import reissue_invite

OVERSIGHT = (Role.COMMISSIONER, Role.LEADER, Role.COUNTY)
MAX_BUTTONS = 60


def invite_link(username: str | None, code: str) -> str | None:
    """Return https://t.me/<bot>?start=CODE, or None while the bot's username is unknown."""
    return f"https://t.me/{username}?start={code}" if username else None


async def show(update: Update, context: BotContext, township_id: int | None) -> None:
    """Send the list of people in scope who have not bound the bot, with invite buttons."""
    t = context.t
    people = await context.deps.people.unbound(township_id)
    if not people:
        return
    lines = [t("unreg.head", n=len(people))]
    rows: list[list[InlineKeyboardButton]] = []
    for p in people:
        place = p.village or p.township or ""
        lines.append(
            t("unreg.line", name=p.name, role=role(t, p.role), place=place, phone=p.phone or "—")
        )
        if len(rows) < MAX_BUTTONS:
            rows.append([button(t("unreg.btn", name=p.name), f"iv:{p.id}")])
    parts = split_text("\n".join(lines))
    for part in parts[:-1]:
        await answer(update, context, part)
    await answer(update, context, parts[-1], keyboard(*rows))


@guard(*OVERSIGHT)
async def on_invite(update: Update, context: BotContext) -> None:
    """A fresh invite link for one unbound person of the presser's scope."""
    query = update.callback_query
    assert query is not None
    fields = codec.split(query.data, "iv", 1)
    person_id = codec.parse_int(fields[0]) if fields else None
    deps = context.deps
    person: Person | None = None
    if person_id is not None:
        person = await deps.people.get(person_id)
    if person is None or not may_act_on(context.actor, person.township_id, person.village_id):
        await refuse(update, context, "common.not_allowed")
        return
    t = context.t
    if person.telegram_id is not None:
        await refuse(update, context, "unreg.already_bound")
        return
    async with deps.db.transaction() as tx:
        code = await reissue_invite(tx, person.id, deps.clock.now())
    username = deps.bot_username or await facts.fact(deps.db, facts.BOT_USERNAME)
    link = invite_link(username, code)
    text = t(
        "unreg.invite",
        name=person.name,
        place=person.village or person.township or "",
        link=link or t("unreg.code_only", code=code),
    )
    await answer(update, context, text)


def get_handlers() -> list[BaseHandler]:
    """Return the invite button."""
    return [CallbackQueryHandler(on_invite, pattern=r"^iv:\d+$")]
