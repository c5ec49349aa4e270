"""Shared conversation steps for end-to-end tests (Simplified Chinese labels)."""

from __future__ import annotations

from bot.emulator import FakeUser


async def report_to_visited(user: FakeUser, *, week: str | None = "报本周（第48周）") -> None:
    """Open /report for this week, patrol today, tick religious venues; stop at the count."""
    await user.command("/report")
    if week is not None:
        await user.press(week)
    await user.press("今天")
    await user.press("宗教活动场所")
    await user.press("选好了 / 完成")
