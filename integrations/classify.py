"""What a provider's HTTP response means for us: one verdict per response.

``Provider.classify_response`` returns a Classification; ApiClient acts on it (retry, wait,
refresh, raise). ``default`` is the behaviour most APIs fit. Some providers say "rate limited"
with a 403 (GitHub, Google): ``github_rate_limit`` and ``google_rate_limit`` recognise those
answers, so such a provider's hook is one line:

    def classify_response(self, response):
        return github_rate_limit(response) or super().classify_response(response)

Bodies are read through ``safe_json`` (never raises): a malformed error body must not turn a
rate limit into a crash.
"""

from __future__ import annotations

import enum
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from . import clock

# A waiting time GitHub documents for secondary limits that name no Retry-After or reset.
GITHUB_SECONDARY_WAIT = 60.0
GOOGLE_RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
# Error bodies worth looking into are small; a larger one is not an error body we know.
MAX_CLASSIFIED_BODY = 64 * 1024


class Verdict(enum.StrEnum):
    OK = "ok"
    REFRESH_THEN_RETRY = "refresh_then_retry"  # refresh the token once, then reconnect
    RECONNECT = "reconnect"
    RATE_LIMITED = "rate_limited"  # wait (capped), or stop the run and resume later
    TRY_LATER = "try_later"
    CURSOR_REJECTED = "cursor_rejected"  # a kind of bad data: start the stream again
    BAD_DATA = "bad_data"


@dataclass(frozen=True)
class Classification:
    verdict: Verdict
    wait: float | None = None  # seconds the provider asked us to wait (uncapped), if it said


OK = Classification(Verdict.OK)


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Parse Retry-After: delta seconds or an HTTP date. None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or clock.now())).total_seconds())


def reset_at(value: str | None, now: float) -> float | None:
    """``X-RateLimit-Reset`` as Unix time: providers send either an epoch or seconds from now."""
    try:
        number = float(value) if value else None
    except ValueError:
        return None
    if number is None or not math.isfinite(number) or number < 0:
        return None
    return number if number > 1_000_000_000 else now + number


def retry_after(response: requests.Response) -> float | None:
    return retry_after_seconds(response.headers.get("Retry-After"))


def reset_wait(response: requests.Response, *, now: float | None = None) -> float | None:
    """Seconds until ``X-RateLimit-Reset`` (an epoch or a delta), when the header is usable."""
    now = clock.time() if now is None else now
    until = reset_at(response.headers.get("X-RateLimit-Reset"), now)
    return None if until is None else max(0.0, until - now)


def safe_json(response: requests.Response) -> Any:
    """The body as JSON, or None when it is absent, too large or not JSON. Never raises."""
    body = response.content or b""
    if len(body) > MAX_CLASSIFIED_BODY:
        return None
    try:
        return json.loads(body.decode("utf-8-sig"))
    except (ValueError, UnicodeError, RecursionError):
        return None


def default(response: requests.Response) -> Classification:
    """401 refresh then reconnect, 403 reconnect, 429 rate limited, 5xx try later, 410 the
    cursor is refused, any other 4xx bad data, the rest ok."""
    status = response.status_code
    if status == 401:
        return Classification(Verdict.REFRESH_THEN_RETRY)
    if status == 403:
        return Classification(Verdict.RECONNECT)
    if status == 429:
        wait = retry_after(response)
        if wait is None and response.headers.get("X-RateLimit-Remaining") == "0":
            wait = reset_wait(response)
        return Classification(Verdict.RATE_LIMITED, wait)
    if status >= 500:
        return Classification(Verdict.TRY_LATER)
    if status == 410:
        return Classification(Verdict.CURSOR_REJECTED)
    if status >= 400:
        return Classification(Verdict.BAD_DATA)
    return OK


def github_rate_limit(response: requests.Response) -> Classification | None:
    """GitHub's primary and secondary limits (403 or 429), else None.

    Primary: ``x-ratelimit-remaining: 0``, wait until ``x-ratelimit-reset``. Secondary: a
    message about a (secondary) rate limit; wait ``retry-after``, else until the reset when
    nothing remains, else a minute (GitHub's documented advice).
    """
    if response.status_code not in (403, 429):
        return None
    exhausted = response.headers.get("X-RateLimit-Remaining") == "0"
    body = safe_json(response)
    message = body.get("message") if isinstance(body, dict) else None
    says_so = isinstance(message, str) and "rate limit" in message.lower()
    if not (exhausted or says_so or response.status_code == 429):
        return None
    wait = retry_after(response)
    if wait is None and exhausted:
        wait = reset_wait(response)
    if wait is None:
        wait = GITHUB_SECONDARY_WAIT
    return Classification(Verdict.RATE_LIMITED, wait)


def google_rate_limit(response: requests.Response) -> Classification | None:
    """Google APIs' quota answers (403 or 429), else None.

    Either ``error.errors[].reason`` in {rateLimitExceeded, userRateLimitExceeded} (the v1
    error shape) or ``error.status == "RESOURCE_EXHAUSTED"`` (the newer one). Google sends no
    Retry-After: the wait is left to the client's backoff.
    """
    if response.status_code not in (403, 429):
        return None
    body = safe_json(response)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    errors = error.get("errors")
    reasons = {e.get("reason") for e in errors
               if isinstance(e, dict) and isinstance(e.get("reason"), str)} \
        if isinstance(errors, list) else set()
    if reasons & GOOGLE_RATE_REASONS or error.get("status") == "RESOURCE_EXHAUSTED":
        return Classification(Verdict.RATE_LIMITED, retry_after(response))
    return None
