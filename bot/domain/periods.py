"""Reporting periods an office writes about: a month, a quarter, a year, or any range of days.

Pure code: the date of today comes in as an argument. A week belongs to the period that holds
its due day, so every weekly patrol is counted in exactly one month, quarter and year.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from bot.domain.calendar import week_key, week_monday

CHOICES = (
    "this_month",
    "last_month",
    "this_quarter",
    "last_quarter",
    "this_year",
    "last_year",
)
# Longest range a person may type: a few years of weekly rows is still a usable file.
MAX_DAYS = 5 * 366
# Two dates joined by a space, a dash, a tilde, or the words for "to" (zhi, dao).
RANGE_PATTERN = (
    r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*"
    r"(?:\u81f3|\u5230|~|\uff5e|\u2014|\u2013|-|\s)"
    r"\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$"
)
_RANGE = re.compile(RANGE_PATTERN)


@dataclass(frozen=True)
class Span:
    """A period [start, end) of local dates, with what kind of period it is."""

    kind: str  # "month" | "quarter" | "year" | "range"
    start: date
    end: date  # exclusive

    @property
    def last(self) -> date:
        """Return the last day included."""
        return self.end - timedelta(days=1)

    @property
    def code(self) -> str:
        """Return a compact form for button data ("m202611", "r20261001-20261231")."""
        if self.kind == "month":
            return f"m{self.start:%Y%m}"
        if self.kind == "quarter":
            return f"q{self.start.year}{(self.start.month - 1) // 3 + 1}"
        if self.kind == "year":
            return f"y{self.start.year}"
        return f"r{self.start:%Y%m%d}-{self.last:%Y%m%d}"

    def weeks(self, due_weekday: int) -> list[str]:
        """Return the ISO weeks whose due day (0 = Monday) falls within the period."""
        first = week_monday(week_key(self.start))
        found = []
        monday = first
        while monday < self.end:
            due = monday + timedelta(days=due_weekday)
            if self.start <= due < self.end:
                found.append(week_key(monday))
            monday += timedelta(days=7)
        return found


def month(year: int, m: int) -> Span:
    """Return a calendar month."""
    start = date(year, m, 1)
    return Span("month", start, (start + timedelta(days=32)).replace(day=1))


def quarter(year: int, q: int) -> Span:
    """Return a calendar quarter (1-4)."""
    start = date(year, 3 * (q - 1) + 1, 1)
    end = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    return Span("quarter", start, end)


def year(y: int) -> Span:
    """Return a calendar year."""
    return Span("year", date(y, 1, 1), date(y + 1, 1, 1))


def choose(choice: str, today: date) -> Span:
    """Return the period a button names, relative to today."""
    q = (today.month - 1) // 3 + 1
    if choice == "this_month":
        return month(today.year, today.month)
    if choice == "last_month":
        prev = today.replace(day=1) - timedelta(days=1)
        return month(prev.year, prev.month)
    if choice == "this_quarter":
        return quarter(today.year, q)
    if choice == "last_quarter":
        return quarter(today.year - 1, 4) if q == 1 else quarter(today.year, q - 1)
    if choice == "this_year":
        return year(today.year)
    if choice == "last_year":
        return year(today.year - 1)
    raise ValueError(f"unknown period {choice!r}")


def parse_range(text: str) -> Span | None:
    """Return the range typed as "2026-10-01 2026-12-31" (both days included), else None."""
    m = _RANGE.match(text)
    if not m:
        return None
    try:
        first = date(int(m[1]), int(m[2]), int(m[3]))
        last = date(int(m[4]), int(m[5]), int(m[6]))
    except ValueError:
        return None
    if last < first or (last - first).days >= MAX_DAYS:
        return None
    return Span("range", first, last + timedelta(days=1))


def from_code(code: str) -> Span | None:
    """Return the period of a compact code (Span.code), None when malformed."""
    try:
        if code.startswith("m") and len(code) == 7:
            return month(int(code[1:5]), int(code[5:7]))
        if code.startswith("q") and len(code) == 6 and code[5] in "1234":
            return quarter(int(code[1:5]), int(code[5]))
        if code.startswith("y") and len(code) == 5:
            return year(int(code[1:5]))
        if code.startswith("r") and len(code) == 18 and code[9] == "-":
            first = date(int(code[1:5]), int(code[5:7]), int(code[7:9]))
            last = date(int(code[10:14]), int(code[14:16]), int(code[16:18]))
            if first <= last and (last - first).days < MAX_DAYS:
                return Span("range", first, last + timedelta(days=1))
    except ValueError:
        return None
    return None


def weeks_ending(week: str, n: int) -> Span:
    """Return the n weeks up to and including an ISO week (a digest chart's span)."""
    end = week_monday(week) + timedelta(days=7)
    return Span("range", end - timedelta(weeks=n), end)
