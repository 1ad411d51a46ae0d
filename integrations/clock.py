"""The clock the rate budget, the HTTP backoff and the sync leases read and sleep on.

Everything in those places that waits or compares times goes through this module, so a test can
install a ``FakeClock`` whose ``sleep`` moves time forward at once: assertions then follow from
the code's arithmetic, never from how long a real sleep took on a busy machine.
"""

from __future__ import annotations

import time as _time
from datetime import UTC, datetime

from django.utils import timezone


class SystemClock:
    """Wall time and real sleeps. ``shared`` is True: where a database or Redis server has a
    clock that every worker machine agrees on, callers should read that one instead."""

    shared = True

    def time(self) -> float:
        return _time.time()

    def now(self) -> datetime:
        return timezone.now()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            _time.sleep(seconds)


class FakeClock:
    """A clock that moves only when told to (``advance``) or when code sleeps on it."""

    shared = False  # every reader, servers included, must use this one

    def __init__(self, start: float | None = None) -> None:
        self._time = _time.time() if start is None else start
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self._time

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._time, tz=UTC)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self._time += max(0.0, seconds)


_clock: SystemClock | FakeClock = SystemClock()


def install(clock: SystemClock | FakeClock) -> SystemClock | FakeClock:
    """Use ``clock`` from now on; returns the previous one (tests restore it)."""
    global _clock
    previous, _clock = _clock, clock
    return previous


def time() -> float:
    """Unix time in seconds."""
    return _clock.time()


def now() -> datetime:
    """The current aware datetime."""
    return _clock.now()


def sleep(seconds: float) -> None:
    _clock.sleep(seconds)


def server_time_allowed() -> bool:
    """May a caller read a server's clock (PostgreSQL, Redis) instead of this one?"""
    return _clock.shared
