"""`liaison-bot demo` end to end: the real process, its page driven in headless Chromium.

Screenshots of every step land in artifacts/demo/ (gitignored) for a person to look at.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.clock import ShiftedClock
from bot.demo.voice import crc32_ogg, silent_voice_note
from bot.demo.world import DemoWorld, next_moment
from tests.webdriver import Browser, WebDriverError, find_chromium, no_proxy_env

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts" / "demo"
PAGE_LINE = re.compile(r"Demo page: (http://127\.0\.0\.1:\d+)")
GROUP = -1001000000001


def _environment(**extra: str) -> dict[str, str]:
    env = no_proxy_env()
    for key in ("BOT_TOKEN", "BOT_API_URL", "DATABASE_PATH", "POLICY_FILE"):
        env.pop(key, None)
    env.update(DEMO_PORT="0", DEMO_OPEN_BROWSER="0", **extra)
    return env


def _wait_for_page(proc: subprocess.Popen[str], timeout: float = 45.0) -> tuple[str, list[str]]:
    """Read the process's stdout until it prints the page address."""
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        found = PAGE_LINE.search(line)
        if found:
            return found[1], lines
    raise AssertionError(f"no page address printed; output so far: {''.join(lines)}")


def _stop(proc: subprocess.Popen[str]) -> int:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        return proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return proc.wait()


def _get(url: str) -> bytes:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=10) as response:
        return bytes(response.read())


