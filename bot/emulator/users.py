"""Act as Telegram users: build realistic updates and deliver them to the bot under test."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from telegram import Update
from telegram.ext import Application, ExtBot

from .api import BOT_ID, BOT_USERNAME, Call, FakeBotAPI, chat_type, iter_buttons
from .formatting import utf16_len
from .request import FakeRequest

if TYPE_CHECKING:
    from .server import FakeBotServer

__all__ = [
    "Driver",
    "FakeGroup",
    "FakeUser",
    "InProcessDriver",
    "PollingDriver",
    "QueueDriver",
    "ServerDriver",
]

_callback_ids = itertools.count(1)
_file_ids = itertools.count(1)
_FAKE_JPEG = b"\xff\xd8\xff\xe0" + b"fake-jpeg-body" * 64 + b"\xff\xd9"
_FAKE_OGG = b"OggS" + b"fake-opus-body" * 64
AnyApplication = Application[Any, Any, Any, Any, Any, Any]
# A message given as its Message JSON or just its message_id.
MessageRef = Mapping[str, Any] | int


class Driver(Protocol):
    """Deliver one update to the bot and return once the bot has finished reacting."""

    api: FakeBotAPI

    async def deliver(self, update: dict[str, Any]) -> None:
        """Hand ``update`` to the bot and wait until it is done with it."""
        ...


class InProcessDriver:
    """Feed updates straight into a PTB Application running in this event loop."""

    def __init__(
        self, application: AnyApplication, api: FakeBotAPI | None = None, settle: float = 0.0
    ) -> None:
        """Wrap ``application``; the API is taken from its FakeRequest unless given."""
        # settle > 0 also waits until the bot made no call for that long, for handlers that
        # spawn background work (block=False, create_task) that process_update does not await.
        self.application = application
        found = api or _api_of(application)
        if found is None:
            raise ValueError(
                "pass api=..., or build the application with .request(FakeRequest(api))"
            )
        self.api = found
        self.settle = settle

    async def __aenter__(self) -> InProcessDriver:
        await self.application.initialize()
        await self.application.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    async def deliver(self, update: dict[str, Any]) -> None:
        """Process the update to completion, like the updater would after getUpdates."""
        self.api.record_incoming(update)
        # initialize() is idempotent; it fetches getMe so CommandHandler knows the bot's name.
        await self.application.initialize()
        bot = self.application.bot
        parsed = Update.de_json(update, bot)
        if isinstance(bot, ExtBot):
            # The updater does this inside get_updates; arbitrary callback_data needs it.
            bot.insert_callback_data(parsed)
        await self.application.process_update(parsed)
        if self.settle > 0:
            await _wait_quiet(self.api, self.settle, timeout=10.0)


class PollingDriver:
    """Queue updates for getUpdates and wait for a polling bot to work through them."""

    def __init__(self, api: FakeBotAPI, timeout: float = 10.0, quiet: float = 0.3) -> None:
        self.api = api
        self.timeout = timeout
        self.quiet = quiet

    async def wait_until_polling(self, timeout: float | None = None) -> None:
        """Wait until a bot has started polling (e.g. a freshly spawned bot process)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.timeout if timeout is None else timeout)
        while self.api.polls == 0:
            if loop.time() > deadline:
                raise AssertionError("no bot polled getUpdates in time")
            await asyncio.sleep(0.02)

    async def deliver(self, update: dict[str, Any]) -> None:
        """Push the update, then wait until it is confirmed and the bot has gone quiet."""
        # Confirmed: the bot polled with an offset beyond the update, so it holds it. Quiet: no
        # API call other than getUpdates for `quiet` seconds since confirmation or the last call.
        update_id = self.api.push_update(update)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        confirmed_at: float | None = None
        while True:
            await asyncio.sleep(0.02)
            now = time.monotonic()
            if confirmed_at is None and self.api.confirmed_offset > update_id:
                confirmed_at = now
            if (
                confirmed_at is not None
                and now - max(confirmed_at, self.api.last_activity) >= self.quiet
            ):
                return
            if loop.time() > deadline:
                state = (
                    "kept calling the API" if confirmed_at else "never confirmed it via getUpdates"
                )
                raise AssertionError(
                    f"bot did not finish update {update_id} within {self.timeout}s: it {state}"
                )


