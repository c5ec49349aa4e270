"""Write each form's .mmd beside its module from its declaration (tests/test_forms.py checks)."""

from __future__ import annotations

from pathlib import Path

from bot.forms.registry import all_forms


def main() -> None:
    for module, form in all_forms():
        Path(module.__file__ or "").with_name(f"{form.name}.mmd").write_text(form.mermaid())


if __name__ == "__main__":
    main()
