"""A normal week in one tap: from the reminder (1 interaction) or /report (2), Edit, Withdraw."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.domain.report import ReportForm
from bot.emulator import FakeUser
from bot.storage import reports as repo
from tests.conftest import Env

TUESDAY_0900 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # the first reminder of W48


async def _earlier(env: Env, name: str, week: str, outcome: str = "normal") -> None:
    """Store a report of an earlier week for the person's village."""
    person = await env.person(name)
    assert person is not None
    monday = date.fromisocalendar(int(week[:4]), int(week[6:]), 1)
    issues = {"findings": "有人聚集", "unstable": True, "follow_up": False}
    form = ReportForm(
        week=week,
        patrol_date=monday,
        places=["religious", "folk"],
        visited=12,
        outcome=outcome,
        **(issues if outcome == "issues" else {}),
    )
    async with env.db.transaction() as tx:
        await repo.create_report(
            tx, person=person, form=form, late=False, now=env.clock.now(), files=[]
        )


async def _w48(env: Env) -> dict:
    row = await env.db.fetchone("SELECT * FROM weekly_reports WHERE week = '2026-W48'")
    return dict(row) if row else {}


def _last_with(env: Env, user: FakeUser, words: str) -> dict:
    return next(m for m in reversed(env.api.messages(user.chat_id)) if words in m.get("text", ""))


def _buttons(message: dict | None) -> list[str]:
    rows = ((message or {}).get("reply_markup") or {}).get("inline_keyboard", [])
    return [b["text"] for row in rows for b in row]


async def _reminded(env: Env) -> FakeUser:
    user = await env.bind("王建国")
    await _earlier(env, "王建国", "2026-W47")
    env.clock.set(TUESDAY_0900)
    await env.tick()
    return user


async def test_one_tap_from_the_reminder(env: Env) -> None:
    user = await _reminded(env)
    reminder = _last_with(env, user, "巡查情况还没有上报")
    assert _buttons(reminder) == ["✅ 本周一切正常", "📝 填写报告"]
    interactions = 0
    calls = await user.press("✅ 本周一切正常", reminder)
    interactions += 1
    assert interactions == 1
    row = await _w48(env)
    assert row["outcome"] == "normal" and row["late"] == 0
    assert row["patrol_date"] == "2026-11-24" and row["visited"] == 12
    assert row["places"] == '["religious", "folk"]'
    said = [c for c in calls if c.method == "sendMessage"][-1]
    assert "W48-方庄村" in said.text and "一切正常" in said.text
    assert said.buttons == ["修改", "撤回"]
    # The confirmation went through the outbox (an outage would only delay it).
    sent = await env.db.fetchval(
        "SELECT state FROM outbox WHERE chat_id = ? ORDER BY id DESC LIMIT 1", (user.chat_id,)
    )
    assert sent == "sent"
    await env.tick()  # the second reminder is not sent any more
    assert sum("巡查情况还没有上报" in t for t in user.texts()) == 1


async def test_one_tap_from_report_is_two_interactions(env: Env) -> None:
    user = await env.bind("王建国")
    await _earlier(env, "王建国", "2026-W47")
    calls = await user.command("/report")
    assert "哪天" in calls[-1].text and "✅ 本周一切正常" in calls[-1].buttons
    await user.press("✅ 本周一切正常")
    row = await _w48(env)
    assert row["outcome"] == "normal" and row["patrol_date"] == "2026-11-23"
    states = await env.db.fetchall("SELECT state FROM form_drafts WHERE form = 'report'")
    assert [r["state"] for r in states] == ["submitted"]  # the form it replaced is closed


async def test_edit_and_withdraw_until_the_deadline(env: Env) -> None:
    user = await _reminded(env)
    await user.press("✅ 本周一切正常")
    await user.press("修改")
    await user.press("走访户数")
    await user.send("3")
    calls = await user.press("提交")
    assert "已修改" in calls[-1].text
    row = await _w48(env)
    assert row["visited"] == 3 and row["version"] == 2
    await user.press("撤回", next(m for m in env.api.messages(user.chat_id) if "撤回" in str(m)))
    assert await _w48(env) == {}
    assert await env.db.fetchval("SELECT COUNT(*) FROM weekly_report_withdrawals") == 1
    assert "已撤回" in user.texts()[-1]
    # Filed again, then the week is over: Edit and Withdraw no longer work.
    await user.command("/report")
    await user.press("✅ 本周一切正常")
    message = user.last_message()
    env.clock.advance(days=7)
    calls = await user.press("撤回", message)
    assert any(c.params.get("show_alert") for c in calls if c.method == "answerCallbackQuery")
    assert await _w48(env) != {}


async def test_first_report_or_issues_last_time_get_the_form(env: Env) -> None:
    user = await env.bind("王建国")
    env.clock.set(TUESDAY_0900)
    await env.tick()
    assert _buttons(_last_with(env, user, "巡查情况还没有上报")) == ["📝 首次请填写报告"]
    calls = await user.command("/report")
    assert "✅ 本周一切正常" not in calls[-1].buttons
    await user.command("/cancel")
    await _earlier(env, "王建国", "2026-W47", outcome="issues")
    calls = await user.command("/report")
    assert "✅ 本周一切正常" not in calls[-1].buttons
    # A forged one-tap is answered with the form, never a normal report.
    calls = await user.press_data("rpn:2026-W48", user.last_message())
    assert await _w48(env) == {} and "请填写报告" in calls[-1].text


async def test_late_and_previous_week_use_the_same_tap(env: Env) -> None:
    user = await env.bind("王建国")
    await _earlier(env, "王建国", "2026-W46")
    # Monday of W48, W47 missing: both weeks offered, each with its one tap.
    calls = await user.command("/report")
    assert "✅ 第47周一切正常" in calls[-1].buttons and "✅ 本周一切正常" in calls[-1].buttons
    await user.press("✅ 第47周一切正常")
    row = await env.db.fetchone("SELECT * FROM weekly_reports WHERE week = '2026-W47'")
    assert row["late"] == 1 and row["patrol_date"] == "2026-11-22"
    # Wednesday 09:00: the overdue notice offers the tap too; the report is late.
    env.clock.set(datetime(2026, 11, 25, 1, 0, tzinfo=UTC))
    await env.tick()
    notice = _last_with(env, user, "超过截止时间")
    assert "✅ 本周一切正常" in _buttons(notice)
    await user.press("✅ 本周一切正常", notice)
    assert (await _w48(env))["late"] == 1
    # Pressed again: stored once.
    calls = await user.press("✅ 本周一切正常", notice)
    assert "已经提交" in " ".join(c.params.get("text", "") for c in calls)
    assert await env.db.fetchval("SELECT COUNT(*) FROM weekly_reports") == 3


async def test_forged_week_is_refused(env: Env) -> None:
    user = await env.bind("王建国")
    await _earlier(env, "王建国", "2026-W47")
    await user.command("/help")
    for data in ("rpn:2026-W40", "rpn:2026-W49", "rpn:９", "rpw:99999999999999999999", "rpo:²"):
        calls = await user.press_data(data, user.last_message())
        assert any(c.method == "answerCallbackQuery" for c in calls), data
    assert await _w48(env) == {}
