"""The drills: each runs a bounded scenario against the real process and returns its figures.

- kill: one /alert per cycle, a SIGKILL at a random moment of it, a restart, carry on;
- outage: every message to the commissioners and every confirmation fails for a while
  (Telegram answers 502) while four liaisons raise alerts;
- burst: one liaison sends 10 messages at once; Telegram allows one a second per chat;
- flood: 40 commands from strangers in a group nobody bound, next to a liaison's /help;
- fuzz: forged callback data on real messages.
"""

from __future__ import annotations

import asyncio
import random
import re
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.emulator import FakeGroup, FakeUser
from tests.drills.stage import COMMISSIONER, LEADER, LIAISONS, Stage

# What the liaison does at each step of /alert, by the step the chat shows.
CATEGORY, SEVERITY, PEOPLE, PLACE, WHAT, SUMMARY, DONE = range(1, 8)
_PROMPTS = (
    (DONE, "已上报，编号"),
    (WHAT, "发生了什么"),
    (PLACE, "在什么地方"),
    (PEOPLE, "大约涉及多少人"),
    (SEVERITY, "请选择紧急程度"),
    (CATEGORY, "请选择纠纷类别"),
)
_REF = re.compile(r"编号 (A-\d+)")
# How long the drill's person waits for an answer before asking again (/alert).
PATIENCE = 8.0


@dataclass
class Figures:
    """A drill's numbers, printed as one line."""

    name: str
    values: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        parts = " ".join(f"{k}={_fmt(v)}" for k, v in self.values.items())
        return f"drill {self.name}: {parts}"


