"""Office outputs: /stats by period, /export and `liaison-bot export`, on a known data set.

Now is Monday 23 Nov 2026 09:00 (week 48 not yet due). The roster joined in July, so the
fourth quarter so far owes weeks 41-47 (seven Tuesdays) and November weeks 45-47.

河口乡 reports: 方庄村 every week on time; 高河村 weeks 41-46 (45 late), 47 missing;
大朱村 only week 47, late. 金汇镇: 白沙社区 week 47 (must never show in 河口乡's outputs).
"""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from bot.__main__ import main
from bot.domain import office as dom
from bot.domain.calendar import shift_week
from bot.domain.periods import Span
from bot.emulator import FakeGroup
from bot.handlers.export import TASK_PREFIX
from bot.storage.db import to_db_time
from tests.conftest import Env

ROSTER_INFO = Path(__file__).parent / "data" / "roster_info.csv"
JOINED_AGO = timedelta(days=120)


def _at(day: str, hour: int = 10) -> datetime:
    """Return a local (UTC+8) time on a day as an aware instant."""
    y, m, d = (int(x) for x in day.split("-"))
    return datetime(y, m, d, hour - 8, 0, tzinfo=UTC)


async def _ids(env: Env) -> dict[str, int]:
    rows = await env.db.fetchall("SELECT id, name FROM villages")
    ids = {r["name"]: r["id"] for r in rows}
    for r in await env.db.fetchall("SELECT id, name FROM townships"):
        ids[r["name"]] = r["id"]
    for r in await env.db.fetchall("SELECT id, name FROM people"):
        ids[r["name"]] = r["id"]
    return ids


async def _report(tx: Any, ids: dict[str, int], village: str, person: str, week: str, late: bool):
    town = "金汇镇" if village in ("白沙社区", "齐贤社区") else "河口乡"
    when = to_db_time(_at("2026-11-01"))
    await tx.execute(
        "INSERT INTO weekly_reports (village_id, township_id, week, person_id, patrol_date,"
        " places, visited, outcome, findings, unstable, follow_up, late, submitted_at, updated_at)"
        " VALUES (?, ?, ?, ?, '2026-10-06', '[\"religious\", \"minority\"]', 4, 'issues',"
        " '发现一处宅基地纠纷苗头', 1, 0, ?, ?, ?)",
        (ids[village], ids[town], week, ids[person], int(late), when, when),
    )


async def _alert(tx: Any, ids: dict[str, int], village: str, day: str, **values: Any) -> None:
    town = "金汇镇" if village == "白沙社区" else "河口乡"
    created = _at(day)
    ack = values.get("ack")
    level = values.get("level")
    await tx.execute(
        "INSERT INTO alerts (township_id, village_id, person_id, category, severity, state, level,"
        " level_since, created_at, acknowledged_at, acknowledged_by, ack_seconds, resolved_at,"
        " resolution_level, resolution_note, escalated, description)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '两户因宅基地争执')",
        (
            ids[town],
            ids[village],
            ids["王建国"],
            values["category"],
            values["severity"],
            "resolved" if level else ("acknowledged" if ack else "open"),
            2 if values.get("escalated") else 1,
            to_db_time(created),
            to_db_time(created),
            to_db_time(created + timedelta(seconds=ack)) if ack else None,
            ids["冯兴敏"] if ack else None,
            ack,
            to_db_time(created + timedelta(days=1)) if level else None,
            level,
            "双方达成调解协议" if level else None,
            int(bool(values.get("escalated"))),
        ),
    )


async def _submission(tx: Any, ids: dict[str, int], day: str, kind: str, state: str) -> None:
    at = to_db_time(_at(day))
    await tx.execute(
        "INSERT INTO submissions (township_id, village_id, person_id, kind, title, body, state,"
        " version, submitted_at, updated_at, reviewed_at, reviewed_by)"
        " VALUES (?, ?, ?, ?, '村里召开统战例会', '正文', ?, 1, ?, ?, ?, ?)",
        (
            ids["河口乡"],
            ids["方庄村"],
            ids["王建国"],
            kind,
            state,
            at,
            at,
            at if state != "pending" else None,
            ids["冯兴敏"] if state != "pending" else None,
        ),
    )


