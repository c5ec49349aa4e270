"""How the register of united-front subjects reads in /register and its two forms: category
names, the runtime's words of both forms and the check of a typed text."""

from __future__ import annotations

from bot.config import Policy
from bot.domain.register import Category, category_name
from bot.forms import Invalid
from bot.i18n import Translator
from bot.register_io import categories

MAX_TEXT = 200
MAX_SHOWN = 10
# The runtime's words, shared by the change form and the holiday-visit form.
FORM_KEYS = {
    "cancelled": "register.cancelled",
    "dropped": "register.draft_dropped",
    "submit": "register.btn.submit",
    "edit": "register.btn.edit",
    "cancel": "register.btn.cancel",
    "ask_edit": "register.ask.edit",
    "use_buttons": "register.err.use_buttons",
    "old_button": "forms.old_button",
}


def cats(policy: Policy) -> dict[str, Category]:
    """Return the policy's register categories by code."""
    return {c.code: c for c in categories(policy)}


def cat_name(policy: Policy, t: Translator, code: str) -> str:
    """Return a category's name in the reader's language (its code if the policy dropped it)."""
    cat = cats(policy).get(code)
    return category_name(cat, t) if cat else code


def text_answer(value: str) -> str | Invalid:
    """Return a typed name, value, reason or note on one line, or why it is refused."""
    text = " ".join(value.split())
    if not text:
        return Invalid("register.err.empty")
    if len(text) > MAX_TEXT:
        return Invalid("register.err.too_long", {"max": MAX_TEXT})
    return text
