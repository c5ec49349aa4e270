"""Just enough W3C WebDriver (over loopback HTTP to chromedriver) to drive headless Chromium.

No client library: the protocol is JSON over HTTP, and the tests need a handful of commands.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

# Debian names the browser `chromium`; other systems ship it under these names.
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> tuple[str, str] | str:
    """Return (browser, chromedriver) paths, or the reason why they cannot be had."""
    browser = next((found for name in BROWSERS if (found := shutil.which(name))), None)
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        missing = " and ".join(
            n for n, p in (("chromium", browser), ("chromedriver", driver)) if p is None
        )
        return (
            f"no {missing} on PATH (Debian: apt-get install chromium chromium-driver; "
            ".ci/run installs them)"
        )
    return browser, driver


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class WebDriverError(RuntimeError):
    """chromedriver answered with an error."""


class Browser:
    """One headless Chromium session driven through chromedriver."""

    def __init__(self, browser: str, driver: str, width: int, height: int, log: Path) -> None:
        port = _free_port()
        self._log = log.open("ab")
        self._proc = subprocess.Popen(
            [driver, f"--port={port}"], stdout=self._log, stderr=subprocess.STDOUT
        )
        self._root = f"http://127.0.0.1:{port}"
        self.session = ""
        try:
            self._wait_ready()
            args = [
                "--headless=new",
                "--no-sandbox",  # containers run as root
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-proxy-server",  # loopback only
                f"--window-size={width},{height}",
                "--lang=zh-CN",
            ]
            capabilities = {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": browser, "args": args},
            }
            answer = self._call("POST", "/session", {"capabilities": {"alwaysMatch": capabilities}})
            self.session = answer["sessionId"]
        except BaseException:
            self.quit()
            raise

    def _wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self._call("GET", "/status").get("ready"):
                    return
            except (OSError, WebDriverError):
                pass
            time.sleep(0.05)
        raise WebDriverError("chromedriver did not start")

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self._root}{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        # chromedriver is on loopback: never let a proxy setting get in the way.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=60) as response:
                return json.loads(response.read())["value"]
        except urllib.error.HTTPError as exc:
            detail = json.loads(exc.read() or b"{}").get("value", {})
            raise WebDriverError(f"{detail.get('error')}: {detail.get('message')}") from None

    def _session(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._call(method, f"/session/{self.session}{path}", body)

    # ------------------------------------------------------------------ commands

    def get(self, url: str) -> None:
        """Navigate to ``url``."""
        self._session("POST", "/url", {"url": url})

    def run(self, script: str, *args: Any) -> Any:
        """Run JavaScript (a function body; ``arguments`` holds args) and return its value."""
        return self._session("POST", "/execute/sync", {"script": script, "args": list(args)})

    def click(self, element: dict[str, str]) -> None:
        """Click an element returned by run() (scrolled into view, like a person would)."""
        self._session("POST", f"/element/{_element_id(element)}/click", {})

    def type(self, element: dict[str, str], text: str) -> None:
        """Type text into an element ("\\ue007" is Enter)."""
        self._session("POST", f"/element/{_element_id(element)}/value", {"text": text})

    def resize(self, width: int, height: int) -> None:
        """Set the window size."""
        self._session("POST", "/window/rect", {"width": width, "height": height})

    def screenshot(self, path: Path) -> None:
        """Save a PNG of the viewport."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self._session("GET", "/screenshot")))

    def wait(self, script: str, *args: Any, timeout: float = 15.0, what: str = "") -> Any:
        """Poll a JavaScript expression until it returns something truthy; return that."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.run(script, *args)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what or script}")
            time.sleep(0.05)

    def quit(self) -> None:
        """End the session and chromedriver."""
        if self.session:
            with contextlib.suppress(OSError, WebDriverError):
                self._call("DELETE", f"/session/{self.session}")
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
        self._log.close()


def _element_id(element: dict[str, str]) -> str:
    """Return the id inside a W3C element reference (its one value)."""
    return next(iter(element.values()))


def no_proxy_env() -> dict[str, str]:
    """Return the environment with loopback exempt from any proxy."""
    env = dict(os.environ)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env