async def known_data(env: Env) -> dict[str, int]:
    """Load the known data set described in the module docstring."""
    await env.seed(ROSTER_INFO, ago=JOINED_AGO)
    ids = await _ids(env)
    weeks = [shift_week("2026-W41", i) for i in range(7)]  # W41 … W47
    async with env.db.transaction() as tx:
        for w in weeks:
            await _report(tx, ids, "方庄村", "王建国", w, late=False)
        for w in weeks[:6]:
            await _report(tx, ids, "高河村", "李秀英", w, late=w == "2026-W45")
        await _report(tx, ids, "大朱村", "张伟", "2026-W47", late=True)
        await _report(tx, ids, "白沙社区", "吴芳", "2026-W47", late=False)
        await _alert(
            tx, ids, "方庄村", "2026-10-10", category="land", severity="high", ack=600,
            level="village",
        )  # fmt: skip
        await _alert(
            tx, ids, "方庄村", "2026-11-05", category="neighbours", severity="medium", ack=1200,
            level="village",
        )  # fmt: skip
        await _alert(
            tx, ids, "高河村", "2026-11-12", category="land", severity="critical", ack=3600,
            level="township", escalated=True,
        )  # fmt: skip
        await _alert(tx, ids, "大朱村", "2026-11-20", category="wages", severity="low")
        await _alert(
            tx, ids, "白沙社区", "2026-11-06", category="land", severity="high", ack=300,
            level="county",
        )  # fmt: skip
        await _submission(tx, ids, "2026-10-08", "work_update", "adopted")
        await _submission(tx, ids, "2026-10-15", "work_update", "pending")
        await _submission(tx, ids, "2026-10-20", "experience_summary", "adopted")
        await _submission(tx, ids, "2026-11-03", "work_update", "adopted")
        await _submission(tx, ids, "2026-11-10", "work_update", "returned")
        await _submission(tx, ids, "2026-11-12", "public_opinion", "pending")
    return ids


def _figures(calls: list[Any]) -> str:
    """Return the /stats figures among the calls (the unregistered list may come first)."""
    return next(c.text for c in calls if c.method == "sendMessage" and c.text.startswith("📊"))


async def _exports_done() -> None:
    """Wait for the background tasks building export files."""
    tasks = [t for t in asyncio.all_tasks() if t.get_name().startswith(TASK_PREFIX)]
    await asyncio.gather(*tasks)


# --- /stats ----------------------------------------------------------------------------------


async def test_stats_month_for_a_commissioner(env: Env) -> None:
    await known_data(env)
    boss = await env.bind("冯兴敏")
    calls = await boss.command("/stats")
    text = _figures(calls)
    assert text.startswith("📊 河口乡·2026年11月")
    assert "本月应开展巡查9次，实际上报6次，上报率67%，按时上报率44%。" in text
    assert "共收到矛盾纠纷3起，按紧急程度分：特急1起、一般1起、轻微1起" in text
    assert "已化解2起，其中村里化解1起、乡镇化解1起，小事不出村率50%。" in text
    assert "签收用时中位数40分钟，90%的纠纷在1小时0分内签收。" in text
    assert "逐级上报1起。" in text
    assert "报送信息2篇（工作动态1篇、社情民意1篇），采用1篇，采用率50%。" in text
    assert "工作动态要求每月不少于3篇，共报送1篇（应报3篇），1个月中0个达标。" in text
    assert "经验总结" not in text.split("采用率50%。")[1]  # no quarter rule inside a month
    assert "· 方庄村：上报3/3（100%），按时100%" in text
    assert "· 高河村：上报2/3（67%），按时33%" in text
    assert "· 大朱村：上报1/3（33%），按时0%" in text
    assert "白沙社区" not in text
    # The period buttons are there, and a chart follows.
    labels = [b for c in calls for b in c.buttons]
    assert {"本月", "上月", "本季度", "上季度", "今年", "去年"} <= set(labels)
    assert any(c.method == "sendPhoto" for c in calls)


async def test_stats_quarter_by_button(env: Env) -> None:
    await known_data(env)
    boss = await env.bind("冯兴敏")
    await boss.command("/stats")
    calls = await boss.press("本季度")
    text = next(c.text for c in calls if c.method == "editMessageText")
    assert text.startswith("📊 河口乡·2026年第四季度")
    assert "本季度应开展巡查21次，实际上报14次，上报率67%，按时上报率57%。" in text
    assert "共收到矛盾纠纷4起" in text
    assert "已化解3起，其中村里化解2起、乡镇化解1起，小事不出村率67%。" in text
    assert "签收用时中位数20分钟" in text
    assert "报送信息5篇" in text and "采用3篇，采用率60%" in text
    assert "工作动态要求每月不少于3篇，共报送3篇（应报6篇），2个月中0个达标。" in text
    assert "经验总结/亮点特色要求每季度不少于1篇，共报送1篇（应报1篇），1个季度中1个达标。" in text


