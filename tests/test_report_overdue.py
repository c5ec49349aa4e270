"""/overdue before and after reports arrive, scope and splitting."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import Env


async def _report(user) -> None:  # type: ignore[no-untyped-def]
    calls = await user.command("/report")
    if "上周" in calls[-1].text:  # before the due time last week is offered first
        await user.press("报本周（第48周）")
    await user.press("今天")
    await user.press("宗教活动场所")
    await user.press("选好了 / 完成")
    await user.send("3")
    await user.press("一切正常")
    await user.press("提交")


async def test_overdue_before_and_after_reports(env: Env) -> None:
    boss = await env.bind("冯兴敏")
    calls = await boss.command("/overdue")
    text = calls[-1].text
    assert "共6个村" in text and "未报6" in text and "王建国 13800000001" in text
    assert "白沙社区" not in text  # another township
    wang = await env.bind("王建国")
    await _report(wang)
    env.clock.advance(timedelta(days=1, hours=10))  # after the due time
    li = await env.bind("李秀英")
    await _report(li)
    calls = await boss.command("/overdue")
    text = calls[-1].text
    assert "已报2" in text and "未报4" in text and "迟报1" in text
    assert "方庄村：" not in text and "· 大朱村" in text and "逾期" in text
    assert "迟报：" in text and "高河村" in text


async def test_overdue_county_english_and_liaison_refused(env: Env) -> None:
    county = await env.bind("孙丽", language_code="en")
    calls = await county.command("/overdue")
    text = "\n".join(c.text or "" for c in calls)
    assert "7 villages" in text and "白沙社区" in text and "【河口乡】" in text
    wang = await env.bind("王建国")
    calls = await wang.command("/overdue")
    assert "不能" in calls[-1].text


async def test_overdue_long_list_is_split(env: Env) -> None:
    await env.seed()
    township = await env.db.fetchval("SELECT id FROM townships WHERE name = '河口乡'")
    async with env.db.transaction() as tx:
        for i in range(300):
            await tx.execute(
                "INSERT INTO villages (township_id, name) VALUES (?, ?)",
                (township, f"新建村第{i:03d}号村民委员会"),
            )
    boss = await env.bind("冯兴敏")
    calls = await boss.command("/overdue")
    sends = [c for c in calls if c.method == "sendMessage"]
    assert len(sends) >= 2 and all(len(c.text) <= 4096 for c in sends)
    assert "新建村第299号" in sends[-1].text
