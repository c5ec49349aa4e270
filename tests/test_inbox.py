"""The durable inbox: stored before acknowledged, replayed after a crash, never done twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from telegram import Update

from bot.emulator import FakeUser
from bot.pipeline import ChatOrderedProcessor
from tests.conftest import Env, make_env


class StoreOnlyDriver:
    """Store updates the way getUpdates does, then "crash" before processing them."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self.api = env.api
        self.stored: list[dict[str, Any]] = []

    async def deliver(self, update: dict[str, Any]) -> None:
        self.api.record_incoming(update)
        self.stored.extend(await self.env.app._store_fetched([update]))


async def _run_queue(env: Env) -> None:
    """Process what replay_inbox queued, as the running application would."""
    queue = env.app.update_queue
    while not queue.empty():
        await env.app.process_update(queue.get_nowait())
        queue.task_done()


async def test_update_stored_but_not_processed_is_processed_after_a_restart(env: Env) -> None:
    liaison = await env.bind("王建国")
    crash = StoreOnlyDriver(env)
    liaison.driver = crash
    await liaison.command("/help")
    assert len(crash.stored) == 1
    assert not [c for c in env.api.sent(chat_id=liaison.id) if "/report" in (c.text or "")][1:]
    before = len(env.api.sent(chat_id=liaison.id))
    # The restart: what the inbox holds undone is queued before anything new is fetched.
    env.app.setup_inbox()
    assert await env.app.replay_inbox() == 1
    await _run_queue(env)
    answers = env.api.sent(chat_id=liaison.id)[before:]
    assert len(answers) == 1 and "/report" in (answers[0].text or "")
    # Done now: another restart replays nothing.
    env.app.setup_inbox()
    assert await env.app.replay_inbox() == 0


async def test_an_update_telegram_delivers_again_is_dropped_at_the_door(env: Env) -> None:
    liaison = await env.bind("王建国")
    crash = StoreOnlyDriver(env)
    liaison.driver = crash
    await liaison.command("/help")
    update = crash.stored[0]
    # Telegram hands the same update out again (the offset never moved past it).
    assert await env.app._store_fetched([update]) == []
    await env.app.process_update(Update.de_json(update, env.app.bot))
    # Processed once; a redelivery after it is done is dropped as well.
    assert await env.app._store_fetched([update]) == []
    assert await env.deps.inbox.seen(update["update_id"])
    payload = await env.db.fetchval(
        "SELECT payload FROM inbox WHERE update_id = ?", (update["update_id"],)
    )
    assert payload is None  # contents are not kept once done


async def test_done_mark_and_conversation_state_are_one_commit(env: Env) -> None:
    liaison = await env.bind("王建国")
    await liaison.command("/report")
    last = env.driver.delivered[-1]["update_id"]
    state = await env.db.fetchval("SELECT state FROM ptb_conversations WHERE name = 'report'")
    assert state is not None
    assert await env.deps.inbox.seen(last)


async def test_one_chat_in_order_and_other_chats_alongside() -> None:
    import asyncio

    processor = ChatOrderedProcessor()
    log: list[str] = []
    gate = asyncio.Event()

    def update(update_id: int, chat_id: int) -> Update:
        return Update.de_json(
            {
                "update_id": update_id,
                "message": {
                    "message_id": update_id,
                    "date": 0,
                    "chat": {"id": chat_id, "type": "private", "first_name": "x"},
                    "text": "hi",
                },
            },
            None,
        )

    async def work(name: str, wait: bool) -> None:
        if wait:
            await gate.wait()
        log.append(name)

    tasks = [
        asyncio.create_task(processor.process_update(update(1, 10), work("a1", True))),
        asyncio.create_task(processor.process_update(update(2, 10), work("a2", False))),
        asyncio.create_task(processor.process_update(update(3, 20), work("b1", False))),
    ]
    await asyncio.sleep(0.01)
    assert log == ["b1"]  # chat 20 did not wait for chat 10
    gate.set()
    await asyncio.gather(*tasks)
    assert log == ["b1", "a1", "a2"]  # chat 10 kept its order


