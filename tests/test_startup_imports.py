"""What `liaison-bot run` loads before polling: modules used only on request stay unloaded."""

from __future__ import annotations

import subprocess
import sys

# Loaded on first use only: charts, spreadsheets (both ways), exports, the demo and its emulator.
LAZY = (
    "matplotlib",
    "openpyxl",
    "bot.export",
    "bot.xlsx",
    "bot.xlsx_read",
    "bot.emulator",
    "bot.demo",
    "PIL",
)

PROBE = """
import sys
import bot.__main__
from bot.app import build_application
from bot.deps import Deps
from bot.i18n import I18n
from bot.storage.db import Database
from bot.storage.migrations import migrate
print("\\n".join(sys.modules))
"""


def test_run_does_not_load_on_demand_modules() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], check=True, capture_output=True, text=True
    ).stdout.split()
    loaded = sorted(m for m in out if any(m == x or m.startswith(x + ".") for x in LAZY))
    assert loaded == []
