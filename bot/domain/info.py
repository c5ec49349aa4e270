"""Information submissions: kinds, limits and validation returning error codes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator

from bot.domain.vocab import KIND_KEYS, SUBMISSION_STATE_KEYS
from bot.i18n import Translator

__all__ = ["KIND_KEYS"]

KINDS = ("work_update", "experience_summary", "highlight", "public_opinion")

STATE_KEYS = SUBMISSION_STATE_KEYS

MAX_TITLE = 60
MAX_BODY = 4000
MAX_PHOTOS = 5
MAX_FILES = 5
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024  # the Bot API's download limit
MAX_COMMENT = 1000


def kind_label(t: Translator, kind: str) -> str:
    """Return the localized name of a submission kind."""
    return t(KIND_KEYS[kind])


def kinds_label(t: Translator, kinds: list[str]) -> str:
    """Return the localized names of a quota's kinds joined with slashes."""
    return "/".join(kind_label(t, k) for k in kinds)


def title_error(text: str | None) -> str | None:
    """Return an error code for a title, or None when it is fine."""
    if text is None or not text.strip():
        return "empty"
    if "\n" in text.strip():
        return "multiline"
    if len(text.strip()) > MAX_TITLE:
        return "too_long"
    return None


def body_error(parts: list[str], extra: str = "") -> str | None:
    """Return an error code when the body so far plus `extra` is empty or too long."""
    body = join_body([*parts, extra] if extra else parts)
    if len(body) > MAX_BODY:
        return "too_long"
    if not body.strip():
        return "empty"
    return None


def join_body(parts: list[str]) -> str:
    """Join body messages with blank lines between them."""
    return "\n\n".join(p.strip() for p in parts if p.strip())


def reference(submission_id: int) -> str:
    """Return the short reference a liaison sees, "I-5"."""
    return f"I-{submission_id}"


class SubmissionDraft(BaseModel):
    """A submission ready to store; validation raises with an error code as the message."""

    model_config = ConfigDict(frozen=True)

    kind: str
    title: str
    body: str

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value not in KINDS:
            raise ValueError("bad_kind")
        return value

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        code = title_error(value)
        if code:
            raise ValueError(f"title_{code}")
        return value.strip()

    @field_validator("body")
    @classmethod
    def _body(cls, value: str) -> str:
        code = body_error([value])
        if code:
            raise ValueError(f"body_{code}")
        return value.strip()
