"""Logs carry ids and handler names, never the contents of reports (they are sensitive)."""

from __future__ import annotations

import logging

import pytest

from bot.logs import ContextFilter, quiet_libraries
from tests.conftest import Env

SECRET = "张三与李四因宗教活动场所用地发生争执"


async def test_report_contents_never_reach_the_logs(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    # LOG_LEVEL=DEBUG: the bot logs everything it logs, the libraries stay capped.
    quiet_libraries()
    caplog.set_level(logging.DEBUG, logger="bot")
    logging.getLogger().setLevel(logging.DEBUG)
    user = await env.bind("王建国")
    await user.command("/alert")
    await user.press("土地、山林、水利")
    await user.press("紧急")
    await user.send("12")
    await user.press("就在本村")
    await user.send(SECRET)
    await user.press("确认上报")
    await env.deliver()
    assert any("A-1" in t for t in user.texts())
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert SECRET not in logged
    assert "13800000001" not in logged  # nor phone numbers


def test_log_records_carry_update_user_and_handler() -> None:
    from bot.logs import handler_var, update_id_var, user_id_var

    record = logging.LogRecord("bot", logging.INFO, __file__, 1, "hello", None, None)
    tokens = (update_id_var.set(41), user_id_var.set(7), handler_var.set("on_ack"))
    try:
        ContextFilter().filter(record)
    finally:
        handler_var.reset(tokens[2])
        user_id_var.reset(tokens[1])
        update_id_var.reset(tokens[0])
    assert (record.update_id, record.user_id, record.handler) == (41, 7, "on_ack")