@pytest.fixture
def chromium() -> tuple[str, str]:
    """Return the browser and chromedriver, or skip saying what is missing."""
    found = find_chromium()
    if isinstance(found, str):
        pytest.skip(found)
    return found


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Start `liaison-bot demo` (own database in tmp) and yield its page URL and log."""
    log = tmp_path / "demo.log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "demo", "--db", str(tmp_path / "demo.sqlite3")],
            cwd=tmp_path,  # no .env of the developer's
            env=_environment(),
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            start_new_session=True,
        )
        try:
            url, _ = _wait_for_page(proc)
            yield url, log
        finally:
            assert _stop(proc) == 0, log.read_text()


# ---------------------------------------------------------------------- the page in Chromium


class Page:
    """The demo page as a person uses it, one screenshot per step."""

    def __init__(self, browser: Browser, url: str) -> None:
        self.b = browser
        self.url = url
        self.step = 0
        browser.get(url)
        browser.wait("return document.querySelector('#starting.gone')", what="the bot to start")

    def shot(self, name: str) -> None:
        self.step += 1
        self.b.screenshot(ARTIFACTS / f"{self.step:02d}-{name}.png")

    def snapshot(self) -> str:
        return str(self.b.run("return document.querySelector('#messages').innerText"))

    def click(self, script: str, *args: object, what: str = "") -> None:
        """Find an element and click it; the page re-renders live, so retry a stale find."""
        for _ in range(10):
            element = self.b.wait(script, *args, what=what or script)
            try:
                self.b.click(element)
                return
            except WebDriverError as exc:
                if "stale" not in str(exc):
                    raise
        raise AssertionError(f"{what or script} kept going stale")

    def open(self, name: str) -> None:
        self.click(
            "return document.querySelector(`.person[data-name='${arguments[0]}']`)",
            name,
            what=f"{name} in the list",
        )
        self.b.wait(
            "return document.querySelector('#chattitle').textContent.includes(arguments[0])",
            name,
            what=f"the chat of {name}",
        )

    def text_shown(self, text: str, timeout: float = 20.0) -> None:
        self.b.wait(
            "return document.querySelector('#messages').innerText.includes(arguments[0])",
            text,
            timeout=timeout,
            what=f"{text!r} in the chat",
        )

    def text_matches(self, pattern: str, timeout: float = 20.0) -> None:
        self.b.wait(
            "return new RegExp(arguments[0]).test(document.querySelector('#messages').innerText)",
            pattern,
            timeout=timeout,
            what=f"/{pattern}/ in the chat",
        )

    def press(self, label: str) -> None:
        before = self.snapshot()
        self.click(_FIND_BUTTON, label, what=f"a button {label!r}")
        self._changed(before)

    def send(self, text: str) -> None:
        box = self.b.run("return document.querySelector('#text')")
        before = self.snapshot()
        self.b.type(box, text + "\ue007")
        self._changed(before)

    def _changed(self, before: str) -> None:
        """Wait until the bot has answered and the page shows exactly what the emulator holds."""
        self.b.wait(
            "return document.querySelector('#messages').innerText !== arguments[0]",
            before,
            what="the bot's answer",
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if json.loads(_get(f"{self.url}/api/idle"))["idle"]:
                chat, viewer, shown = self.b.run("return [S.chat, S.viewer, S.messages]")
                held = json.loads(_get(f"{self.url}/api/chat?chat={chat}&as={viewer}"))
                if shown == held["messages"]:
                    return
            time.sleep(0.05)
        raise AssertionError("the bot or the page did not settle")


# The newest inline button whose label contains the text.
_FIND_BUTTON = (
    "return [...document.querySelectorAll('#messages .kb button')]"
    ".reverse().find(b => b.textContent.includes(arguments[0])) || null"
)


def file_normal_week(page: Page) -> None:
    """File this week's report as 'all normal' with the form's one-tap answer."""
    page.send("/report")
    page.press("✅ 本周一切正常")
    page.text_matches(r"W\d+-大朱村")  # the report's reference, e.g. W47-大朱村


def raise_critical_alert(page: Page) -> None:
    """Report a water dispute as critical (特急: it goes to the leaders too)."""
    page.send("/alert")
    page.press("土地、山林、水利")
    page.press("特急")
    page.send("20")
    page.press("就在本村")
    page.send("两个村民小组因灌溉用水发生争执，现场约二十人")
    page.press("确认上报")
    page.text_shown("已上报，编号")


@pytest.mark.process
@pytest.mark.timeout(150)
def test_demo_page_in_headless_chromium(
    chromium: tuple[str, str], demo: tuple[str, Path], tmp_path: Path
) -> None:
    url, log = demo
    browser = Browser(*chromium, width=1000, height=700, log=tmp_path / "chromedriver.log")
    page = Page(browser, url)
    try:
        page.open("张伟")
        page.shot("zhang-wei")
        file_normal_week(page)
        page.shot("normal-week-filed")
        raise_critical_alert(page)
        page.shot("critical-alert-raised")

        page.open("冯兴敏")
        page.text_shown("签收")
        page.press("签收")
        page.text_shown("已由冯兴敏")  # the card now says who acknowledged it
        page.shot("feng-acknowledged")

        page.open("河口乡统战工作群")
        clock = browser.run("return document.querySelector('#clock').textContent")
        page.click("return document.querySelector('[data-move=wed09]')")
        browser.wait("return document.querySelector('#clock').textContent !== arguments[0]", clock)
        page.text_shown("工作周报", timeout=30)
        page.text_shown("大朱村")  # the digest names the village that reported
        page.shot("digest-in-group")

        # The same page on a phone-sized screen: one pane at a time, with a way back.
        browser.resize(400, 800)
        page.shot("phone-group")
        page.click("return document.querySelector('#back')")
        page.open("张伟")

        # The language switch goes through /lang, and the page follows the bot's language.
        browser.run(
            "const s = document.querySelector('#lang'); s.value = 'en';"
            "s.dispatchEvent(new Event('change'));"
        )
        browser.wait(
            "return document.querySelector('#sendbtn').textContent === 'Send'",
            what="the page in English",
        )
        page.text_shown("English")
        page.shot("phone-english")
        violations = browser.run("return document.querySelector('#violationlist').innerText")
    except BaseException:
        page.shot("failure")
        raise
    finally:
        browser.quit()
    assert violations == ""
    bot_log = log.read_text()
    assert "spec violation" not in bot_log
    # The bot talked to the emulator on loopback, nothing else.
    assert re.search(r"API http://127\.0\.0\.1:\d+\n", bot_log), bot_log


# ---------------------------------------------------------------------- without a token


@pytest.mark.process
def test_make_run_without_token_runs_the_demo(tmp_path: Path) -> None:
    if (ROOT / ".env").exists() and "BOT_TOKEN" in (ROOT / ".env").read_text():
        pytest.skip("this checkout has a .env with a BOT_TOKEN: make run would start the bot")
    env = _environment(DEMO_DATABASE_PATH=str(tmp_path / "demo.sqlite3"))
    proc = subprocess.Popen(
        # -o: use the virtual environment as it is (the test runs inside it).
        ["make", "--no-print-directory", "-o", ".venv/.installed", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        url, lines = _wait_for_page(proc)
        assert "No BOT_TOKEN" in "".join(lines) and "@BotFather" in "".join(lines)
        assert '<script src="/app.js">' in _get(url).decode()
        state = json.loads(_get(f"{url}/api/state"))
        assert {p["name"] for p in state["people"]} >= {"张伟", "冯兴敏"}
    finally:
        _stop(proc)  # make itself dies of the signal; the demo's own exit is tested above
    assert (tmp_path / "demo.sqlite3").exists()


@pytest.mark.process
def test_run_without_token_still_exits_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "@BotFather" in done.stderr


# ---------------------------------------------------------------------- pieces


def test_spec_violations_reach_the_page_and_the_log(caplog: pytest.LogCaptureFixture) -> None:
    from bot.emulator import FakeBotAPI
    from bot.i18n import I18n

    api = FakeBotAPI()
    world = DemoWorld(api, ShiftedClock(datetime.now(UTC)), I18n(ZoneInfo("Asia/Shanghai")))
    events = world.bus.subscribe()
    status, _ = api.handle("sendMessage", {"chat_id": 20003, "text": "x" * 5000})
    assert status == 400
    assert world.violations and "4096" in world.violations[0]
    assert {"type": "violation", "text": world.violations[0]} in events
    assert "spec violation" in caplog.text


def test_sample_voice_note_is_ogg_opus_with_valid_pages() -> None:
    data = silent_voice_note(2)
    pages, pos = [], 0
    while pos < len(data):
        assert data[pos : pos + 4] == b"OggS"
        segments = data[pos + 26]
        size = 27 + segments + sum(data[pos + 27 : pos + 27 + segments])
        page = bytearray(data[pos : pos + size])
        stored = int.from_bytes(page[22:26], "little")
        page[22:26] = b"\0\0\0\0"
        assert crc32_ogg(bytes(page)) == stored
        pages.append(page)
        pos += size
    assert len(pages) == 3
    assert pages[0][28:36] == b"OpusHead" and pages[1][28:36] == b"OpusTags"
    assert int.from_bytes(pages[2][6:14], "little") == 312 + 2 * 48_000


def test_time_controls_go_to_the_next_such_moment() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    monday = datetime(2026, 11, 16, 8, 30, tzinfo=tz)
    assert next_moment(monday, tz, 1, 16, 0) == datetime(2026, 11, 17, 16, 0, tzinfo=tz)
    assert next_moment(monday, tz, 2, 9, 0) == datetime(2026, 11, 18, 9, 0, tzinfo=tz)
    wednesday_nine = datetime(2026, 11, 18, 9, 0, tzinfo=tz)
    assert next_moment(wednesday_nine, tz, 2, 9, 0) == datetime(2026, 11, 25, 9, 0, tzinfo=tz)


def test_demo_never_uses_the_bots_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.__main__ import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "bot.sqlite3"))
    assert main(["demo", "--no-browser", "--db", str(tmp_path / "bot.sqlite3")]) == 1
    assert "would overwrite the bot's database" in capsys.readouterr().err
    assert not (tmp_path / "bot.sqlite3").exists()
