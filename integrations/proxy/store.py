"""The proxy's cache entries and single-flight lock, in Django's cache (Redis with REDIS_URL,
the database cache otherwise), so every process of the site shares them.

Entries carry their own fetch time: freshness (the TTL) and the stale bound are judged against
``integrations.clock``, not the cache backend's expiry, so both hold the same on every backend
and tests move time instead of waiting. The backend timeout only cleans up (TTL + stale bound).

The lock is ``cache.add`` (atomic on both backends: Redis SET NX, a unique row insert) of a
value naming its holder (a random token) and when it lapses. Only the holder releases it
(compare, then delete); a holder that died is passed over once its lapse time is behind the
clock, and the backend timeout removes its key anyway.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from integrations import clock

KEY_PREFIX = "thinkalike:proxy:v1"
# How long the outcome of a failed fetch stays readable by the requests that waited for it.
# Only those requests read it (they know the fetch's token): it is not a cache of errors.
FLIGHT_RESULT_SECONDS = 30


@dataclass(frozen=True)
class Entry:
    status: int
    payload: Any
    content_type: str
    fetched_at: float
    headers: dict[str, str]

    def age(self, now: float) -> float:
        return max(0.0, now - self.fetched_at)

    def as_value(self) -> dict[str, Any]:
        return {"status": self.status, "payload": self.payload,
                "content_type": self.content_type, "fetched_at": self.fetched_at,
                "headers": self.headers}

    @classmethod
    def from_value(cls, value: Any) -> Entry | None:
        if not isinstance(value, dict):
            return None
        try:
            return cls(status=int(value["status"]), payload=value["payload"],
                       content_type=str(value["content_type"]),
                       fetched_at=float(value["fetched_at"]),
                       headers=dict(value.get("headers") or {}))
        except (KeyError, TypeError, ValueError):
            return None


def entry_key(connection_id: int, scope: str, method: str, path: str,
              params: list[tuple[str, str]], body: Any = None) -> str:
    """The key of one answer: the connection, what it is connected to (``scope``: a reconnect
    to another account or base URL must not be served the old one's data), the method, the
    normalised path, the sorted parameters and a read-only POST's body, hashed."""
    material = json.dumps([scope, method.upper(), path, sorted(params), body],
                          sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(material.encode()).hexdigest()
    return f"{KEY_PREFIX}:entry:{connection_id}:{digest}"


def get_entry(key: str) -> Entry | None:
    return Entry.from_value(cache.get(key))


def put_entry(key: str, entry: Entry, *, keep_seconds: float) -> None:
    cache.set(key, entry.as_value(), timeout=max(1, int(keep_seconds) + 1))


@dataclass(frozen=True)
class Lock:
    key: str
    token: str


def _lock_key(key: str) -> str:
    return f"{key}:lock"


def _result_key(key: str, token: str) -> str:
    return f"{key}:flight:{token}"


def try_lock(key: str, *, seconds: float) -> Lock | None:
    """The single-flight lock of ``key`` for ``seconds``, or None while someone holds it."""
    token = uuid.uuid4().hex
    value = {"token": token, "until": clock.time() + seconds}
    if cache.add(_lock_key(key), value, timeout=max(1, int(seconds) + 1)):
        return Lock(key, token)
    return None


def holder(key: str) -> tuple[str, float] | None:
    """(token, lapse time) of whoever holds ``key``'s lock, or None."""
    value = cache.get(_lock_key(key))
    if not isinstance(value, dict):
        return None
    try:
        return str(value["token"]), float(value["until"])
    except (KeyError, TypeError, ValueError):
        return None


def pass_over(key: str, token: str) -> None:
    """Remove a lapsed lock whose holder died, if it is still that holder's."""
    current = holder(key)
    if current is not None and current[0] == token:
        cache.delete(_lock_key(key))


def release(lock: Lock) -> None:
    """Only the holder releases: a lock that lapsed and was taken over is left to its taker."""
    pass_over(lock.key, lock.token)


def publish_failure(lock: Lock, failure: dict[str, Any]) -> None:
    """Tell the requests waiting on this fetch how it failed (they answer the same)."""
    cache.set(_result_key(lock.key, lock.token), failure, timeout=FLIGHT_RESULT_SECONDS)


def failure_of(key: str, token: str) -> dict[str, Any] | None:
    value = cache.get(_result_key(key, token))
    return value if isinstance(value, dict) else None
