"""Build the Application: wiring only, in a commented order."""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import ModuleType
from typing import Any

from telegram import Update
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes
from telegram.request import BaseRequest, HTTPXRequest

from bot.context import BotContext
from bot.deps import Deps
from bot.handlers import (
    alert,
    common,
    digest,
    errors,
    info,
    leave,
    mine,
    notice,
    notices,
    overdue,
    report,
    start,
    stats,
)
from bot.handlers.menu import set_default_menus
from bot.logs import handler_var, update_id_var, user_id_var
from bot.reminders import drafts, escalation, housekeeping, quotas, weekly
from bot.reminders import leave as leave_work
from bot.reminders import notices as notice_work
from bot.reminders.delivery import DeliveryWorker
from bot.reminders.scheduler import Scheduler
from bot.storage.persistence import SQLitePersistence

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
    stats,
    notice,  # the /notice composer
    notices,  # notice buttons (confirm, reply, remind), /notices
    leave,  # /leave, approvals, substitutes standing in
)
# Functions registering due work with the scheduler; every tick runs it in this order.
DUE_WORK: tuple[Callable[[Scheduler], None], ...] = (
    escalation.register,  # alerts climb first: the most urgent work
    weekly.register,  # reminders, overdue notices, digests
    quotas.register,  # quota reminders
    notice_work.register,  # notices: half-time reminders, deadline lists
    leave_work.register,  # substitutes of liaisons on leave: the weekly reminders
    drafts.register,  # drop drafts of every form idle for 24 h
    housekeeping.register,  # forget old processed update ids
)

ACTOR_GROUP = -10  # who is acting and in which language: before everything else
EDIT_GROUP = -5  # edited messages stop here
FEATURE_GROUP = 0


class LiaisonApplication(Application):  # type: ignore[misc]
    """Application that skips redelivered updates and persists after every update."""

    deps: Deps

    async def process_update(self, update: object) -> None:
        """Handle an update once, then write conversation state and user data at once."""
        update_id = update.update_id if isinstance(update, Update) else None
        user = update.effective_user if isinstance(update, Update) else None
        update_id_var.set(update_id)
        user_id_var.set(user.id if user else None)
        handler_var.set(None)
        if update_id is not None and await self.deps.updates.seen(update_id):
            log.info("update %s already processed; skipped", update_id)
            return
        await super().process_update(update)
        # Persist now rather than every 60 s: a kill -9 right after an answer keeps it.
        await self.update_persistence()
        if update_id is not None:
            await self.deps.updates.mark(update_id, self.deps.clock.now())
        self.deps.wake_outbox()


def build_application(
    deps: Deps,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    rate_limit: bool = True,
    per_chat_interval: float = 1.0,
    overall_per_second: int = 25,
) -> LiaisonApplication:
    """Wire settings, storage, handlers, the delivery worker and the scheduler together."""
    settings = deps.settings
    token = settings.bot_token.get_secret_value() if settings.bot_token else "0:unset"
    builder: Any = (
        ApplicationBuilder()
        .application_class(LiaisonApplication)
        .token(token)
        # BOT_API_URL serves both methods and file downloads (self-hosted Bot API servers).
        .base_url(settings.method_base_url)
        .base_file_url(settings.file_base_url)
        .context_types(ContextTypes(context=BotContext))
        .persistence(SQLitePersistence(deps.db))
        # One update at a time: a liaison's answers arrive in order and state stays simple.
        .concurrent_updates(False)
        .post_init(_post_init)
        .post_stop(_post_stop)
    )
    if rate_limit:
        # Telegram's limits: 30 messages/s overall, 20/min per group; a 429 goes back to
        # the outbox (max_retries=0) which honours retry_after itself.
        builder = builder.rate_limiter(
            AIORateLimiter(
                overall_max_rate=30,
                overall_time_period=1,
                group_max_rate=20,
                group_time_period=60,
                max_retries=0,
            )
        )
    if request is not None:
        builder = builder.request(request)
    else:
        builder = builder.request(HTTPXRequest(connection_pool_size=16, read_timeout=15))
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    app: LiaisonApplication = builder.build()
    app.deps = deps

    # 1. Who is acting, in which language: every later handler relies on it.
    app.add_handler(common.actor_handler(), group=ACTOR_GROUP)
    # 1b. An edited message is not a new answer: say so and stop there.
    app.add_handler(common.edited_message_handler(), group=EDIT_GROUP)
    # 2. Features, in FEATURES order (conversations before plain commands they contain).
    for feature in FEATURES:
        for handler in feature.get_handlers():
            app.add_handler(handler, group=FEATURE_GROUP)
    # 3. Strangers: anything no feature took, from someone not on the roster, gets the
    #    invite hint. Same group, last: PTB runs at most one handler per group.
    for handler in start.get_fallback_handlers():
        app.add_handler(handler, group=FEATURE_GROUP)
    # 4. One error handler for everything.
    app.add_error_handler(errors.on_error)  # type: ignore[arg-type]

    deps.delivery = DeliveryWorker(
        deps.db,
        app.bot,
        deps.clock,
        deps.i18n,
        per_chat_interval=per_chat_interval,
        overall_per_second=overall_per_second,
    )
    deps.scheduler = Scheduler(deps)
    for register in DUE_WORK:
        register(deps.scheduler)
    return app


async def _post_init(app: Application) -> None:
    """Start-up: menus, outbox delivery, and an immediate tick to catch up on missed work."""
    deps: Deps = app.deps  # type: ignore[attr-defined]
    deps.bot_username = app.bot.username or ""
    await set_default_menus(app.bot, deps.i18n)
    assert deps.delivery is not None and deps.scheduler is not None
    await deps.delivery.start()
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
