"""The form runtime: walks a declared form, one draft row per form and person."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import BotContext
from bot.domain.forms import is_idle
from bot.domain.people import Role
from bot.forms.codec import Press, decode
from bot.forms.steps import Done, Stay, Step, Submit, Summary, say
from bot.handlers.common import answer, button, guard, keyboard, safe_answer_query
from bot.pipeline import Again
from bot.storage import drafts as store
from bot.storage.db import to_db_time
from bot.storage.drafts import DraftRow
from bot.storage.outbox import Lane, enqueue

END = ConversationHandler.END
ACTIVE = "form"  # the one conversation state: the step itself lives in the draft row
SUMMARY, EDIT = "summary", "edit"
Entry = Callable[[Update, BotContext], Coroutine[Any, Any, object]]


@dataclass(kw_only=True)
class Form:
    """A guided form: its steps, summary and submit; the runtime does the rest."""

    name: str
    prefix: str  # callback data prefix of its buttons
    model: type[BaseModel]
    steps: Sequence[Step]
    summary: Summary | None  # None: the last answer submits at once
    submit: Submit
    # cancelled, dropped, submit, edit, cancel, ask_edit, use_buttons; optional: old_button,
    # not_yours
    keys: dict[str, str]
    roles: tuple[Role, ...] = (Role.LIAISON,)
    already: Callable[[BotContext, int], Awaitable[str]] | None = None  # a submitted draft's button
    restart: Entry | None = field(default=None, repr=False)  # what a message after a sweep starts

    def step(self, name: str) -> Step | None:
        return next((s for s in self.steps if s.name == name), None)

    def next_step(self, draft: Any) -> str:
        """Return the first step of the flow not answered yet, else the summary."""
        for s in self.steps:
            if s.flow and s.applies(draft) and not s.answered(draft):
                return s.name
        return SUMMARY

    def guarded(self, callback: Entry) -> Entry:
        """Wrap an entry point in the form's role and private-chat guard."""
        return guard(*self.roles, end_conversation=True)(callback)

    # --- entry --------------------------------------------------------------------------

    async def begin(
        self,
        update: Update,
        context: BotContext,
        draft: BaseModel,
        note: str | None = None,
        step: str | None = None,
    ) -> object:
        """Open a new draft (closing the person's other one) and ask its first question."""
        actor, chat = context.actor, update.effective_chat
        assert actor is not None and chat is not None
        row_step = step or self.next_step(draft)
        token = secrets.token_hex(4)
        async with context.deps.db.transaction() as tx:
            payload = draft.model_dump(mode="json")
            now = context.deps.clock.now()
            await store.open_draft(tx, self.name, token, actor.id, chat.id, payload, row_step, now)
        row = await store.get_draft(context.deps.db, self.name, token)
        assert row is not None
        await self._show(update, context, row, draft, note=note, edit=False)
        return ACTIVE

    async def resume(self, update: Update, context: BotContext, note: str | None = None) -> object:
        """Show the open draft's current question; None when there is none (or it went idle)."""
        try:
            row = await self._open(update, context)
        except _Ended:
            return None
        if row is None:
            return None
        draft = self.model.model_validate(row.payload)
        await self._show(update, context, row, draft, note=note, edit=False)
        return ACTIVE

    async def _open(self, update: Update, context: BotContext) -> DraftRow | None:
        """Return the actor's open draft; one idle too long is dropped here with its notice."""
        assert context.actor is not None
        deps = context.deps
        row = await store.open_of(deps.db, self.name, context.actor.id)
        if row is None or not is_idle(row.updated_at, deps.clock.now()):
            return row
        async with deps.db.transaction() as tx:
            await store.close_draft(tx, self.name, row.token, "dropped", deps.clock.now())
        if update.callback_query is not None:
            await safe_answer_query(update.callback_query)
        await answer(update, context, context.t(self.keys["dropped"]))
        raise _Ended

    # --- updates inside the form --------------------------------------------------------

    async def on_press(self, update: Update, context: BotContext) -> object:
        """Every button of the form: check it is this person's current draft and step."""
        query = update.callback_query
        assert query is not None and context.actor is not None
        press = decode(query.data, self.prefix)
        try:
            row = await self._open(update, context)
        except _Ended:
            return END
        if press is None or row is None or press.token != row.token:
            await self._foreign(update, context, press)
            return None if row is not None else END
        if press.action == "x":
            return await self.cancel(update, context)
        if press.step != row.step:
            await safe_answer_query(
                query, context.t(self.keys.get("old_button", "forms.old_button"))
            )
            return None
        draft = self.model.model_validate(row.payload)
        return await self._on_step_press(update, context, row, draft, press)

    async def _foreign(self, update: Update, context: BotContext, press: Press | None) -> None:
        assert update.callback_query is not None and context.actor is not None
        old = await store.get_draft(context.deps.db, self.name, press.token) if press else None
        text = context.t("common.stale")
        if old is not None and old.person_id != context.actor.id:
            text = context.t(self.keys.get("not_yours", "common.not_allowed"))
        elif old is not None and old.state == "dropped":  # swept while away: say why, once
            text = context.t(self.keys["dropped"])
        elif old is not None and old.state == "submitted" and old.record_id and self.already:
            text = await self.already(context, old.record_id)
        await safe_answer_query(update.callback_query, text, alert=True)

    async def _on_step_press(
        self, update: Update, context: BotContext, row: DraftRow, draft: Any, press: Press
    ) -> object:
        step, editing = row.step, row.editing
        if step == SUMMARY and press.action == "ok":
            return await self._submit(update, context, row, draft)
        if step == SUMMARY and press.action == "ed":
            return await self._move(update, context, row, draft, EDIT, False)
        if step == SUMMARY and press.action == "go" and press.value in self._extras():
            return await self._move(update, context, row, draft, press.value, True)
        if step == EDIT and press.action == "back":
            return await self._move(update, context, row, draft, SUMMARY, False)
        target = self.step(press.value)
        if step == EDIT and press.action == "f" and target and press.value in self._editable(draft):
            if target.reset is not None:
                target.reset(draft)
            return await self._move(update, context, row, draft, target.name, True)
        current = self.step(step or "")
        result = current.press(context, draft, press.action, press.value) if current else False
        query = update.callback_query
        assert query is not None
        if result is False:
            await safe_answer_query(
                query, context.t(self.keys.get("old_button", "forms.old_button"))
            )
            return None
        if isinstance(result, Stay) and result.popup:
            await safe_answer_query(query, result.note, alert=True)
            return None
        if isinstance(result, Stay):
            return await self._move(
                update, context, row, draft, step or SUMMARY, editing, result.note
            )
        return await self._move(update, context, row, draft, self.next_step(draft), False)

    async def on_message(self, update: Update, context: BotContext) -> object:
        """Any message inside the form: the current step takes it or asks again."""
        message = update.effective_message
        assert message is not None and context.actor is not None
        try:
            row = await self._open(update, context)
        except _Ended:
            return END
        if row is None:  # swept (its notice was sent then) or closed elsewhere: start clean
            return await self.restart(update, context) if self.restart else END
        draft = self.model.model_validate(row.payload)
        current = self.step(row.step or "")
        result = current.message(context, draft, message) if current else False
        if result is False:
            wrong = (current.wrong if current else None) or self.keys["use_buttons"]
            result = Stay(say(wrong, context, draft))
        if isinstance(result, Stay):
            step = row.step or SUMMARY
            return await self._move(update, context, row, draft, step, row.editing, result.note)
        return await self._move(update, context, row, draft, self.next_step(draft), False)

    async def cancel(self, update: Update, context: BotContext) -> object:
        """The Cancel button and /cancel: close the draft."""
        assert context.actor is not None
        deps = context.deps
        row = await store.open_of(deps.db, self.name, context.actor.id)
        if row is not None:
            async with deps.db.transaction() as tx:
                await store.close_draft(tx, self.name, row.token, "cancelled", deps.clock.now())
        edit = update.callback_query is not None
        await answer(update, context, context.t(self.keys["cancelled"]), edit=edit)
        return END

    # --- moving, showing, submitting ----------------------------------------------------

    async def _move(
        self,
        update: Update,
        context: BotContext,
        row: DraftRow,
        draft: Any,
        step: str,
        editing: bool,
        note: str | None = None,
    ) -> object:
        """Commit the draft and its step, then (only then) show the step."""
        if step == SUMMARY and self.summary is None:
            return await self._submit(update, context, row, draft)
        deps = context.deps
        payload = draft.model_dump(mode="json")
        async with deps.db.transaction() as tx:
            saved = await store.save_draft(
                tx, self.name, row.token, payload, step, editing, deps.clock.now()
            )
        if not saved:  # closed meanwhile (a sweep, another device): say so once
            await answer(update, context, context.t("common.stale"))
            return END
        moved = DraftRow(**{**row.__dict__, "step": step, "editing": editing})
        await self._show(update, context, moved, draft, note=note)
        return ACTIVE

    async def _show(
        self,
        update: Update,
        context: BotContext,
        row: DraftRow,
        draft: Any,
        *,
        note: str | None = None,
        edit: bool = True,
    ) -> None:
        text, markup = self._render(context, row, draft, note)
        await answer(update, context, text, markup, edit=edit and update.callback_query is not None)

    def _render(
        self, context: BotContext, row: DraftRow, draft: Any, note: str | None = None
    ) -> tuple[str, InlineKeyboardMarkup | None]:
        """Return the text and buttons of the draft's current step."""
        t = context.t
        step = row.step or self.next_step(draft)
        rows: list[list[tuple[str, str, str]]]
        if step == SUMMARY and self.summary:
            text = self.summary.render(context, draft)
            extras = [("go", s, t(k)) for k, s in self.summary.extras]
            rows = [
                [("ok", "", t(self.keys["submit"]))],
                [*extras, ("ed", "", t(self.keys["edit"]))],
            ]
        elif step == EDIT and self.summary:
            text = t(self.keys["ask_edit"])
            fields = [
                ("f", s.name, t(s.label or s.name))
                for s in self.steps
                if s.name in self._editable(draft)
            ]
            rows = [fields[i : i + 3] for i in range(0, len(fields), 3)]
            if self.summary.back:
                rows.append([("back", "", t(self.summary.back))])
        else:
            current = self.step(step)
            assert current is not None
            text, rows = say(current.ask, context, draft), current.rows(context, draft)
        rows.append([("x", "", t(self.keys["cancel"]))])
        data = lambda a, v: v if a == "@" else Press(row.token, step, a, v).encode(self.prefix)  # noqa: E731
        markup = keyboard(*[[button(label, data(a, v)) for a, v, label in r] for r in rows])
        return (f"{note}\n\n{text}" if note else text), markup

    async def again(self, context: BotContext, chat_id: int, since: datetime) -> Again | None:
        """Return the open draft's current question to send again, if its reply may be lost.

        Called at start-up for an update whose effect committed but whose handlers a crash cut
        short (bot/pipeline.py): when the actor's open draft in that chat changed since the
        update arrived, that change was the update's, and the question after it may never
        have been shown. The key names the draft's change, so it is queued once.
        """
        assert context.actor is not None
        now = context.deps.clock.now()
        row = await store.open_of(context.deps.db, self.name, context.actor.id)
        if row is None or row.chat_id != chat_id or row.updated_at < since:
            return None
        if is_idle(row.updated_at, now):  # the next message drops it with its notice
            return None
        text, markup = self._render(context, row, self.model.model_validate(row.payload))
        payload: dict[str, Any] = {"text": text}
        if markup is not None:
            payload["reply_markup"] = markup.to_dict()
        key = f"{self.name}:again:{row.token}:{to_db_time(row.updated_at)}"
        return Again(chat_id, context.actor.id, payload, key)

    def _editable(self, draft: Any) -> list[str]:
        edit = self.summary.edit if self.summary else ()
        return [n for n in edit if (s := self.step(n)) and s.applies(draft)]

    def _extras(self) -> list[str]:
        return [s for _, s in self.summary.extras] if self.summary else []

    async def _submit(
        self, update: Update, context: BotContext, row: DraftRow, draft: Any
    ) -> object:
        """Store the record, close the draft and queue the confirmation, in one transaction."""
        deps, chat = context.deps, update.effective_chat
        assert context.actor is not None and chat is not None
        now = deps.clock.now()
        async with deps.db.transaction() as tx:
            result = await self.submit(context, draft, tx)
            if isinstance(result, Done):
                state = "submitted" if result.record_id is not None else "cancelled"
                await store.close_draft(tx, self.name, row.token, state, now, result.record_id)
                payload: dict[str, Any] = {"text": result.text}
                if result.markup:
                    payload["reply_markup"] = result.markup
                # A confirmation survives an outage: it is queued with what it confirms.
                await enqueue(
                    tx,
                    now,
                    chat_id=chat.id,
                    person_id=context.actor.id,
                    payload=payload,
                    dedup_key=f"{self.name}:done:{row.token}",
                    lane=Lane.URGENT,
                )
        if isinstance(result, Stay):  # back to the summary, or (none) to the last answer
            step = SUMMARY if self.summary else row.step or SUMMARY
            return await self._move(update, context, row, draft, step, False, result.note)
        await safe_answer_query(update.callback_query)
        deps.wake_outbox()
        if deps.delivery is not None:
            await deps.delivery.send_now(chat.id)
        return END

    # --- wiring -------------------------------------------------------------------------

    def conversation(self, entry_points: list[BaseHandler]) -> ConversationHandler:
        """Return the form's persistent ConversationHandler (its buttons also re-enter it)."""
        buttons: CallbackQueryHandler[BotContext, object] = CallbackQueryHandler(
            self.guarded(self.on_press), pattern=f"^{self.prefix}:"
        )
        return ConversationHandler(
            entry_points=[*entry_points, buttons],
            states={
                ACTIVE: [buttons, MessageHandler(~filters.COMMAND, self.guarded(self.on_message))]
            },
            fallbacks=[CommandHandler("cancel", self.guarded(self.cancel))],
            name=self.name,
            persistent=True,
            allow_reentry=True,
        )

    def mermaid(self) -> str:
        """Return the form's state diagram, generated from its declaration."""
        flow = [s.name for s in self.steps if s.flow] + [SUMMARY if self.summary else "[*]"]
        lines = ["stateDiagram-v2", f"    %% {self.name}: generated by Form.mermaid(), do not edit"]
        for i, name in enumerate(["[*]", *flow[:-1]]):
            own, entered = getattr(self.step(name), "when", None), []
            for later in flow[i:]:  # on to the next step that applies
                when = getattr(self.step(later), "when", None)
                if when in entered:
                    continue  # a step of a group already entered (same condition)
                gated = when is not None and when is not own
                lines.append(f"    {name} --> {later}" + (": if it applies" if gated else ""))
                if not gated:
                    break
                entered.append(when)
        if self.summary is not None:
            for _, name in self.summary.extras:
                lines += [f"    {SUMMARY} --> {name}", f"    {name} --> {SUMMARY}: Done"]
            lines.append(f"    {SUMMARY} --> {EDIT}: Edit")
            lines += [f"    {EDIT} --> {n}: then back to {SUMMARY}" for n in self.summary.edit]
            lines.append(f"    {SUMMARY} --> [*]: Submit")
        lines.append("    %% every step: Cancel and /cancel end it")
        return "\n".join(lines) + "\n"


class _Ended(Exception):
    """The draft was dropped for being idle; its notice has been sent."""
