"""End-to-end: /stats for a commissioner and for a county officer."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.storage.db import to_db_time
from tests.conftest import Env
from tests.test_info import submit

ROSTER_INFO = Path(__file__).parent / "data" / "roster_info.csv"


async def _fixtures(env: Env) -> None:
    """Two reports (one late) and two alerts (one acknowledged after 20 min) in 河口乡."""
    now = env.clock.now()
    wang = await env.person("王建国")
    assert wang is not None
    async with env.db.transaction() as tx:
        villages = await tx.fetchall(
            "SELECT id, name FROM villages WHERE township_id = ? ORDER BY id", (wang.township_id,)
        )
        for (vid, _), late in zip(villages[:2], (0, 1), strict=True):
            await tx.execute(
                "INSERT INTO weekly_reports (village_id, township_id, week, person_id, patrol_date,"
                " places, visited, outcome, late, submitted_at, updated_at)"
                " VALUES (?, ?, '2026-W48', ?, '2026-11-23', '[]', 0, 'normal', ?, ?, ?)",
                (vid, wang.township_id, wang.id, late, to_db_time(now), to_db_time(now)),
            )
        for acked in (True, False):
            await tx.execute(
                "INSERT INTO alerts (township_id, village_id, person_id, category, severity,"
                " level_since, created_at, state, acknowledged_at, ack_seconds)"
                " VALUES (?, ?, ?, 'land', 'high', ?, ?, ?, ?, ?)",
                (
                    wang.township_id,
                    villages[0][0],
                    wang.id,
                    to_db_time(now),
                    to_db_time(now),
                    "acknowledged" if acked else "open",
                    to_db_time(now + timedelta(minutes=20)) if acked else None,
                    1200 if acked else None,
                ),
            )


async def test_stats_for_a_commissioner(env: Env) -> None:
    await env.seed(ROSTER_INFO)
    wang = await env.bind("王建国")
    boss = await env.bind("冯兴敏")
    await submit(env, wang, "工作动态")
    await submit(env, wang, "社情民意")
    await _fixtures(env)
    calls = await boss.command("/stats")
    text = calls[-1].text
    assert "巡查上报：2/3 个村（67%）" in text
    assert "按时上报：1/3（33%）" in text
    assert "新增 2，已签收 1，已化解 0" in text and "20 分钟" in text
    assert "工作动态：1/3，还剩 8 天" in text
    assert "经验总结/亮点特色：0/1，还剩 39 天" in text
    # A liaison may not see statistics.
    calls = await wang.command("/stats")
    assert "巡查上报" not in (calls[-1].text or "")


async def test_stats_for_a_county_officer(env: Env) -> None:
    await env.seed(ROSTER_INFO)
    wang = await env.bind("王建国")
    county = await env.bind("孙丽", language_code="en")
    await submit(env, wang, "工作动态")
    await _fixtures(env)
    calls = await county.command("/stats")
    lines = calls[-1].text.splitlines()
    assert lines[0].startswith("📊 All townships")
    hekou = next(line for line in lines if line.startswith("河口乡"))
    jinhui = next(line for line in lines if line.startswith("金汇镇"))
    assert "reports 2/3 (67%)" in hekou and "alerts 2/1/0" in hekou
    assert "Work update: 1/3, 8 days left" in hekou
    assert "reports 0/2 (0%)" in jinhui and "Work update: 0/3" in jinhui
    assert len(lines) == 3
