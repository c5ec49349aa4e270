"""The update pipeline: durable inbox, per-chat ordering, one commit per update.

Updates flow like this:

1. `InboxBot` stores every getUpdates batch in the inbox before returning it; PTB's Updater
   acknowledges an offset only with the next getUpdates call, so nothing is acknowledged
   before it is stored. Updates Telegram delivers again are dropped right there.
2. `ChatOrderedProcessor` runs updates from different chats concurrently and those of one
   chat strictly in order.
3. `LiaisonApplication.process_update` runs the handlers. The first transaction a feature
   handler commits also marks the update done, so its effects and the mark are one commit:
   a crash after it never applies the update twice (a form answer is never read again as
   the answer to the next question), a crash before it replays the update. An update with
   no effect of its own is marked done with the conversation states and user data at the
   end, in one transaction. At start-up, `replay_inbox` queues what a crash left undone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, BaseHandler, BaseUpdateProcessor, ExtBot, TypeHandler

from bot.logs import handler_var, update_id_var, user_id_var
from bot.storage.outbox import Lane, enqueue

if TYPE_CHECKING:
    from bot.deps import Deps
    from bot.storage.db import Tx
    from bot.storage.persistence import SQLitePersistence

log = logging.getLogger(__name__)

StoreHook = Callable[[list[dict[str, Any]]], Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True)
class Again:
    """A message to queue at start-up: chat, person, sendMessage payload and its dedup key."""

    chat_id: int
    person_id: int
    payload: dict[str, Any]
    dedup_key: str


# Given an update a crash cut short and when it arrived: what its person must see again.
AgainHook = Callable[[Update, datetime], Awaitable[list[Again]]]


@dataclass
class InHand:
    """The update a task is processing: armed once feature handlers run, done once marked."""

    update_id: int
    armed: bool = False
    done: bool = False


_in_hand: ContextVar[InHand | None] = ContextVar("update_in_hand", default=None)


async def _arm(update: object, context: object) -> None:
    holder = _in_hand.get()
    if holder is not None:
        holder.armed = True


def arm_handler() -> BaseHandler:
    """Return the handler after which a write commits the update's done mark with it.

    Register it right before the feature handlers: writes made earlier (who is acting) are
    not the update's effect.
    """
    return TypeHandler(Update, _arm)


class InboxBot(ExtBot):
    """ExtBot whose getUpdates results pass through the inbox before anyone sees them."""

    __slots__ = ("_store_hook",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._store_hook: StoreHook | None = None

    def set_store_hook(self, hook: StoreHook) -> None:
        """Have every getUpdates batch pass through `hook` (which stores it)."""
        self._store_hook = hook

    async def _do_post(self, endpoint: str, data: Any, **kwargs: Any) -> Any:
        result = await super()._do_post(endpoint, data, **kwargs)
        if endpoint == "getUpdates" and self._store_hook is not None and isinstance(result, list):
            # Stored before the Updater moves its offset: a crash from here on loses nothing.
            return await self._store_hook(result)
        return result


def chat_key(update: object) -> int | None:
    """Return what orders updates: the chat, else the user (None for neither)."""
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return update.effective_chat.id
        if update.effective_user is not None:
            return update.effective_user.id
    return None


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Process updates of different chats concurrently, each chat's in arrival order."""

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        # The last update of each chat that is queued or running: the next one waits for it.
        self._tails: dict[int | None, asyncio.Future[None]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = chat_key(update)
        before = self._tails.get(key)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tails[key] = mine
        try:
            if before is not None:
                await asyncio.shield(before)
            await coroutine
        finally:
            if asyncio.iscoroutine(coroutine):
                coroutine.close()  # never started (cancelled while waiting): no warning
            mine.set_result(None)
            if self._tails.get(key) is mine:
                del self._tails[key]

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


class LiaisonApplication(Application):
    """Application that processes each update once and commits its effects in one go."""

    deps: Deps

    def setup_inbox(self) -> None:
        """Route getUpdates through the inbox (called once after build)."""
        self._open: set[int] = set()  # taken from the inbox, not yet done
        self._done: list[int] = []  # processed, waiting for the next commit
        self._finished: list[int] = []  # effect committed earlier, handlers done since
        self._commit_lock = asyncio.Lock()
        self.again_hook: AgainHook | None = None
        if isinstance(self.bot, InboxBot):
            self.bot.set_store_hook(self._store_fetched)
        self.deps.db.before_commit = self._mark_with_effect

    async def _mark_with_effect(self, tx: Tx) -> None:
        """Inside a commit made by a feature handler: mark its update done in the same one."""
        holder = _in_hand.get()
        if holder is None or not holder.armed or holder.done:
            return
        await self.deps.inbox.mark_applied(tx, holder.update_id, self.deps.clock.now())
        tx.after_commit.append(lambda: setattr(holder, "done", True))

    async def _store_fetched(self, raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
        fresh = await self.deps.inbox.store(raw, self.deps.clock.now())
        self._open.update(int(u["update_id"]) for u in fresh)
        return fresh

    async def replay_inbox(self) -> int:
        """Queue the updates a crash left stored but not done, oldest first.

        An update whose effect was committed but whose handlers were cut short is not run
        again; a button press among them is answered, so no tap is left spinning.
        """
        cut_short = await self.deps.inbox.unfinished()
        again: list[Again] = []
        for data, received in cut_short:
            query = data.get("callback_query")
            if query:
                with contextlib.suppress(TelegramError):  # too old by now: nothing to do
                    await self.bot.answer_callback_query(str(query["id"]))
            again += await self._again(data, received)
        if cut_short:
            async with self.deps.db.transaction() as tx:
                # Queued with the finished mark: a second restart never queues it again.
                for message in again:
                    await enqueue(
                        tx,
                        self.deps.clock.now(),
                        chat_id=message.chat_id,
                        person_id=message.person_id,
                        payload=message.payload,
                        dedup_key=message.dedup_key,
                        lane=Lane.URGENT,
                    )
                ids = [int(d["update_id"]) for d, _ in cut_short]
                await self.deps.inbox.mark_finished(tx, ids)
            if again:
                log.info(
                    "inbox: %d questions a crash may have kept unshown are sent again", len(again)
                )
                self.deps.wake_outbox()
        raw = await self.deps.inbox.open_updates()
        for data in raw:
            update = Update.de_json(data, self.bot)
            self._open.add(update.update_id)
            await self.update_queue.put(update)
        if raw:
            log.info("inbox: %d updates left undone by the last run are processed now", len(raw))
        return len(raw)

    async def _again(self, data: dict[str, Any], received: datetime) -> list[Again]:
        """Ask the again hook what a cut-short update's person must be shown again."""
        if self.again_hook is None:
            return []
        try:
            return await self.again_hook(Update.de_json(data, self.bot), received)
        except Exception:  # never keep the bot from starting over one update
            log.exception("inbox: could not tell what update %s left unshown", data["update_id"])
            return []

    async def process_update(self, update: object) -> None:
        """Handle an update once, then commit its state and its done mark together."""
        update_id = update.update_id if isinstance(update, Update) else None
        user = update.effective_user if isinstance(update, Update) else None
        update_id_var.set(update_id)
        user_id_var.set(user.id if user else None)
        handler_var.set(None)
        holder = None
        if update_id is not None:
            if update_id in self._open:
                self._open.discard(update_id)
            elif await self.deps.inbox.seen(update_id):
                # Delivered some other way than through the inbox (tests, webhooks).
                log.info("update %s already processed; skipped", update_id)
                return
            holder = InHand(update_id)
        _in_hand.set(holder)
        await super().process_update(update)
        if holder is not None:
            (self._finished if holder.done else self._done).append(holder.update_id)
        # Commit now rather than every 60 s: a kill -9 right after an answer keeps it.
        await self.update_persistence()

    async def update_persistence(self) -> None:
        """Commit collected conversation states, user data and done marks in one transaction."""
        async with self._commit_lock:
            await super().update_persistence()
            persistence: SQLitePersistence = self.persistence  # type: ignore[assignment]
            writes = persistence.take()
            done, self._done = self._done, []
            # "Finished" marks are committed as soon as the handlers are through: a crash
            # before that makes the start-up answer the tap and show the form's question
            # again (`replay_inbox`), so only the update in flight at a kill may repeat one.
            if not writes and not done and not self._finished:
                return
            finished, self._finished = self._finished, []
            try:
                async with self.deps.db.transaction() as tx:
                    await persistence.write(tx, writes)
                    if done:
                        await self.deps.inbox.mark_done(tx, done, self.deps.clock.now())
                    if finished:
                        await self.deps.inbox.mark_finished(tx, finished)
            except BaseException:
                persistence.give_back(writes)
                self._done[:0] = done
                self._finished[:0] = finished
                raise
            persistence.written(writes)
