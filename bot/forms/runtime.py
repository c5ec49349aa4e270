"""The form runtime: walks a declared form, one draft row per form and person."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

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
from bot.forms.steps import Done, Result, Stay, Step, Submit, Summary, say
from bot.handlers.common import (
    answer,
    button,
    confirm,
    guard,
    keyboard,
    safe_answer_query,
    send_confirmations,
)
from bot.pipeline import Again
from bot.storage import drafts as store
from bot.storage.db import to_db_time
from bot.storage.drafts import DraftRow

END = ConversationHandler.END
ACTIVE = "form"  # the one conversation state: the step itself lives in the draft row
SUMMARY, EDIT = "summary", "edit"
Entry = Callable[[Update, BotContext], Coroutine[Any, Any, object]]
DEFAULT_KEYS = {"old_button": "forms.old_button", "not_yours": "common.not_allowed"}


@dataclass(kw_only=True)
class Form:
    """A guided form: its steps, summary and submit; the runtime does the rest."""

    name: str
    prefix: str  # callback data prefix of its buttons
    model: type[BaseModel]
    steps: Sequence[Step]
    summary: Summary | None = None  # None: submitted as soon as the last step is answered
    submit: Submit
    # cancelled, dropped, cancel; use_buttons (for steps without `wrong`); with a summary:
    # submit, edit, ask_edit; optional: old_button, not_yours
    keys: dict[str, str]
    roles: tuple[Role, ...] = (Role.LIAISON,)
    already: Callable[[BotContext, int], Awaitable[str]] | None = None  # a submitted draft's button
    restart: Entry | None = field(default=None, repr=False)  # what a message after a sweep starts

    def __post_init__(self) -> None:
        self.keys = {**DEFAULT_KEYS, **self.keys}

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
        actor, chat, deps = context.actor, update.effective_chat, context.deps
        assert actor is not None and chat is not None
        token, step = secrets.token_hex(4), step or self.next_step(draft)
        async with deps.db.transaction() as tx:
            payload = draft.model_dump(mode="json")
            await store.open_draft(
                tx, self.name, token, actor.id, chat.id, payload, step, deps.clock.now()
            )
        await answer(update, context, *self._render(context, token, step, draft, note))
        return ACTIVE

    async def resume(self, update: Update, context: BotContext, note: str | None = None) -> object:
        """Show the open draft's current question; None when there is none (or it went idle)."""
        row = await self._open(update, context)
        if not row:
            return None
        draft = self.model.model_validate(row.payload)
        await answer(update, context, *self._render(context, row.token, row.step, draft, note))
        return ACTIVE

    async def _open(self, update: Update, context: BotContext) -> DraftRow | Literal[False] | None:
        """Return the actor's open draft, or False if it was dropped here with its notice: idle
        too long, or from before the runtime (no step)."""
        assert context.actor is not None
        deps = context.deps
        row = await store.open_of(deps.db, self.name, context.actor.id)
        if row is None or (row.step and not is_idle(row.updated_at, deps.clock.now())):
            return row
        async with deps.db.transaction() as tx:
            await store.close_draft(tx, self.name, row.token, "dropped", deps.clock.now())
        await answer(update, context, context.t(self.keys["dropped"]))
        return False

    # --- updates inside the form --------------------------------------------------------

    async def on_press(self, update: Update, context: BotContext) -> object:
        """Every button of the form: check it is this person's current draft and step."""
        query = update.callback_query
        assert query is not None
        press = decode(query.data, self.prefix)
        row = await self._open(update, context)
        if row is False:
            return END
        if press is None or row is None or press.token != row.token:
            await self._foreign(update, context, press)
            return None if row is not None else END
        if press.action == "x":
            return await self.cancel(update, context)
        draft = self.model.model_validate(row.payload)
        if press.step == row.step == SUMMARY and press.action == "ok":
            return await self._submit(update, context, row, draft)
        goto = self._goto(row.step, press, draft) if press.step == row.step else None
        if goto is not None:  # the summary's and the Edit menu's own buttons
            return await self._move(update, context, row, draft, goto)
        current = self.step(row.step) if press.step == row.step else None
        result = current.press(context, draft, press.action, press.value) if current else False
        if result is False:
            await safe_answer_query(query, context.t(self.keys["old_button"]))
            return None
        if isinstance(result, Stay) and result.popup:
            await safe_answer_query(query, result.note, alert=True)
            return None
        return await self._went(update, context, row, draft, result)

    def _goto(self, step: str, press: Press, draft: Any) -> str | None:
        """Return where a button of the summary or of the Edit menu leads; None for others."""
        extras = [s for _, s in self.summary.extras] if self.summary else []
        if step == SUMMARY and press.action == "ed":
            return EDIT
        if step == SUMMARY and press.action == "go" and press.value in extras:
            return press.value
        if step == EDIT and press.action == "back":
            return SUMMARY
        target = self.step(press.value)
        if step == EDIT and press.action == "f" and target and press.value in self._editable(draft):
            if target.reset is not None:
                target.reset(draft)
            return target.name
        return None

    async def _foreign(self, update: Update, context: BotContext, press: Press | None) -> None:
        assert update.callback_query is not None and context.actor is not None
        old = await store.get_draft(context.deps.db, self.name, press.token) if press else None
        text = context.t("common.stale")
        if old is not None and old.person_id != context.actor.id:
            text = context.t(self.keys["not_yours"])
        elif old is not None and old.state == "dropped":  # swept while away: say why, once
            text = context.t(self.keys["dropped"])
        elif old is not None and old.state == "submitted" and old.record_id and self.already:
            text = await self.already(context, old.record_id)
        await safe_answer_query(update.callback_query, text, alert=True)

    async def on_message(self, update: Update, context: BotContext) -> object:
        """Any message inside the form: the current step takes it or asks again."""
        message = update.effective_message
        assert message is not None
        row = await self._open(update, context)
        if row is False:
            return END
        if row is None:  # swept (its notice was sent then) or closed elsewhere: start clean
            return await self.restart(update, context) if self.restart else END
        draft = self.model.model_validate(row.payload)
        current = self.step(row.step)
        result = current.message(context, draft, message) if current else False
        if result is False:
            wrong = (current.wrong if current else None) or self.keys["use_buttons"]
            result = Stay(say(wrong, context, draft))
        return await self._went(update, context, row, draft, result)

    async def _went(
        self, update: Update, context: BotContext, row: DraftRow, draft: Any, result: Result
    ) -> object:
        """After a step took an answer: stay on it (with its note) or go on."""
        if isinstance(result, Stay):
            return await self._move(update, context, row, draft, row.step, result.note)
        return await self._move(update, context, row, draft, self.next_step(draft))

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
        note: str | None = None,
    ) -> object:
        """Commit the draft and its step, then (only then) show the step."""
        if step == SUMMARY and self.summary is None:
            return await self._submit(update, context, row, draft)
        deps = context.deps
        payload = draft.model_dump(mode="json")
        async with deps.db.transaction() as tx:
            saved = await store.save_draft(
                tx, self.name, row.token, payload, step, deps.clock.now()
            )
        if not saved:  # closed meanwhile (a sweep, another device): say so once
            await answer(update, context, context.t("common.stale"))
            return END
        text, markup = self._render(context, row.token, step, draft, note)
        await answer(update, context, text, markup, edit=update.callback_query is not None)
        return ACTIVE

    def _render(
        self, context: BotContext, token: str, step: str, draft: Any, note: str | None = None
    ) -> tuple[str, InlineKeyboardMarkup | None]:
        """Return the text and buttons of the draft's current step."""
        t, keys = context.t, self.keys
        rows: list[list[tuple[str, str, str]]]
        if step == SUMMARY and self.summary is not None:
            text = self.summary.render(context, draft)
            extras = [("go", s, t(k)) for k, s in self.summary.extras]
            rows = [[("ok", "", t(keys["submit"]))], [*extras, ("ed", "", t(keys["edit"]))]]
        elif step == EDIT and self.summary is not None:
            text = t(keys["ask_edit"])
            names = self._editable(draft)
            fields = [("f", s.name, t(s.label or s.name)) for s in self.steps if s.name in names]
            rows = [fields[i : i + 3] for i in range(0, len(fields), 3)]
            if self.summary.back:
                rows.append([("back", "", t(self.summary.back))])
        else:
            current = self.step(step)
            assert current is not None
            text, rows = say(current.ask, context, draft), current.rows(context, draft)
        rows.append([("x", "", t(keys["cancel"]))])
        data = lambda a, v: v if a == "@" else Press(token, step, a, v).encode(self.prefix)  # noqa: E731
        markup = keyboard(*[[button(label, data(a, v)) for a, v, label in r] for r in rows])
        return (f"{note}\n\n{text}" if note else text), markup

    async def again(self, context: BotContext, chat_id: int, since: datetime) -> Again | None:
        """Return the open draft's current question to send again, if its reply may be lost.

        At start-up, for an update a crash cut short (bot/pipeline.py): if the actor's open draft
        in that chat changed since the update arrived, the question after that change may never
        have been shown. The key names the change, so it is queued once.
        """
        assert context.actor is not None
        row = await store.open_of(context.deps.db, self.name, context.actor.id)
        if row is None or row.chat_id != chat_id or row.updated_at < since:
            return None
        if is_idle(row.updated_at, context.deps.clock.now()):  # the next update drops it
            return None
        draft = self.model.model_validate(row.payload)
        text, markup = self._render(context, row.token, row.step, draft)
        key = f"{self.name}:again:{row.token}:{to_db_time(row.updated_at)}"
        payload = {"text": text} | ({"reply_markup": markup.to_dict()} if markup else {})
        return Again(chat_id, context.actor.id, payload, key)

    def _editable(self, draft: Any) -> list[str]:
        names = self.summary.edit if self.summary else ()
        return [n for n in names if (s := self.step(n)) and s.applies(draft)]

    async def _submit(
        self, update: Update, context: BotContext, row: DraftRow, draft: Any
    ) -> object:
        """Store the record, close the draft and queue the confirmation, in one transaction."""
        deps = context.deps
        async with deps.db.transaction() as tx:
            result = await self.submit(context, draft, tx)
            if isinstance(result, Done):
                state = "submitted" if result.record_id is not None else "cancelled"
                now = deps.clock.now()
                await store.close_draft(tx, self.name, row.token, state, now, result.record_id)
                key = f"{self.name}:done:{row.token}"
                # The card pressed (the summary) becomes the confirmation.
                card = update.callback_query.message if update.callback_query else None
                await confirm(context, tx, result.text, result.markup, key, card=card)
        if isinstance(result, Stay):  # on the summary, or the last step of a form without one
            return await self._move(update, context, row, draft, row.step, result.note)
        await send_confirmations(update, context)
        return END

    # --- wiring -------------------------------------------------------------------------

    def conversation(self, entry_points: list[BaseHandler]) -> ConversationHandler:
        """Return the form's persistent ConversationHandler (its buttons also re-enter it)."""
        buttons = CallbackQueryHandler(self.guarded(self.on_press), pattern=f"^{self.prefix}:")
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
        last = SUMMARY if self.summary else "[*]"
        flow = [s.name for s in self.steps if s.flow] + [last]
        lines = ["stateDiagram-v2", f"    %% {self.name}: generated by Form.mermaid(), do not edit"]
        for i, name in enumerate(["[*]", *flow[:-1]]):
            own, entered = getattr(self.step(name), "when", None), []
            for later in flow[i:]:  # on to the next step that applies
                when = getattr(self.step(later), "when", None)
                if when in entered:
                    continue  # a step of a group already entered (same condition)
                gated = when is not None and when is not own
                label = ": if it applies" if gated else (": Submit" if later == "[*]" else "")
                lines.append(f"    {name} --> {later}{label}")
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
