"""The township's digest group: /bindgroup, /digest, and noticing the bot leave a group.

Also answers the reminder's "report now" button when no report conversation took it.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.ext import (
    BaseHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot import charts
from bot.context import BotContext
from bot.domain import digest as dom
from bot.domain.people import Role
from bot.domain.periods import weeks_ending
from bot.handlers import county_digest
from bot.handlers.common import answer, refuse
from bot.storage import digest as store
from bot.storage.outbox import enqueue, store_file

log = logging.getLogger(__name__)

GROUP_TYPES = (ChatType.GROUP, ChatType.SUPERGROUP)
_GONE = (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED)
_OVERSIGHT = (Role.COMMISSIONER, Role.LEADER, Role.COUNTY)
RELEASE_WORDS = ("off", "release", "unbind")


async def bindgroup(update: Update, context: BotContext) -> None:
    """Make this group the digest group of the commissioner's township (moving it if bound)."""
    chat, actor, t = update.effective_chat, context.actor, context.t
    if chat is None:
        return
    if chat.type not in GROUP_TYPES:
        await answer(update, context, t("digest.bind_in_group"))
        return
    if actor is None:
        await refuse(update, context, "common.need_invite")
        return
    if actor.role is not Role.COMMISSIONER or actor.township_id is None:
        await answer(update, context, t("digest.bind_commissioner_only"))
        return
    deps, now = context.deps, context.deps.clock.now()
    # A group belongs to one township: only that township's commissioner moves or releases it.
    owners = await store.groups_of_chat(deps.db, chat.id)
    foreign = [g for g in owners if g.township_id != actor.township_id]
    if foreign:
        await answer(update, context, t("digest.bind_taken", township=foreign[0].township))
        return
    if context.args and context.args[0].lower() in RELEASE_WORDS:
        await _release(update, context, bool(owners))
        return
    async with deps.db.transaction() as tx:
        previous = await store.bind_group(
            tx, actor.township_id, chat.id, chat.title, actor.id, t.language, now
        )
        if previous is not None:
            await enqueue(
                tx,
                now,
                chat_id=previous,
                payload={"text": t("digest.moved_away", township=actor.township)},
            )
    deps.wake_outbox()
    log.info(
        "township %s digest group set to %s by person %s", actor.township_id, chat.id, actor.id
    )
    post = deps.policy.digest.post
    await answer(
        update,
        context,
        t("digest.bound", township=actor.township, post=t.weekly(post.weekday, post.at)),
    )


async def _release(update: Update, context: BotContext, bound: bool) -> None:
    """/bindgroup off: the township's commissioner stops the digest in this group."""
    chat, t, deps = update.effective_chat, context.t, context.deps
    assert chat is not None and context.actor is not None
    if not bound:
        await answer(update, context, t("digest.group_not_bound"))
        return
    async with deps.db.transaction() as tx:
        await store.unbind_chat(tx, chat.id, deps.clock.now(), "released")
    log.info("digest group %s released by person %s", chat.id, context.actor.id)
    await answer(update, context, t("digest.released", township=context.actor.township or ""))


