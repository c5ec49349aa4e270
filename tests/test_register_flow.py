"""/register end to end: a liaison's list and proposed changes, the commissioner's one-tap
confirm or reject, scoped search with audit, holiday visits, never in a group."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl

from bot.domain.report import ReportForm
from bot.emulator import FakeGroup
from bot.register_io import import_file, parse_file
from bot.storage import register as store
from bot.storage import reports as repo
from tests.conftest import Env
from tests.steps import report_to_visited

TUESDAY_0900 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)

SHEETS = {
    "宗教活动场所": [
        ["乡镇", "村社区", "名称或姓名", "宗教", "负责人", "电话"],
        ["河口乡", "方庄村", "观音寺", "佛教", "释明心", "13900000001"],
        ["金汇镇", "白沙社区", "土地庙", "民间", "吴老汉", ""],
    ],
    "少数民族家庭和个人": [
        ["乡镇", "村社区", "姓名", "民族", "电话"],
        ["河口乡", "方庄村", "马建华", "回族", "13900000003"],
        ["河口乡", "高河村", "白玉兰", "满族", ""],
    ],
}


async def load(env: Env, tmp_path: Path) -> dict[str, store.Entry]:
    await env.seed()
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in SHEETS.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(tmp_path / "reg.xlsx")
    parsed = parse_file(tmp_path / "reg.xlsx", env.deps.policy, env.deps.i18n.all())
    assert parsed.ok, parsed.errors
    await import_file(env.db, parsed, env.clock.now())
    return {e.name: e for e in await store.all_entries(env.db)}


async def test_liaison_sees_only_their_village_and_a_confirmed_addition_enters(
    env: Env, tmp_path: Path
) -> None:
    await load(env, tmp_path)
    wang, boss = await env.bind("王建国"), await env.bind("冯兴敏")
    await wang.command("/register")
    text = wang.texts()[-1]
    assert "观音寺" in text and "马建华" in text and "还没有走访记录" in text
    assert "白玉兰" not in text and "土地庙" not in text  # other villages, other townships
    assert text.index("宗教活动场所") < text.index("少数民族")  # venues first
    await wang.press("➕ 报告变动")
    await wang.press("➕ 新增一条")
    await wang.press("宗教活动场所")
    await wang.send("x" * 500)  # too long: a specific re-prompt, nothing lost
    assert "200字以内" in wang.texts()[-1]
    await wang.send("关帝庙")
    await wang.press("✅ 提交")
    await env.deliver()
    assert "乡里确认后记入台账" in wang.texts()[-1]
    card = boss.texts()[-1]
    assert "方庄村 王建国 报告台账变动" in card and "关帝庙" in card
    village = (await env.person("王建国")).village_id  # type: ignore[union-attr]
    assert "关帝庙" not in [e.name for e in await store.village_entries(env.db, village)]
    await boss.press("✅ 确认")
    await env.deliver()
    assert "关帝庙" in [e.name for e in await store.village_entries(env.db, village)]
    assert "冯兴敏确认" in wang.texts()[-1]
    assert "已确认" in boss.texts()[-1]
    # Pressing again is answered, and changes nothing more.
    calls = await boss.press_data("rg:ok:1", boss.last_message())
    assert any("已经处理过了" in str(c.params.get("text")) for c in calls)


async def test_rejected_closing_changes_nothing(env: Env, tmp_path: Path) -> None:
    entries = await load(env, tmp_path)
    wang, boss = await env.bind("王建国"), await env.bind("冯兴敏")
    await wang.command("/register")
    await wang.press("➕ 报告变动")
    await wang.press("🗂 申请关闭一条")
    await wang.press("观音寺")
    await wang.press("场所已关闭")
    await wang.press("✅ 提交")
    await env.deliver()
    await boss.press("❌ 不采纳")
    await env.deliver()
    venue = await store.entry(env.db, entries["观音寺"].id)
    assert venue is not None and venue.is_open
    assert "没有采纳" in wang.texts()[-1]


async def test_search_respects_scope_and_is_audited(env: Env, tmp_path: Path) -> None:
    entries = await load(env, tmp_path)
    boss, county = await env.bind("冯兴敏"), await env.bind("孙丽")
    await boss.command("/register", "庙")
    assert "没有找到" in boss.texts()[-1]  # 土地庙 belongs to 金汇镇
    await county.command("/register", "庙")
    assert "土地庙" in county.texts()[-1]
    await boss.command("/register", "少数民族家庭和个人")  # a category lists its entries
    assert "马建华" in boss.texts()[-1] and "白玉兰" in boss.texts()[-1]
    assert "观音寺" not in boss.texts()[-1]
    await boss.command("/register", "13900000003")
    assert "马建华" in boss.texts()[-1]
    await boss.press("马建华")
    card = boss.texts()[-1]
    assert "回族" in card and "方庄村" in card
    # A forged button for another township's entry is refused.
    calls = await boss.press_data(f"rg:open:{entries['土地庙'].id}", boss.last_message())
    assert any("土地庙" not in str(c.params.get("text", "")) for c in calls)
    assert "土地庙" not in boss.texts()[-1]
    audit = await env.db.fetchall("SELECT action, query, results FROM register_audit ORDER BY id")
    assert [tuple(r) for r in audit][:4] == [
        ("search", "庙", 0),
        ("search", "庙", 1),
        ("search", "少数民族家庭和个人", 2),
        ("search", "13900000003", 1),
    ]
    assert ("open", str(entries["马建华"].id), 1) in [tuple(r) for r in audit]


async def test_holiday_visit_is_recorded_on_the_card(env: Env, tmp_path: Path) -> None:
    entries = await load(env, tmp_path)
    boss = await env.bind("冯兴敏")
    await boss.command("/register", "观音")
    await boss.press("方庄村 · 观音寺")
    await boss.press("🎉 记录节庆走访")
    await boss.send("春节走访，送慰问品")
    await boss.press("✅ 提交")
    await env.deliver()
    assert "已记录" in boss.texts()[-1]
    visits = await store.visits(env.db, entries["观音寺"].id)
    assert visits[0]["kind"] == "holiday" and visits[0]["note"] == "春节走访，送慰问品"
    await boss.command("/register", "观音")
    await boss.press("方庄村 · 观音寺")
    assert "节庆走访" in boss.texts()[-1] and "冯兴敏" in boss.texts()[-1]


async def test_never_in_a_group(env: Env, tmp_path: Path) -> None:
    await load(env, tmp_path)
    boss = await env.bind("冯兴敏")
    group = FakeGroup(env.api, env.driver, -1009990001, title="河口乡统战群")
    await boss.in_group(group).command("/register", "观音")
    assert not any("观音寺" in t for t in env.api.texts(group.id))


async def test_report_offers_entries_past_rhythm_first_and_stores_visits(
    env: Env, tmp_path: Path
) -> None:
    entries = await load(env, tmp_path)
    wang, boss = await env.bind("王建国"), await env.bind("冯兴敏")
    await boss.command("/stats")
    assert "在册3个，超过走访周期1个" in boss.texts()[-1]  # 观音寺: venues every 4 weeks
    await report_to_visited(wang)
    ask = env.api.messages(wang.chat_id)[-1]
    assert "走访了台账里的哪些对象" in ask["text"] and "已超过走访周期：观音寺" in ask["text"]
    labels = [b["text"] for row in ask["reply_markup"]["inline_keyboard"] for b in row]
    assert labels[:3] == ["本周没有走访台账对象", "⏰ 观音寺", "马建华"]
    await wang.press("⏰ 观音寺")
    await wang.press("选好了 / 完成")
    await wang.press("10")
    await wang.press("一切正常")
    assert "走访台账对象：观音寺" in wang.texts()[-1]
    await wang.press("提交")
    report = await env.db.fetchone("SELECT id FROM weekly_reports WHERE week = '2026-W48'")
    assert report is not None
    assert await store.report_visits(env.db, report["id"]) == [entries["观音寺"].id]
    await boss.command("/stats")
    assert "在册3个，超过走访周期0个" in boss.texts()[-1]


async def test_reminder_names_entries_past_rhythm_and_one_tap_repeats_last_visits(
    env: Env, tmp_path: Path
) -> None:
    entries = await load(env, tmp_path)
    wang = await env.bind("王建国")
    person = await env.person("王建国")
    assert person is not None
    form = ReportForm(
        week="2026-W47",
        patrol_date=date(2026, 11, 16),
        places=["religious"],
        visited=8,
        outcome="normal",
    )
    async with env.db.transaction() as tx:
        last_id, _ = await repo.create_report(
            tx, person=person, form=form, late=False, now=env.clock.now(), files=[]
        )
        await store.record_visits(
            tx,
            [entries["马建华"].id],
            village_id=person.village_id or 0,
            report_id=last_id,
            person_id=person.id,
            week="2026-W47",
            visited_on=date(2026, 11, 16),
            now=env.clock.now(),
        )
    env.clock.set(TUESDAY_0900)
    await env.tick()
    reminder = wang.texts()[-1]
    assert "请记得走访" in reminder and "观音寺" in reminder and "马建华" not in reminder
    await wang.press("✅ 本周一切正常")
    report = await env.db.fetchone("SELECT id FROM weekly_reports WHERE week = '2026-W48'")
    assert report is not None
    assert await store.report_visits(env.db, report["id"]) == [entries["马建华"].id]


async def test_export_carries_the_register_of_the_scope_only(env: Env, tmp_path: Path) -> None:

    from bot.domain.periods import Span
    from bot.export import collect, sheets

    entries = await load(env, tmp_path)
    hekou = entries["观音寺"].township_id
    span = Span("range", date(2026, 11, 1), date(2026, 12, 1))
    async with env.db.transaction() as tx:
        await store.record_visits(
            tx,
            [entries["观音寺"].id],
            village_id=entries["观音寺"].village_id,
            report_id=None,
            person_id=None,
            week=None,
            visited_on=date(2026, 11, 20),
            now=env.clock.now(),
        )
    data = await collect(
        env.db, env.deps.policy, env.deps.tz, span, env.clock.now(), hekou, "河口乡"
    )
    t = env.deps.i18n.get("zh_Hans")
    register = sheets(data, t)[-1]
    assert register.title == "统战对象台账"
    names = {row[3]: row for row in register.rows}
    assert set(names) == {"观音寺", "马建华", "白玉兰"}  # 土地庙 is 金汇镇's
    assert names["观音寺"][7] == 1 and names["观音寺"][8] == date(2026, 11, 20)
