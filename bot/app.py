"""Build the Application: wiring only, in a commented order."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

from telegram.ext import Application, ApplicationBuilder, ContextTypes
from telegram.request import BaseRequest
from telegram.warnings import PTBUserWarning

from bot import charts
from bot.context import BotContext
from bot.deps import Deps
from bot.forms.registry import dropped_notices, questions_again
from bot.handlers import (
    alert,
    common,
    county_digest,
    digest,
    errors,
    export,
    followups,
    gate,
    info,
    leave,
    mine,
    notice,
    notices,
    overdue,
    register,
    report,
    reports_view,
    start,
    stats,
    unregistered,
)
from bot.handlers.menu import set_default_menus
from bot.pipeline import ChatOrderedProcessor, InboxBot, LiaisonApplication, arm_handler
from bot.ratelimit import SendLimiter
from bot.reminders import drafts, escalation, housekeeping, quotas, weekly
from bot.reminders import leave as leave_work
from bot.reminders import notices as notice_work
from bot.reminders.delivery import DeliveryWorker
from bot.reminders.scheduler import Scheduler
from bot.storage import facts
from bot.storage.persistence import SQLitePersistence
from bot.transport import JSONRequest

log = logging.getLogger(__name__)

# Feature modules, each exposing get_handlers(); tried in this order within group 0.
FEATURES: tuple[ModuleType, ...] = (
    start,
    report,
    alert,
    info,
    digest,
    mine,
    overdue,
    register,  # /register: the register of united-front subjects, changes, holiday visits
    stats,
    notice,  # the /notice composer
    notices,  # notice buttons (confirm, reply, remind), /notices
    leave,  # /leave, approvals, substitutes standing in
    followups,  # findings cards: Read, Open as alert, Followed up; /followups
    reports_view,  # /reports and opening any report of one's scope
    unregistered,  # fresh invite links for people who never bound the bot
    export,  # /export, and a typed date range after /stats or /export
    county_digest,  # the county /digest's township buttons
)
# Functions registering due work with the scheduler; every tick runs it in this order.
DUE_WORK: tuple[Callable[[Scheduler], None], ...] = (
    escalation.register,  # alerts climb first: the most urgent work
    weekly.register,  # reminders, overdue notices, digests
    quotas.register,  # quota reminders
    notice_work.register,  # notices: half-time reminders, deadline lists
    leave_work.register,  # substitutes of liaisons on leave: the weekly reminders
    lambda scheduler: drafts.register(scheduler, dropped_notices()),  # idle 24 h: dropped
    housekeeping.register,  # forget done inbox rows after a week
)

ACTOR_GROUP = -10  # who is acting and in which language: before everything else
DOOR_GROUP = -8  # what strangers may cost, texts we cannot store
EDIT_GROUP = -5  # edited messages stop here
ARM_GROUP = -1  # what a feature writes is the update's effect
FEATURE_GROUP = 0


def build_application(
    deps: Deps,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    rate_limit: bool = True,
    per_chat_interval: float = 1.0,
    overall_per_second: int = 30,
) -> LiaisonApplication:
    """Wire settings, storage, handlers, the delivery worker and the scheduler together."""
    settings = deps.settings
    token = settings.bot_token.get_secret_value() if settings.bot_token else "0:unset"
    # Telegram's limits (30 messages/s overall, 1/s per chat, 20/min per group), shared by
    # replies and the outbox; a reply's 429 is waited out and retried, never dropped.
    limiter = (
        SendLimiter(overall=overall_per_second, per_chat_interval=per_chat_interval)
        if rate_limit
        else None
    )
    bot = InboxBot(
        token,
        # BOT_API_URL serves both methods and file downloads (self-hosted Bot API servers).
        base_url=settings.method_base_url,
        base_file_url=settings.file_base_url,
        request=request or JSONRequest(connection_pool_size=4, read_timeout=15, pool_timeout=10),
        get_updates_request=get_updates_request or JSONRequest(connection_pool_size=1),
        rate_limiter=limiter,
    )
    builder: Any = (
        ApplicationBuilder()
        .application_class(LiaisonApplication)
        .bot(bot)
        .context_types(ContextTypes(context=BotContext))
        .persistence(SQLitePersistence(deps.db))
        # Chats are served concurrently, each chat's updates in order (bot/pipeline.py).
        .concurrent_updates(ChatOrderedProcessor())
        .post_init(_post_init)
        .post_stop(_post_stop)
    )
    app: LiaisonApplication = builder.build()
    app.deps = deps
    app.setup_inbox()  # after deps: it hooks into the database
    # A form's question a crash may have kept unshown is sent again at start-up.
    app.again_hook = lambda update, since: questions_again(app, update, since)
    # Charts need a CJK font; without one, statistics are text only (one warning here).
    deps.chart_font = charts.usable_font()

    # 1. Who is acting, in which language: every later handler relies on it.
    app.add_handler(common.actor_handler(), group=ACTOR_GROUP)
    # 1a. The door: strangers and unbound groups get one answer a minute; unstorable texts
    #     are refused before any form sees them.
    app.add_handler(gate.door_handler(), group=DOOR_GROUP)
    # 1b. An edited message is not a new answer: say so and stop there.
    app.add_handler(common.edited_message_handler(), group=EDIT_GROUP)
    # 1c. From here on, the first commit also marks the update done (bot/pipeline.py).
    app.add_handler(arm_handler(), group=ARM_GROUP)
    # 2. Features, in FEATURES order (conversations before plain commands they contain).
    with warnings.catch_warnings():
        # The forms are conversations per chat and user with per_message=False on purpose:
        # they take typed answers as well as buttons, and every button carries its draft's
        # token, which the form checks. PTB's notice that buttons are then not tracked per
        # message is expected; it would only reach the operator's console at every start.
        warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)
        for feature in FEATURES:
            for handler in feature.get_handlers():
                app.add_handler(handler, group=FEATURE_GROUP)
    # 3. Strangers: anything no feature took, from someone not on the roster, gets the
    #    invite hint. Same group, last: PTB runs at most one handler per group.
    for handler in start.get_fallback_handlers():
        app.add_handler(handler, group=FEATURE_GROUP)
    # 4. One error handler for everything.
    app.add_error_handler(errors.on_error)

    deps.delivery = DeliveryWorker(
        deps.db,
        app.bot,
        deps.clock,
        deps.i18n,
        limiter=limiter,
        retry_seconds=settings.outbox_retry_seconds,
    )
    deps.scheduler = Scheduler(deps)
    for add_due_work in DUE_WORK:
        add_due_work(deps.scheduler)
    return app


async def record_username(deps: Deps, username: str) -> None:
    """Keep the bot's username: invite links in the bot and in `roster import`/`invite`."""
    deps.bot_username = username
    if username:
        async with deps.db.transaction() as tx:
            await facts.set_fact(tx, facts.BOT_USERNAME, username)


async def _post_init(app: Application) -> None:
    """Start-up: menus, outbox delivery, and an immediate tick to catch up on missed work."""
    deps: Deps = app.deps  # type: ignore[attr-defined]
    await record_username(deps, app.bot.username or "")
    await set_default_menus(app.bot, deps.i18n)
    assert deps.delivery is not None and deps.scheduler is not None
    await deps.delivery.start()
    # Updates a crash left stored but unprocessed go first, before anything new is fetched.
    await app.replay_inbox()  # type: ignore[attr-defined]
    # Work that fell due while the bot was down is done now, not at the first interval, and
    # beside polling: a start with 10,000 reminders due must not hold back the first reply.
    deps.scheduler.start_up_tick()
    if app.job_queue is not None:
        deps.scheduler.install(app.job_queue)


async def _post_stop(app: Application) -> None:
    """Shutdown: let the delivery worker finish the row in hand."""
    deps: Deps = app.deps  # type: ignore[attr-defined]
    if deps.scheduler is not None:
        await deps.scheduler.stop()
    if deps.delivery is not None:
        await deps.delivery.stop()