class QueueDriver:
    """Queue updates for a polling bot and return at once (a live client: the demo page)."""

    def __init__(self, api: FakeBotAPI) -> None:
        self.api = api

    async def deliver(self, update: dict[str, Any]) -> None:
        """Put the update in the getUpdates queue; the bot answers whenever it gets to it."""
        self.api.push_update(update)


class ServerDriver(PollingDriver):
    """PollingDriver for a bot process polling a FakeBotServer."""

    def __init__(self, server: FakeBotServer, timeout: float = 10.0, quiet: float = 0.3) -> None:
        super().__init__(server.api, timeout, quiet)
        self.server = server


class FakeGroup:
    """A group or supergroup chat (type follows the id: <= -10**12 is a supergroup)."""

    def __init__(
        self,
        api: FakeBotAPI,
        driver: Driver,
        chat_id: int,
        title: str = "Test group",
        username: str | None = None,
    ) -> None:
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        self.api = api
        self.driver = driver
        self.id = chat_id
        self.title = title
        self.chat: dict[str, Any] = {"id": chat_id, "type": chat_type(chat_id), "title": title}
        if username:
            self.chat["username"] = username
        api.register_chat(self.chat)

    async def add_bot(self, by: FakeUser, status: str = "member") -> list[Call]:
        """Have ``by`` add the bot to the group (my_chat_member left -> status)."""
        return await self._bot_status(by, "left", status)

    async def remove_bot(self, by: FakeUser, kicked: bool = True) -> list[Call]:
        """Have ``by`` remove the bot (kicked, or left when kicked=False)."""
        return await self._bot_status(by, "member", "kicked" if kicked else "left")

    async def promote_bot(self, by: FakeUser) -> list[Call]:
        """Have ``by`` make the bot an administrator."""
        return await self._bot_status(by, "member", "administrator")

    async def _bot_status(self, by: FakeUser, old: str, new: str) -> list[Call]:
        """Deliver a my_chat_member update changing the bot's status."""
        change = {
            "chat": dict(self.chat),
            "from": by.user,
            "date": int(self.api.clock()),
            "old_chat_member": self.api.member_json(BOT_ID, old),
            "new_chat_member": self.api.member_json(BOT_ID, new),
        }
        return await _deliver(self.api, self.driver, {"my_chat_member": change})


