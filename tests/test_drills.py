"""Short versions of the drills (`make drill` runs the long ones) against the real process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.drills import scenarios
from tests.drills.stage import Stage

pytestmark = [pytest.mark.process, pytest.mark.timeout(300)]


async def test_kill_drill_ten_cycles(tmp_path: Path) -> None:
    async with Stage(tmp_path) as stage:
        figures = await scenarios.kill(stage, cycles=10)
    print(figures.line())
    v = figures.values
    assert v["alerts"] == 10 and v["kills"] == 10, figures.line()
    assert v["answered_steps_lost"] == 0 and v["stuck"] == 0, figures.line()
    assert v["duplicate_records"] == 0 and v["drafts_back"] == 0, figures.line()
    assert v["taps_unanswered"] == 0, figures.line()
    assert v["repeated_messages"] <= v["kills"], figures.line()


async def test_outage_drill(tmp_path: Path) -> None:
    # Retries start 0.25 s apart (production: 5 s), paced by one send a second per chat, so
    # a 3 s outage is ridden out in seconds (`make drill`: 60 s at the production pace).
    async with Stage(tmp_path, OUTBOX_RETRY_SECONDS="0.25") as stage:
        figures = await scenarios.outage(stage, seconds=3)
        assert stage.api.violations == []
    print(figures.line())
    v = figures.values
    # It was down: more sends failed than there were alerts (4 confirmations and the cards).
    assert v["failed_sends"] > v["alerts"], figures.line()
    assert v["cards_once"] == 4 and v["cards_twice"] == 0, figures.line()
    assert v["confirmations_once"] == 4, figures.line()
    assert v["order_inversions"] == 0, figures.line()


async def test_burst_drill(tmp_path: Path) -> None:
    async with Stage(tmp_path, enforce_limits=True) as stage:
        burst = await scenarios.burst(stage)
    print(burst.line())
    assert burst.values["answered"] == 10 and burst.values["errors_logged"] == 0, burst.line()


async def test_flood_drill(tmp_path: Path) -> None:
    async with Stage(tmp_path, enforce_limits=True) as stage:
        flood = await scenarios.flood(stage)
    print(flood.line())
    assert flood.values["group_answers"] <= 1, flood.line()
    assert flood.values["help_answered_in_s"] < 2.0, flood.line()


async def test_forged_callback_data_drill(tmp_path: Path) -> None:
    async with Stage(tmp_path) as stage:
        figures = await scenarios.fuzz(stage, presses=120)
    print(figures.line())
    assert figures.values["unhandled_exceptions"] == 0, figures.line()
    assert figures.values["taps_unanswered"] == 0, figures.line()
    assert figures.values["spec_violations"] == 0, figures.line()
