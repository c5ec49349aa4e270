"""PTB persistence on the bot's SQLite database: conversation states and user/chat data."""

from __future__ import annotations

import json
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from bot.storage.db import Database


def _dump(value: Any) -> str:
    # JSON, not pickle: drafts must stay readable and loadable across code versions.
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


class SQLitePersistence(BasePersistence[dict, dict, dict]):
    """Store what PTB persists in tables of the bot's own database.

    The application flushes after every update (see LiaisonApplication), so the periodic
    interval is only a safety net.
    """

    def __init__(self, db: Database, update_interval: float = 60) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=True, user_data=True, callback_data=False
            ),
            update_interval=update_interval,
        )
        self.db = db

    async def get_user_data(self) -> dict[int, dict]:
        rows = await self.db.fetchall("SELECT user_id, data FROM ptb_user_data")
        return {r[0]: json.loads(r[1]) for r in rows}

    async def get_chat_data(self) -> dict[int, dict]:
        rows = await self.db.fetchall("SELECT chat_id, data FROM ptb_chat_data")
        return {r[0]: json.loads(r[1]) for r in rows}

    async def get_bot_data(self) -> dict:
        return {}

    async def get_callback_data(self) -> CDCData | None:
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        rows = await self.db.fetchall(
            "SELECT key, state FROM ptb_conversations WHERE name = ?", (name,)
        )
        return {tuple(json.loads(r[0])): json.loads(r[1]) for r in rows}

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        key_text = json.dumps(list(key))
        async with self.db.transaction() as tx:
            if new_state is None:
                await tx.execute(
                    "DELETE FROM ptb_conversations WHERE name = ? AND key = ?", (name, key_text)
                )
            else:
                await tx.execute(
                    "INSERT INTO ptb_conversations (name, key, state) VALUES (?, ?, ?)"
                    " ON CONFLICT (name, key) DO UPDATE SET state = excluded.state",
                    (name, key_text, _dump(new_state)),
                )

    async def update_user_data(self, user_id: int, data: dict) -> None:
        await self._upsert("ptb_user_data", "user_id", user_id, data)

    async def update_chat_data(self, chat_id: int, data: dict) -> None:
        await self._upsert("ptb_chat_data", "chat_id", chat_id, data)

    async def _upsert(self, table: str, column: str, ident: int, data: dict) -> None:
        async with self.db.transaction() as tx:
            if not data:
                await tx.execute(f"DELETE FROM {table} WHERE {column} = ?", (ident,))
            else:
                await tx.execute(
                    f"INSERT INTO {table} ({column}, data) VALUES (?, ?)"
                    f" ON CONFLICT ({column}) DO UPDATE SET data = excluded.data",
                    (ident, _dump(data)),
                )

    async def update_bot_data(self, data: dict) -> None:
        return None

    async def update_callback_data(self, data: CDCData) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM ptb_chat_data WHERE chat_id = ?", (chat_id,))

    async def drop_user_data(self, user_id: int) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM ptb_user_data WHERE user_id = ?", (user_id,))

    async def refresh_user_data(self, user_id: int, user_data: dict) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: dict) -> None:
        return None

    async def refresh_bot_data(self, bot_data: dict) -> None:
        return None

    async def flush(self) -> None:
        return None
