"""A row as a record: the fields of a dataclass filled from the columns of the same name."""

from __future__ import annotations

import dataclasses
import functools
import typing
from datetime import datetime
from typing import Any, TypeVar

from bot.storage.db import Row, from_db_time

T = TypeVar("T")
_TIMES = (datetime, datetime | None)


@functools.cache
def _fields(cls: type) -> list[tuple[str, Any]]:
    hints = typing.get_type_hints(cls)
    return [(f.name, hints[f.name]) for f in dataclasses.fields(cls)]


def record(cls: type[T], row: Row) -> T:
    """Return `cls` from a row: instants stored as text become datetimes, 0/1 become bools;
    a field without a column keeps its default."""
    columns, of_class = set(row.keys()), _fields(typing.cast(Any, cls))  # (a class is hashable)
    values: dict[str, Any] = {}
    for name, hint in of_class:
        if name in columns:
            value = row[name]
            if hint in _TIMES:
                value = from_db_time(value)
            elif hint is bool:
                value = bool(value)
            values[name] = value
    return cls(**values)
