"""How often a chat that is not ours to serve may be answered (pure: time passed in)."""

from __future__ import annotations

from datetime import datetime, timedelta

# One answer per chat in this time to strangers and unbound groups.
QUIET_FOR = timedelta(minutes=1)


class AnswerBudget:
    """Remember when each limited chat was last answered."""

    def __init__(self, every: timedelta = QUIET_FOR) -> None:
        self.every = every
        self._last: dict[int, datetime] = {}

    def take(self, chat_id: int, now: datetime) -> bool:
        """Return whether a chat may get an answer now (and count it)."""
        last = self._last.get(chat_id)
        if last is not None and now - last < self.every:
            return False
        if len(self._last) > 10_000:
            self._last = {c: t for c, t in self._last.items() if now - t < self.every}
        self._last[chat_id] = now
        return True
