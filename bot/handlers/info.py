"""Feature module placeholder: filled in by its issue."""

from __future__ import annotations

from telegram.ext import BaseHandler


def get_handlers() -> list[BaseHandler]:
    """Return this feature's handlers."""
    return []
