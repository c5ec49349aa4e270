"""Prove the offline test bed itself: spec checks, fake API semantics, both transports, users."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.emulator import (
    BOT_ID,
    FakeBotAPI,
    FakeBotServer,
    FakeGroup,
    FakeRequest,
    FakeUser,
    InProcessDriver,
    ServerDriver,
    SpecChecker,
)

TOKEN = "123:ABC"
USER = 424242


@pytest.fixture(scope="module")
def spec() -> SpecChecker:
    return SpecChecker()


@pytest.fixture
def api(spec: SpecChecker) -> FakeBotAPI:
    return FakeBotAPI(spec=spec)


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[telegram.Bot]:
    bot = telegram.Bot(
        TOKEN,
        base_url="http://bot-api.test/bot",
        request=FakeRequest(api),
        get_updates_request=FakeRequest(api),
    )
    async with bot:
        yield bot


def keyboard(*labels: str) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(label, callback_data=f"cb:{label}") for label in labels]
    return InlineKeyboardMarkup([buttons])


def found(spec: SpecChecker, method: str, **params: Any) -> str:
    """Return the checker's findings for a call as one searchable string."""
    return "\n".join(spec.check(method, params))


def incoming(message_id: int, text: str) -> dict[str, Any]:
    chat = {"id": USER, "type": "private", "first_name": "U"}
    return {"message": {"message_id": message_id, "date": 1, "text": text, "chat": chat}}


def inline(**button: Any) -> dict[str, Any]:
    return {"inline_keyboard": [[{"text": "b", **button}]]}


# ------------------------------------------------------------------------------------ spec


def test_spec_flags_unknown_method_case_sensitively(spec: SpecChecker) -> None:
    assert found(spec, "sendMessage", chat_id=1, text="hi") == ""
    assert found(spec, "sendmessage", chat_id=1, text="hi") == (
        "sendmessage: unknown method 'sendmessage' (did you mean 'sendMessage'?)"
    )


def test_spec_flags_missing_and_unknown_fields(spec: SpecChecker) -> None:
    assert "missing required field 'chat_id'" in found(spec, "sendMessage", text="hi")
    assert "unknown field 'colour'" in found(
        spec, "sendMessage", chat_id=1, text="hi", colour="red"
    )


def test_spec_checks_scalar_types_on_wire_values(spec: SpecChecker) -> None:
    # PTB sends non-strings JSON-encoded: "5" is a valid Integer, "abc" is not.
    assert found(spec, "deleteMessage", chat_id="5", message_id="7") == ""
    assert "message_id must be Integer" in found(spec, "deleteMessage", chat_id=5, message_id="abc")
    assert "chat_id must be Integer or String" in found(spec, "sendMessage", chat_id=1.5, text="x")
    # A String field stays a string even when it looks like JSON.
    assert spec.decode("sendMessage", {"chat_id": "5", "text": "123"}) == {
        "chat_id": 5,
        "text": "123",
    }


def test_spec_text_length_counts_characters(spec: SpecChecker) -> None:
    assert found(spec, "sendMessage", chat_id=1, text="字" * 4096) == ""
    assert "4097 characters, max 4096" in found(spec, "sendMessage", chat_id=1, text="x" * 4097)
    assert "text is empty" in found(spec, "sendMessage", chat_id=1, text="")
    assert "caption has 1025" in found(spec, "sendPhoto", chat_id=1, photo="id", caption="c" * 1025)


def test_spec_checks_markup_parsing(spec: SpecChecker) -> None:
    assert found(spec, "sendMessage", chat_id=1, text="<b>a &lt; b</b>", parse_mode="HTML") == ""
    assert "can't parse entities" in found(
        spec, "sendMessage", chat_id=1, text="a < b", parse_mode="HTML"
    )
    assert "reserved" in found(spec, "sendMessage", chat_id=1, text="v1.2", parse_mode="MarkdownV2")


@pytest.mark.parametrize("as_json", [False, True])
def test_spec_checks_callback_data_bytes(spec: SpecChecker, as_json: bool) -> None:
    def check(data: str) -> str:
        markup = inline(callback_data=data)
        wire = json.dumps(markup) if as_json else markup
        return found(spec, "sendMessage", chat_id=1, text="t", reply_markup=wire)

    assert check("é" * 32) == ""  # 64 bytes
    assert "callback_data is 65 bytes, must be 1-64" in check("x" * 65)
    assert "callback_data is 66 bytes" in check("é" * 33)
    assert "callback_data is 0 bytes" in check("")


def test_spec_requires_exactly_one_button_action(spec: SpecChecker) -> None:
    for markup in (inline(callback_data="x", url="https://e.org"), inline()):
        assert "exactly one action field" in found(
            spec, "sendMessage", chat_id=1, text="t", reply_markup=markup
        )


