"""The real `liaison-bot` process over loopback HTTP: onboarding survives SIGTERM and restart."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from bot.emulator import FakeBotAPI, FakeBotServer, FakeUser, ServerDriver
from tests.botproc import BotProcess, cli, import_roster
from tests.conftest import ROSTER

pytestmark = pytest.mark.process


async def test_onboarding_through_the_real_process(tmp_path: Path) -> None:
    db_path = tmp_path / "data" / "bot.sqlite3"
    codes = import_roster(db_path, ROSTER)
    api = FakeBotAPI()
    with FakeBotServer(api) as server:
        # A fresh interpreter (not the fork server): the start-up with its imports as deployed.
        bot = BotProcess(db_path, server, tmp_path / "bot.log", fresh=True)
        try:
            await bot.start()
            driver = ServerDriver(server, timeout=15)
            liaison = FakeUser(api, driver, 424242, first_name="王建国", language_code="zh-hans")
            calls = await liaison.command("/start", codes["王建国"])
            assert any("绑定成功" in (c.text or "") for c in calls), bot.log()
            menus = [c for c in calls if c.method == "setMyCommands"]
            assert menus and menus[-1].params["scope"] == {"type": "chat", "chat_id": 424242}
            assert "report" in [c["command"] for c in menus[-1].params["commands"]]

            stranger = FakeUser(api, driver, 515151, first_name="路人", language_code="en")
            calls = await stranger.send("hello")
            assert any("invite code" in (c.text or "") for c in calls)
            calls = await stranger.command("/start", "NOTACODE")
            assert any("not valid" in (c.text or "") for c in calls)
            calls = await stranger.command("/start", codes["王建国"])
            assert any("already been used" in (c.text or "") for c in calls)

            assert await bot.stop(signal.SIGTERM) == 0, bot.log()
            assert "stopped cleanly" in bot.log()

            await bot.start()
            calls = await liaison.command("/start")
            assert any("/report" in (c.text or "") and "王建国" in (c.text or "") for c in calls)
            assert await bot.stop(signal.SIGTERM) == 0
        finally:
            bot.ensure_stopped()
    # Every request both processes made was valid against the Bot API spec.
    api.assert_no_violations()
    # The configured BOT_API_URL served the methods (the fake saw the bot's token there).
    assert "123456:PROCESS-TEST" in server.tokens


def test_run_without_token_exits_2_with_help(tmp_path: Path) -> None:
    done = cli(tmp_path / "x.sqlite3", "run", BOT_TOKEN="")
    assert done.returncode == 2
    assert "@BotFather" in done.stderr and "Traceback" not in done.stderr


def test_malformed_policy_stops_start_up(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[escalation]\ncritical = "soon"\n', encoding="utf-8")
    done = cli(tmp_path / "x.sqlite3", "run", POLICY_FILE=str(policy))
    assert done.returncode == 2
    line = done.stderr.strip()
    assert str(policy) in line and "escalation.critical" in line and "integer" in line
    assert "Traceback" not in done.stderr and len(line.splitlines()) == 1


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    db = tmp_path / "x.sqlite3"
    done = cli(db, "roster", "import", str(tmp_path / "missing.csv"))
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    done = cli(db, "roster", "invite", "无此人")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    done = cli(db, "backup", str(tmp_path / "b.sqlite3"))
    assert done.returncode == 0  # the database exists by now (invite opened it)


async def test_process_waits_for_an_unreachable_api(tmp_path: Path) -> None:
    db_path = tmp_path / "bot.sqlite3"
    api = FakeBotAPI()
    api.fail("getMe", kind="5xx", times=2)  # 502 twice at start-up: retried after 1 s, then 2 s
    with FakeBotServer(api) as server:
        bot = BotProcess(db_path, server, tmp_path / "bot.log")
        try:
            await bot.start(timeout=30)
            assert "not reachable" in bot.log()
            assert await bot.stop(signal.SIGTERM) == 0
        finally:
            bot.ensure_stopped()
    api.assert_no_violations()


async def test_process_survives_a_telegram_outage(tmp_path: Path) -> None:
    """Every call fails (polling included) for a while; afterwards updates flow again."""
    db_path = tmp_path / "data" / "bot.sqlite3"
    codes = import_roster(db_path, ROSTER)
    api = FakeBotAPI()
    with FakeBotServer(api) as server:
        bot = BotProcess(db_path, server, tmp_path / "bot.log")
        try:
            await bot.start()
            driver = ServerDriver(server, timeout=30)
            user = FakeUser(api, driver, 434343, first_name="李秀英", language_code="zh-hans")
            outage = api.outage(lambda method, params: True)
            # Telegram drops open connections when it goes down: the long poll in flight
            # answers now (with the outage's 502) instead of at the end of its 10 s.
            api.interrupt_polls()

            def failed_polls() -> int:
                return sum(1 for c in api.calls if c.method == "getUpdates" and c.status >= 500)

            # The following polls fail with 502 too, PTB retrying after 1 s, 1.5 s, ...
            for _ in range(400):
                if failed_polls() >= 2:
                    break
                await asyncio.sleep(0.1)
            api.end_outage(outage)
            calls = await user.command("/start", codes["李秀英"])
            assert any("绑定成功" in (c.text or "") for c in calls), bot.log()
            assert await bot.stop(signal.SIGTERM) == 0
        finally:
            bot.ensure_stopped()
    assert sum(1 for c in api.calls if c.method == "getUpdates" and c.status >= 500) >= 2


async def test_sigterm_to_make_run_stops_the_bot_cleanly_and_quietly(tmp_path: Path) -> None:
    """`make run` stopped by a supervisor: the bot gets the SIGTERM and stops as cleanly as
    when it is sent to the bot itself; and its start prints no PTBUserWarning."""
    api = FakeBotAPI()
    log = tmp_path / "make.log"
    # -o: use the virtual environment as it is (the test runs inside it).
    make_run = ["make", "--no-print-directory", "-o", ".venv/.installed", "run"]
    with FakeBotServer(api) as server:
        bot = BotProcess(tmp_path / "bot.sqlite3", server, log, argv=make_run)
        try:
            await bot.start()
            assert bot.proc is not None
            make_pid = bot.proc.pid
            children = Path(f"/proc/{make_pid}/task/{make_pid}/children").read_text().split()
            # The bot itself is make's child, no shell in between (that would die alone).
            assert len(children) == 1, children
            argv = Path(f"/proc/{children[0]}/cmdline").read_bytes().split(b"\0")
            assert argv[0].endswith(b"python3") or argv[0].endswith(b"python"), argv
            # make passes SIGTERM on, waits for the bot, then dies of the signal itself.
            assert await bot.stop(signal.SIGTERM) == -signal.SIGTERM
            assert not Path(f"/proc/{children[0]}").exists(), "the bot outlived make"
        finally:
            bot.ensure_stopped()
    output = log.read_text(encoding="utf-8", errors="replace")
    assert "stopped cleanly" in output, output
    assert "Warning" not in output and "Traceback" not in output, output
