"""Parse Bot API message markup (HTML, MarkdownV2, legacy Markdown) into text and entities.

The parsers follow the rules documented under "Formatting options" in the Bot API docs and
reject input the way Telegram does, so an unescaped ``<`` or ``.`` in a bot message fails here
the same way it would fail in production ("can't parse entities").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["EntityParseError", "parse_text", "utf16_len"]


class EntityParseError(ValueError):
    """Signal that marked-up text cannot be parsed; the message mirrors Telegram's wording."""


def utf16_len(text: str) -> int:
    """Return the length of ``text`` in UTF-16 code units, the unit of entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    """Return the UTF-8 byte offset of character ``index``; Telegram reports errors in bytes."""
    return len(text[:index].encode("utf-8"))


@dataclass
class _Output:
    """Accumulate plain text and the entities found while parsing."""

    parts: list[str] = field(default_factory=list)
    length: int = 0
    entities: list[dict[str, Any]] = field(default_factory=list)

    def add(self, chunk: str) -> None:
        """Append plain text."""
        self.parts.append(chunk)
        self.length += utf16_len(chunk)

    def entity(self, kind: str, start: int, **extra: Any) -> None:
        """Close an entity that started at UTF-16 offset ``start``; empty ones are dropped."""
        if self.length > start:
            self.entities.append(
                {"type": kind, "offset": start, "length": self.length - start, **extra}
            )

    def result(self) -> tuple[str, list[dict[str, Any]]]:
        """Return the text and the entities sorted the way Telegram returns them."""
        ordered = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), ordered


def parse_text(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Return the plain text and entities Telegram would derive from ``text``."""
    if not parse_mode:
        return text, []
    mode = parse_mode.lower()
    if mode == "html":
        return _parse_html(text)
    if mode == "markdownv2":
        return _parse_markdown_v2(text)
    if mode == "markdown":
        return _parse_markdown(text)
    raise EntityParseError(f"unsupported parse_mode {parse_mode!r}")


# --------------------------------------------------------------------------------------------
# HTML

_HTML_KINDS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_START_TAG = re.compile(
    r"<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*)\s*/?>"
)
_ATTRIBUTE = re.compile(r"([a-zA-Z-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>\"']+)))?")
_HTML_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _unescape_html(value: str) -> str:
    """Decode the four named and the numeric character references Telegram supports."""
    return _HTML_ENTITY.sub(lambda m: _decode_html_entity(m.group(1)), value)


def _decode_html_entity(name: str) -> str:
    """Return the character an HTML entity name (without & and ;) stands for."""
    if name in _NAMED:
        return _NAMED[name]
    code = int(name[2:], 16) if name.startswith("#x") else int(name[1:])
    return chr(code)


@dataclass
class _OpenTag:
    """A start tag waiting for its end tag."""

    name: str
    start: int
    attributes: dict[str, str]


def _parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram's HTML subset."""
    out = _Output()
    stack: list[_OpenTag] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "&":
            match = _HTML_ENTITY.match(text, i)
            if match:
                out.add(_decode_html_entity(match.group(1)))
                i = match.end()
                continue
            out.add(char)
            i += 1
            continue
        if char != "<":
            out.add(char)
            i += 1
            continue
        offset = _byte_offset(text, i)
        if text.startswith("</", i):
            end = text.find(">", i)
            if end < 0:
                raise EntityParseError(f"Unclosed end tag at byte offset {offset}")
            name = text[i + 2 : end].strip().lower()
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {offset}")
            tag = stack.pop()
            if name and name != tag.name:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {offset}, expected "</{tag.name}>", '
                    f'found "</{name}>"'
                )
            _close_html_tag(out, tag, stack)
            i = end + 1
            continue
        match = _START_TAG.match(text, i)
        if not match:
            bad = re.match(r"<([^\s>]*)", text[i:])
            shown = bad.group(1) if bad else ""
            raise EntityParseError(f'Unsupported start tag "{shown}" at byte offset {offset}')
        name = match.group(1).lower()
        if name not in _HTML_KINDS:
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {offset}')
        attributes = {
            a.group(1).lower(): _unescape_html(a.group(2) or a.group(3) or a.group(4) or "")
            for a in _ATTRIBUTE.finditer(match.group(2))
        }
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {offset}'
            )
        stack.append(_OpenTag(name, out.length, attributes))
        i = match.end()
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    return out.result()