async def digest_command(update: Update, context: BotContext) -> None:
    """Show the digest of the week just ended, in the group it is bound to or in private."""
    chat, actor, t = update.effective_chat, context.actor, context.t
    if chat is None:
        return
    if actor is None:
        await refuse(update, context, "common.need_invite")
        return
    if actor.role not in _OVERSIGHT:
        await refuse(update, context, "common.not_allowed")
        return
    deps = context.deps
    if chat.type in GROUP_TYPES:
        townships = [
            (g.township_id, g.township)
            for g in await store.groups_of_chat(deps.db, chat.id)
            if actor.role is Role.COUNTY or g.township_id == actor.township_id
        ]
        if not townships:
            await answer(update, context, t("digest.group_not_bound"))
            return
    elif actor.role is Role.COUNTY:
        # One line per township and a chart, villages a tap away (not a train of digests).
        await county_digest.show(update, context)
        return
    elif actor.township_id is not None:
        townships = [(actor.township_id, actor.township or "")]
    else:  # an oversight role without a township has no digest of its own
        await refuse(update, context, "common.not_allowed")
        return
    now = deps.clock.now()
    week = dom.patrol_week_before(now, deps.policy, deps.tz)
    texts, charts_of = [], []
    for township_id, name in townships:
        data = await store.collect_digest(
            deps.db,
            deps.policy,
            deps.tz,
            township_id,
            name,
            week,
            now,
        )
        texts.append(dom.render_digest(data, t))
        # The township's chart, as the weekly digest carries it (None without a CJK font).
        span = weeks_ending(week, charts.DIGEST_WEEKS)
        charts_of.append((name, await charts.overview_png(deps, span, township_id, name, t)))
    # Through the outbox: long digests are split there and sent within the group's limits.
    # The outbox sends a chat's messages in order, so each chart follows its digest.
    person_id = actor.id if chat.type == ChatType.PRIVATE else None
    async with deps.db.transaction() as tx:
        for text, (name, chart) in zip(texts, charts_of, strict=True):
            await enqueue(
                tx,
                now,
                chat_id=chat.id,
                person_id=person_id,
                payload={"text": text},
                ref_kind="digest_now",
            )
            if chart is not None:
                photo = await store_file(tx, now, "digest-chart.png", chart)
                await enqueue(
                    tx,
                    now,
                    chat_id=chat.id,
                    person_id=person_id,
                    method="sendPhoto",
                    payload={"photo": photo, "caption": name},
                    ref_kind="digest_now",
                )
    deps.wake_outbox()


async def bot_membership(update: Update, context: BotContext) -> None:
    """Notice the bot being removed from (or leaving) a digest group; tell the commissioners."""
    change = update.my_chat_member
    if change is None or change.chat.type not in GROUP_TYPES:
        return
    old, new = change.old_chat_member.status, change.new_chat_member.status
    deps = context.deps
    if new in _GONE:
        now = deps.clock.now()
        async with deps.db.transaction() as tx:
            unbound = await store.unbind_chat(tx, change.chat.id, now, "bot_removed")
            for group in unbound:
                bosses = await deps.people.in_township(
                    group.township_id, (Role.COMMISSIONER,), tx=tx
                )
                for boss in bosses:
                    if boss.telegram_id is None:
                        continue
                    bt = deps.i18n.for_person(boss)
                    await enqueue(
                        tx,
                        now,
                        chat_id=boss.telegram_id,
                        person_id=boss.id,
                        payload={
                            "text": bt(
                                "digest.unbound_notice",
                                township=group.township,
                                title=change.chat.title or str(change.chat.id),
                            )
                        },
                    )
        if unbound:
            log.info("bot left chat %s: digest groups unbound", change.chat.id)
            deps.wake_outbox()
    elif old in _GONE and new in (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR):
        # Just added: say how to make this the digest group.
        await context.bot.send_message(change.chat.id, context.t("digest.added_hint"))


async def chat_migrated(update: Update, context: BotContext) -> None:
    """Follow a group that became a supergroup, so its digest keeps arriving."""
    message = update.effective_message
    if message is None or message.migrate_to_chat_id is None:
        return
    async with context.deps.db.transaction() as tx:
        await store.move_chat(tx, message.chat.id, message.migrate_to_chat_id)


def get_handlers() -> list[BaseHandler]:
    """Return the digest feature's handlers."""
    return [
        CommandHandler("bindgroup", bindgroup),
        CommandHandler("digest", digest_command),
        ChatMemberHandler(bot_membership, ChatMemberHandler.MY_CHAT_MEMBER),
        MessageHandler(filters.StatusUpdate.MIGRATE, chat_migrated),
    ]
