"""Logging with context: every line carries the update id, the user id and the handler.

Contents of reports are never logged (they are sensitive); only ids and names of code.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar

update_id_var: ContextVar[int | None] = ContextVar("update_id", default=None)
user_id_var: ContextVar[int | None] = ContextVar("user_id", default=None)
handler_var: ContextVar[str | None] = ContextVar("handler", default=None)

FORMAT = (
    "%(asctime)s %(levelname)s %(name)s [update=%(update_id)s user=%(user_id)s "
    "handler=%(handler)s] %(message)s"
)


class ContextFilter(logging.Filter):
    """Copy the current update's ids onto each log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.update_id = update_id_var.get() or "-"
        record.user_id = user_id_var.get() or "-"
        record.handler = handler_var.get() or "-"
        return True


# Library loggers whose debug output would carry message texts, SQL parameters (report
# contents, phone numbers) or the token in URLs: capped whatever LOG_LEVEL says.
LIBRARY_CAPS = {
    "aiosqlite": logging.WARNING,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "apscheduler": logging.WARNING,
    "telegram": logging.INFO,
}


def quiet_libraries() -> None:
    """Cap the libraries' log levels so LOG_LEVEL=DEBUG never logs sensitive contents."""
    for name, level in LIBRARY_CAPS.items():
        logging.getLogger(name).setLevel(level)


def setup_logging(level: str) -> None:
    """Log to stderr with context; LOG_LEVEL applies to the bot, libraries stay capped."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet_libraries()
