"""The form runtime's rules, checked once for each form built on it (/alert, /info, /report,
the reviewer's "return with a comment", the follow-up note on a report's findings, resolving
an alert from its card, and a liaison's update to an alert)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from bot.emulator import FakeUser
from bot.emulator.api import iter_buttons
from bot.storage.submissions import SubmissionRepo
from tests.conftest import Env
from tests.steps import report_with_issues

Steps = Callable[[FakeUser], Awaitable[Any]]


@dataclass(frozen=True)
class Case:
    form: str
    command: str
    button: str  # a button of the first question that needs one
    next_question: str  # words of what pressing it shows
    dropped: str  # words of the notice of a draft idle for a day
    fill: Steps | None = None  # from the first question to the summary (forms with one)
    edit_field: str = ""  # a field of the Edit menu
    edit_answer: Steps | None = None
    edited: str = ""  # what the summary shows after the edit
    submit: str = ""
    person: str = "王建国"  # who fills the form
    other: str = "李秀英"  # someone else who may start it too
    open: Callable[[Env, FakeUser], Awaitable[Any]] | None = None  # instead of the command
    wrong: str = "随便写"  # a text the first question does not take
    reprompt: str = "按钮"  # words of its re-prompt ("": it takes any text and photos)
    restarts: bool = True  # a message after a sweep starts the form again

    def __str__(self) -> str:
        return self.form

    async def start(self, env: Env, user: FakeUser) -> Any:
        return await (self.open(env, user) if self.open else user.command(self.command))


async def _steps(user: FakeUser, *actions: str) -> None:
    for action in actions:
        if action.startswith("> "):
            await user.send(action[2:])
        else:
            await user.press(action)


async def _alert_pressed(env: Env, user: FakeUser, data: str, *then: str) -> Any:
    """Press a button of alert A-1, raised as critical by 王建国 (on the first call: the user,
    for the update form, else bound now) so that the commissioner and the leader hold its card."""
    if await env.db.fetchval("SELECT id FROM alerts") is None:
        liaison = user if data.startswith("al:upd:") else await env.bind("王建国")
        await liaison.command("/alert")
        await _steps(
            liaison, "土地、山林、水利", "特急", "> 12", "就在本村", "> 两家争地", "确认上报"
        )
        await env.deliver()
    await user.press_data(data, user.last_message())
    return await _steps(user, *then)


async def _followup_pressed(env: Env, user: FakeUser) -> Any:
    """Press "已跟进" on a report of 王建国 asking the township to follow up (stored once)."""
    rid = await env.db.fetchval("SELECT id FROM weekly_reports") or await report_with_issues(env)
    return await user.press_data(f"fu:done:{rid}", user.last_message())


async def _return_pressed(env: Env, user: FakeUser) -> Any:
    """Press "退回" on a submission of 王建国 waiting for review (stored on the first call)."""
    sid = await env.db.fetchval("SELECT id FROM submissions")
    if sid is None:
        liaison = await env.on_roster("王建国")
        assert liaison.township_id is not None
        async with env.db.transaction() as tx:
            sid = await SubmissionRepo(env.db).create(
                tx,
                env.clock.now(),
                township_id=liaison.township_id,
                village_id=liaison.village_id,
                person_id=liaison.id,
                kind="work_update",
                title="村里开会",
                body="本周开会一次。",
                attachments=[],
            )
    return await user.press_data(f"info:ret:{sid}:1", user.last_message())


CASES = [
    Case(
        "alert",
        "/alert",
        "宗教",
        "紧急程度",
        "预警已超过24小时",
        fill=lambda u: _steps(u, "土地、山林、水利", "紧急", "> 12", "就在本村", "> 两家争地"),
        edit_field="涉及人数",
        edit_answer=lambda u: u.send("9"),
        edited="9",
        submit="确认上报",
    ),
    Case(
        "info",
        "/info",
        "工作动态",
        "标题",
        "超过24小时未完成",
        fill=lambda u: _steps(u, "工作动态", "> 村里开会", "> 本周开会一次。", "完成", "跳过"),
        edit_field="标题",
        edit_answer=lambda u: u.send("新的标题"),
        edited="新的标题",
        submit="报送",
    ),
    Case(
        "report",
        "/report",
        "报本周（第48周）",
        "哪天",
        "24小时",
        fill=lambda u: _steps(
            u, "报本周（第48周）", "今天", "宗教活动场所", "选好了 / 完成", "> 7", "一切正常"
        ),
        edit_field="走访户数",
        edit_answer=lambda u: u.send("15"),
        edited="15",
        submit="提交",
    ),
]
# One question, answered by text, no summary: its only button is Cancel.
RETURN = Case(
    "info_return",
    "",
    "取消",
    "已取消退回",
    "退回意见24小时没有发出",
    person="冯兴敏",
    other="赵志强",
    open=_return_pressed,
    wrong="长" * 1001,
    reprompt="不超过1000字",
    restarts=False,
)
# A township officer's note on how a report's findings were followed up: one text, no summary.
FOLLOWUP = Case(
    "followup",
    "",
    "取消",
    "已取消",
    "没写完的跟进情况已超过24小时",
    person="冯兴敏",
    other="赵志强",
    open=_followup_pressed,
    wrong="长" * 1001,
    reprompt="不超过1000字",
    restarts=False,
)
# Resolving an alert from its card: the level, then a note; no summary.
RESOLVE = Case(
    "alert_action",
    "",
    "村里化解",
    "处理结果",
    "办结或上报预警没有完成",
    person="冯兴敏",
    other="赵志强",
    open=lambda env, user: _alert_pressed(env, user, "al:res:1"),
    restarts=False,
)
# A liaison's update to their own alert (from /mine): text and photos until Send.
UPDATE = Case(
    "alert_update",
    "",
    "发送进展",
    "进展已发给处理人",
    "没发出的进展已超过24小时",
    open=lambda env, user: _alert_pressed(env, user, "al:upd:1", "> 双方在谈"),
    reprompt="",
    restarts=False,
)
RULES = [*CASES, RETURN, FOLLOWUP, RESOLVE, UPDATE]


def _popup(calls: list) -> str:
    return " ".join(c.params.get("text", "") for c in calls if c.method == "answerCallbackQuery")


def _count(user: FakeUser, needle: str) -> int:
    return sum(needle in t for t in user.texts())


async def _states(env: Env, form: str) -> list[str]:
    rows = await env.db.fetchall(
        "SELECT state FROM form_drafts WHERE form = ? ORDER BY rowid", (form,)
    )
    return [r["state"] for r in rows]


def _data(user: FakeUser, label: str) -> tuple[str, dict]:
    message = user.last_message()
    assert message is not None
    for row in message["reply_markup"]["inline_keyboard"]:
        for b in row:
            if b["text"] == label:
                return b["callback_data"], message
    raise AssertionError(f"no button {label!r}")


@pytest.mark.parametrize("case", RULES, ids=str)
async def test_stale_button_of_an_earlier_draft_is_refused(env: Env, case: Case) -> None:
    user = await env.bind(case.person)
    await case.start(env, user)
    old, message = _data(user, case.button)
    await user.command("/cancel")
    await case.start(env, user)  # a new draft
    calls = await user.press_data(old, message)
    assert "过期" in _popup(calls) and not [c for c in calls if c.method == "sendMessage"]
    assert (await _states(env, case.form))[0] == "cancelled"
    calls = await user.press(case.button)  # today's draft is untouched and works
    assert case.next_question in calls[-1].text


@pytest.mark.parametrize("case", RULES, ids=str)
async def test_someone_elses_button_is_refused(env: Env, case: Case) -> None:
    wang, li = await env.bind(case.person), await env.bind(case.other)
    await case.start(env, wang)
    data, _ = _data(wang, case.button)
    await case.start(env, li)
    calls = await li.press_data(data, li.last_message())
    assert "不" in _popup(calls) and not [c for c in calls if c.method == "sendMessage"]
    calls = await wang.press(case.button)
    assert case.next_question in calls[-1].text


@pytest.mark.parametrize("case", RULES, ids=str)
async def test_swept_draft_answers_the_next_press_and_message_once(env: Env, case: Case) -> None:
    user = await env.bind(case.person)
    await case.start(env, user)
    old, message = _data(user, case.button)
    env.clock.advance(hours=23, minutes=59)
    await env.tick()
    assert _count(user, case.dropped) == 0
    env.clock.advance(minutes=1)  # idle for exactly DRAFT_IDLE: dropped
    await env.tick()
    await env.tick()
    assert _count(user, case.dropped) == 1
    assert await _states(env, case.form) == ["dropped"]
    calls = await user.send("随便写")  # a message starts the form again, once (if it can)
    assert len([c for c in calls if c.method == "sendMessage"]) == int(case.restarts)
    assert await _states(env, case.form) == ["dropped"] + ["open"] * case.restarts
    calls = await user.press_data(old, message)  # says why in a popup, no second notice
    assert case.dropped in _popup(calls) and not [c for c in calls if c.method == "sendMessage"]
    assert _count(user, case.dropped) == 1


@pytest.mark.parametrize("case", RULES, ids=str)
async def test_idle_draft_is_dropped_on_the_next_interaction(env: Env, case: Case) -> None:
    user = await env.bind(case.person)
    await case.start(env, user)
    env.clock.advance(hours=25)
    calls = await user.press(case.button)
    assert case.dropped in calls[-1].text
    await env.tick()
    assert _count(user, case.dropped) == 1  # the sweep does not announce it again
    assert await _states(env, case.form) == ["dropped"]


@pytest.mark.parametrize("case", RULES, ids=str)
async def test_cancel_command_and_cancel_button(env: Env, case: Case) -> None:
    user = await env.bind(case.person)
    await case.start(env, user)
    calls = await user.command("/cancel")
    assert "取消" in calls[-1].text
    await case.start(env, user)
    calls = await user.press("取消")
    assert "取消" in calls[-1].text
    assert await _states(env, case.form) == ["cancelled", "cancelled"]
    calls = await user.send("还在吗")  # outside any form now
    assert not any(case.next_question in (c.text or "") for c in calls)


@pytest.mark.parametrize("case", [c for c in RULES if c.reprompt], ids=str)
async def test_wrong_input_reprompts_and_keeps_the_step(env: Env, case: Case) -> None:
    user = await env.bind(case.person)
    await case.start(env, user)
    for wrong in (user.send(case.wrong), user.send_photo()):
        calls = await wrong
        assert case.reprompt in calls[-1].text and calls[-1].buttons
    calls = await user.press(case.button)
    assert case.next_question in calls[-1].text


@pytest.mark.parametrize("case", CASES, ids=str)
async def test_edit_from_the_summary_returns_to_the_summary(env: Env, case: Case) -> None:
    user = await env.bind(case.person)
    await case.start(env, user)
    assert case.fill and case.edit_answer
    await case.fill(user)
    assert case.submit in user.last_message()["reply_markup"].__str__()
    await user.press("修改")
    await user.press(case.edit_field)
    await case.edit_answer(user)
    summary = user.last_message()
    assert case.edited in summary["text"] and case.submit in str(summary["reply_markup"])
    submit = next(b for b in iter_buttons(summary) if b["text"] == case.submit)
    calls = await user.press(case.submit)
    assert await _states(env, case.form) == ["submitted"]
    # The summary card became the confirmation through the outbox, at once: no Submit on it.
    card = int(summary["message_id"])
    assert [
        c for c in calls if c.method == "editMessageText" and int(c.params["message_id"]) == card
    ]
    assert not [c for c in calls if c.method == "sendMessage"]
    assert case.submit not in str((env.api.message(user.chat_id, card) or {}).get("reply_markup"))
    assert await env.db.fetchval("SELECT COUNT(*) FROM outbox WHERE chat_id = ?", (user.chat_id,))
    # The old button pressed again (a second tap, a forged one): nothing is stored twice.
    calls = await user.press_data(submit["callback_data"], card)
    assert _popup(calls) and await _states(env, case.form) == ["submitted"]
