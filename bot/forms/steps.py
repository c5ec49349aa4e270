"""The parts a form is declared from: steps, the summary and what a step answer yields."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from telegram import Message

from bot.context import BotContext
from bot.storage.db import Tx

Say = str | Callable[[BotContext, Any], str]  # a locale key, or a function of (context, draft)
Options = Callable[[BotContext, Any], Sequence[tuple[str, str]]]  # (value, label) per button
Row = list[tuple[str, str, str]]  # (action, value, label)


def say(what: Say, context: BotContext, draft: Any) -> str:
    """Return the text of a key or a render function."""
    return what(context, draft) if callable(what) else context.t(what)


def fixed(values: Sequence[str], labels: dict[str, str]) -> Options:
    """Return options that are always the same values, labelled from locale keys."""
    return lambda context, draft: [(v, context.t(labels[v])) for v in values]


@dataclass(frozen=True)
class Stay:
    """Stay on the step: show `note` above its question (or as a popup for a press)."""

    note: str | None = None
    popup: bool = False


@dataclass(frozen=True)
class Invalid:
    """A parser's verdict: the error's locale key and its arguments."""

    key: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Done:
    """What a submit stored: the record (None: nothing stored) and the person's confirmation."""

    record_id: int | None
    text: str
    markup: dict[str, Any] | None = None


Result = Stay | None  # None: the answer is taken, go on
Submit = Callable[[BotContext, Any, Tx], Awaitable[Done | Stay]]
Handler = Callable[[BotContext, Any, Message], Result]


def _rows(pairs: Sequence[tuple[str, str]], action: str, columns: int) -> list[Row]:
    return [
        [(action, v, label) for v, label in pairs[i : i + columns]]
        for i in range(0, len(pairs), columns)
    ]


@dataclass(kw_only=True)
class Step:
    """One question. Buttons from `options` set the field (or run `apply`) and go on."""

    name: str
    ask: Say
    options: Options | None = None
    apply: Callable[[BotContext, Any, str], Result] | None = None
    convert: Callable[[str], Any] = str
    when: Callable[[Any], bool] | None = None  # the step applies to this draft
    flow: bool = True  # False: only reached from the summary
    done: Callable[[Any], bool] | None = None  # answered? (default: the field is set)
    wrong: Say | None = None  # re-prompt for input this step does not take
    label: str | None = None  # its button in the Edit menu
    reset: Callable[[Any], None] | None = None  # run when opened from the Edit menu
    columns: int = 1
    accept: dict[str, Handler] = field(default_factory=dict)  # message kind → handler
    links: Options | None = None  # (label, callback data) buttons to handlers outside the form

    def applies(self, draft: Any) -> bool:
        return self.when is None or self.when(draft)

    def answered(self, draft: Any) -> bool:
        return self.done(draft) if self.done else getattr(draft, self.name, None) is not None

    def rows(self, context: BotContext, draft: Any) -> list[Row]:
        links = (
            [("@", data, label) for label, data in self.links(context, draft)] if self.links else []
        )
        pairs = list(self.options(context, draft)) if self.options else []
        return [[link] for link in links] + _rows(pairs, "v", self.columns)

    def press(
        self, context: BotContext, draft: Any, action: str, value: str
    ) -> Result | Literal[False]:
        """Apply a button of this step; False when it is not one of its buttons now."""
        if action != "v" or not self.options:
            return False
        if value not in [v for v, _ in self.options(context, draft)]:
            return False
        if self.apply is not None:
            return self.apply(context, draft, value)
        setattr(draft, self.name, self.convert(value))
        return None

    def message(self, context: BotContext, draft: Any, message: Message) -> Result | Literal[False]:
        """Take a message; False when this step does not take its kind."""
        for kind, handler in self.accept.items():
            if getattr(message, kind, None):
                return handler(context, draft, message)
        return False


def Choice(name: str, ask: Say, options: Options, **kw: Any) -> Step:
    """Return a step answered by one of its buttons."""
    return Step(name=name, ask=ask, options=options, **kw)


def Text(
    name: str, ask: Say, parse: Callable[[str], Any], *, store: str | None = None, **kw: Any
) -> Step:
    """Return a step answered by typed text (`parse` returns the value or Invalid)."""

    def take(context: BotContext, draft: Any, message: Message) -> Result:
        value = parse(message.text or "")
        if isinstance(value, Invalid):
            return Stay(context.t(value.key, **value.args))
        setattr(draft, store or name, value)
        return None

    return Step(name=name, ask=ask, accept={"text": take, **kw.pop("accept", {})}, **kw)


@dataclass(kw_only=True)
class Multi(Step):
    """Toggle any of the options, then Done (at least one, else `empty`)."""

    done_label: str
    empty: str
    quick: Options | None = None  # shortcuts that set the whole answer and go on

    def rows(self, context: BotContext, draft: Any) -> list[Row]:
        chosen = getattr(draft, self.name) or []
        options = self.options(context, draft) if self.options else []
        pairs = [(v, ("✅ " if v in chosen else "") + label) for v, label in options]
        quick = list(self.quick(context, draft)) if self.quick and not chosen else []
        done: Row = [("ok", "", context.t(self.done_label))]
        return [*_rows(quick, "q", 1), *_rows(pairs, "t", self.columns), done]

    def press(
        self, context: BotContext, draft: Any, action: str, value: str
    ) -> Result | Literal[False]:
        chosen = list(getattr(draft, self.name) or [])
        if action == "q" and self.quick and value in [v for v, _ in self.quick(context, draft)]:
            assert self.apply is not None
            return self.apply(context, draft, value)
        options = self.options(context, draft) if self.options else []
        if action == "t" and value in [v for v, _ in options]:
            chosen.remove(value) if value in chosen else chosen.append(value)
            setattr(draft, self.name, chosen)
            return Stay()
        if action == "ok":
            return Stay(context.t(self.empty), popup=True) if not chosen else None
        return False


@dataclass(kw_only=True)
class Collect(Step):
    """Gather messages (photos, files, parts of a text) until Done; `finish` may refuse."""

    done_label: Say
    finish: Callable[[BotContext, Any], Result] | None = None

    def rows(self, context: BotContext, draft: Any) -> list[Row]:
        return [*super().rows(context, draft), [("ok", "", say(self.done_label, context, draft))]]

    def press(
        self, context: BotContext, draft: Any, action: str, value: str
    ) -> Result | Literal[False]:
        if action != "ok":
            return super().press(context, draft, action, value)
        return self.finish(context, draft) if self.finish else None


@dataclass(kw_only=True)
class Summary:
    """The last screen: the draft, Submit, Edit (a menu of `edit` steps), `extras`, Cancel."""

    render: Callable[[BotContext, Any], str]
    edit: Sequence[str]
    extras: Sequence[tuple[str, str]] = ()  # (label key, step name) buttons beside Edit
    back: str | None = None  # label of the Edit menu's "back to the summary" button
