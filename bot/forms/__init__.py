"""Guided forms as declarations: a feature declares its steps, summary and submit; the runtime
(bot/forms/runtime.py) does everything else, the same way for every form.

Declare a form::

    ALERT = Form(
        name="alert", prefix="alf", model=AlertDraft,        # a pydantic model of the answers
        steps=[
            Choice("category", "alert.ask_category", fixed(CATEGORIES, CATEGORY_KEYS)),
            Text("people_count", "alert.ask_people", parse_people),  # parse → value or Invalid
            Collect(name="photos", ask=..., accept={"photo": add}, done_label=..., flow=False),
        ],
        summary=Summary(render=render_alert, edit=("category", "people_count")),  # None: the
        # last answer submits at once (short forms: a reviewer's comment, resolving an alert)
        submit=submit_alert,   # async (context, draft, tx) -> Done(record_id, text) | Stay(note)
        keys={...},  # cancelled, dropped (also the sweep's notice), cancel, use_buttons; ...
    )
    handlers = [ALERT.conversation([CommandHandler("alert", ALERT.guarded(start))])]

An entry point calls ``ALERT.begin(update, context, AlertDraft(...))`` (or ``resume``). A step
may carry ``when=lambda d: ...`` (asked only when it applies), ``flow=False`` (reached only from
the summary's extras), ``done=`` (when it counts as answered) and ``reset=`` (run when opened
from the Edit menu). Asks and labels are locale keys or functions of (context, draft).

The runtime owns: the role and private-chat guard; the draft row in ``form_drafts`` (answers and
step, committed before the next question is sent; one idle rule, DRAFT_IDLE); the callback codec
with the draft's token on every button (stale, foreign and submitted drafts' buttons are
refused); wrong-input re-prompts; Cancel and /cancel; Edit from the summary and back; submit
(record, closed draft and the confirmation in the outbox, in one transaction); the
ConversationHandler; and the Mermaid diagram (``Form.mermaid()``).
"""

from bot.forms import codec
from bot.forms.codec import Press, decode, parse_int
from bot.forms.runtime import ACTIVE, EDIT, END, SUMMARY, Form
from bot.forms.steps import (
    Choice,
    Collect,
    Done,
    Invalid,
    Multi,
    Stay,
    Step,
    Summary,
    Text,
    fixed,
)

__all__ = [
    "ACTIVE",
    "EDIT",
    "END",
    "SUMMARY",
    "Choice",
    "Collect",
    "Done",
    "Form",
    "Invalid",
    "Multi",
    "Press",
    "Stay",
    "Step",
    "Summary",
    "Text",
    "codec",
    "decode",
    "fixed",
    "parse_int",
]