class FakeUser:
    """A Telegram user talking to the bot, in private or (via in_group) in a group."""

    def __init__(
        self,
        api: FakeBotAPI,
        driver: Driver,
        user_id: int,
        first_name: str = "Test user",
        language_code: str | None = "zh-hans",
        username: str | None = None,
        last_name: str | None = None,
        group: FakeGroup | None = None,
    ) -> None:
        if user_id <= 0:
            raise ValueError("user ids are positive")
        self.api = api
        self.driver = driver
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.language_code = language_code
        self.username = username
        self.group = group
        api.register_user(self.user)
        api.register_chat(self.private_chat)

    # -------------------------------------------------------------------------- identity

    @property
    def user(self) -> dict[str, Any]:
        """Return this user's User JSON."""
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key):
                user[key] = getattr(self, key)
        return user

    @property
    def private_chat(self) -> dict[str, Any]:
        """Return the Chat JSON of the private chat with the bot."""
        chat: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            chat["last_name"] = self.last_name
        if self.username:
            chat["username"] = self.username
        return chat

    @property
    def chat(self) -> dict[str, Any]:
        """Return the Chat JSON this user currently talks in."""
        return dict(self.group.chat) if self.group else self.private_chat

    @property
    def chat_id(self) -> int:
        """Return the id of the chat this user currently talks in."""
        return int(self.chat["id"])

    def in_group(self, group: FakeGroup) -> FakeUser:
        """Return the same user speaking in ``group``."""
        return FakeUser(
            self.api,
            self.driver,
            self.id,
            self.first_name,
            self.language_code,
            self.username,
            self.last_name,
            group,
        )

    # -------------------------------------------------------------------------- inspection

    def texts(self) -> list[str]:
        """Return what the bot said in this chat (sends and edits, in order)."""
        return self.api.texts(self.chat_id)

    def last_message(self) -> dict[str, Any] | None:
        """Return the current state of the bot's newest message in this chat."""
        return self.api.last_message(self.chat_id)

    # -------------------------------------------------------------------------- actions

    async def send(
        self,
        text: str,
        *,
        entities: list[dict[str, Any]] | None = None,
        reply_to: MessageRef | None = None,
    ) -> list[Call]:
        """Send a text message; return the calls the bot made in response."""
        # In groups the bot's privacy mode applies as in real Telegram: plain messages that
        # neither address the bot nor reply to it are never delivered, so this returns [].
        message = self._message(text=text)
        if entities:
            message["entities"] = entities
        if reply_to is not None:
            replied = self._lookup(reply_to)
            message["reply_to_message"] = replied
        if self.group and not self._bot_sees(message):
            self.api.record_incoming({"message": message})
            return []
        return await self._deliver({"message": message})

    async def edit(self, message_id: int, text: str) -> list[Call]:
        """Edit one of this user's earlier messages (Telegram sends an edited_message update)."""
        message = self._message(text=text)
        message["message_id"] = message_id
        message["edit_date"] = int(self.api.clock())
        return await self._deliver({"edited_message": message})

    async def command(self, cmd: str, *args: str, reply_to: MessageRef | None = None) -> list[Call]:
        """Send ``/cmd arg ...`` with a bot_command entity covering the command."""
        name = cmd if cmd.startswith("/") else f"/{cmd}"
        text = " ".join([name, *args])
        entity = {"type": "bot_command", "offset": 0, "length": utf16_len(name)}
        return await self.send(text, entities=[entity], reply_to=reply_to)

    async def press(self, label: str, message: MessageRef | None = None) -> list[Call]:
        """Press the inline button labelled ``label`` on the newest bot message that has it."""
        if message is not None:
            candidates = [self._lookup(message)]
        else:
            candidates = list(reversed(self.api.messages(self.chat_id)))
        for matches in (lambda text: text == label, lambda text: label in text):
            for candidate in candidates:
                for button in iter_buttons(candidate):
                    if matches(button.get("text", "")):
                        if "callback_data" not in button:
                            kinds = sorted(set(button) - {"text"})
                            raise AssertionError(
                                f"button {button['text']!r} sends no callback_data (it has {kinds})"
                            )
                        return await self.press_data(button["callback_data"], candidate)
        raise AssertionError(
            f"no inline button {label!r} in chat {self.chat_id}; available: {_describe(candidates)}"
        )

    async def press_data(self, data: str, message: MessageRef) -> list[Call]:
        """Send a callback query with arbitrary (possibly forged) data for a message."""
        target = self._lookup(message)
        query = {
            "id": f"{self.id}{next(_callback_ids):06d}",
            "from": self.user,
            "message": target,
            "chat_instance": hashlib.sha1(str(self.chat_id).encode()).hexdigest()[:16],
            "data": data,
        }
        return await self._deliver({"callback_query": query})

    async def share_location(self, latitude: float, longitude: float) -> list[Call]:
        """Share a location."""
        location = {"latitude": latitude, "longitude": longitude}
        return await self._deliver({"message": self._message(location=location)})

    async def send_photo(
        self, file_id: str | None = None, caption: str | None = None, content: bytes | None = None
    ) -> list[Call]:
        """Send a photo (three PhotoSize variants, downloadable via getFile)."""
        base = file_id or f"AgACAgphoto{next(_file_ids):04d}"
        data = _FAKE_JPEG if content is None else content
        sizes = []
        for width, height in ((90, 67), (320, 240), (1280, 960)):
            size_id = base if width == 1280 else f"{base}_{width}"
            if self._missing(size_id):
                self.api.add_file(size_id, data)
            sizes.append(
                {
                    "file_id": size_id,
                    "file_unique_id": self.api.file_unique_id(size_id),
                    "width": width,
                    "height": height,
                    "file_size": len(self.api.file_content(f"files/{size_id}")),
                }
            )
        return await self._deliver({"message": self._message(photo=sizes, caption=caption)})

    async def send_voice(
        self, duration: int = 3, file_id: str | None = None, content: bytes | None = None
    ) -> list[Call]:
        """Send a voice note (``content``: the OGG bytes a download yields)."""
        voice_id = file_id or f"AwACAgvoice{next(_file_ids):04d}"
        if self._missing(voice_id):
            self.api.add_file(voice_id, _FAKE_OGG if content is None else content)
        voice = {
            "file_id": voice_id,
            "file_unique_id": self.api.file_unique_id(voice_id),
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(self.api.file_content(f"files/{voice_id}")),
        }
        return await self._deliver({"message": self._message(voice=voice)})

    async def send_document(
        self,
        file_name: str = "a.pdf",
        file_size: int = 1000,
        mime_type: str = "application/pdf",
        content: bytes | None = None,
        caption: str | None = None,
    ) -> list[Call]:
        """Send a document; without ``content`` its bytes are synthesised at ``file_size``."""
        doc_id = f"BQACAgdoc{next(_file_ids):04d}"
        if content is not None:
            self.api.add_file(doc_id, content)
            file_size = len(content)
        else:
            self.api.add_file(doc_id, size=file_size)
        document = {
            "file_id": doc_id,
            "file_unique_id": self.api.file_unique_id(doc_id),
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": file_size,
        }
        return await self._deliver({"message": self._message(document=document, caption=caption)})

    async def block_bot(self) -> list[Call]:
        """Block the bot: a my_chat_member update, and sends to this user now answer 403."""
        return await self._private_status("member", "kicked")

    async def unblock_bot(self) -> list[Call]:
        """Unblock the bot again."""
        return await self._private_status("kicked", "member")

    async def _private_status(self, old: str, new: str) -> list[Call]:
        change = {
            "chat": self.private_chat,
            "from": self.user,
            "date": int(self.api.clock()),
            "old_chat_member": self.api.member_json(BOT_ID, old),
            "new_chat_member": self.api.member_json(BOT_ID, new),
        }
        return await self._deliver({"my_chat_member": change})

    # -------------------------------------------------------------------------- plumbing

    def _message(self, **content: Any) -> dict[str, Any]:
        """Build a Message JSON from this user in the current chat."""
        message: dict[str, Any] = {
            "message_id": self.api.next_message_id(self.chat_id),
            "from": self.user,
            "chat": self.chat,
            "date": int(self.api.clock()),
        }
        message.update({k: v for k, v in content.items() if v is not None})
        return message

    def _lookup(self, message: MessageRef | None) -> dict[str, Any]:
        """Return the current state of a message given as JSON or id (inaccessible if gone)."""
        message_id = message if isinstance(message, int) else int((message or {})["message_id"])
        found = self.api.message(self.chat_id, message_id)
        if found is None:
            # Telegram sends InaccessibleMessage (date 0) for messages it no longer has.
            return {"chat": self.chat, "message_id": message_id, "date": 0}
        return found

    def _missing(self, file_id: str) -> bool:
        try:
            self.api.file_unique_id(file_id)
        except KeyError:
            return True
        return False

    def _bot_sees(self, message: Mapping[str, Any]) -> bool:
        """Apply group privacy mode: commands, replies to the bot and mentions get through."""
        if self.group is not None and self.api.bot_is_admin(self.group.id):
            return True
        text = str(message.get("text", ""))
        replied = message.get("reply_to_message") or {}
        return (
            text.startswith("/")
            or f"@{BOT_USERNAME}" in text
            or (replied.get("from") or {}).get("id") == BOT_ID
        )

    async def _deliver(self, update: dict[str, Any]) -> list[Call]:
        return await _deliver(self.api, self.driver, update)


