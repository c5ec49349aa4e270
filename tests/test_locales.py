"""Every user-facing key exists in all three languages, with the same placeholders, and is used."""

from __future__ import annotations

import ast
import functools
import re
import string
from pathlib import Path

from bot.i18n import LANGUAGES, load_catalogues

ROOT = Path(__file__).resolve().parents[1]
KEY = re.compile(r"^[a-z][a-z0-9_]*(\.[A-Za-z0-9_]+)+$")


@functools.cache
def _sources() -> tuple[tuple[str, tuple[ast.AST, ...]], ...]:
    """Return every module of bot/: its path from the root and all the nodes of its tree
    (parsed once per process: three tests read them)."""
    found = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found.append((str(path.relative_to(ROOT)), tuple(ast.walk(tree))))
    return tuple(found)


@functools.cache
def _literals() -> frozenset[str]:
    return frozenset(
        node.value
        for _, nodes in _sources()
        for node in nodes
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and KEY.match(node.value)
    )


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_language_has_every_key_with_the_same_placeholders() -> None:
    cats = load_catalogues()
    keys = set().union(*(set(c) for c in cats.values()))
    for lang in LANGUAGES:
        missing = sorted(keys - set(cats[lang]))
        assert not missing, f"{lang} lacks {missing}"
        empty = sorted(k for k, v in cats[lang].items() if not v.strip())
        assert not empty, f"{lang} has empty texts for {empty}"
    for key in keys:
        marks = {lang: _placeholders(cats[lang][key]) for lang in LANGUAGES}
        assert len({frozenset(m) for m in marks.values()}) == 1, f"{key}: {marks}"


def test_every_key_used_in_code_exists() -> None:
    cats = load_catalogues()
    keys = set(cats["zh_Hans"])
    prefixes = {k.split(".")[0] for k in keys}
    used = {lit for lit in _literals() if lit.split(".")[0] in prefixes}
    missing = sorted(used - keys)
    assert not missing, f"used in bot/ but missing from locales/: {missing}"


def test_every_key_in_locales_is_used() -> None:
    keys = set(load_catalogues()["zh_Hans"])
    unused = sorted(keys - _literals())
    assert not unused, f"in locales/ but never used in bot/: {unused}"


# Files whose Chinese literals are input vocabulary (roster headers and role names people
# type in spreadsheets), not text the bot shows.
INPUT_VOCABULARY = {"bot/domain/roster.py", "bot/domain/register.py"}


def test_no_chinese_text_outside_locales() -> None:
    """User-facing strings live in locales/: no CJK string literals in the bot's code."""
    cjk = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
    offenders = []
    for rel, nodes in _sources():
        if rel in INPUT_VOCABULARY:
            continue
        docstrings = {
            id(n.body[0].value)
            for n in nodes
            if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and n.body
            and isinstance(n.body[0], ast.Expr)
            and isinstance(n.body[0].value, ast.Constant)
        }
        for node in nodes:
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and cjk.search(node.value)
                and id(node) not in docstrings
            ):
                offenders.append(f"{rel}:{node.lineno}")
    assert not offenders, offenders
