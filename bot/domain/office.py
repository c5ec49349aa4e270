"""Figures an office quotes for a period: reporting, disputes, submissions against quotas.

Pure code: rows in, figures out; time and the policy are arguments. Storage gathers the rows
(bot/storage/office.py); /stats, /export, the chart and the digest all read these figures, so
the numbers agree wherever they appear.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from bot.config import QuotaRule
from bot.domain.calendar import Period, period_of
from bot.domain.periods import Span

# Week statuses of a village (export column and chart colours).
ON_TIME, LATE, MISSING, EXCUSED = "on_time", "late", "missing", "excused"
SETTLED_LEVELS = ("village", "township", "county")
SEVERITIES = ("critical", "high", "medium", "low")
KINDS = ("work_update", "experience_summary", "highlight", "public_opinion")
COUNTED_STATES = ("pending", "adopted")  # as for quotas: a returned submission does not count


@dataclass(frozen=True)
class Place:
    """A village with its township and when it joined the network (first liaison rostered)."""

    village_id: int
    village: str
    township_id: int
    township: str
    joined_at: datetime | None


@dataclass(frozen=True)
class WeekDue:
    """A week of the period and when its report fell due."""

    week: str
    due: datetime


@dataclass(frozen=True)
class AlertRow:
    township_id: int
    village_id: int
    category: str
    severity: str
    ack_seconds: int | None
    escalated: bool
    resolution_level: str | None  # set once resolved


@dataclass(frozen=True)
class SubmissionRow:
    township_id: int
    village_id: int | None
    kind: str
    state: str
    day: date  # local day of first submission


def owes(place: Place, due: datetime) -> bool:
    """Return whether a village owed the report due then (it had joined by the deadline)."""
    return place.joined_at is None or place.joined_at <= due


def week_state(reported_late: bool | None, excused: bool) -> str:
    """Return a village-week's status from its report (None: no report) and leave."""
    if reported_late is None:
        return EXCUSED if excused else MISSING
    return LATE if reported_late else ON_TIME


def percentile(values: Sequence[float], q: float) -> float | None:
    """Return the q-th percentile (0-100) by nearest rank, None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[rank - 1])


def median(values: Sequence[float]) -> float | None:
    """Return the median (mean of the middle two for an even count), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[mid])
    return (ordered[mid - 1] + ordered[mid]) / 2


@dataclass
class Figures:
    """Counts for one village, one township or the county over a period."""

    owed: int = 0  # village-weeks that owed a report (excused ones not included)
    reported: int = 0
    on_time: int = 0
    excused: int = 0
    by_severity: Counter[str] = field(default_factory=Counter)
    by_category: Counter[str] = field(default_factory=Counter)
    settled: Counter[str] = field(default_factory=Counter)  # resolution level → count
    escalated: int = 0
    acks: list[int] = field(default_factory=list)  # seconds to acknowledge
    by_kind: Counter[str] = field(default_factory=Counter)  # counted submissions
    adopted: int = 0

    @property
    def alerts(self) -> int:
        """Return how many alerts were raised."""
        return sum(self.by_severity.values())

    @property
    def resolved(self) -> int:
        """Return how many alerts were settled at any level."""
        return sum(self.settled.values())

    @property
    def submitted(self) -> int:
        """Return how many submissions count."""
        return sum(self.by_kind.values())

    @property
    def median_ack(self) -> float | None:
        """Return the median time to acknowledge in seconds."""
        return median(self.acks)

    @property
    def p90_ack(self) -> float | None:
        """Return the 90th percentile of the time to acknowledge in seconds."""
        return percentile(self.acks, 90)

    def add(self, other: Figures) -> None:
        """Add another unit's counts (a village into its township)."""
        self.owed += other.owed
        self.reported += other.reported
        self.on_time += other.on_time
        self.excused += other.excused
        self.by_severity.update(other.by_severity)
        self.by_category.update(other.by_category)
        self.settled.update(other.settled)
        self.escalated += other.escalated
        self.acks.extend(other.acks)
        self.by_kind.update(other.by_kind)
        self.adopted += other.adopted


@dataclass(frozen=True)
class QuotaResult:
    """One quota rule over a span: submissions counted against the minimum of each period."""

    kinds: list[str]
    period: str  # "month" | "quarter"
    min: int
    counts: list[int]  # one per period of the rule that started within the span
    village: str | None = None  # per-village rules

    @property
    def count(self) -> int:
        """Return the submissions counted over all periods."""
        return sum(self.counts)

    @property
    def required(self) -> int:
        """Return the minimum over all periods."""
        return self.min * len(self.counts)

    @property
    def periods_met(self) -> int:
        """Return in how many periods the minimum was reached."""
        return sum(1 for c in self.counts if c >= self.min)


@dataclass
class Unit:
    """A village or township line: its name, figures and (for a township) its villages."""

    id: int
    name: str
    figures: Figures
    children: list[Unit] = field(default_factory=list)
    quotas: list[QuotaResult] = field(default_factory=list)
    # Per week (in period order), how many village-weeks owed and reported: the chart's data.
    weekly: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class Overview:
    """Everything /stats, the chart and the summary sheet show for one scope and period."""

    span: Span
    weeks: list[WeekDue]
    total: Unit
    townships: list[Unit]


