"""Write one catalogue file per language from a Python table {key: (zh_Hans, zh_Hant, en)}.

Usage: python scripts/write_po.py TABLE.py NAME  → locales/<lang>/LC_MESSAGES/NAME.po
Handy for adding many keys at once; the .po files are the source of truth afterwards.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

LANGS = ("zh_Hans", "zh_Hant", "en")


def quote(text: str) -> str:
    """Return a .po string literal, one line per source line."""
    esc = text.replace("\\", "\\\\").replace('"', '\\"')
    lines = esc.split("\n")
    if len(lines) == 1:
        return f'"{lines[0]}"'
    body = "\n".join(f'"{line}\\n"' for line in lines[:-1]) + (
        f'\n"{lines[-1]}"' if lines[-1] else ""
    )
    return '""\n' + body


def main() -> None:
    table: dict[str, tuple[str, str, str]] = runpy.run_path(sys.argv[1])["M"]
    name = sys.argv[2]
    root = Path(__file__).resolve().parents[1] / "locales"
    for i, lang in enumerate(LANGS):
        out = [
            'msgid ""',
            'msgstr ""',
            '"Content-Type: text/plain; charset=UTF-8\\n"',
            f'"Language: {lang}\\n"',
            "",
        ]
        for key, texts in table.items():
            out += [f'msgid "{key}"', f"msgstr {quote(texts[i])}", ""]
        path = root / lang / "LC_MESSAGES" / f"{name}.po"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(out), encoding="utf-8")


if __name__ == "__main__":
    main()
