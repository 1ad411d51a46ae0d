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
import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.db import connections, router

from integrations import clock

logger = logging.getLogger(__name__)

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
    return f"{_connection_prefix(connection_id)}{digest}"


def _connection_prefix(connection_id: int) -> str:
    return f"{KEY_PREFIX}:entry:{connection_id}:"


def connection_entries_delete(connection_id: int) -> int:
    """Delete every cached answer of one connection (with its lock and flight results): a
    purge or a disconnect must not leave the provider's data served from here. Returns the
    keys deleted (for tests and logs). Called after the deleting transaction, never inside a
    provider call; a fetch already in flight may still store its fresh answer (for a purge the
    connection stays and would be asked the same; for a disconnect nothing reads the id again).
    """
    backend = caches[DEFAULT_CACHE_ALIAS]  # the backend itself: ``cache`` is a proxy
    prefix = backend.make_key(_connection_prefix(connection_id))
    if isinstance(backend, RedisCache):
        client = backend._cache.get_client(prefix, write=True)
        pattern = re.sub(r"([\\*?\[\]])", r"\\\1", prefix) + "*"
        keys = list(client.scan_iter(match=pattern, count=500))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start:start + 500])
        return len(keys)
    if isinstance(backend, DatabaseCache):
        db = router.db_for_write(backend.cache_model_class)
        escaped = prefix.replace("!", "!!").replace("%", "!%").replace("_", "!_")
        with connections[db].cursor() as cursor:
            table = connections[db].ops.quote_name(backend._table)
            cursor.execute(f"DELETE FROM {table} WHERE cache_key LIKE %s ESCAPE '!'",
                           [escaped + "%"])
            return cursor.rowcount
    if isinstance(backend, LocMemCache):
        with backend._lock:
            keys = [key for key in backend._cache if key.startswith(prefix)]
            for key in keys:
                backend._delete(key)
        return len(keys)
    logger.warning("proxy entries of connection %s not deleted: unknown cache backend",
                   connection_id)
    return 0


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
