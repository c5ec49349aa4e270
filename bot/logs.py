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


def setup_logging(level: str) -> None:
    """Log to stderr with context; keep chatty libraries (and the token in URLs) quiet."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL, which contains the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
