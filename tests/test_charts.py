"""Charts: Chinese labels render as glyphs (not boxes); without a CJK font, text only."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pytest

from bot import charts
from tests.conftest import make_env
from tests.test_office import known_data


def _renders(font: Path | None, text: str) -> list[bytes]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Glyph … missing from font": expected without a font
        return [charts.render_text(ch, font) for ch in text]


def test_chinese_labels_render_as_glyphs() -> None:
    font = charts.find_font()
    assert font is not None, "no CJK font: `make` installs fonts-wqy-microhei (apt)"
    without = _renders(None, "河口乡")
    with_font = _renders(font, "河口乡")
    # With the font missing every character is the same empty box …
    assert len(set(without)) == 1
    # … with it each character is its own glyph, and none of them is that box.
    assert len(set(with_font)) == 3
    assert not set(with_font) & set(without)


async def test_without_a_font_stats_are_text_only_with_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(charts, "find_font", lambda *a, **k: None)
    with caplog.at_level(logging.WARNING, logger="bot.charts"):
        env, driver = await make_env(tmp_path)
    try:
        assert [r.message for r in caplog.records if "CJK font" in r.message]
        assert len([r for r in caplog.records if r.name == "bot.charts"]) == 1
        await known_data(env)
        boss = await env.bind("冯兴敏")
        calls = await boss.command("/stats")
        assert any("上报率" in (c.text or "") for c in calls)
        assert not any(c.method == "sendPhoto" for c in calls)
    finally:
        await driver.__aexit__(None, None, None)
        await env.db.close()
    env.api.assert_no_violations()


async def test_stats_chart_is_a_png_with_the_township_rows(env) -> None:
    await known_data(env)
    boss = await env.bind("冯兴敏")
    calls = await boss.command("/stats")
    photo = next(c for c in calls if c.method == "sendPhoto")
    content = next(iter(photo.files.values())).content
    assert content.startswith(b"\x89PNG")
    assert "河口乡" in (photo.text or "")