async def test_the_first_effect_commits_the_done_mark_with_it(env: Env) -> None:
    liaison = await env.bind("王建国")
    crash = StoreOnlyDriver(env)
    liaison.driver = crash
    await liaison.command("/alert")  # opens a draft: a write of its own
    await liaison.command("/help")  # writes nothing
    alert, help_ = (Update.de_json(u, env.app.bot) for u in crash.stored)

    async def crash_before_the_final_commit() -> None:
        return None

    env.app.update_persistence = crash_before_the_final_commit  # type: ignore[method-assign]
    await env.app.process_update(alert)
    await env.app.process_update(help_)
    # The form's first commit marked /alert done: a restart never reads it again. /help had
    # no effect to carry the mark; a restart answers it again (at most one repeat).
    assert await env.deps.inbox.seen(alert.update_id)
    assert not await env.deps.inbox.seen(help_.update_id)


async def test_a_tap_whose_effect_committed_before_a_crash_is_answered_at_start(
    env: Env,
) -> None:
    liaison = await env.bind("王建国")
    await liaison.command("/alert")
    crash = StoreOnlyDriver(env)
    liaison.driver = crash
    await liaison.press("土地、山林、水利")
    tap = crash.stored[0]
    # The press's effect committed, then the process died before answering it.
    async with env.db.transaction() as tx:
        await env.deps.inbox.mark_applied(tx, tap["update_id"], env.clock.now())
    env.app.setup_inbox()
    assert await env.app.replay_inbox() == 0  # never applied twice…
    answered = env.api.sent(method="answerCallbackQuery")
    assert answered[-1].params["callback_query_id"] == tap["callback_query"]["id"]  # …answered
    assert await env.deps.inbox.unfinished() == []


async def _alert_open(tmp_path: Path) -> tuple[Env, Any, FakeUser]:
    """A liaison with an /alert form open on a fresh database."""
    env, driver = await make_env(tmp_path)
    await env.seed()
    liaison = await env.bind("王建国")
    await liaison.command("/alert")
    return env, driver, liaison


def _commit_nothing_more(env: Env) -> None:
    """From here on the process commits nothing but what handlers commit themselves."""

    async def killed() -> None:
        return None

    env.app.update_persistence = killed  # type: ignore[method-assign]


async def _kill(env: Env, driver: Any) -> None:
    """Stop the process the way SIGKILL does: nothing more is committed."""
    _commit_nothing_more(env)
    await driver.__aexit__(None, None, None)
    await env.db.close()


async def _restart(tmp_path: Path, env: Env, chat_id: int) -> list[Any]:
    """A new process on the same database: its start-up; return what it sent to the chat."""
    env, driver = await make_env(tmp_path, start=env.clock.now())
    try:
        await env.app.replay_inbox()
        await env.deliver()
        return env.api.sent(method="sendMessage", chat_id=chat_id)
    finally:
        await _kill(env, driver)
        env.api.assert_no_violations()


async def test_a_question_a_crash_kept_unshown_is_sent_once_after_a_restart(
    tmp_path: Path,
) -> None:
    env, driver, liaison = await _alert_open(tmp_path)
    crash = StoreOnlyDriver(env)
    liaison.driver = crash
    await liaison.press("土地、山林、水利")
    # The answer commits; the next question never reaches the person (the send fails), and
    # the process dies before anything else is committed.
    env.api.fail(chat_id=liaison.id, times=None)
    tap = Update.de_json(crash.stored[0], env.app.bot)
    await _process_then_kill(env, driver, tap)

    # The restart, then another one: the question arrives once.
    runs = [await _restart(tmp_path, env, liaison.id) for _ in range(2)]
    assert [len(run) for run in runs] == [1, 0]
    again = runs[0][0]
    assert "紧急程度" in (again.text or "")
    # Through the form's own render: its buttons carry the draft's token and current step.
    token = await _open_token(tmp_path)
    data = [b["callback_data"] for r in again.params["reply_markup"]["inline_keyboard"] for b in r]
    assert data and all(d.startswith(f"alf:{token}:severity:") for d in data)


async def _process_then_kill(env: Env, driver: Any, update: Update) -> None:
    """Process an update whose final commit a kill prevents."""
    _commit_nothing_more(env)
    await env.app.process_update(update)
    await _kill(env, driver)


async def _open_token(tmp_path: Path) -> str:
    from bot.storage.db import Database

    db = await Database(tmp_path / "bot.sqlite3").open()
    try:
        return str(await db.fetchval("SELECT token FROM form_drafts WHERE state = 'open'"))
    finally:
        await db.close()


async def test_a_question_that_was_shown_is_not_sent_again_after_a_restart(
    tmp_path: Path,
) -> None:
    env, driver, liaison = await _alert_open(tmp_path)
    await liaison.press("土地、山林、水利")  # answered and shown: its handlers ran through
    await _kill(env, driver)
    assert await _restart(tmp_path, env, liaison.id) == []
