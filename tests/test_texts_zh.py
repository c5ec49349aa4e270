"""Chinese texts read like Chinese: no machine notation, full-width punctuation between CJK."""

from __future__ import annotations

import re

import pytest

from bot.i18n import load_catalogues

CJK = r"[\u4e00-\u9fff]"
RULES = {
    "week code": re.compile(r"-W\d"),
    "quarter code": re.compile(r"-Q\d"),
    "ASCII colon or semicolon between Chinese": re.compile(rf"{CJK}\s*[:;]\s*{CJK}"),
    "ASCII colon or semicolon between a Chinese word and a placeholder": re.compile(
        rf"({CJK}|\}})\s*[:;]\s*({CJK}|\{{)"
    ),
}
QUOTE_STYLES = (re.compile(r"[“”]"), re.compile(r"[「」]"), re.compile(r"[‘’]"), re.compile('"'))


def _offences(text: str) -> list[str]:
    found = [name for name, rule in RULES.items() if rule.search(text)]
    if sum(1 for style in QUOTE_STYLES if style.search(text)) > 1:
        found.append("mixed quote styles")
    return found


@pytest.mark.parametrize("lang", ["zh_Hans", "zh_Hant"])
def test_chinese_catalogues_have_no_machine_notation(lang: str) -> None:
    bad = {}
    for key, text in load_catalogues()[lang].items():
        offences = _offences(text)
        if offences:
            bad[key] = (offences, text)
    assert not bad, "\n".join(f"{k}: {o} {t!r}" for k, (o, t) in sorted(bad.items()))


@pytest.mark.parametrize("lang", ["zh_Hans", "zh_Hant"])
def test_each_chinese_catalogue_uses_one_quote_style(lang: str) -> None:
    used = {}
    for key, text in load_catalogues()[lang].items():
        for i, style in enumerate(QUOTE_STYLES):
            if style.search(text):
                used.setdefault(i, key)
    assert len(used) <= 1, f"{lang} mixes quote styles, e.g. in {sorted(used.values())}"


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("第48周（11月23日—29日）", True),
        ("W48-方庄村", True),  # a reference, explained where it first appears
        ("2026-W48", False),
        ("（2026-Q4 季度）", False),
        ("方庄村:冯兴敏", False),
        ("· {village}:{people}", False),
        ("说“是”和「否」", False),
        ("位置：方庄村", True),
        ("时间 18:00", True),
    ],
)
def test_rules(text: str, ok: bool) -> None:
    assert (not _offences(text)) is ok, _offences(text)


@pytest.mark.parametrize("lang", ["zh_Hans", "zh_Hant", "en"])
def test_no_week_or_quarter_codes_in_any_language(lang: str) -> None:
    """English readers get "week 48", not "W48", either."""
    codes = re.compile(r"\bW\{|\bW\d|-W\d|\bQ\{|-Q\d")
    bad = {k: v for k, v in load_catalogues()[lang].items() if codes.search(v)}
    assert not bad, bad