def rule_periods(rule: QuotaRule, span: Span, today: date) -> list[Period]:
    """Return the rule's periods that start within the span and have begun by today."""
    found: list[Period] = []
    day = span.start
    while day < span.end and day <= today:
        p = period_of(rule.period, day)
        if p.start >= span.start:
            found.append(p)
        day = p.end
    return found


def quota_results(
    rules: Sequence[QuotaRule],
    span: Span,
    today: date,
    subs: Sequence[SubmissionRow],
    villages: Sequence[tuple[int, str]],
) -> list[QuotaResult]:
    """Return each rule's progress over the span, for one township's submissions."""
    results = []
    for rule in rules:
        periods = rule_periods(rule, span, today)
        counted = [s for s in subs if s.kind in rule.kinds and s.state in COUNTED_STATES]

        def counts(rows: Iterable[SubmissionRow], periods: list[Period] = periods) -> list[int]:
            days = [r.day for r in rows]
            return [sum(1 for d in days if p.start <= d < p.end) for p in periods]

        if rule.scope == "village":
            for vid, name in villages:
                mine = [s for s in counted if s.village_id == vid]
                results.append(
                    QuotaResult(list(rule.kinds), rule.period, rule.min, counts(mine), name)
                )
        else:
            results.append(QuotaResult(list(rule.kinds), rule.period, rule.min, counts(counted)))
    return results


def build_overview(
    span: Span,
    weeks: Sequence[WeekDue],
    places: Sequence[Place],
    reports: Mapping[int, tuple[int, int]],
    excused: set[tuple[int, str]],
    alerts: Iterable[AlertRow],
    subs: Sequence[SubmissionRow],
    rules: Sequence[QuotaRule],
    today: date,
) -> Overview:
    """Return figures per village and per township, and their total.

    `reports` maps a village id to two bit masks over `weeks` (bit i = weeks[i]): the weeks it
    reported and those it reported on time; `excused` holds the village-weeks covered by
    approved leave.
    """
    by_village: dict[int, Unit] = {}
    townships: dict[int, Unit] = {}
    on_leave = {vid for vid, _ in excused}
    for place in places:
        f = Figures()
        vid = place.village_id
        sent, on_time = reports.get(vid, (0, 0))
        # Most villages joined before the period and had no leave: every week is owed.
        always = not weeks or owes(place, weeks[0].due)
        if always and vid not in on_leave:
            f.owed = len(weeks)
            f.reported = sent.bit_count()
            f.on_time = on_time.bit_count()
            weekly = [(1, sent >> i & 1) for i in range(len(weeks))]
        else:
            weekly = []
            for i, w in enumerate(weeks):
                if not always and not owes(place, w.due):
                    weekly.append((0, 0))
                    continue
                reported = sent >> i & 1
                if not reported and (vid, w.week) in excused:
                    f.excused += 1
                    weekly.append((0, 0))
                    continue
                f.owed += 1
                f.reported += reported
                f.on_time += on_time >> i & 1
                weekly.append((1, reported))
        unit = Unit(place.village_id, place.village, f, weekly=weekly)
        by_village[place.village_id] = unit
        town = townships.get(place.township_id)
        if town is None:
            town = townships[place.township_id] = Unit(
                place.township_id, place.township, Figures(), weekly=[(0, 0)] * len(weeks)
            )
        town.children.append(unit)
    for a in alerts:
        raised_in = by_village.get(a.village_id)
        if raised_in is None:
            continue
        f = raised_in.figures
        f.by_severity[a.severity] += 1
        f.by_category[a.category] += 1
        if a.resolution_level:
            f.settled[a.resolution_level] += 1
        f.escalated += a.escalated
        if a.ack_seconds is not None:
            f.acks.append(a.ack_seconds)
    subs_of: dict[int, list[SubmissionRow]] = {}
    for s in subs:
        subs_of.setdefault(s.township_id, []).append(s)
        if s.state not in COUNTED_STATES:
            continue
        # A township-level submission (no village) counts for the township only, below.
        sent_from = by_village.get(s.village_id) if s.village_id is not None else None
        if sent_from is not None:
            sent_from.figures.by_kind[s.kind] += 1
            sent_from.figures.adopted += s.state == "adopted"
    total = Unit(0, "", Figures(), weekly=[(0, 0)] * len(weeks))
    for town in townships.values():
        for v in town.children:
            town.figures.add(v.figures)
            town.weekly = [
                (a + c, b + d) for (a, b), (c, d) in zip(town.weekly, v.weekly, strict=True)
            ]
        for s in subs_of.get(town.id, []):
            if s.village_id is None and s.state in COUNTED_STATES:
                town.figures.by_kind[s.kind] += 1
                town.figures.adopted += s.state == "adopted"
        town.quotas = quota_results(
            rules, span, today, subs_of.get(town.id, []), [(v.id, v.name) for v in town.children]
        )
        total.figures.add(town.figures)
        total.weekly = [
            (a + c, b + d) for (a, b), (c, d) in zip(total.weekly, town.weekly, strict=True)
        ]
    ordered = sorted(townships.values(), key=lambda u: u.name)
    total.children = ordered
    return Overview(span, list(weeks), total, ordered)


def weeks_due(
    span: Span, due_weekday: int, due_of: Callable[[str], datetime], now: datetime
) -> list[WeekDue]:
    """Return the span's weeks whose report deadline has passed at `now`."""
    found = []
    for week in span.weeks(due_weekday):
        due = due_of(week)
        if due <= now:
            found.append(WeekDue(week, due))
    return found