def _fmt(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def shown_step(stage: Stage, chat_id: int) -> int:
    """Return the /alert step the liaison's newest message shows (0: none)."""
    messages = stage.api.messages(chat_id)
    if not messages:
        return 0
    last = messages[-1]
    buttons = str(last.get("reply_markup") or "")
    if "确认上报" in buttons:
        return SUMMARY
    text = str(last.get("text") or "")
    for step, marker in _PROMPTS:
        if marker in text:
            return step
    return 0


async def act(user: FakeUser, step: int, cycle: int) -> None:
    """Push the liaison's answer to the step shown."""
    if step in (0, DONE):
        await user.command("/alert")
    elif step == CATEGORY:
        await user.press("土地、山林、水利")
    elif step == SEVERITY:
        await user.press("紧急")
    elif step == PEOPLE:
        await user.send("12")
    elif step == PLACE:
        await user.press("就在本村")
    elif step == WHAT:
        await user.send(f"演练{cycle:04d}号")
    else:
        await user.press("确认上报")


def _db(stage: Stage) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{stage.db_path}?mode=ro", uri=True, timeout=10)


async def kill(stage: Stage, cycles: int, seed: int = 1) -> Figures:
    """One alert per cycle with one SIGKILL at a random moment of it."""
    rng = random.Random(seed)
    liaison = stage.user(LIAISONS[0], "联络员0")
    lost = reply_lost = stuck = 0

    def moved(seen: int) -> bool:
        return shown_step(stage, liaison.id) != seen

    for cycle in range(cycles):
        # Killed somewhere after pushing the answer to this step, within 0-300 ms.
        kill_at, delay = rng.randrange(0, DONE), rng.uniform(0.0, 0.3)
        killed = started = False
        for _ in range(30):  # bounded: a cycle that cannot finish is counted as stuck
            raw = shown_step(stage, liaison.id)
            if raw == DONE and started:
                break
            seen = 0 if raw == DONE else raw
            await act(liaison, seen, cycle)
            started = True
            if not killed and seen == kill_at:
                await asyncio.sleep(delay)
                await stage.kill_and_restart()
                killed = True
                await stage.settle(quiet=0.3)
                await stage.wait_for(lambda raw=raw: moved(raw), timeout=PATIENCE)
                after = shown_step(stage, liaison.id)
                if 0 < after < seen:
                    lost += seen - after  # the person is asked again what they answered
                elif after == raw:
                    reply_lost += 1  # the answer is kept or not; the person saw nothing
                    await liaison.command("/alert")  # what a person does then
                    await stage.settle()
                continue
            if await stage.wait_for(lambda raw=raw: moved(raw), timeout=PATIENCE) == float("inf"):
                stuck += 1
                await liaison.command("/alert")
                await stage.settle()
        else:
            stuck += 1
    await stage.settle(quiet=1.5)
    with _db(stage) as conn:
        rows = conn.execute("SELECT description, COUNT(*) FROM alerts GROUP BY description")
        per_cycle = dict(rows.fetchall())
        drafts_back = conn.execute(
            "SELECT COUNT(*) FROM form_drafts WHERE form = 'alert' AND state = 'open'"
            " AND token IN (SELECT token FROM form_drafts WHERE state = 'submitted')"
        ).fetchone()[0]
    conn.close()
    duplicates = sum(n - 1 for n in per_cycle.values() if n > 1)
    cards = [t for t in stage.sends(COMMISSIONER) if "演练" in t]
    card_counts = _count(re.findall(r"演练\d{4}号", "\n".join(cards)))
    confirmations = _count(_REF.findall("\n".join(stage.shown(liaison.id))))
    repeats = sum(n - 1 for n in card_counts.values()) + sum(n - 1 for n in confirmations.values())
    unanswered = _unanswered_taps(stage)
    return Figures(
        "kill",
        {
            "cycles": cycles,
            "kills": stage.restarts,
            "alerts": len(per_cycle),
            "answered_steps_lost": lost,
            "replies_lost": reply_lost,
            "stuck": stuck,
            "taps_unanswered": unanswered,
            "duplicate_records": duplicates,
            "drafts_back": drafts_back,
            "repeated_messages": repeats,
            "max_repeats_per_kill": round(repeats / max(1, stage.restarts), 2),
        },
    )


def _count(items: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts


def _unanswered_taps(stage: Stage) -> int:
    pushed = {str(u["callback_query"]["id"]) for u in stage.driver.pushed if "callback_query" in u}
    return len(pushed - set(stage.api.answered_callbacks))


async def outage(stage: Stage, seconds: float, alerts: int = 4) -> Figures:
    """Alerts raised while Telegram fails every message to the bosses and every confirmation."""
    bosses = {COMMISSIONER, LEADER}

    def failing(method: str, params: dict[str, Any]) -> bool:
        if not method.startswith(("send", "edit")):  # a confirmation edits the summary card
            return False
        chat = int(params.get("chat_id") or 0)
        return chat in bosses or "已上报，编号" in str(params.get("text") or "")

    started = time.monotonic()
    down = stage.api.outage(failing)
    liaisons = [stage.user(uid, f"联络员{i}") for i, uid in enumerate(LIAISONS[:alerts])]
    for n, liaison in enumerate(liaisons):
        for _ in range(12):
            seen = shown_step(stage, liaison.id)
            await act(liaison, seen, n)
            if seen == SUMMARY:
                await stage.settle()  # the card and the confirmation fail: nothing to see
                break
            # The next question shows (the liaison's own chat is not down); a missed answer
            # is simply asked again by the next round.
            await stage.wait_for(lambda s=seen, u=liaison: shown_step(stage, u.id) != s, PATIENCE)
    remaining = seconds - (time.monotonic() - started)
    if remaining > 0:
        await asyncio.sleep(remaining)
    stage.api.end_outage(down)
    ended = time.monotonic()

    def all_in() -> bool:
        return len([t for t in stage.sends(COMMISSIONER) if "演练" in t]) >= alerts and all(
            _REF.search("\n".join(stage.shown(u.id))) for u in liaisons
        )

    waited = await stage.wait_for(all_in, timeout=max(60.0, seconds * 2))
    await stage.settle(quiet=1.0)
    cards = _count(re.findall(r"演练\d{4}号", "\n".join(stage.sends(COMMISSIONER))))
    confirmations = [len(_REF.findall("\n".join(stage.shown(u.id)))) for u in liaisons]
    with _db(stage) as conn:
        inversions = _order_inversions(conn)
    conn.close()
    return Figures(
        "outage",
        {
            "outage_s": round(seconds, 1),
            "alerts": alerts,
            "cards_once": sum(1 for n in cards.values() if n == 1),
            "cards_twice": sum(1 for n in cards.values() if n > 1),
            "confirmations_once": sum(1 for n in confirmations if n == 1),
            "confirmations_missing": sum(1 for n in confirmations if n == 0),
            "order_inversions": inversions,
            "failed_sends": down.hits,
            "delivered_after_s": round(waited, 1),
            "since_raise_s": round(ended - started + waited, 1),
        },
    )


def _order_inversions(conn: sqlite3.Connection) -> int:
    """Count sent rows that reached their chat before an older row of the same chat."""
    rows = conn.execute(
        "SELECT chat_id, message_id FROM outbox WHERE state = 'sent' AND message_id IS NOT NULL"
        " AND method LIKE 'send%' ORDER BY chat_id, id"
    ).fetchall()
    inversions, last = 0, {}
    for chat, message_id in rows:
        if chat in last and message_id < last[chat]:
            inversions += 1
        last[chat] = max(message_id, last.get(chat, 0))
    return inversions


async def burst(stage: Stage, messages: int = 10) -> Figures:
    """One liaison sends `messages` texts at once; every one is answered."""
    liaison = stage.user(LIAISONS[1], "联络员1")
    before = len(stage.sends(liaison.id))
    started = time.monotonic()
    for i in range(messages):
        await liaison.send(f"在吗{i}")
    took = await stage.wait_for(
        lambda: len(stage.sends(liaison.id)) - before >= messages, timeout=messages * 3.0
    )
    await stage.settle(quiet=0.5)
    log = stage.log_text()
    return Figures(
        "burst",
        {
            "sent": messages,
            "answered": len(stage.sends(liaison.id)) - before,
            "answered_in_s": round(took if took != float("inf") else time.monotonic() - started, 1),
            "429s": len([c for c in stage.api.sent(liaison.id) if c.status == 429]),
            "errors_logged": log.count(" ERROR "),
        },
    )


async def flood(stage: Stage, commands: int = 40) -> Figures:
    """Strangers flood a group nobody bound with commands; a liaison asks /help meanwhile."""
    group = FakeGroup(stage.api, stage.driver, -1_009_999_000_001, title="某个群")
    strangers = [stage.user(7_000_000 + i, f"路人{i}").in_group(group) for i in range(commands)]
    liaison = stage.user(LIAISONS[2], "联络员2")
    for i, stranger in enumerate(strangers):
        await stranger.command(("/report", "/alert", "/stats", "/help")[i % 4])
        if i == commands // 2:
            asked = time.monotonic()
            before = len(stage.sends(liaison.id))
            await liaison.command("/help")
    answered = await stage.wait_for(lambda: len(stage.sends(liaison.id)) > before, timeout=30)
    help_s = time.monotonic() - asked if answered != float("inf") else answered
    await stage.settle(quiet=1.0)
    return Figures(
        "flood",
        {
            "group_commands": commands,
            "group_answers": len(stage.sends(group.id)),
            "help_answered_in_s": round(help_s, 2),
            "429s": len([c for c in stage.api.sent() if c.status == 429]),
        },
    )


_FORGED = (
    "",
    ":",
    "::::",
    "99999999999999999999",
    "-1",
    "¹²³",
    "１２３",
    "٣",
    "0" * 64,
    "x" * 64,
    "\u202e",
    "a:b:c:d:e:f:g:h",
)


async def fuzz(stage: Stage, presses: int = 300, seed: int = 2) -> Figures:
    """Press forged callback data on real messages as a liaison and as the commissioner."""
    rng = random.Random(seed)
    liaison = stage.user(LIAISONS[3], "联络员3")
    boss = stage.user(COMMISSIONER, "冯兴敏")
    for user, command in ((liaison, "/alert"), (liaison, "/report"), (boss, "/alerts")):
        await user.command(command)
        await stage.settle()
    prefixes = set()
    for call in stage.api.sent():
        for row in (call.reply_markup or {}).get("inline_keyboard", []):
            for b in row:
                if "callback_data" in b:
                    prefixes.add(b["callback_data"].split(":")[0])
    prefixes |= {"al", "alert", "alr", "alu", "fu", "info", "iv", "lang", "lv", "mine", "nt"}
    prefixes |= {"rp", "rpo", "rv", "rw", "rpstart", "report"}
    ordered = sorted(prefixes)
    for _ in range(presses):
        user = rng.choice((liaison, boss))
        messages = [m for m in stage.api.messages(user.id) if m.get("message_id")]
        if not messages:
            continue
        target = rng.choice(messages)
        fields = [rng.choice(_FORGED) for _ in range(rng.randrange(0, 4))]
        data = ":".join([rng.choice(ordered), *fields]).encode()[:64].decode(errors="ignore")
        await user.press_data(data or "x", target)
        if rng.random() < 0.1:
            await stage.settle(quiet=0.05)
    await stage.settle(quiet=1.0)
    log = stage.log_text()
    return Figures(
        "fuzz",
        {
            "presses": presses,
            "unhandled_exceptions": log.count("Traceback") + log.count("error handling update"),
            "taps_unanswered": _unanswered_taps(stage),
            "spec_violations": len(stage.api.violations),
        },
    )


async def run(names: list[str], folder: Path, *, cycles: int, outage_s: float) -> list[Figures]:
    """Run the named drills one after another, each on its own stage; return their figures."""
    results = []
    for name in names:
        limits = name in ("burst", "flood")
        async with Stage(folder / name, enforce_limits=limits) as stage:
            if name == "kill":
                figures = await kill(stage, cycles)
            elif name == "outage":
                figures = await outage(stage, outage_s)
            elif name == "burst":
                figures = await burst(stage)
            elif name == "flood":
                figures = await flood(stage)
            else:
                figures = await fuzz(stage)
            print(figures.line(), flush=True)
            results.append(figures)
    return results
