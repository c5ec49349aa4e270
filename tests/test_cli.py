"""The command line in-process: every command has --help (the real process is in test_process_*)."""

from __future__ import annotations

import pytest

from bot.__main__ import main


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["run", "--help"],
        ["migrate", "--help"],
        ["roster", "--help"],
        ["roster", "import", "--help"],
        ["roster", "invite", "--help"],
        ["backup", "--help"],
    ],
)
def test_cli_help_for_every_command(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 0
    assert "usage: liaison-bot" in capsys.readouterr().out