async def test_stats_typed_range_and_bad_range(env: Env) -> None:
    await known_data(env)
    boss = await env.bind("冯兴敏")
    calls = await boss.command("/stats", "2026-10-01", "2026-10-31")
    text = _figures(calls)
    assert "2026年10月1日至2026年10月31日" in text
    assert "期间应开展巡查12次" in text  # weeks 41-44, three villages
    calls = await boss.command("/stats", "2026-13-01", "2026-10-31")
    assert "没看懂这个时间段" in calls[-1].text


async def test_stats_for_the_county_one_line_per_township_and_a_tap_into_villages(
    env: Env,
) -> None:
    await known_data(env)
    county = await env.bind("孙丽")
    calls = await county.command("/stats")
    text = _figures(calls)
    assert text.startswith("📊 全县·2026年11月")
    lines = text.splitlines()
    hekou = next(line for line in lines if line.startswith("· 河口乡"))
    jinhui = next(line for line in lines if line.startswith("· 金汇镇"))
    assert "（3个村）：上报率67%，按时44%；纠纷3起，小事不出村50%" in hekou
    assert "工作动态1/3篇" in hekou
    assert "（2个村）：上报率17%" in jinhui
    assert not any(line.startswith("· 方庄村") for line in lines)
    calls = await county.press("河口乡")
    text = _figures(calls)
    assert text.startswith("📊 河口乡·2026年11月")
    assert "· 方庄村：上报3/3（100%）" in text


async def test_stats_scope_and_roles(env: Env) -> None:
    await known_data(env)
    liaison = await env.bind("王建国")
    other = await env.bind("郑金汇")
    calls = await liaison.command("/stats")
    assert "巡查" not in (calls[-1].text or "")
    # A forged button naming another township shows the commissioner nothing of it.
    calls = await other.command("/stats")
    msg = next(c for c in calls if c.method == "sendMessage")
    hekou_id = (await _ids(env))["河口乡"]
    calls = await other.press_data(f"st:m202611:{hekou_id}", msg.result)
    assert not any("方庄村" in (c.text or "") for c in calls)


# --- /export ---------------------------------------------------------------------------------


async def _export_file(env: Env, user: Any, label: str = "本季度") -> tuple[Any, Any]:
    await user.command("/export")
    await user.press(label)
    await _exports_done()
    doc = env.api.sent(method="sendDocument")[-1]
    upload = next(iter(doc.files.values()))
    return doc, load_workbook(io.BytesIO(upload.content))


async def test_export_quarter_for_a_commissioner(env: Env) -> None:
    ids = await known_data(env)
    boss = await env.bind("冯兴敏")
    doc, wb = await _export_file(env, boss)
    assert doc.chat_id == env.users["冯兴敏"].id
    assert next(iter(doc.files.values())).filename.endswith(".xlsx")
    assert wb.sheetnames == ["巡查报告", "矛盾纠纷", "信息报送", "汇总", "统战对象台账"]
    patrols = wb["巡查报告"]
    assert patrols.freeze_panes == "A2"
    header = [c.value for c in patrols[1]]
    assert header[:6] == ["乡镇", "村（社区）", "周次", "周一日期", "截止时间", "状态"]
    rows = [[c.value for c in r] for r in patrols.iter_rows(min_row=2)]
    assert len(rows) == 3 * 7  # every village, every week due, reported or not
    assert {r[0] for r in rows} == {"河口乡"}
    by = {(r[1], r[2]): r for r in rows}
    assert by[("大朱村", "第41周")][5] == "未报"
    assert by[("大朱村", "第41周")][7] == "张伟" and by[("大朱村", "第41周")][8]  # who to call
    assert by[("大朱村", "第47周")][5] == "迟报"
    assert by[("高河村", "第45周")][5] == "迟报"
    assert by[("高河村", "第47周")][5] == "未报"
    assert by[("方庄村", "第41周")][5] == "按时"
    week41 = by[("方庄村", "第41周")]
    assert isinstance(week41[3], datetime) and week41[3].date().isoformat() == "2026-10-05"
    assert isinstance(week41[4], datetime) and week41[4].hour == 18  # due Tuesday 18:00 local
    assert week41[10] == "宗教活动场所、少数民族家庭" or "、" in week41[10]
    assert patrols.column_dimensions["A"].width >= 8
    alerts = [[c.value for c in r] for r in wb["矛盾纠纷"].iter_rows(min_row=2)]
    assert len(alerts) == 4 and all(r[1] == "河口乡" for r in alerts)
    critical = next(r for r in alerts if r[4] == "特急")
    assert critical[12] == "冯兴敏" and critical[13] == 60 and critical[17] == "乡镇化解"
    assert isinstance(critical[10], datetime) and isinstance(critical[11], datetime)
    subs = [[c.value for c in r] for r in wb["信息报送"].iter_rows(min_row=2)]
    assert len(subs) == 6
    adopted = [r for r in subs if r[5] == "已采用"]
    assert len(adopted) == 3 and all(isinstance(r[11], datetime) for r in adopted)
    summary = [[c.value for c in r] for r in wb["汇总"].iter_rows(min_row=2)]
    assert [r[0] for r in summary] == ["村", "村", "村", "乡镇"]
    town = summary[-1]
    assert town[3:7] == [21, 14, 12, 0]
    assert round(town[7], 2) == round(14 / 21, 2)
    # Audited: who, when, scope, period.
    row = await env.db.fetchone("SELECT * FROM export_audit")
    assert row["person_id"] == ids["冯兴敏"] and row["township_id"] == ids["河口乡"]
    assert (row["period_start"], row["period_end"]) == ("2026-10-01", "2026-12-31")
    assert row["via"] == "bot" and row["rows"] == 21 + 4 + 6


