"""The words of /stats: a paragraph fit to paste into a written summary, then one line per unit.

Pure code: figures and a Translator in, text out.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from bot.domain import vocab
from bot.domain.digest import duration
from bot.domain.office import SETTLED_LEVELS, SEVERITIES, Figures, Overview, QuotaResult, Unit
from bot.domain.periods import Span
from bot.i18n import Translator

# One vocabulary with the alert form, the digest and the cards (bot/domain/vocab.py).
SEVERITY_KEYS = vocab.SEVERITY_KEYS
CATEGORY_KEYS = vocab.CATEGORY_KEYS
LEVEL_KEYS = vocab.RESOLUTION_KEYS
KIND_KEYS = vocab.KIND_KEYS
THIS_KEYS = {
    "month": "office.this.month",
    "quarter": "office.this.quarter",
    "year": "office.this.year",
    "range": "office.this.range",
}
UNIT_KEYS = {"month": "office.unit.month", "quarter": "office.unit.quarter"}


@dataclass(frozen=True)
class ChartData:
    """What one chart shows, with every label already in the reader's language."""

    title: str
    rate_title: str
    weeks: list[str]  # column labels
    rows: list[tuple[str, list[float | None]]]  # unit name, reporting rate per week (0..1)
    settled_title: str
    settled: list[tuple[str, int]]  # where settled (and "not yet"), count


def period_label(t: Translator, span: Span) -> str:
    """Return "2026年11月", "2026年第四季度", "2026年" or "2026年10月1日至12月31日"."""
    if span.kind == "month":
        return vocab.period_label(t, "month", f"{span.start:%Y-%m}")
    if span.kind == "quarter":
        q = (span.start.month - 1) // 3 + 1
        return vocab.period_label(t, "quarter", f"{span.start.year}-Q{q}")
    if span.kind == "year":
        return t("office.period.year", year=span.start.year)
    return t("office.period.range", start=t.date(span.start, "long"), end=t.date(span.last, "long"))


def _counts(
    t: Translator,
    keys: dict[str, str],
    counter: Counter[str],
    order: tuple[str, ...],
    key: str = "office.count",
) -> str:
    parts = [t(key, word=t(keys[k]), n=counter[k]) for k in order if counter.get(k, 0) > 0]
    return t("common.list_sep").join(parts)


def _minutes(t: Translator, seconds: float | None) -> str:
    return "—" if seconds is None else duration(seconds, t)


def share_in_village(f: Figures, t: Translator) -> str:
    """Return the share of settled alerts settled in the village ("小事不出村")."""
    return t.percent(f.settled.get("village", 0), f.resolved)


def _quota_sentence(t: Translator, q: QuotaResult) -> str:
    kinds = "/".join(t(KIND_KEYS[k]) for k in q.kinds)
    return t(
        "office.sum.quota",
        kinds=kinds,
        unit=t(UNIT_KEYS.get(q.period, "office.unit.month")),
        min=q.min,
        count=q.count,
        required=q.required,
        met=q.periods_met,
        periods=len(q.counts),
    )


def quota_sentences(t: Translator, quotas: list[QuotaResult]) -> list[str]:
    """Return one sentence per township rule, and one per village rule (villages met)."""
    # A rule whose period did not start within the span (a quarter rule in a month) is left out.
    lines = [_quota_sentence(t, q) for q in quotas if q.village is None and q.counts]
    village_rules: dict[tuple[tuple[str, ...], str, int], list[QuotaResult]] = {}
    for q in quotas:
        if q.village is not None:
            village_rules.setdefault((tuple(q.kinds), q.period, q.min), []).append(q)
    for (kinds, _, q_min), rows in village_rules.items():
        lines.append(
            t(
                "office.sum.quota_village",
                kinds="/".join(t(KIND_KEYS[k]) for k in kinds),
                min=q_min,
                met=sum(1 for r in rows if r.counts and r.periods_met == len(r.counts)),
                villages=len(rows),
            )
        )
    return lines


