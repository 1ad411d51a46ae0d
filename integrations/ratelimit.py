"""The shared rate budget: at most ``limit`` requests in any ``window`` seconds, in all processes.

Design: a sliding log. Each key keeps the start times of its granted requests, and a request
may start only when fewer than ``limit`` of them lie in the last ``window`` seconds. A fixed
window (a counter reset every ``window`` seconds) lets a full budget through at the end of one
window and another at the start of the next: twice the limit inside one real window, which is
exactly what a provider's rolling window (Spotify's 30 s, for instance) punishes. A token bucket
of size ``limit`` refilling at ``limit/window`` has the same flaw: it starts full, so one window
can hold its ``limit`` plus everything refilled meanwhile, up to twice the limit. The log costs
``limit`` numbers per key, which is small for the limits providers publish, and it never
over-grants in any window, aligned or not.

Two backends behind one interface, chosen at call time: Redis when ``settings.REDIS_URL`` is set
(one Lua script, atomic, on the Redis server's clock), else the ``RateBucket`` table (one short
transaction under a row lock per attempt). Neither holds a lock while waiting.

Call these functions outside any transaction: inside one, a database grant (and its row lock)
only becomes visible to other processes when the caller commits, and is lost if it rolls back.
"""

from __future__ import annotations

import threading
import uuid

import redis
from django.conf import settings
from django.db import connection, transaction

from . import clock
from .exceptions import RateLimited
from .models import RateBucket


def sleep(seconds: float) -> None:
    """Every wait of the budget; on ``integrations.clock`` so tests need not really wait."""
    clock.sleep(seconds)


# Requests reach the provider a little after they are granted, and unevenly: a busy machine can
# deschedule a worker between its grant and its send for tens of milliseconds. So every window is
# widened a little: that costs about 4% of a one-second window, 2% of a ten-second one.
SAFETY_FACTOR = 1.02
SAFETY_SECONDS = 0.02

RATE_LIMITED_MESSAGE = (
    "The request budget for {key} is used up for the next {seconds:.0f} s; "
    "will try again later."
)

# The stamp of each thread's latest grant per key, so refund() removes our own grant.
_local = threading.local()


def provider_key(provider_slug: str) -> str:
    return f"provider:{provider_slug}"


def connection_key(provider_slug: str, connection_id: int) -> str:
    return f"connection:{provider_slug}:{connection_id}"


def acquire(key: str, limit: int, window: float, *, max_wait: float) -> float:
    """Wait until a request may start under the budget, record it, and return the seconds waited.

    No window of ``window`` seconds (widened by the safety margin) ever holds more than ``limit``
    grants for ``key``, whatever the number of processes. Raises RateLimited, without waiting,
    when the total wait would exceed ``max_wait``; ``retry_after`` is the wait still needed.
    """
    if limit < 1 or window <= 0:
        raise ValueError(f"a rate limit needs limit >= 1 and window > 0, got {limit}/{window}")
    span = window * SAFETY_FACTOR + SAFETY_SECONDS
    backend = _backend()
    waited = 0.0
    while True:
        wait, stamp = backend.try_acquire(key, limit, span)
        if stamp is not None:
            _grants()[key] = stamp
            return waited
        if waited + wait > max_wait:
            raise RateLimited(RATE_LIMITED_MESSAGE.format(key=key, seconds=wait),
                              retry_after=wait)
        # Several waiters may wake together for one freed slot; the losers just wait again.
        sleep(wait)
        waited += wait


def refund(key: str) -> None:
    """Give back this thread's latest grant for ``key`` (the provider did not count it)."""
    stamp = _grants().pop(key, None)
    if stamp is not None:
        _backend().remove(key, stamp)


def block_until(key: str, until: float) -> None:
    """No request for ``key`` may start before Unix time ``until`` (the provider said so)."""
    _backend().block_until(key, until)


def blocked_for(key: str) -> float:
    """Seconds before any request for ``key`` may start because the provider said so (a
    Retry-After made ``block_until``); 0 when not blocked. Reads only, grants nothing."""
    return _backend().blocked_for(key)


def _grants() -> dict[str, float]:
    if not hasattr(_local, "grants"):
        _local.grants = {}
    return _local.grants


def _backend() -> _Database | _Redis:
    url = settings.REDIS_URL
    return _Redis.for_url(url) if url else _DATABASE


