"""Report repository: week_status, create once, edit with history."""

from __future__ import annotations

from datetime import date

from bot.domain.report import ReportForm
from bot.storage.reports import create_report, get_report, history, update_report, week_status
from tests.conftest import Env


async def _form(**kw: object) -> ReportForm:
    base = dict(
        week="2026-W48",
        patrol_date=date(2026, 11, 23),
        places=["religious"],
        visited=3,
        outcome="normal",
    )
    base.update(kw)
    return ReportForm(**base)  # type: ignore[arg-type]


async def test_week_status_and_get_report(env: Env) -> None:
    await env.seed()
    rows = await week_status(env.db, "2026-W48")
    assert [r.village for r in rows][:2] == ["方庄村", "高河村"]
    assert rows[-1].township == "金汇镇" and len(rows) == 7
    assert all(r.report_id is None and not r.late for r in rows)
    assert rows[0].liaisons[0].name == "王建国"
    wang = await env.on_roster("王建国")
    form = await _form(
        outcome="issues", findings="两户争地", unstable=True, follow_up=False, dispute=True
    )
    async with env.db.transaction() as tx:
        rid, created = await create_report(
            tx, person=wang, form=form, late=True, now=env.clock.now(), files=[]
        )
        again, created2 = await create_report(
            tx, person=wang, form=form, late=False, now=env.clock.now(), files=[]
        )
    assert created and not created2 and again == rid
    hekou = rows[0].township_id
    rows = await week_status(env.db, "2026-W48", hekou)
    assert len(rows) == 6 and rows[0].report_id == rid and rows[0].late
    assert rows[0].submitted_at == env.clock.now()
    rep = await get_report(env.db, rid)
    assert rep is not None and rep.findings == "两户争地" and rep.dispute
    assert (
        rep.village_id == wang.village_id and rep.township_id == hekou and rep.person_id == wang.id
    )
    assert rep.reference == "W48-方庄村"
    async with env.db.transaction() as tx:
        assert await update_report(
            tx,
            report_id=rid,
            base_version=1,
            person=wang,
            form=await _form(visited=9),
            now=env.clock.now(),
            files=[],
        )
        assert not await update_report(
            tx,
            report_id=rid,
            base_version=1,
            person=wang,
            form=await _form(visited=9),
            now=env.clock.now(),
            files=[],
        )
    assert [h[0] for h in await history(env.db, rid)] == [1, 2]
    assert await get_report(env.db, 9999) is None
