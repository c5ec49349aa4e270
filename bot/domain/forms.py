"""The one idle rule for drafts of every form (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta

# A draft nobody worked on for this long is dropped with a notice (sweep and runtime alike).
DRAFT_IDLE = timedelta(hours=24)


def is_idle(updated_at: datetime, now: datetime) -> bool:
    """Return whether a draft last worked on at `updated_at` has been idle too long."""
    return now - updated_at >= DRAFT_IDLE
