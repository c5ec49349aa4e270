"""The form runtime: diagrams generated from declarations, the callback codec."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.forms import Press, codec, decode, parse_int
from bot.forms.registry import all_forms


@pytest.mark.parametrize("module,form", all_forms(), ids=lambda x: getattr(x, "name", ""))
def test_diagram_matches_declaration(module, form) -> None:  # type: ignore[no-untyped-def]
    path = Path(module.__file__).with_name(f"{form.name}.mmd")
    assert path.read_text() == form.mermaid(), "run: .venv/bin/python scripts/write_mmd.py"


@pytest.mark.parametrize(
    "text,value",
    [
        ("0", 0),
        ("42", 42),
        ("9007199254740992", 2**53),
        ("9007199254740993", None),
        ("12345678901234567890", None),  # 20 digits
        ("²", None),  # passes str.isdigit(), fails int()
        ("٣", None),  # Arabic-Indic digit: int() would take it
        ("-1", None),
        (" 1", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_int_is_bounded_and_ascii(text, value) -> None:  # type: ignore[no-untyped-def]
    assert parse_int(text) == value


def test_press_round_trip_and_forgeries() -> None:
    press = Press("0a1b2c3d", "places", "t", "religious")
    data = press.encode("rp")
    assert len(data.encode()) <= 64 and decode(data, "rp") == press
    for forged in (
        "rp:0a1b2c3d:places:t",  # a field short
        "rp:XYZ:places:t:x",  # not a token
        "rp:0a1b2c3d:places:t:宗教",  # non-ASCII
        "alf:0a1b2c3d:places:t:x",  # another form's prefix
        "rp:0a1b2c3d::t:x",  # no step
        "rp:0a1b2c3d:places:t:" + "x" * 60,
    ):
        assert decode(forged, "rp") is None, forged
    assert codec.ids("al:ack:12", "al", "ack") == [12]
    assert codec.ids("al:ack:12345678901234567890", "al", "ack") is None
    assert codec.ids("al:ack:²", "al", "ack") is None
    with pytest.raises(ValueError):
        Press("0a1b2c3d", "x" * 40, "v", "y" * 20).encode("rp")
