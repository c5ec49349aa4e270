"""BOT_API_URL is used for methods and for file downloads (self-hosted Bot API servers)."""

from __future__ import annotations

from tests.conftest import Env


async def test_methods_and_files_use_the_configured_server(env: Env) -> None:
    env.api.add_file("FILE123", b"photo-bytes")
    file = await env.app.bot.get_file("FILE123")
    data = await file.download_as_bytearray()
    assert bytes(data) == b"photo-bytes"
    urls = env.api.urls
    assert "http://fake-bot-api.test/bot123456:TEST-TOKEN" in urls, urls
    assert any(u.startswith("http://fake-bot-api.test/file/bot") for u in urls), urls
