"""The callback context type: the acting person and their translator ride along each update."""

from __future__ import annotations

from typing import TYPE_CHECKING

from telegram.ext import Application, CallbackContext, ExtBot

from bot.domain.people import Person
from bot.i18n import Translator

if TYPE_CHECKING:
    from bot.deps import Deps


class BotContext(CallbackContext[ExtBot, dict, dict, dict]):
    """Callback context with `deps`, `actor` (roster person or None) and `t` (translator)."""

    def __init__(
        self, application: Application, chat_id: int | None = None, user_id: int | None = None
    ) -> None:
        super().__init__(application, chat_id=chat_id, user_id=user_id)
        self.actor: Person | None = None
        self._t: Translator | None = None

    @property
    def deps(self) -> Deps:
        """Return the application's dependencies."""
        return self.application.deps  # type: ignore[attr-defined]

    @property
    def t(self) -> Translator:
        """Return the translator chosen for this update (default language before that)."""
        if self._t is None:
            self._t = self.deps.i18n.get(None)
        return self._t

    @t.setter
    def t(self, value: Translator) -> None:
        self._t = value