def test_spec_checks_bot_commands(spec: SpecChecker) -> None:
    def check(*commands: tuple[str, str], **params: Any) -> str:
        listed = [{"command": name, "description": text} for name, text in commands]
        return found(spec, "setMyCommands", commands=listed, **params)

    assert check(("bind_group2", "绑定群组")) == ""
    assert "'Start' must be 1-32 characters of [a-z0-9_]" in check(("Start", "x"))
    assert "'bind-group' must be" in check(("bind-group", "x"))
    assert "'x" in check(("x" * 33, "x"))
    assert "description has 257 characters" in check(("a", "d" * 257))
    assert "101 commands, max 100" in check(*[(f"c{i}", "x") for i in range(101)])
    assert "scope.chat_id is required in BotCommandScopeChat" in check(
        ("a", "b"), scope={"type": "chat"}
    )


def test_spec_checks_callback_answer_length(spec: SpecChecker) -> None:
    assert found(spec, "answerCallbackQuery", callback_query_id="1", text="a" * 200) == ""
    assert "201 characters" in found(
        spec, "answerCallbackQuery", callback_query_id="1", text="a" * 201
    )


def test_spec_path_can_be_overridden(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    custom = tmp_path / "api.json"
    ping = {"name": "ping", "fields": [], "returns": ["Boolean"]}
    custom.write_text(
        json.dumps({"version": "Bot API 0.1", "methods": {"ping": ping}, "types": {}})
    )
    monkeypatch.setenv("BOT_API_SPEC", str(custom))
    checker = SpecChecker()
    assert checker.version == "Bot API 0.1" and checker.check("ping", {}) == []


# ------------------------------------------------------------------------------------ fake API


def test_violating_call_fails_assert_no_violations(api: FakeBotAPI) -> None:
    api.assert_no_violations()
    status, body = api.handle("sendMessage", {"chat_id": "1", "text": "x" * 4097})
    assert (status, body["description"]) == (400, "Bad Request: message is too long")
    status, body = api.handle("sendMesage", {"chat_id": "1", "text": "x"})
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    with pytest.raises(AssertionError, match="sendMessage: text has 4097 characters"):
        api.assert_no_violations()
    assert [c.status for c in api.calls] == [400, 404]


def test_messages_follow_the_injected_clock(spec: SpecChecker) -> None:
    now = [1_750_000_000.0]
    api = FakeBotAPI(clock=lambda: now[0], spec=spec)
    first = api.handle("sendMessage", {"chat_id": "-1001234567890", "text": "a"})[1]["result"]
    now[0] += 60
    second = api.handle("sendMessage", {"chat_id": "-1001234567890", "text": "b"})[1]["result"]
    assert (first["date"], second["date"]) == (1_750_000_000, 1_750_000_060)
    assert (first["message_id"], second["message_id"]) == (1, 2)
    assert first["chat"]["type"] == "supergroup"
    assert (
        api.handle("sendMessage", {"chat_id": "-5", "text": "c"})[1]["result"]["chat"]["type"]
        == "group"
    )


async def test_ptb_bot_talks_to_fake_in_process(api: FakeBotAPI, bot: telegram.Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.first_name) == (BOT_ID, "liaison_test_bot", "Liaison Bot")
    assert me.can_join_groups
    sent = await bot.send_message(
        USER, "<b>你好</b>", parse_mode="HTML", reply_markup=keyboard("是")
    )
    assert sent.text == "你好" and sent.entities[0].type == "bold"
    edited = await bot.edit_message_text("再见", chat_id=USER, message_id=sent.message_id)
    assert edited.text == "再见" and edited.reply_markup is None
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("再见", chat_id=USER, message_id=sent.message_id)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=999)
    assert api.texts(USER) == ["你好", "再见"]
    assert api.last_message(USER)["text"] == "再见"
    assert api.urls[0] == f"http://bot-api.test/bot{TOKEN}"
    api.assert_no_violations()


async def test_ptb_error_mapping(api: FakeBotAPI, bot: telegram.Bot) -> None:
    api.fail("sendMessage", chat_id=USER, kind="403")
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER, "x")
    api.fail(kind="429", retry_after=7)
    # Matching the message avoids PTB's int-vs-timedelta deprecation on .retry_after.
    with pytest.raises(RetryAfter, match="Retry in 7"):
        await bot.send_message(USER, "x")
    api.fail(kind="5xx")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(USER, "x")
    api.fail(kind="network")
    with pytest.raises(NetworkError):
        await bot.send_message(USER, "x")
    api.fail(kind="chat_not_found")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(USER, "x")
    assert (await bot.send_message(USER, "finally")).text == "finally"
    assert [c.status for c in api.sent(USER)] == [403, 429, 502, 0, 400, 200]


