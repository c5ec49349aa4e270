"""Injectable time: production reads the system clock, tests move a fake one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        """Return the frozen time."""
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to an absolute time."""
        self._now = when.astimezone(UTC)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by a delta (or timedelta keyword arguments) and return the new time."""
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self._now

    def timestamp(self) -> float:
        """Return POSIX seconds, for fakes that want a time.time-like callable."""
        return self._now.timestamp()


class ShiftedClock:
    """Real time moved to start at a given instant, which can be moved forward on request.

    Used by the end-to-end tests (LIAISON_FAKE_NOW) and by the demo's time controls.
    """

    def __init__(self, start: datetime, monotonic: Callable[[], float] | None = None) -> None:
        import time as _time

        self._mono = monotonic or _time.monotonic
        # (start, monotonic reading at start), replaced as one value so readers on other
        # threads never see half of a jump.
        self._origin = (start.astimezone(UTC), self._mono())

    def now(self) -> datetime:
        """Return the shifted instant: start plus real time elapsed since then."""
        start, t0 = self._origin
        return start + timedelta(seconds=self._mono() - t0)

    def jump_to(self, when: datetime) -> datetime:
        """Continue from ``when`` (time keeps flowing from there); return it."""
        if when.tzinfo is None:
            raise ValueError("jump_to needs an aware datetime")
        self._origin = (when.astimezone(UTC), self._mono())
        return self._origin[0]

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta``; return the new time."""
        return self.jump_to(self.now() + delta)


def clock_from_env(value: str | None) -> Clock:
    """Return the system clock, or a shifted one when LIAISON_FAKE_NOW is set (tests only)."""
    if not value:
        return SystemClock()
    start = datetime.fromisoformat(value)
    if start.tzinfo is None:
        raise ValueError(
            "LIAISON_FAKE_NOW needs a time zone offset, e.g. 2026-11-24T15:59:50+08:00"
        )
    return ShiftedClock(start)