def summary(t: Translator, f: Figures, span: Span, quotas: list[QuotaResult]) -> str:
    """Return the paragraph of a scope's figures, in the words of a written summary."""
    this = t(THIS_KEYS[span.kind])
    parts = []
    if f.owed:
        parts.append(
            t(
                "office.sum.reports",
                this=this,
                owed=f.owed,
                reported=f.reported,
                rate=t.percent(f.reported, f.owed),
                on_time=t.percent(f.on_time, f.owed),
            )
        )
    else:
        parts.append(t("office.sum.no_weeks", this=this))
    if f.excused:
        parts.append(t("office.sum.excused", n=f.excused))
    if f.alerts:
        parts.append(
            t(
                "office.sum.alerts",
                n=f.alerts,
                severities=_counts(t, SEVERITY_KEYS, f.by_severity, SEVERITIES),
                categories=_counts(t, CATEGORY_KEYS, f.by_category, tuple(CATEGORY_KEYS)),
            )
        )
        if f.resolved:
            parts.append(
                t(
                    "office.sum.settled",
                    resolved=f.resolved,
                    levels=_counts(t, LEVEL_KEYS, f.settled, SETTLED_LEVELS),
                    share=share_in_village(f, t),
                )
            )
        else:
            parts.append(t("office.sum.none_settled"))
        if f.acks:
            parts.append(
                t(
                    "office.sum.ack",
                    median=_minutes(t, f.median_ack),
                    p90=_minutes(t, f.p90_ack),
                )
            )
        parts.append(t("office.sum.escalated", n=f.escalated))
    else:
        parts.append(t("office.sum.no_alerts"))
    if f.submitted:
        parts.append(
            t(
                "office.sum.subs",
                n=f.submitted,
                kinds=_counts(t, KIND_KEYS, f.by_kind, tuple(KIND_KEYS), "office.count_docs"),
                adopted=f.adopted,
                rate=t.percent(f.adopted, f.submitted),
            )
        )
    else:
        parts.append(t("office.sum.no_subs"))
    parts.extend(quota_sentences(t, quotas))
    # Chinese sentences follow each other without a space; English ones need one.
    return ("" if t.language.startswith("zh") else " ").join(parts)


def unit_line(t: Translator, unit: Unit, *, township: bool) -> str:
    """Return one line for a village, or for a township with its village count."""
    f = unit.figures
    values = dict(
        name=unit.name,
        reported=f.reported,
        owed=f.owed,
        rate=t.percent(f.reported, f.owed),
        on_time=t.percent(f.on_time, f.owed),
        alerts=f.alerts,
        village=f.settled.get("village", 0),
        share=share_in_village(f, t),
        subs=f.submitted,
        adopted=f.adopted,
    )
    if township:
        quotas = t("common.list_sep").join(
            t(
                "office.quota_brief",
                kinds="/".join(t(KIND_KEYS[k]) for k in q.kinds),
                count=q.count,
                required=q.required,
            )
            for q in unit.quotas
            if q.village is None
        )
        return t("office.line.township", villages=len(unit.children), quotas=quotas, **values)
    return t("office.line.village", **values)


def stats_text(t: Translator, ov: Overview, scope: str, *, by_township: bool) -> str:
    """Return the whole /stats message: heading, summary paragraph, one line per unit."""
    quotas = [q for town in ov.townships for q in town.quotas] if len(ov.townships) == 1 else []
    lines = [
        t("office.stats.head", scope=scope, period=period_label(t, ov.span)),
        "",
        summary(t, ov.total.figures, ov.span, quotas),
        "",
    ]
    if by_township:
        lines.append(t("office.stats.by_township"))
        lines.extend(unit_line(t, u, township=True) for u in ov.townships)
    else:
        lines.append(t("office.stats.by_village"))
        lines.extend(unit_line(t, v, township=False) for u in ov.townships for v in u.children)
    return "\n".join(lines)


def chart_data(t: Translator, ov: Overview, scope: str, *, by_township: bool) -> ChartData:
    """Return the chart of a scope and period: reporting rate per unit and week, alerts settled."""
    units = ov.townships if by_township else [v for u in ov.townships for v in u.children]
    f = ov.total.figures
    return ChartData(
        title=t("office.chart.title", scope=scope, period=period_label(t, ov.span)),
        rate_title=t("office.chart.rate"),
        weeks=[t("office.week_short", n=int(w.week.split("-W")[1])) for w in ov.weeks],
        rows=[(u.name, [b / a if a else None for a, b in u.weekly]) for u in units],
        settled_title=t("office.chart.settled"),
        settled=[
            *((t(LEVEL_KEYS[level]), f.settled.get(level, 0)) for level in SETTLED_LEVELS),
            (t("office.chart.unsettled"), f.alerts - f.resolved),
        ],
    )
