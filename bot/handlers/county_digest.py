"""The county's /digest: one line per township plus a chart, each township's villages a tap away.

A county officer with twenty townships used to get twenty full digests in a row. Here they
get one message (a line per township, a button per township) and one picture (reporting rate
per township over the last weeks, alerts by where they were settled). Pressing a township
shows its full village-by-village digest.
"""

from __future__ import annotations

import re

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot import charts
from bot.context import BotContext
from bot.domain import digest as dom
from bot.domain.digest import Digest
from bot.domain.people import Role
from bot.domain.periods import weeks_ending
from bot.domain.text import split_text
from bot.domain.vocab import week_label
from bot.forms import codec
from bot.handlers.common import answer, button, guard, refuse
from bot.i18n import Translator
from bot.storage import digest as store

PREFIX = "dg"
BUTTONS_PER_ROW = 3
WEEK = re.compile(r"[0-9]{4}-W[0-9]{2}")


def township_line(t: Translator, d: Digest) -> str:
    """Return one township's line: reports, late, new and still-open alerts, quota progress."""
    total = len(d.villages) - len(d.excused)
    quotas = t("common.list_sep").join(
        t("office.digest.quota", kinds="/".join(t(k) for k in q.kinds), n=q.count, min=q.min)
        for q in d.quotas
        if q.village is None
    )
    return t(
        "office.digest.line",
        township=d.township,
        reported=d.reported,
        total=total,
        rate=t.percent(d.reported, total),
        late=d.late,
        opened=d.opened,
        open=len(d.open_now),
        quotas=quotas,
    )


async def show(update: Update, context: BotContext) -> None:
    """Send the county digest of the patrol week just closed, then its chart."""
    deps, t = context.deps, context.t
    now = deps.clock.now()
    week = dom.patrol_week_before(now, deps.policy, deps.tz)
    towns = await deps.people.townships()
    digests = [
        await store.collect_digest(deps.db, deps.policy, deps.tz, tw.id, tw.name, week, now)
        for tw in towns
    ]
    lines = [t("office.digest.head", week=week_label(t, week)), ""]
    lines += [township_line(t, d) for d in digests]
    lines += ["", t("office.digest.tap")]
    buttons = [button(tw.name, f"{PREFIX}:{tw.id}:{week}") for tw in towns]
    rows = [buttons[i : i + BUTTONS_PER_ROW] for i in range(0, len(buttons), BUTTONS_PER_ROW)]
    parts = split_text("\n".join(lines))
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        await answer(update, context, part, InlineKeyboardMarkup(rows) if last else None)
    # The chart: the last weeks up to the one just closed, per township.
    scope = t("office.scope.county")
    png = await charts.overview_png(deps, weeks_ending(week, charts.DIGEST_WEEKS), None, scope, t)
    chat = update.effective_chat
    if png is not None and chat is not None:
        await context.bot.send_photo(chat.id, photo=png, caption=lines[0][:1024])


@guard(Role.COUNTY, Role.COMMISSIONER, Role.LEADER)
async def on_township(update: Update, context: BotContext) -> None:
    """Show one township's full digest (scope checked: the county, or that township's own)."""
    data = update.callback_query.data if update.callback_query else None
    fields = codec.split(data, PREFIX, 2)
    township_id = codec.parse_int(fields[0]) if fields else None
    week = fields[1] if fields else ""
    actor, deps = context.actor, context.deps
    assert actor is not None
    if township_id is None or not WEEK.fullmatch(week):
        await refuse(update, context, "common.stale")
        return
    if actor.role is not Role.COUNTY and actor.township_id != township_id:
        await refuse(update, context, "common.not_allowed")
        return
    township = await deps.people.township(township_id)
    if township is None:
        await refuse(update, context, "common.stale")
        return
    digest = await store.collect_digest(
        deps.db, deps.policy, deps.tz, township.id, township.name, week, deps.clock.now()
    )
    for part in split_text(dom.render_digest(digest, context.t)):
        await answer(update, context, part)


def get_handlers() -> list[BaseHandler]:
    """Return the township buttons of the county digest."""
    return [CallbackQueryHandler(on_township, pattern=rf"^{PREFIX}:")]