class _Database:
    """One RateBucket row per key; each attempt is one short transaction holding its row lock.

    On PostgreSQL ``select_for_update`` serialises the attempts; on SQLite the project's
    IMMEDIATE transactions take the write lock at BEGIN, which serialises them too.
    """

    def try_acquire(self, key: str, limit: int, span: float) -> tuple[float, float | None]:
        """(0, stamp) when granted, else (seconds to wait, None)."""
        with transaction.atomic():
            bucket, _ = RateBucket.objects.select_for_update().get_or_create(key=key)
            now = self._now()
            if bucket.blocked_until > now:
                return bucket.blocked_until - now, None
            stamps = sorted(s for s in bucket.stamps if s > now - span)
            if len(stamps) >= limit:
                # The slot frees when the limit-th newest grant leaves the window.
                return stamps[-limit] + span - now, None
            bucket.stamps = [*stamps, now]  # so never more than ``limit`` stamps are kept
            bucket.save(update_fields=["stamps", "updated_at"])
            return 0.0, now

    def remove(self, key: str, stamp: float) -> None:
        with transaction.atomic():
            bucket = RateBucket.objects.select_for_update().filter(key=key).first()
            if bucket is not None and stamp in bucket.stamps:  # else it already left the window
                bucket.stamps.remove(stamp)
                bucket.save(update_fields=["stamps", "updated_at"])

    def block_until(self, key: str, until: float) -> None:
        with transaction.atomic():
            bucket, _ = RateBucket.objects.select_for_update().get_or_create(key=key)
            if until > bucket.blocked_until:
                bucket.blocked_until = until
                bucket.save(update_fields=["blocked_until", "updated_at"])

    def blocked_for(self, key: str) -> float:
        until = RateBucket.objects.filter(key=key).values_list("blocked_until", flat=True).first()
        return max(0.0, (until or 0.0) - self._now())

    @staticmethod
    def _now() -> float:
        # Workers on several machines share PostgreSQL's clock; SQLite means one machine.
        if connection.vendor == "postgresql" and clock.server_time_allowed():
            with connection.cursor() as cursor:
                cursor.execute("SELECT EXTRACT(EPOCH FROM clock_timestamp())")
                return float(cursor.fetchone()[0])
        return clock.time()


_DATABASE = _Database()

# KEYS[1]: sorted set of grants (score = grant time in microseconds, member unique);
# KEYS[2]: blocked-until time in microseconds. ARGV: limit, span in microseconds, a unique id,
# and "now" in microseconds or "" for the Redis server's clock. Returns {1, now} when granted,
# else {0, microseconds to wait}. Times come from the Redis server's clock (so processes on
# different machines agree) unless the caller runs on a test clock; the grants key outlives its
# window by ten seconds of real time, so even a test clock's stalled caller never finds its
# grants expired early. Times are whole microseconds because Redis truncates Lua floats in
# replies, and are formatted with %.0f because Lua's default number-to-string keeps only 14
# digits.
_ACQUIRE_LUA = """
local now = tonumber(ARGV[4])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local limit, span = tonumber(ARGV[1]), tonumber(ARGV[2])
local blocked = tonumber(redis.call('GET', KEYS[2]) or '0')
if blocked > now then return {0, blocked - now} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now - span))
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
  return {0, tonumber(oldest[2]) + span - now}
end
redis.call('ZADD', KEYS[1], string.format('%.0f', now), ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(span / 1000) + 10000)
return {1, now}
"""

# KEYS[1]: the grants; ARGV[1]: the grant time in microseconds. Removes one grant made then.
_REMOVE_LUA = """
local found = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1], 'LIMIT', 0, 1)
if found[1] then redis.call('ZREM', KEYS[1], found[1]) end
return 0
"""

# KEYS[1]: blocked-until in microseconds; ARGV[1]: the new one; ARGV[2]: "now" as for acquire.
# Keeps the later of the two and expires the key a second after it has passed.
_BLOCK_LUA = """
local now = tonumber(ARGV[2])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local new = tonumber(ARGV[1])
if new <= tonumber(redis.call('GET', KEYS[1]) or '0') or new <= now then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', math.ceil((new - now) / 1000) + 1000)
return 1
"""


class _Redis:
    """A sorted set of grants per key and a plain key for blocked-until, changed by Lua scripts."""

    _by_url: dict[str, _Redis] = {}
    _lock = threading.Lock()

    def __init__(self, url: str) -> None:
        client = redis.Redis.from_url(url)
        self._client = client
        self._acquire = client.register_script(_ACQUIRE_LUA)
        self._remove = client.register_script(_REMOVE_LUA)
        self._block = client.register_script(_BLOCK_LUA)

    @classmethod
    def for_url(cls, url: str) -> _Redis:
        with cls._lock:
            if url not in cls._by_url:
                cls._by_url[url] = cls(url)
            return cls._by_url[url]

    @staticmethod
    def _keys(key: str) -> list[str]:
        return [f"thinkalike:rate:{key}", f"thinkalike:rate-blocked:{key}"]

    @staticmethod
    def _now_arg() -> str:
        return "" if clock.server_time_allowed() else f"{clock.time() * 1e6:.0f}"

    def try_acquire(self, key: str, limit: int, span: float) -> tuple[float, float | None]:
        granted, value = self._acquire(
            keys=self._keys(key),
            args=[limit, round(span * 1e6), uuid.uuid4().hex, self._now_arg()],
        )
        return (0.0, value / 1e6) if granted else (value / 1e6, None)

    def remove(self, key: str, stamp: float) -> None:
        self._remove(keys=self._keys(key)[:1], args=[round(stamp * 1e6)])

    def blocked_for(self, key: str) -> float:
        until = self._client.get(self._keys(key)[1])
        if until is None:
            return 0.0
        now = clock.time() if not clock.server_time_allowed() else self._server_now()
        return max(0.0, int(until) / 1e6 - now)

    def _server_now(self) -> float:
        seconds, micros = self._client.time()
        return seconds + micros / 1e6

    def block_until(self, key: str, until: float) -> None:
        self._block(keys=self._keys(key)[1:], args=[round(until * 1e6), self._now_arg()])