async def test_leave_excuses_missing_weeks(env: Env) -> None:
    ids = await known_data(env)
    # 张伟 (大朱村) was on approved leave over the due days of weeks 42 and 43.
    async with env.db.transaction() as tx:
        await tx.execute(
            "INSERT INTO leaves (person_id, township_id, village_id, start_date, end_date, state,"
            " requested_by, requested_at) VALUES (?, ?, ?, '2026-10-12', '2026-10-25',"
            " 'approved', ?, ?)",
            (
                ids["张伟"],
                ids["河口乡"],
                ids["大朱村"],
                ids["冯兴敏"],
                to_db_time(_at("2026-10-09")),
            ),
        )
    boss = await env.bind("冯兴敏")
    await boss.command("/stats")
    calls = await boss.press("本季度")
    text = next(c.text for c in calls if c.method == "editMessageText")
    assert "本季度应开展巡查19次，实际上报14次" in text and "联络员请假2周，未计入。" in text
    _, wb = await _export_file(env, boss)
    rows = {(r[1], r[2]): r for r in wb["巡查报告"].iter_rows(min_row=2, values_only=True)}
    assert rows[("大朱村", "第42周")][5] == "请假" and rows[("大朱村", "第44周")][5] == "未报"


async def test_export_typed_range_english_headers_and_the_county_scope(env: Env) -> None:
    await known_data(env)
    county = await env.bind("孙丽", language_code="en")
    await county.command("/export")
    await county.send("2026-11-01 2026-11-30")
    await _exports_done()
    doc = env.api.sent(method="sendDocument")[-1]
    wb = load_workbook(io.BytesIO(next(iter(doc.files.values())).content))
    assert wb.sheetnames == ["Patrol reports", "Disputes", "Submissions", "Summary", "Register"]
    assert [c.value for c in wb["Patrol reports"][1]][:2] == ["Township", "Village"]
    rows = list(wb["Patrol reports"].iter_rows(min_row=2, values_only=True))
    assert len(rows) == 5 * 3 and {r[0] for r in rows} == {"河口乡", "金汇镇"}


async def test_export_is_private_and_for_oversight_only(env: Env) -> None:
    await known_data(env)
    liaison = await env.bind("王建国")
    calls = await liaison.command("/export")
    assert not any(c.method == "sendDocument" for c in calls)
    boss = await env.bind("冯兴敏")
    group = FakeGroup(env.api, env.driver, -1001234567890, title="河口乡统战工作群")
    await group.add_bot(boss)
    calls = await boss.in_group(group).command("/export")
    assert any("私聊" in (c.text or "") for c in calls), calls
    await _exports_done()
    assert not env.api.sent(method="sendDocument")
    assert await env.db.fetchval("SELECT COUNT(*) FROM export_audit") == 0