def _close_html_tag(out: _Output, tag: _OpenTag, stack: list[_OpenTag]) -> None:
    """Turn a closed tag into an entity, folding <pre><code class=...> into one pre entity."""
    kind = _HTML_KINDS[tag.name]
    if kind == "text_link":
        url = tag.attributes.get("href", "")
        if url:
            out.entity(kind, tag.start, url=url)
        return
    if kind == "custom_emoji":
        out.entity(kind, tag.start, custom_emoji_id=tag.attributes.get("emoji-id", ""))
        return
    if kind == "code" and stack and stack[-1].name == "pre" and stack[-1].start == tag.start:
        language = tag.attributes.get("class", "")
        if language.startswith("language-"):
            stack[-1].attributes["language"] = language.removeprefix("language-")
            return
    if kind == "pre" and tag.attributes.get("language"):
        out.entity(kind, tag.start, language=tag.attributes["language"])
        return
    if kind == "blockquote" and "expandable" in tag.attributes:
        out.entity("expandable_blockquote", tag.start)
        return
    out.entity(kind, tag.start)


# --------------------------------------------------------------------------------------------
# MarkdownV2

_V2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_V2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


@dataclass
class _OpenEntity:
    """A MarkdownV2 entity waiting for its closing marker."""

    kind: str
    start: int
    byte_offset: int


def _reserved(char: str) -> EntityParseError:
    """Build Telegram's error for an unescaped reserved character."""
    return EntityParseError(
        f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
    )


def _read_until(text: str, i: int, closing: str, escapable: str) -> tuple[str, int] | None:
    """Read up to an unescaped ``closing`` marker; return the content and the index after it."""
    chunk: list[str] = []
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in escapable:
            chunk.append(text[i + 1])
            i += 2
            continue
        if text.startswith(closing, i):
            return "".join(chunk), i + len(closing)
        chunk.append(text[i])
        i += 1
    return None