async def _deliver(api: FakeBotAPI, driver: Driver, update: dict[str, Any]) -> list[Call]:
    """Number an update, deliver it and return the calls the bot made meanwhile."""
    update.setdefault("update_id", api.new_update_id())
    bookmark = api.call_count()
    await driver.deliver(update)
    return api.calls_since(bookmark)


async def _wait_quiet(api: FakeBotAPI, quiet: float, timeout: float) -> None:
    """Wait until the API saw no call (besides polling) for ``quiet`` seconds."""
    start = time.monotonic()
    while time.monotonic() - max(api.last_activity, start) < quiet:
        if time.monotonic() - start > timeout:
            raise AssertionError(f"bot kept calling the API for {timeout}s")
        await asyncio.sleep(0.01)


def _api_of(application: AnyApplication) -> FakeBotAPI | None:
    """Find the FakeBotAPI behind an application's FakeRequest."""
    request = application.bot.request
    return request.api if isinstance(request, FakeRequest) else None


def _describe(messages: list[dict[str, Any]]) -> str:
    """List the buttons of candidate messages for an assertion message."""
    if not messages:
        return "the bot sent no messages here"
    parts = [
        f"message {m.get('message_id')}: {[b.get('text') for b in iter_buttons(m)]}"
        for m in messages
    ]
    return "; ".join(parts)
