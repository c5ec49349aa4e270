"""Plain Bot API calls go as one JSON body over HTTP; uploads stay multipart."""

from __future__ import annotations

from typing import Any

import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import NetworkError

from bot.emulator import FakeBotAPI, FakeBotServer, SpecChecker
from bot.emulator import server as fake_server
from bot.transport import JSONRequest

TOKEN = "123:ABC"
USER = 424242


async def test_calls_are_json_and_uploads_multipart(monkeypatch: pytest.MonkeyPatch) -> None:
    api = FakeBotAPI(spec=SpecChecker())
    kinds: list[str] = []
    parse = fake_server._parse_body

    def watching(content_type: str, body: bytes) -> Any:
        kinds.append(content_type.split(";")[0])
        return parse(content_type, body)

    monkeypatch.setattr(fake_server, "_parse_body", watching)
    with FakeBotServer(api) as server:
        bot = telegram.Bot(TOKEN, base_url=server.url + "/bot", request=JSONRequest())
        async with bot:
            markup = InlineKeyboardMarkup([[InlineKeyboardButton("确认上报", callback_data="a:1")]])
            sent = await bot.send_message(USER, "两村为争水源聚集了上百人“急”", reply_markup=markup)
            assert sent.text == "两村为争水源聚集了上百人“急”"
            assert sent.reply_markup.inline_keyboard[0][0].callback_data == "a:1"
            await bot.send_photo(USER, photo=b"\x89PNG\r\n\x1a\n chart", caption="图表")
            api.fail(kind="network")
            with pytest.raises(NetworkError):
                await bot.send_message(USER, "dropped")
    # getMe, sendMessage, sendPhoto, the failed sendMessage
    assert kinds == ["application/json"] * 2 + ["multipart/form-data", "application/json"]
    api.assert_no_violations()
