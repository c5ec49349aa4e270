"""PTB persistence on the bot's SQLite database: conversation states and user/chat data."""

from __future__ import annotations

import json
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from bot.storage.db import Database, Tx
from bot.storage.jsontext import dump_json

# A pending write: (table, key) -> the row's JSON text, or None to delete the row.
Writes = dict[tuple[str, str, str], str | None]

# user_data and chat_data: JSON objects (bot_data is not persisted).
Data = dict[str, Any]

_UPSERT = {
    "ptb_user_data": (
        "INSERT INTO ptb_user_data (user_id, data) VALUES (?, ?)"
        " ON CONFLICT (user_id) DO UPDATE SET data = excluded.data"
    ),
    "ptb_chat_data": (
        "INSERT INTO ptb_chat_data (chat_id, data) VALUES (?, ?)"
        " ON CONFLICT (chat_id) DO UPDATE SET data = excluded.data"
    ),
}
_DELETE = {
    "ptb_user_data": "DELETE FROM ptb_user_data WHERE user_id = ?",
    "ptb_chat_data": "DELETE FROM ptb_chat_data WHERE chat_id = ?",
}


def _dump(value: Any) -> str:
    # JSON, not pickle: drafts must stay readable and loadable across code versions.
    return dump_json(value, sort_keys=True)


class SQLitePersistence(BasePersistence[Data, Data, Data]):
    """Store what PTB persists in tables of the bot's own database.

    PTB's update calls only collect writes; the application commits them with `write` in one
    transaction together with the updates they belong to (see bot.pipeline). A value equal to
    what the database already holds is not written again.
    """

    def __init__(self, db: Database, update_interval: float = 60) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=True, user_data=True, callback_data=False
            ),
            update_interval=update_interval,
        )
        self.db = db
        self._pending: Writes = {}
        self._stored: dict[tuple[str, str, str], str] = {}  # what the database holds

    # ------------------------------------------------------------------ loading

    async def get_user_data(self) -> dict[int, Data]:
        rows = await self.db.fetchall("SELECT user_id, data FROM ptb_user_data")
        for r in rows:
            self._stored[("ptb_user_data", "", str(r[0]))] = r[1]
        return {r[0]: json.loads(r[1]) for r in rows}

    async def get_chat_data(self) -> dict[int, Data]:
        rows = await self.db.fetchall("SELECT chat_id, data FROM ptb_chat_data")
        for r in rows:
            self._stored[("ptb_chat_data", "", str(r[0]))] = r[1]
        return {r[0]: json.loads(r[1]) for r in rows}

    async def get_bot_data(self) -> Data:
        return {}

    async def get_callback_data(self) -> CDCData | None:
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        rows = await self.db.fetchall(
            "SELECT key, state FROM ptb_conversations WHERE name = ?", (name,)
        )
        for r in rows:
            self._stored[("ptb_conversations", name, r[0])] = r[1]
        return {tuple(json.loads(r[0])): json.loads(r[1]) for r in rows}

    # ------------------------------------------------------------------ collecting writes

    def _note(self, slot: tuple[str, str, str], text: str | None) -> None:
        if text == self._stored.get(slot):
            self._pending.pop(slot, None)  # back to what is stored: nothing to write
        else:
            self._pending[slot] = text

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        slot = ("ptb_conversations", name, json.dumps(list(key)))
        self._note(slot, None if new_state is None else _dump(new_state))

    async def update_user_data(self, user_id: int, data: Data) -> None:
        self._note(("ptb_user_data", "", str(user_id)), _dump(data) if data else None)

    async def update_chat_data(self, chat_id: int, data: Data) -> None:
        self._note(("ptb_chat_data", "", str(chat_id)), _dump(data) if data else None)

    async def drop_chat_data(self, chat_id: int) -> None:
        self._note(("ptb_chat_data", "", str(chat_id)), None)

    async def drop_user_data(self, user_id: int) -> None:
        self._note(("ptb_user_data", "", str(user_id)), None)

    def take(self) -> Writes:
        """Return the collected writes and start a new collection."""
        pending, self._pending = self._pending, {}
        return pending

    def give_back(self, writes: Writes) -> None:
        """Return writes whose transaction failed, unless newer ones were collected since."""
        for slot, text in writes.items():
            self._pending.setdefault(slot, text)

    async def write(self, tx: Tx, writes: Writes) -> None:
        """Apply collected writes inside the caller's transaction."""
        for (table, name, key), text in writes.items():
            if table == "ptb_conversations":
                if text is None:
                    await tx.execute(
                        "DELETE FROM ptb_conversations WHERE name = ? AND key = ?", (name, key)
                    )
                else:
                    await tx.execute(
                        "INSERT INTO ptb_conversations (name, key, state) VALUES (?, ?, ?)"
                        " ON CONFLICT (name, key) DO UPDATE SET state = excluded.state",
                        (name, key, text),
                    )
            elif text is None:
                await tx.execute(_DELETE[table], (int(key),))
            else:
                await tx.execute(_UPSERT[table], (int(key), text))

    async def commit(self) -> None:
        """Write what was collected in a transaction of its own (outside the app's flow)."""
        writes = self.take()
        async with self.db.transaction() as tx:
            await self.write(tx, writes)
        self.written(writes)

    def written(self, writes: Writes) -> None:
        """Remember what the database holds after a committed write."""
        for slot, text in writes.items():
            if text is None:
                self._stored.pop(slot, None)
            else:
                self._stored[slot] = text

    # ------------------------------------------------------------------ unused parts

    async def update_bot_data(self, data: Data) -> None:
        return None

    async def update_callback_data(self, data: CDCData) -> None:
        return None

    async def refresh_user_data(self, user_id: int, user_data: Data) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: Data) -> None:
        return None

    async def refresh_bot_data(self, bot_data: Data) -> None:
        return None

    async def flush(self) -> None:
        return None