# --- the command line ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
async def test_cli_export(env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str):
    await known_data(env)
    monkeypatch.setenv("DATABASE_PATH", str(env.deps.settings.database_path))
    monkeypatch.setenv("LIAISON_FAKE_NOW", "2026-11-23T09:00:00+08:00")
    out = tmp_path / ("out.xlsx" if fmt == "xlsx" else "out.zip")
    args = ["export", "--from", "2026-10-01", "--to", "2026-12-31", "--township", "河口乡"]
    code = await asyncio.to_thread(main, [*args, "--format", fmt, str(out)])
    assert code == 0 and out.exists()
    if fmt == "xlsx":
        wb = load_workbook(out)
        assert wb["巡查报告"].max_row == 1 + 21
    else:
        import zipfile

        with zipfile.ZipFile(out) as zf:
            names = sorted(zf.namelist())
            assert names == sorted(
                ["巡查报告.csv", "矛盾纠纷.csv", "信息报送.csv", "汇总.csv", "统战对象台账.csv"]
            )
            text = zf.read("巡查报告.csv").decode("utf-8-sig")
            assert len(text.strip().splitlines()) == 22 and "金汇镇" not in text
    row = await env.db.fetchone("SELECT via, person_id, format FROM export_audit")
    assert (row["via"], row["person_id"], row["format"]) == ("cli", None, fmt)
    bad = await asyncio.to_thread(main, [*args[:-2], "--township", "无此乡", str(out)])
    assert bad == 1


# --- the county's /digest --------------------------------------------------------------------


async def test_county_digest_is_one_message_per_county_with_a_chart(env: Env) -> None:
    await known_data(env)
    county = await env.bind("孙丽")
    calls = await county.command("/digest")
    texts = [c.text for c in calls if c.method == "sendMessage"]
    assert len(texts) == 1, texts  # not one digest per township
    text = texts[0]
    assert text.startswith("📋 各乡镇周报·第47周")
    hekou = next(line for line in text.splitlines() if line.startswith("· 河口乡"))
    assert "上报2/3（67%），迟报1" in hekou and "工作动态" in hekou
    assert any(line.startswith("· 金汇镇：上报1/2") for line in text.splitlines())
    assert "方庄村" not in text  # villages are a tap away
    assert any(c.method == "sendPhoto" for c in calls)
    calls = await county.press("河口乡")
    detail = "\n".join(c.text or "" for c in calls if c.method == "sendMessage")
    assert "河口乡" in detail and "高河村" in detail  # the missing village, by name
    # A commissioner cannot open another township's digest with a forged button.
    other = await env.bind("郑金汇")
    msg = (await other.command("/help"))[-1]
    hekou_id = (await _ids(env))["河口乡"]
    calls = await other.press_data(f"dg:{hekou_id}:2026-W47", msg.result)
    assert not any("高河村" in (c.text or "") for c in calls)


def test_report_masks_count_late_joiners_and_excused_weeks() -> None:
    """The per-village bit masks (bit i = week i) give the same counts as week by week."""
    due = [datetime(2026, 11, d, 10, tzinfo=UTC) for d in (3, 10, 17, 24)]
    weeks = [dom.WeekDue(f"2026-W{45 + i}", d) for i, d in enumerate(due)]
    early = dom.Place(1, "甲村", 9, "乡", due[0] - timedelta(days=30))
    late_joiner = dom.Place(2, "乙村", 9, "乡", due[1] + timedelta(days=1))
    on_leave = dom.Place(3, "丙村", 9, "乡", None)
    ov = dom.build_overview(
        Span("month", datetime(2026, 11, 1).date(), datetime(2026, 12, 1).date()),
        weeks,
        [early, late_joiner, on_leave],
        # 甲村: weeks 0, 1, 3 sent, 1 late; 乙村: weeks 2, 3 on time; 丙村: week 0 only
        {1: (0b1011, 0b1001), 2: (0b1100, 0b1100), 3: (0b0001, 0b0001)},
        {(3, "2026-W46"), (3, "2026-W45")},  # a report sent in an excused week still counts
        [],
        [],
        [],
        datetime(2026, 11, 30).date(),
    )
    got = {
        v.id: (v.figures.owed, v.figures.reported, v.figures.on_time, v.figures.excused)
        for v in ov.townships[0].children
    }
    assert got == {1: (4, 3, 2, 0), 2: (2, 2, 2, 0), 3: (3, 1, 1, 1)}
    weekly = {v.id: v.weekly for v in ov.townships[0].children}
    assert weekly[2] == [(0, 0), (0, 0), (1, 1), (1, 1)]
    assert weekly[3] == [(1, 1), (0, 0), (1, 0), (1, 0)]
    assert ov.townships[0].weekly == [(2, 2), (1, 1), (3, 1), (3, 2)]