async def test_bad_markup_is_rejected_like_telegram(api: FakeBotAPI, bot: telegram.Bot) -> None:
    with pytest.raises(BadRequest, match="Can't parse entities: unsupported start tag"):
        await bot.send_message(USER, "温度 < 30", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(USER, "")
    assert len(api.violations) == 2
    with pytest.raises(AssertionError, match="can't parse entities"):
        api.assert_no_violations()


async def test_outage_fails_matching_calls_until_ended(api: FakeBotAPI, bot: telegram.Bot) -> None:
    with api.outage(lambda method, params: params.get("chat_id") == USER):
        with pytest.raises(NetworkError):
            await bot.send_message(USER, "x")
        assert (await bot.send_message(USER + 1, "other chat")).text == "other chat"
    assert (await bot.send_message(USER, "back")).text == "back"


def test_flood_limits(spec: SpecChecker) -> None:
    ticks = [100.0]
    api = FakeBotAPI(spec=spec, rate_clock=lambda: ticks[0], enforce_limits=True)
    assert api.handle("sendMessage", {"chat_id": "1", "text": "a"})[0] == 200
    status, body = api.handle("sendMessage", {"chat_id": "1", "text": "b"})
    assert status == 429 and body["parameters"] == {"retry_after": 1}
    ticks[0] += 1.0
    assert api.handle("sendMessage", {"chat_id": "1", "text": "c"})[0] == 200
    relaxed = FakeBotAPI(spec=spec, rate_clock=lambda: ticks[0])
    relaxed.handle("sendMessage", {"chat_id": "1", "text": "a"})
    relaxed.handle("sendMessage", {"chat_id": "1", "text": "b"})
    assert relaxed.rate_violations() == ["chat 1: 2 messages within 1 s (sendMessage #1)"]


async def test_commands_and_files(api: FakeBotAPI, bot: telegram.Bot) -> None:
    scope = telegram.BotCommandScopeChat(USER)
    await bot.set_my_commands(
        [telegram.BotCommand("report", "上报")], scope=scope, language_code="zh"
    )
    assert [c.command for c in await bot.get_my_commands(scope=scope, language_code="zh")] == [
        "report"
    ]
    stored = api.my_commands({"type": "chat", "chat_id": USER}, "zh")
    assert stored == [{"command": "report", "description": "上报"}]
    await bot.delete_my_commands(scope=scope, language_code="zh")
    assert await bot.get_my_commands(scope=scope, language_code="zh") == ()
    photo = await bot.send_photo(USER, b"\x89PNG\r\n-bytes", caption="现场")
    file = await bot.get_file(photo.photo[-1].file_id)
    assert file.file_path.endswith(f"files/{photo.photo[-1].file_id}")
    assert bytes(await file.download_as_bytearray()) == b"\x89PNG\r\n-bytes"
    api.assert_no_violations()


# ------------------------------------------------------------------------------------ server


async def test_server_serves_real_bot_over_http(api: FakeBotAPI) -> None:
    api.add_file("doc-1", b"%PDF-1.4 bytes")
    with FakeBotServer(api) as server:
        bot = telegram.Bot(
            TOKEN, base_url=server.url + "/bot", base_file_url=server.url + "/file/bot"
        )
        async with bot:
            assert bot.username == "liaison_test_bot"
            sent = await bot.send_message(USER, "123", reply_markup=keyboard("确认"))
            assert (
                sent.text == "123"
                and sent.reply_markup.inline_keyboard[0][0].callback_data == "cb:确认"
            )
            update_id = api.push_update(incoming(50, "hi"))
            updates = await bot.get_updates(timeout=5)  # queued: answers at once
            assert [u.update_id for u in updates] == [update_id]
            assert await bot.get_updates(offset=update_id + 1, timeout=0) == ()
            assert api.confirmed_offset == update_id + 1
            asyncio.get_running_loop().call_later(0.2, api.push_update, incoming(51, "late"))
            started = time.monotonic()
            updates = await bot.get_updates(offset=update_id + 1, timeout=5)  # long poll wakes up
            assert [u.message.text for u in updates] == ["late"] and time.monotonic() - started < 2
            file = await bot.get_file("doc-1")
            assert bytes(await file.download_as_bytearray()) == b"%PDF-1.4 bytes"
            api.fail(kind="network")
            with pytest.raises(NetworkError):
                await bot.send_message(USER, "dropped")
        assert server.tokens == [TOKEN]
    api.assert_no_violations()


# ------------------------------------------------------------------------------------ users


def fake_app(api: FakeBotAPI) -> Application[Any, Any, Any, Any, Any, Any]:
    builder = ApplicationBuilder().token(TOKEN).request(FakeRequest(api))
    return builder.get_updates_request(FakeRequest(api)).build()


def build_app(api: FakeBotAPI) -> Application[Any, Any, Any, Any, Any, Any]:
    return add_handlers(fake_app(api))


def add_handlers(
    app: Application[Any, Any, Any, Any, Any, Any],
) -> Application[Any, Any, Any, Any, Any, Any]:
    """Give the app /hello (and /bindgroup) with a keyboard, and a button handler that edits."""

    async def hello(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        name = " ".join(context.args or []) or update.effective_user.first_name
        await update.effective_message.reply_text(
            f"你好 {name}", reply_markup=keyboard("好的", "取消")
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("收到")
        await query.edit_message_text(f"选择: {query.data}")

    app.add_handler(CommandHandler(["hello", "bindgroup"], hello))
    app.add_handler(CallbackQueryHandler(pressed))
    return app


async def test_in_process_command_and_button_round_trip(api: FakeBotAPI) -> None:
    async with InProcessDriver(build_app(api)) as driver:
        user = FakeUser(api, driver, USER, first_name="老王")
        calls = await user.command("/hello")
        assert [c.method for c in calls] == ["sendMessage"]
        assert calls[0].text == "你好 老王" and calls[0].buttons == ["好的", "取消"]
        calls = await user.press("好的")
        assert [c.method for c in calls] == ["answerCallbackQuery", "editMessageText"]
        assert user.last_message()["text"] == "选择: cb:好的"
        with pytest.raises(AssertionError, match="no inline button '继续'"):
            await user.press("继续")
        calls = await user.press_data("cb:forged", user.last_message()["message_id"])
        assert calls[-1].ok
        assert user.texts() == ["你好 老王", "选择: cb:好的", "选择: cb:forged"]
    api.assert_no_violations()


async def test_group_commands_privacy_and_membership(api: FakeBotAPI) -> None:
    async with InProcessDriver(build_app(api)) as driver:
        user = FakeUser(api, driver, USER, first_name="老王")
        group = FakeGroup(api, driver, -1009876543210, "治保会")
        await group.add_bot(by=user)
        member = user.in_group(group)
        calls = await member.command("/bindgroup", "一组")
        assert calls[0].chat_id == group.id and calls[0].text == "你好 一组"
        assert await member.send("plain chatter") == []  # privacy mode: not delivered
        await group.remove_bot(by=user)
        with pytest.raises(Forbidden, match="kicked from the supergroup"):
            await driver.application.bot.send_message(group.id, "still here?")
        await user.block_bot()
        with pytest.raises(Forbidden, match="blocked by the user"):
            await driver.application.bot.send_message(USER, "hello?")


async def test_user_media_reaches_bot_and_files_download(api: FakeBotAPI) -> None:
    seen: list[Update] = []
    app = fake_app(api)

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(update)

    app.add_handler(MessageHandler(filters.ALL, record))
    async with InProcessDriver(app) as driver:
        user = FakeUser(api, driver, USER)
        await user.send_photo()
        await user.send_voice(duration=5)
        await user.send_document(file_name="名单.xlsx", content=b"PK\x03\x04xlsx")
        await user.share_location(31.2, 121.5)
        photo, voice, document, location = (u.effective_message for u in seen)
        assert photo.photo[-1].width == 1280 and voice.voice.mime_type == "audio/ogg"
        assert document.document.file_name == "名单.xlsx" and location.location.latitude == 31.2
        data = await (await app.bot.get_file(document.document.file_id)).download_as_bytearray()
        assert bytes(data) == b"PK\x03\x04xlsx"
        assert [m["message_id"] for m in api.history(USER)] == [1, 2, 3, 4]


async def test_server_driver_with_polling_application(api: FakeBotAPI) -> None:
    with FakeBotServer(api) as server:
        builder = ApplicationBuilder().token(TOKEN).base_url(server.base_url)
        app = add_handlers(builder.base_file_url(server.base_file_url).build())
        async with app:
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0.0, timeout=1)
            driver = ServerDriver(server)
            await driver.wait_until_polling()
            user = FakeUser(api, driver, USER, first_name="小李")
            calls = await user.command("/hello")
            assert [c.method for c in calls] == ["sendMessage"] and calls[0].text == "你好 小李"
            calls = await user.press("取消")
            assert [c.method for c in calls] == ["answerCallbackQuery", "editMessageText"]
            await app.updater.stop()
            await app.stop()
        assert api.urls[0] == f"{server.url}/bot{TOKEN}"
    api.assert_no_violations()
