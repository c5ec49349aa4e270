"""Chart images for /stats and the digest: reporting rate per unit and week, and where alerts
were settled. PNG bytes out; texts come in already translated.

matplotlib is imported only when a chart is drawn (start-up stays fast), through its
object API (no pyplot state), so charts can be drawn in a worker thread. Chinese needs a CJK
font: the Dockerfile and `make` install Debian's fonts-wqy-microhei; CHART_FONT names another
file. Without one, statistics are sent as text only and start-up logs one warning.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.domain.periods import Span
from bot.domain.summary import ChartData, chart_data
from bot.i18n import Translator

if TYPE_CHECKING:
    from bot.deps import Deps

log = logging.getLogger(__name__)

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
)
DIGEST_WEEKS = 8  # a digest chart shows the reporting rate of the last eight weeks
MAX_ROWS = 60  # more units than this would not be readable in one picture


def find_font(candidates: Sequence[str] = FONT_CANDIDATES) -> Path | None:
    """Return the first CJK font file present ($CHART_FONT first), or None."""
    override = os.environ.get("CHART_FONT")
    for name in ([override] if override else []) + list(candidates):
        path = Path(name)
        if path.is_file():
            return path
    return None


def usable_font() -> Path | None:
    """Return the chart font, warning once (at start-up) when there is none."""
    font = find_font()
    if font is None:
        log.warning(
            "no CJK font found (apt-get install fonts-wqy-microhei, or set CHART_FONT): "
            "statistics and digests are sent as text without charts"
        )
    return font


def render(data: ChartData, font: Path | None) -> bytes:
    """Draw the reporting-rate grid beside the settled-alerts bars; return PNG bytes."""
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    fp = FontProperties(fname=str(font)) if font else FontProperties()
    rows = data.rows[:MAX_ROWS]
    height = max(3.2, 0.28 * len(rows) + 1.6)
    fig = Figure(figsize=(10, height), dpi=100)
    grid = fig.add_gridspec(1, 2, width_ratios=(3, 1.3), wspace=0.35)
    ax = fig.add_subplot(grid[0, 0])
    matrix = [[float("nan") if v is None else v for v in values] for _, values in rows]
    if matrix and data.weeks:
        image = ax.imshow(matrix, aspect="auto", cmap="RdYlGn", vmin=0, vmax=1)
        bar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
        bar.ax.tick_params(labelsize=7)
        bar.ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_yticks(range(len(rows)), [name for name, _ in rows], fontproperties=fp, fontsize=8)
    step = max(1, len(data.weeks) // 14)
    ticks = list(range(0, len(data.weeks), step))
    ax.set_xticks(ticks, [data.weeks[i] for i in ticks], fontproperties=fp, fontsize=7)
    ax.set_title(data.rate_title, fontproperties=fp, fontsize=10)
    side = fig.add_subplot(grid[0, 1])
    labels = [label for label, _ in data.settled]
    counts = [n for _, n in data.settled]
    side.barh(range(len(counts)), counts, color=["#2e7d32", "#f9a825", "#c62828", "#9e9e9e"])
    side.set_yticks(range(len(labels)), labels, fontproperties=fp, fontsize=8)
    side.invert_yaxis()
    for i, n in enumerate(counts):
        side.text(n, i, f" {n}", va="center", fontsize=8)
    side.set_title(data.settled_title, fontproperties=fp, fontsize=10)
    side.spines[["top", "right"]].set_visible(False)
    side.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(data.title, fontproperties=fp, fontsize=12)
    out = io.BytesIO()
    fig.savefig(out, format="png", bbox_inches="tight")
    return out.getvalue()


def render_text(text: str, font: Path | None) -> bytes:
    """Draw one line of text alone (used to check that a font has the glyphs)."""
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    fp = FontProperties(fname=str(font)) if font else FontProperties(family="DejaVu Sans")
    fig = Figure(figsize=(1.2, 0.6), dpi=60)
    fig.text(0.1, 0.3, text, fontproperties=fp, fontsize=20)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


async def overview_png(
    deps: Deps, span: Span, township_id: int | None, scope: str, t: Translator
) -> bytes | None:
    """Return the chart of a scope and period as PNG, None without a CJK font or units."""
    from bot.storage.office import overview

    if deps.chart_font is None:
        return None
    ov = await overview(deps.db, deps.policy, deps.tz, span, deps.clock.now(), township_id)
    data = chart_data(t, ov, scope, by_township=township_id is None)
    if not data.rows:
        return None
    return await asyncio.to_thread(render, data, deps.chart_font)
