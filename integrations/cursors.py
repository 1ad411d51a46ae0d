"""Incremental cursors, each compared the provider's way.

A stream's cursor is the value an incremental pass sends as its "since" parameter: the newest
ISO time or epoch seen among the records, or an opaque token the provider handed out
(Page.cursor). Every cursor has the same three methods:

* ``newest(records, current, *, token=None)``: the value to keep after a page (JSON, for
  StreamState.cursor), or None. Invalid or oversized values are ignored, never raised on:
  one odd record must not fail a pass, it just cannot move the cursor.
* ``param(value)``: the value as the string sent to the provider.
* ``valid(value)``: whether a value read back from the database is still usable.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

# A longer value is not a time, an id or a sync token: it is not kept.
MAX_CURSOR_LENGTH = 100
# Epoch seconds from 1970 up to the end of year 9999; a millisecond epoch is far above it.
MAX_EPOCH = 253402300799


class Cursor(Protocol):
    def newest(self, records: list[dict], current: Any, *, token: Any = None) -> Any: ...

    def param(self, value: Any) -> str: ...

    def valid(self, value: Any) -> bool: ...


def field_value(record: Any, path: str) -> Any:
    """The value at a dotted path of a record, or None (never raises on odd records)."""
    value = record
    for key in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def largest(values: Iterable[Any], key) -> Any:
    """The value with the largest ``key`` (None for an invalid one); the first wins a tie, so
    the stored value stays put when a record repeats it in another spelling."""
    best, best_key = None, None
    for value in values:
        k = key(value)
        if k is not None and (best_key is None or k > best_key):
            best, best_key = value, k
    return best


def iso_time(value: Any) -> datetime | None:
    """An ISO 8601 string as an aware datetime (``Z`` accepted, naive read as UTC), or None."""
    if not isinstance(value, str) or not value or len(value) > MAX_CURSOR_LENGTH \
            or not value.isascii():
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class IsoTimeCursor:
    """ISO 8601 times (``updated_at``), compared as instants: ``...T10:00:00+02:00`` is older
    than ``...T09:00:00Z``, though it sorts after it as text. The provider's own string is
    kept and sent back."""

    field: str

    def newest(self, records: list[dict], current: Any, *, token: Any = None) -> Any:
        return largest([current, *(field_value(r, self.field) for r in records)], iso_time)

    def param(self, value: Any) -> str:
        if not self.valid(value):
            raise ValueError("not an ISO 8601 time")
        return value

    def valid(self, value: Any) -> bool:
        return iso_time(value) is not None


def epoch(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_EPOCH:
        return None
    return value


@dataclass(frozen=True)
class EpochCursor:
    """Whole seconds since 1970 (AniList ``updatedAt``, Strava ``after``). Booleans, floats,
    digit strings and millisecond values are not epochs here."""

    field: str

    def newest(self, records: list[dict], current: Any, *, token: Any = None) -> Any:
        return largest([current, *(field_value(r, self.field) for r in records)], epoch)

    def param(self, value: Any) -> str:
        if not self.valid(value):
            raise ValueError("not an epoch in seconds")
        return str(value)

    def valid(self, value: Any) -> bool:
        return epoch(value) is not None


@dataclass(frozen=True)
class OpaqueCursor:
    """A token the paginator returns in Page.cursor (Google's sync token). Tokens are not
    compared: the latest one handed out wins, and records never carry one."""

    def newest(self, records: list[dict], current: Any, *, token: Any = None) -> Any:
        if self.valid(token):
            return token
        return current if self.valid(current) else None

    def param(self, value: Any) -> str:
        if not self.valid(value):
            raise ValueError("not a usable token")
        return value

    def valid(self, value: Any) -> bool:
        return (isinstance(value, str) and 0 < len(value) <= MAX_CURSOR_LENGTH
                and value.isprintable())
