"""Settings from the environment and the policy from an optional TOML file."""

from __future__ import annotations

import re
import tomllib
from datetime import date, time
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


class ConfigError(Exception):
    """A configuration problem worth one clear line to the operator."""


class Settings(BaseSettings):
    """Process settings: environment variables, then `.env` in the working directory."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = None
    bot_api_url: str = "https://api.telegram.org"
    database_path: Path = Path("data/liaison.sqlite3")
    timezone: str = "Asia/Shanghai"
    policy_file: Path | None = None
    log_level: str = "INFO"
    # Seconds between scheduler ticks (reminders, escalations, digests are checked this often).
    # Process tests shorten it; the container health check expects a heartbeat within 180 s.
    tick_seconds: float = Field(20, gt=0, le=60)
    # First pause before a send Telegram failed (5xx, timeout) is tried again; it doubles per
    # attempt up to 5 minutes. Process tests shorten it so an outage ends in seconds.
    outbox_retry_seconds: float = Field(5, gt=0, le=60)

    @field_validator("bot_api_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not re.match(r"^https?://", value):
            raise ValueError("BOT_API_URL must start with http:// or https://")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value

    @property
    def tz(self) -> ZoneInfo:
        """Return the configured zone."""
        return ZoneInfo(self.timezone)

    @property
    def method_base_url(self) -> str:
        """Return the prefix PTB puts before the token for methods."""
        return f"{self.bot_api_url}/bot"

    @property
    def file_base_url(self) -> str:
        """Return the prefix PTB puts before the token for file downloads."""
        return f"{self.bot_api_url}/file/bot"


def load_settings() -> Settings:
    """Read settings, turning validation errors into one-line ConfigErrors."""
    try:
        return Settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]).upper()
        raise ConfigError(f"configuration {key}: {err['msg']}") from None


# --- policy -------------------------------------------------------------------------------


class WeeklyMoment(BaseModel):
    """A weekday and a local time, written "TUE 18:00"."""

    model_config = ConfigDict(frozen=True)

    weekday: int  # 0 = Monday, as date.weekday()
    at: time

    def __str__(self) -> str:
        return f"{WEEKDAYS[self.weekday]} {self.at:%H:%M}"


def _parse_hhmm(text: str) -> time:
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", text)
    if not m or int(m[1]) > 23 or int(m[2]) > 59:
        raise ValueError(f"{text!r} is not a time like 18:00")
    return time(int(m[1]), int(m[2]))


def _parse_moment(value: object) -> object:
    if isinstance(value, (WeeklyMoment, dict)):
        return value
    if not isinstance(value, str):
        raise ValueError('expected a string like "TUE 18:00"')
    return _moment(value)


def _moment(value: str) -> WeeklyMoment:
    parts = value.split()
    if len(parts) != 2 or parts[0].upper() not in WEEKDAYS:
        raise ValueError(f'{value!r} is not a weekday and time like "TUE 18:00"')
    return WeeklyMoment(weekday=WEEKDAYS.index(parts[0].upper()), at=_parse_hhmm(parts[1]))


def _parse_time(value: object) -> object:
    if isinstance(value, time):
        return value
    if not isinstance(value, str):
        raise ValueError('expected a string like "22:00"')
    return _parse_hhmm(value)


Moment = Annotated[WeeklyMoment, BeforeValidator(_parse_moment)]
ClockTime = Annotated[time, BeforeValidator(_parse_time)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WeeklyReportPolicy(_Strict):
    due: Moment = Field(default_factory=lambda: _moment("TUE 18:00"))
    reminders: list[Moment] = Field(
        default_factory=lambda: [_moment("TUE 09:00"), _moment("TUE 16:00")]
    )
    overdue: Moment = Field(default_factory=lambda: _moment("WED 09:00"))


class DigestPolicy(_Strict):
    post: Moment = Field(default_factory=lambda: _moment("WED 09:00"))


Severity = Literal["critical", "high", "medium", "low"]


class EscalationPolicy(_Strict):
    """Minutes to acknowledge before an alert climbs a level."""

    critical: int = Field(10, gt=0)
    high: int = Field(30, gt=0)
    medium: int = Field(120, gt=0)
    low: int = Field(1440, gt=0)

    def minutes(self, severity: str) -> int:
        """Return the minutes allowed for one severity."""
        return int(getattr(self, severity))


class ResolutionPolicy(_Strict):
    """Hours after acknowledgement before the owner is reminded to resolve."""

    critical: int = Field(4, gt=0)
    high: int = Field(24, gt=0)
    medium: int = Field(72, gt=0)
    low: int = Field(168, gt=0)

    def hours(self, severity: str) -> int:
        """Return the hours allowed for one severity."""
        return int(getattr(self, severity))


class QuietHours(_Strict):
    start: ClockTime = time(22, 0)
    end: ClockTime = time(7, 0)


class CalendarPolicy(_Strict):
    holidays: list[date] = Field(default_factory=list)
    workdays: list[date] = Field(default_factory=list)

    @model_validator(mode="after")
    def _disjoint(self) -> CalendarPolicy:
        both = set(self.holidays) & set(self.workdays)
        if both:
            raise ValueError(f"{min(both)} is both a holiday and a workday")
        return self


QuotaKind = Literal["work_update", "experience_summary", "highlight", "public_opinion"]


class QuotaRule(_Strict):
    kinds: list[QuotaKind] = Field(min_length=1)
    scope: Literal["township", "village"] = "township"
    period: Literal["month", "quarter"] = "month"
    min: int = Field(ge=1)


def _default_quotas() -> list[QuotaRule]:
    return [
        QuotaRule(kinds=["work_update"], scope="township", period="month", min=3),
        QuotaRule(
            kinds=["experience_summary", "highlight"], scope="township", period="quarter", min=1
        ),
    ]


class RegisterCategory(_Strict):
    """A category of the register (统战对象台账) and the fields its entries have.

    The first field is the entry's name. Names people read come from locales/
    (register.cat.<code>, register.field.<field>) unless `label` / `field_labels` give the
    office's own words for a category or field it adds itself.
    """

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,30}$")
    kind: Literal["place", "person"]
    fields: list[str] = Field(min_length=1)
    visit_weeks: int | None = Field(None, ge=1, le=104)
    label: str | None = Field(None, min_length=1, max_length=40)
    field_labels: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _fields(self) -> RegisterCategory:
        if self.fields[0] != "name":
            raise ValueError("the first field of a category must be name")
        bad = [f for f in self.fields if not re.fullmatch(r"[a-z][a-z0-9_]{0,30}", f)]
        if bad or len(set(self.fields)) != len(self.fields):
            raise ValueError(f"field codes must be unique lower-case words: {self.fields}")
        return self


def _person(code: str, *extra: str, weeks: int | None = None) -> RegisterCategory:
    return RegisterCategory(
        code=code, kind="person", fields=["name", *extra, "phone"], visit_weeks=weeks
    )


def _default_register() -> list[RegisterCategory]:
    # The seed's ten databases (seeds/002) plus the venues a patrol visits.
    return [
        RegisterCategory(
            code="religious_venue",
            kind="place",
            fields=["name", "religion", "person_in_charge", "phone"],
            visit_weeks=4,
        ),
        RegisterCategory(
            code="folk_belief",
            kind="place",
            fields=["name", "person_in_charge", "phone"],
            visit_weeks=4,
        ),
        RegisterCategory(
            code="private_enterprise",
            kind="place",
            fields=["name", "person_in_charge", "phone"],
            visit_weeks=8,
        ),
        _person("overseas", "relation", "abroad_at"),
        _person("entrepreneur", "employer"),
        _person("professional", "employer", "title"),
        _person("party_member", "party", "employer"),
        _person("religious_head", "religion", "employer", weeks=8),
        _person("folk_belief_head", "employer", weeks=8),
        _person("minority", "ethnicity"),
        _person("outside_worker", "abroad_at", "employer"),
        _person("notable", "title"),
        _person("talent", "title"),
    ]


class Policy(_Strict):
    """Every time and threshold the bot works by; defaults as in PRODUCT.md §2."""

    weekly_report: WeeklyReportPolicy = Field(default_factory=WeeklyReportPolicy)
    digest: DigestPolicy = Field(default_factory=DigestPolicy)
    escalation: EscalationPolicy = Field(default_factory=EscalationPolicy)
    resolution: ResolutionPolicy = Field(default_factory=ResolutionPolicy)
    quiet_hours: QuietHours = Field(default_factory=QuietHours)
    calendar: CalendarPolicy = Field(default_factory=CalendarPolicy)
    quotas: list[QuotaRule] = Field(default_factory=_default_quotas)
    # TOML key [[register]]; the attribute name avoids BaseModel's own `register`.
    register_categories: list[RegisterCategory] = Field(
        default_factory=_default_register, alias="register"
    )

    @model_validator(mode="after")
    def _register_codes(self) -> Policy:
        codes = [c.code for c in self.register_categories]
        if len(set(codes)) != len(codes):
            raise ValueError("two register categories share a code")
        return self


def load_policy(path: Path | None) -> Policy:
    """Read the policy file (if any) over the defaults; errors name file, key and reason."""
    if path is None:
        return Policy()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"policy file {path}: cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"policy file {path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"policy file {path}: not valid TOML: {exc}") from None
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        raise ConfigError(f"policy file {path}: key {key}: {msg}") from None
