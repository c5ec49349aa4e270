"""Gettext catalogues from locales/ and a translator per update (no global locale state)."""

from __future__ import annotations

# A module alias: Translator has methods named date, time and datetime, which would shadow the
# types in its own annotations.
import datetime as dt
import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_time, get_day_names
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LANGUAGES = ("zh_Hans", "zh_Hant", "en")
DEFAULT_LANGUAGE = "zh_Hans"


def locales_dir() -> Path:
    """Return the folder holding the catalogues ($LOCALES_DIR, installed, or the checkout's)."""
    override = os.environ.get("LOCALES_DIR")
    if override:
        return Path(override)
    here = Path(__file__).resolve().parent
    installed = here / "locales"  # a wheel carries them inside the package (setup.py)
    if installed.is_dir():
        return installed
    # A source checkout (editable install, tests, Docker's /app): the repository's locales/.
    checkout = here.parent / "locales"
    if checkout.is_dir() and (here.parent / "pyproject.toml").is_file():
        return checkout
    raise RuntimeError(f"gettext catalogues not found in {installed} or {checkout}")


def language_from_telegram(code: str | None) -> str:
    """Map Telegram's language_code to one of LANGUAGES (PRODUCT.md §6)."""
    code = (code or "").lower().replace("_", "-")
    if code.startswith(("zh-hant", "zh-tw", "zh-hk", "zh-mo")):
        return "zh_Hant"
    if code.startswith("zh"):
        return "zh_Hans"
    if code.startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


def load_catalogues(directory: Path | None = None) -> dict[str, dict[str, str]]:
    """Read every .po file of every language into {language: {key: text}}."""
    directory = directory or locales_dir()
    result: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        messages: dict[str, str] = {}
        for po in sorted((directory / lang / "LC_MESSAGES").glob("*.po")):
            with po.open("rb") as fh:
                catalog = read_po(fh, locale=None)
            for msg in catalog:
                if msg.id and isinstance(msg.id, str):
                    if msg.id in messages:
                        raise RuntimeError(f"key {msg.id!r} defined twice in {lang}")
                    messages[msg.id] = str(msg.string or "")
        result[lang] = messages
    return result


class PersonLanguage(Protocol):
    """What for_person needs of a person (bot.domain.people.Person has it)."""

    # Read-only: Person is a frozen dataclass.
    @property
    def language(self) -> str | None: ...
    @property
    def tg_language(self) -> str | None: ...


_BABEL_LOCALES = {"zh_Hans": "zh_Hans_CN", "zh_Hant": "zh_Hant_TW", "en": "en_GB"}


@functools.lru_cache(maxsize=512)
def _format_datetime(local: dt.datetime, zone: str, fmt: str, locale: Locale) -> str:
    # Cached: a fan-out names the same deadline in 10,000 reminders, and Babel takes about
    # 80 µs to format it each time. The zone is part of the key: equal instants in two zones
    # compare equal.
    return format_datetime(local, format=fmt, locale=locale)


@dataclass(frozen=True)
class Translator:
    """Strings and formats of one language."""

    language: str
    messages: Mapping[str, str]
    fallback: Mapping[str, str]
    tz: ZoneInfo
    # Parsed once: Locale.parse is costly and every formatted date or number needs it.
    locale: Locale = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "locale", Locale.parse(_BABEL_LOCALES[self.language]))

    def __call__(self, key: str, /, **values: object) -> str:
        """Return the text for key with {placeholders} filled in."""
        text = self.messages.get(key) or self.fallback.get(key)
        if text is None:
            # A missing key is a bug the locale test catches; show the key, never crash a user.
            return key
        return text.format(**values) if values else text

    def date(self, value: dt.date | dt.datetime, fmt: str = "medium") -> str:
        """Format a date (an instant is first put in the bot's zone)."""
        if isinstance(value, dt.datetime):
            value = value.astimezone(self.tz).date()
        return format_date(value, format=fmt, locale=self.locale)

    def time(self, value: dt.datetime) -> str:
        """Format a local clock time HH:MM."""
        return format_time(value.astimezone(self.tz), format="HH:mm", locale=self.locale)

    def datetime(self, value: dt.datetime) -> str:
        """Format a local date and time, short."""
        local = value.astimezone(self.tz)
        return _format_datetime(local, str(self.tz), self("fmt.datetime"), self.locale)

    def weekly(self, weekday: int, at: dt.time) -> str:
        """Format a weekly moment, e.g. "星期二 18:00" / "Tuesday 18:00" (weekday 0 = Monday)."""
        return f"{get_day_names('wide', locale=self.locale)[weekday]} {at:%H:%M}"

    def number(self, value: float) -> str:
        """Format a number with the locale's separators."""
        return format_decimal(value, locale=self.locale)

    def percent(self, part: int, whole: int) -> str:
        """Format part/whole as a rounded percentage ('—' when whole is zero)."""
        if whole == 0:
            return "—"
        return f"{round(100 * part / whole)}%"


class I18n:
    """All catalogues, loaded once; hands out Translators."""

    def __init__(self, tz: ZoneInfo, directory: Path | None = None) -> None:
        self.catalogues = load_catalogues(directory)
        self.tz = tz
        # One translator per language, built once: they are immutable.
        self._translators = {
            lang: Translator(lang, self.catalogues[lang], self.catalogues[DEFAULT_LANGUAGE], tz)
            for lang in LANGUAGES
        }

    def get(self, language: str | None) -> Translator:
        """Return the translator for a language (the default when unknown)."""
        return self._translators.get(language or "", self._translators[DEFAULT_LANGUAGE])

    def for_person(self, person: PersonLanguage) -> Translator:
        """Return the translator of someone the bot writes to: their /lang choice, else the
        language Telegram last reported for them."""
        return self.get(person.language or language_from_telegram(person.tg_language))

    def all(self) -> list[Translator]:
        """Return one translator per language."""
        return [self.get(lang) for lang in LANGUAGES]
