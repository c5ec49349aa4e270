"""Bot API emulator: a fake Telegram Bot API checked against the shipped spec, its in-process
and HTTP transports, and fake users. Tests and `liaison-bot demo` share it."""

from .api import (
    BOT_ID,
    BOT_USERNAME,
    NOT_MODIFIED,
    ApiEvent,
    Call,
    FailRule,
    FakeBotAPI,
    NetworkFailure,
    Outage,
    UploadedFile,
    chat_type,
)
from .formatting import EntityParseError, parse_text
from .request import FakeRequest
from .server import FakeBotServer
from .spec import SpecChecker, Violation
from .users import (
    Driver,
    FakeGroup,
    FakeUser,
    InProcessDriver,
    PollingDriver,
    QueueDriver,
    ServerDriver,
)

__all__ = [
    "BOT_ID",
    "BOT_USERNAME",
    "NOT_MODIFIED",
    "ApiEvent",
    "Call",
    "Driver",
    "EntityParseError",
    "FailRule",
    "FakeBotAPI",
    "FakeBotServer",
    "FakeGroup",
    "FakeRequest",
    "FakeUser",
    "InProcessDriver",
    "NetworkFailure",
    "Outage",
    "PollingDriver",
    "QueueDriver",
    "ServerDriver",
    "SpecChecker",
    "UploadedFile",
    "Violation",
    "chat_type",
    "parse_text",
]
