"""Check Bot API calls against the machine-readable spec shipped beside this module."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from .formatting import EntityParseError, parse_text

__all__ = ["SPEC_PATH", "SpecChecker", "Violation", "default_spec_path"]

_SCALARS = frozenset({"Integer", "Float", "Boolean", "String", "InputFile"})
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
# Variant types document their tag as 'must be chat' or 'always "creator"'.
_TAG_VALUE = re.compile(r"(?:must be|always) \"?([a-z_]+)")
# Fields of InlineKeyboardButton that decorate a button rather than define what it does.
_BUTTON_DECORATIONS = frozenset({"text", "icon_custom_emoji_id", "style"})
_TEXT_METHODS = frozenset({"sendMessage", "editMessageText"})
_MAX_TEXT = 4096
_MAX_CAPTION = 1024
_MAX_CALLBACK_DATA = 64
_MAX_ALERT = 200
_SHARED: dict[Path, SpecChecker] = {}
# The Bot API spec ships with the package (MIT, see api.min.json.LICENSE).
SPEC_PATH = Path(__file__).with_name("api.min.json")


def default_spec_path() -> Path:
    """Return the spec location: $BOT_API_SPEC, else the copy shipped in this package."""
    override = os.environ.get("BOT_API_SPEC")
    if override:
        return Path(override)
    return SPEC_PATH


@dataclass(frozen=True)
class Violation:
    """One way a call breaks the Bot API contract."""

    method: str
    reason: str
    # What Telegram would answer; "Bad Request: ..." for status 400.
    description: str
    status: int = 400
    # Telegram silently ignores some mistakes (unknown fields); those are reported, not rejected.
    fatal: bool = True

    def __str__(self) -> str:
        return f"{self.method}: {self.reason}"


class SpecChecker:
    """Validate method names, parameters and documented limits against the Bot API spec."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else default_spec_path()
        data = json.loads(self.path.read_text(encoding="utf-8"))
        self.version: str = data.get("version", "")
        self.methods: dict[str, dict[str, Any]] = data["methods"]
        self.types: dict[str, dict[str, Any]] = data["types"]

    @classmethod
    def shared(cls, path: Path | str | None = None) -> SpecChecker:
        """Return a checker cached per spec file, since every FakeBotAPI needs one."""
        resolved = (Path(path) if path is not None else default_spec_path()).resolve()
        if resolved not in _SHARED:
            _SHARED[resolved] = cls(resolved)
        return _SHARED[resolved]

    # ---------------------------------------------------------------------------- lookups

    def has_method(self, method: str) -> bool:
        """Tell whether ``method`` exists, matching case exactly like Telegram's router does."""
        return method in self.methods

    def fields(self, method: str) -> dict[str, dict[str, Any]]:
        """Return the documented parameters of ``method`` by name."""
        return {f["name"]: f for f in self.methods.get(method, {}).get("fields", [])}

    def returns(self, method: str) -> list[str]:
        """Return the documented result types of ``method``."""
        return list(self.methods.get(method, {}).get("returns", []))

    @cached_property
    def _type_fields(self) -> dict[str, dict[str, dict[str, Any]]]:
        return {
            name: {f["name"]: f for f in spec.get("fields", [])}
            for name, spec in self.types.items()
        }

    @cached_property
    def button_actions(self) -> frozenset[str]:
        """Return the InlineKeyboardButton fields of which exactly one must be set."""
        return frozenset(self._type_fields["InlineKeyboardButton"]) - _BUTTON_DECORATIONS

    # ---------------------------------------------------------------------------- decoding

    def decode(self, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Turn wire values into Python objects the way Telegram reads them."""
        # PTB (RequestData.json_parameters) sends str values as-is and everything else
        # JSON-encoded, and HTTP forms carry only strings; so JSON-decode unless the spec says
        # the field is a plain String, which keeps text like "123" or "true" a string.
        fields = self.fields(method)
        decoded: dict[str, Any] = {}
        for name, value in params.items():
            if value is None:
                continue
            spec = fields.get(name)
            decoded[name] = _decode_value(value, spec["types"] if spec else None)
        return decoded

    # ---------------------------------------------------------------------------- checking

    def check(
        self, method: str, params: Mapping[str, Any], files: Mapping[str, Any] | None = None
    ) -> list[str]:
        """Return human-readable violations of the spec by this call (empty when clean)."""
        return [str(v) for v in self.check_detailed(method, params, files)]

    def check_detailed(
        self, method: str, params: Mapping[str, Any], files: Mapping[str, Any] | None = None
    ) -> list[Violation]:
        """Return structured violations, each carrying the error Telegram would answer."""
        if not self.has_method(method):
            hint = next((m for m in self.methods if m.lower() == method.lower()), None)
            reason = f"unknown method {method!r}" + (f" (did you mean {hint!r}?)" if hint else "")
            return [Violation(method, reason, "Not Found", status=404)]
        files = files or {}
        values = self.decode(method, params)
        fields = self.fields(method)
        found: list[Violation] = []
        for name, declared in fields.items():
            if declared["required"] and name not in values and name not in files:
                found.append(
                    Violation(method, f"missing required field {name!r}", _empty_error(name))
                )
        for name, value in values.items():
            spec = fields.get(name)
            if spec is None:
                reason = f"unknown field {name!r}"
                found.append(Violation(method, reason, f"Bad Request: {reason}", fatal=False))
                continue
            for fatal, problem in self._match_any(value, spec["types"], name, files):
                found.append(Violation(method, problem, f"Bad Request: {problem}", fatal=fatal))
        found.extend(self._limits(method, values))
        return found

    # ---------------------------------------------------------------------------- types

    def _match_any(
        self, value: Any, types: list[str], path: str, files: Mapping[str, Any]
    ) -> list[tuple[bool, str]]:
        """Match ``value`` against alternative types; return the problems of the best fit."""
        best: list[tuple[bool, str]] | None = None
        for type_name in types:
            problems = self._match(value, type_name, path, files)
            if not any(fatal for fatal, _ in problems):
                return problems
            if best is None or len(problems) < len(best):
                best = problems
        if best and len(types) > 1 and all(t in _SCALARS for t in types):
            # Report unions of scalars (chat_id: Integer or String) as one readable problem.
            return [(True, f"{path} must be {' or '.join(types)}, got {_kind(value)}")]
        return best or []

    def _match(
        self, value: Any, type_name: str, path: str, files: Mapping[str, Any]
    ) -> list[tuple[bool, str]]:
        """Return (fatal, problem) pairs describing how ``value`` fails ``type_name``."""
        if type_name.startswith("Array of "):
            inner = type_name.removeprefix("Array of ")
            if isinstance(value, str):
                value = _try_json(value)
            if not isinstance(value, list):
                return [(True, f"{path} must be {type_name}, got {_kind(value)}")]
            problems: list[tuple[bool, str]] = []
            for index, item in enumerate(value):
                problems.extend(self._match(item, inner, f"{path}[{index}]", files))
            return problems
        if type_name in _SCALARS:
            return (
                []
                if _scalar_ok(value, type_name, files)
                else [(True, f"{path} must be {type_name}, got {_kind(value)}")]
            )
        spec = self.types.get(type_name)
        if spec is None:
            return []
        if isinstance(value, str):
            value = _try_json(value)
        if spec.get("subtypes"):
            variants = spec["subtypes"]
            if isinstance(value, dict):
                # Let the tag (type/status/source) pick the variant so errors name the right one.
                tagged = [v for v in variants if not self._discriminator(value, v, path)]
                variants = tagged or variants
            return self._match_any(value, variants, path, files)
        if not isinstance(value, dict):
            return [(True, f"{path} must be a {type_name} object, got {_kind(value)}")]
        fields = self._type_fields[type_name]
        problems = []
        for name, declared in fields.items():
            if declared["required"] and name not in value:
                problems.append((True, f"{path}.{name} is required in {type_name}"))
        if spec.get("subtype_of"):
            problems.extend(self._discriminator(value, type_name, path))
        for name, item in value.items():
            field_spec = fields.get(name)
            if field_spec is None:
                problems.append((False, f"unknown field {path}.{name} in {type_name}"))
            elif item is not None:
                problems.extend(self._match_any(item, field_spec["types"], f"{path}.{name}", files))
        return problems

    def _discriminator(
        self, value: dict[str, Any], type_name: str, path: str
    ) -> list[tuple[bool, str]]:
        """Check the tag field (type/status/source) that selects a variant of an abstract type."""
        for tag in ("type", "status", "source"):
            spec = self._type_fields[type_name].get(tag)
            if spec is None or tag not in value:
                continue
            expected = _TAG_VALUE.search(spec["description"])
            if expected and value[tag] != expected.group(1):
                return [(True, f"{path}.{tag} must be {expected.group(1)!r} for {type_name}")]
        return []

    # ---------------------------------------------------------------------------- limits

    def _limits(self, method: str, values: dict[str, Any]) -> list[Violation]:
        """Check the documented size limits that the type system cannot express."""
        found: list[Violation] = []

        def add(reason: str, description: str) -> None:
            found.append(Violation(method, reason, description))

        if method in _TEXT_METHODS:
            if "text" in values and isinstance(values["text"], str):
                self._check_text(values["text"], values.get("parse_mode"), add)
            elif method == "editMessageText" and "rich_message" not in values:
                add("missing text", "Bad Request: message text is empty")
        for caption_owner in [values, *_media_items(values)]:
            caption = caption_owner.get("caption")
            if isinstance(caption, str):
                self._check_caption(caption, caption_owner.get("parse_mode"), add)
        media = values.get("media")
        if method == "sendMediaGroup" and isinstance(media, list) and not 2 <= len(media) <= 10:
            add(
                f"media group has {len(media)} items, must be 2-10",
                "Bad Request: wrong number of messages in the media group",
            )
        markup = values.get("reply_markup")
        if isinstance(markup, str):
            markup = _try_json(markup)
        if isinstance(markup, dict) and isinstance(markup.get("inline_keyboard"), list):
            self._check_keyboard(markup["inline_keyboard"], add)
        if method == "setMyCommands" and isinstance(values.get("commands"), list):
            self._check_commands(values["commands"], add)
        answer = values.get("text")
        if method == "answerCallbackQuery" and isinstance(answer, str) and len(answer) > _MAX_ALERT:
            add(
                f"callback answer text has {len(answer)} characters, max {_MAX_ALERT}",
                "Bad Request: MESSAGE_TOO_LONG",
            )
        return found

    @staticmethod
    def _check_text(text: str, parse_mode: Any, add: Any) -> None:
        """Check a message text: parsable markup, 1-4096 characters after entity parsing."""
        try:
            plain, _ = parse_text(text, parse_mode if isinstance(parse_mode, str) else None)
        except EntityParseError as exc:
            add(f"text: can't parse entities: {exc}", f"Bad Request: can't parse entities: {exc}")
            return
        if not plain:
            add("text is empty", "Bad Request: message text is empty")
        elif len(plain) > _MAX_TEXT:
            add(
                f"text has {len(plain)} characters, max {_MAX_TEXT}",
                "Bad Request: message is too long",
            )

    @staticmethod
    def _check_caption(caption: str, parse_mode: Any, add: Any) -> None:
        """Check a media caption: parsable markup, at most 1024 characters."""
        try:
            plain, _ = parse_text(caption, parse_mode if isinstance(parse_mode, str) else None)
        except EntityParseError as exc:
            add(
                f"caption: can't parse entities: {exc}", f"Bad Request: can't parse entities: {exc}"
            )
            return
        if len(plain) > _MAX_CAPTION:
            add(
                f"caption has {len(plain)} characters, max {_MAX_CAPTION}",
                "Bad Request: message caption is too long",
            )

    def _check_keyboard(self, rows: list[Any], add: Any) -> None:
        """Check inline buttons: one action each, callback_data of 1-64 UTF-8 bytes."""
        for r, row in enumerate(rows):
            if not isinstance(row, list):
                continue
            for c, button in enumerate(row):
                if not isinstance(button, dict):
                    continue
                where = f"inline_keyboard[{r}][{c}] {button.get('text')!r}"
                actions = sorted(k for k in button if k in self.button_actions)
                if len(actions) != 1:
                    add(
                        f"{where} must have exactly one action field, has {actions or 'none'}",
                        "Bad Request: can't parse inline keyboard button: "
                        + (
                            "Text buttons are unallowed in the inline keyboard"
                            if not actions
                            else "exactly one optional field must be specified"
                        ),
                    )
                data = button.get("callback_data")
                if isinstance(data, str):
                    size = len(data.encode("utf-8"))
                    if not 1 <= size <= _MAX_CALLBACK_DATA:
                        limit = _MAX_CALLBACK_DATA
                        add(
                            f"{where} callback_data is {size} bytes, must be 1-{limit}",
                            "Bad Request: BUTTON_DATA_INVALID",
                        )

    @staticmethod
    def _check_commands(commands: list[Any], add: Any) -> None:
        """Check setMyCommands: at most 100 commands, names [a-z0-9_]{1,32}, 1-256 char texts."""
        if len(commands) > 100:
            add(f"{len(commands)} commands, max 100", "Bad Request: BOT_COMMANDS_TOO_MUCH")
        for index, command in enumerate(commands):
            if not isinstance(command, dict):
                continue
            name = command.get("command")
            if isinstance(name, str) and not _COMMAND.fullmatch(name):
                add(
                    f"commands[{index}].command {name!r} must be 1-32 characters of [a-z0-9_]",
                    "Bad Request: BOT_COMMAND_INVALID",
                )
            description = command.get("description")
            if isinstance(description, str) and not 1 <= len(description) <= 256:
                add(
                    f"commands[{index}].description has {len(description)} characters,"
                    " must be 1-256",
                    "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID",
                )


# -------------------------------------------------------------------------------- helpers


def _decode_value(value: Any, types: list[str] | None) -> Any:
    """Decode one wire value, guided by the field's documented types when known."""
    if not isinstance(value, str):
        return value
    if types is not None and all(t in ("String", "InputFile") for t in types):
        return value
    return _try_json(value)


def _try_json(value: str) -> Any:
    """Return ``value`` JSON-decoded, or unchanged when it is not JSON."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def _scalar_ok(value: Any, type_name: str, files: Mapping[str, Any]) -> bool:
    """Tell whether ``value`` is an acceptable scalar of ``type_name``."""
    if type_name == "Integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "Float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if type_name == "Boolean":
        return isinstance(value, bool)
    if type_name == "String":
        return isinstance(value, str)
    # InputFile given inline: only as a reference to an uploaded multipart part.
    return isinstance(value, str) and value.startswith("attach://") and value[9:] in files


def _kind(value: Any) -> str:
    """Name the JSON kind of ``value`` for error messages."""
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float):
        return "Float"
    if isinstance(value, str):
        return f"String {value[:40]!r}"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, dict):
        return "Object"
    return type(value).__name__


def _media_items(values: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the InputMedia objects of a call (sendMediaGroup), which carry their own captions."""
    media = values.get("media")
    if isinstance(media, str):
        media = _try_json(media)
    if isinstance(media, dict):
        return [media]
    if isinstance(media, list):
        return [m for m in media if isinstance(m, dict)]
    return []


def _empty_error(field: str) -> str:
    """Return Telegram's wording for a missing required parameter."""
    if field == "text":
        return "Bad Request: message text is empty"
    return f"Bad Request: {field} is empty"
