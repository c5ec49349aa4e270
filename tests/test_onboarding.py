"""Onboarding through the real Application: /start CODE, wrong codes, /lang, menus."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import Env
from tests.steps import report_to_visited


async def test_unknown_user_is_told_to_get_an_invite(env: Env) -> None:
    stranger = env.user("stranger")
    calls = await stranger.send("你好")
    assert any("邀请码" in (c.text or "") for c in calls)
    env.clock.advance(minutes=1)  # strangers get one answer a minute (bot/handlers/gate.py)
    calls = await stranger.command("/report")
    assert any("邀请码" in (c.text or "") for c in calls)


async def test_start_code_binds_and_sets_role_menu(env: Env) -> None:
    await env.seed()
    user = env.user("王建国")
    calls = await user.command("/start", env.codes["王建国"])
    texts = "\n".join(c.text or "" for c in calls)
    assert "绑定成功" in texts and "联络员" in texts and "/report" in texts
    person = await env.person("王建国")
    assert person is not None and person.village == "方庄村"
    menu = [c for c in calls if c.method == "setMyCommands"]
    assert menu, "menu not set"
    commands = [c["command"] for c in menu[-1].params["commands"]]
    assert "report" in commands and "overdue" not in commands
    assert menu[-1].params["scope"]["chat_id"] == user.id


async def test_commissioner_menu_in_english(env: Env) -> None:
    await env.seed()
    boss = await env.bind("冯兴敏", language_code="en")
    menu = [c for c in env.api.calls if c.method == "setMyCommands"][-1]
    commands = {c["command"]: c["description"] for c in menu.params["commands"]}
    assert "overdue" in commands and "report" not in commands
    assert commands["overdue"] == "Missing reports"
    assert "You are registered" in boss.texts()[-1] or any("registered" in t for t in boss.texts())


async def test_wrong_used_and_expired_codes(env: Env) -> None:
    await env.seed()
    a = env.user("a")
    calls = await a.command("/start", "WRONG123")
    assert "不正确" in calls[-1].text
    await env.bind("李秀英")
    b = env.user("b")
    calls = await b.command("/start", env.codes["李秀英"])
    assert "已经用过" in calls[-1].text
    env.clock.advance(timedelta(days=15))
    c = env.user("c")
    calls = await c.command("/start", env.codes["张伟"])
    assert "过期" in calls[-1].text


async def test_five_wrong_codes_make_the_user_wait(env: Env) -> None:
    await env.seed()
    guesser = env.user("guesser")
    for i in range(5):
        await guesser.command("/start", f"BAD{i:05d}")
    calls = await guesser.command("/start", env.codes["张伟"])
    assert "分钟后再试" in calls[-1].text
    assert await env.person("guesser") is None
    env.clock.advance(timedelta(minutes=11))
    calls = await guesser.command("/start", env.codes["张伟"])
    assert any("绑定成功" in (c.text or "") for c in calls)


async def test_start_for_bound_user_shows_help(env: Env) -> None:
    user = await env.bind("王建国")
    calls = await user.command("/start")
    assert "/report" in calls[0].text


async def test_lang_switches_language_and_menu(env: Env) -> None:
    user = await env.bind("王建国")
    await user.command("/lang")
    calls = await user.press("English")
    assert any("English" in (c.text or "") for c in calls)
    menu = [c for c in calls if c.method == "setMyCommands"][-1]
    assert menu.params["commands"][0]["description"] == "Weekly patrol report"
    calls = await user.command("/help")
    assert "You can" in calls[-1].text
    await user.command("/lang")
    calls = await user.press("繁體中文")
    assert "繁體" in calls[-1].text or any("繁體" in (c.text or "") for c in calls)


async def test_duplicated_update_has_its_effect_once(env: Env) -> None:
    await env.seed()
    user = env.user("王建国")
    await user.command("/start", env.codes["王建国"])
    before = len(env.api.sent())
    await env.driver.deliver(env.driver.delivered[-1])
    assert len(env.api.sent()) == before
    assert await env.person("王建国") is not None


async def test_forged_language_callback_is_refused(env: Env) -> None:
    user = await env.bind("王建国")
    msg = (await user.command("/lang"))[-1].result
    calls = await user.press_data("lang:xx_Evil", msg)
    answers = [c for c in calls if c.method == "answerCallbackQuery"]
    assert answers and answers[0].params.get("show_alert")
    person = await env.person("王建国")
    assert person is not None and person.language is None


async def test_cancel_with_nothing_open(env: Env) -> None:
    user = await env.bind("王建国")
    calls = await user.command("/cancel")
    assert "没有正在填写" in calls[-1].text


async def test_binding_records_telegram_language(env: Env) -> None:
    await env.bind("冯兴敏", language_code="zh-tw")
    person = await env.person("冯兴敏")
    assert person is not None and person.tg_language == "zh-tw"


async def test_edited_message_is_not_taken_as_an_answer(env: Env) -> None:
    user = await env.bind("王建国")
    await report_to_visited(user)
    answer = await user.send("12")
    assert answer, "the visited count was answered"
    typed = env.driver.delivered[-1]["message"]["message_id"]
    state_before = await env.db.fetchval(
        "SELECT state FROM ptb_conversations WHERE name = 'report'"
    )
    calls = await user.edit(typed, "15")
    assert [c.text for c in calls if c.method == "sendMessage"] == [
        "修改过的消息机器人不会读取。如需更正，请直接重新发送。"
    ]
    # The form did not move: the edit was not taken as an answer.
    assert (
        await env.db.fetchval("SELECT state FROM ptb_conversations WHERE name = 'report'")
        == state_before
    )


async def test_processed_update_ids_are_forgotten_after_a_week(env: Env) -> None:
    await env.bind("王建国")
    assert await env.db.fetchval("SELECT COUNT(*) FROM inbox") >= 1
    env.clock.advance(days=6)
    await env.tick()
    assert await env.db.fetchval("SELECT COUNT(*) FROM inbox") >= 1
    env.clock.advance(days=2)
    await env.tick()
    assert await env.db.fetchval("SELECT COUNT(*) FROM inbox") == 0


async def test_bound_user_writing_outside_a_form_gets_a_pointer(env: Env) -> None:
    user = await env.bind("王建国")
    calls = await user.send("在吗？" * 2000)  # a huge text, outside any form
    assert "/help" in calls[-1].text
    calls = await user.send_photo()
    assert "/help" in calls[-1].text


async def test_unknown_or_forged_button_is_answered(env: Env) -> None:
    user = await env.bind("王建国")
    msg = (await user.command("/lang"))[-1].result
    for data in ("garbage", "al:ack:999999", "rp:nope:x", "mine:zzz"):
        calls = await user.press_data(data, msg)
        answers = [c for c in calls if c.method == "answerCallbackQuery"]
        assert answers, data
