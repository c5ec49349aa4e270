"""Every declared form with its module (for diagrams and tests)."""

from __future__ import annotations

from types import ModuleType

from bot.forms.runtime import Form


def all_forms() -> list[tuple[ModuleType, Form]]:
    """Return (module, form) for each form built on the runtime."""
    from bot.handlers import alert, info, leave, notice, notices, register, report_form

    return [
        (alert, alert.ALERT),
        (info, info.INFO),
        (notice, notice.NOTICE),
        (notices, notices.REPLY),
        (leave, leave.LEAVE),
        (report_form, report_form.REPORT),
        (register, register.CHANGE),
        (register, register.VISIT),
    ]