def _parse_markdown_v2(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse MarkdownV2, insisting on escaped reserved characters like Telegram does."""
    out = _Output()
    stack: list[_OpenEntity] = []
    quote_start: int | None = None
    line_start = True
    i = 0
    while i < len(text):
        char = text[i]
        offset = _byte_offset(text, i)
        at_line_start, line_start = line_start, False
        if char == "\\":
            if i + 1 < len(text) and 0 < ord(text[i + 1]) <= 126:
                out.add(text[i + 1])
                i += 2
            else:
                out.add(char)
                i += 1
            continue
        if char == "\n":
            # A blockquote runs over consecutive lines that start with '>'.
            if quote_start is not None and not text.startswith(">", i + 1):
                out.entity("blockquote", quote_start)
                quote_start = None
            out.add(char)
            line_start = True
            i += 1
            continue
        if char == ">" and at_line_start:
            if quote_start is None:
                quote_start = out.length
            i += 1
            continue
        if char == "`":
            fence = "```" if text.startswith("```", i) else "`"
            found = _read_until(text, i + len(fence), fence, "`\\")
            if found is None:
                name = "PreCode" if fence == "```" else "Code"
                raise EntityParseError(f"Can't find end of {name} entity at byte offset {offset}")
            content, i = found
            if fence == "```":
                language, newline, body = content.partition("\n")
                if newline and language and not any(c.isspace() for c in language):
                    start = out.length
                    out.add(body)
                    out.entity("pre", start, language=language)
                else:
                    start = out.length
                    out.add(content)
                    out.entity("pre", start)
            else:
                start = out.length
                out.add(content)
                out.entity("code", start)
            continue
        kind, width = _v2_marker(text, i)
        if kind in ("bold", "italic", "underline", "strikethrough", "spoiler"):
            _toggle(out, stack, kind, offset)
            i += width
            continue
        if kind in ("text_link", "custom_emoji"):
            stack.append(_OpenEntity(kind, out.length, offset))
            i += width
            continue
        if char == "]" and stack and stack[-1].kind in ("text_link", "custom_emoji"):
            if not text.startswith("(", i + 1):
                raise EntityParseError(f"Can't find end of a url at byte offset {offset}")
            found = _read_until(text, i + 2, ")", ")\\")
            if found is None:
                raise EntityParseError(f"Can't find end of a url at byte offset {offset}")
            url, i = found
            entity = stack.pop()
            if entity.kind == "custom_emoji":
                out.entity("custom_emoji", entity.start, custom_emoji_id=url.rpartition("=")[2])
            else:
                out.entity("text_link", entity.start, url=url)
            continue
        if char in _V2_RESERVED:
            raise _reserved(char)
        out.add(char)
        i += 1
    if stack:
        entity = stack[-1]
        raise EntityParseError(
            f"Can't find end of {_V2_NAMES[entity.kind]} entity at byte offset {entity.byte_offset}"
        )
    if quote_start is not None:
        out.entity("blockquote", quote_start)
    return out.result()


def _v2_marker(text: str, i: int) -> tuple[str | None, int]:
    """Classify the formatting marker starting at ``i`` and return its kind and width."""
    char = text[i]
    if char == "*":
        return "bold", 1
    if char == "~":
        return "strikethrough", 1
    if char == "_":
        return ("underline", 2) if text.startswith("__", i) else ("italic", 1)
    if char == "|" and text.startswith("||", i):
        return "spoiler", 2
    if char == "[":
        return "text_link", 1
    if char == "!" and text.startswith("![", i):
        return "custom_emoji", 2
    return None, 0


def _toggle(out: _Output, stack: list[_OpenEntity], kind: str, offset: int) -> None:
    """Open an entity, or close it when it is the innermost open one."""
    if stack and stack[-1].kind == kind:
        entity = stack.pop()
        out.entity(kind, entity.start)
        return
    if any(entity.kind == kind for entity in stack):
        inner = stack[-1]
        raise EntityParseError(
            f"Can't find end of {_V2_NAMES[inner.kind]} entity at byte offset {inner.byte_offset}"
        )
    stack.append(_OpenEntity(kind, out.length, offset))


# --------------------------------------------------------------------------------------------
# Legacy Markdown

_LEGACY_KINDS = {"*": "bold", "_": "italic"}


def _parse_markdown(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse legacy Markdown: *bold*, _italic_, `code`, ```pre``` and [text](url), no nesting."""
    out = _Output()
    i = 0
    while i < len(text):
        char = text[i]
        offset = _byte_offset(text, i)
        if char == "\\" and i + 1 < len(text) and text[i + 1] in "_*`[":
            out.add(text[i + 1])
            i += 2
            continue
        if char in _LEGACY_KINDS or char == "`":
            marker = "```" if text.startswith("```", i) else char
            end = text.find(marker, i + len(marker))
            if end < 0:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {offset}"
                )
            content = text[i + len(marker) : end]
            start = out.length
            if marker == "```":
                language, newline, body = content.partition("\n")
                if newline and language and " " not in language:
                    out.add(body)
                    out.entity("pre", start, language=language)
                else:
                    out.add(content)
                    out.entity("pre", start)
            else:
                out.add(content)
                out.entity("code" if char == "`" else _LEGACY_KINDS[char], start)
            i = end + len(marker)
            continue
        if char == "[":
            close = text.find("](", i + 1)
            end = text.find(")", close + 2) if close >= 0 else -1
            if close < 0 or end < 0:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {offset}"
                )
            start = out.length
            out.add(text[i + 1 : close])
            out.entity("text_link", start, url=text[close + 2 : end])
            i = end + 1
            continue
        out.add(char)
        i += 1
    return out.result()
