"""The proxy's knobs: per provider from its ProxySpec, overridable by settings, and the bounds
that hold for every provider. Read at call time so tests (and operators) can change them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings

from .spec import ProxySpec

MAX_TTL_SECONDS = 3600
TTL_CONFIG_KEY = "proxy_ttl_seconds"
DEFAULT_STALE_SECONDS = 3600
DEFAULT_MAX_BYTES = 2 * 1024 * 1024
# How often a request waiting for another's upstream fetch looks for its result.
DEFAULT_POLL_SECONDS = 0.05
# The longest a proxied request waits for a slot of the shared provider budget: past it, the
# budget is blocked (a provider's 429 told every worker to hold off) and the caller is told to
# try later, or served a stale copy, at once rather than held with the lock for up to a minute.
BUDGET_MAX_WAIT_SECONDS = 1.0
# Added to the worst case of a fetch: the cache and database round trips around it.
LOCK_MARGIN_SECONDS = 5.0


def requests_per_minute(slug: str, spec: ProxySpec) -> int:
    """The per-person limit: THINKALIKE_PROXY_RATE_<SLUG> when set, else the spec's."""
    override = getattr(settings, f"THINKALIKE_PROXY_RATE_{slug.upper()}", None)
    try:
        value = int(override) if override is not None else spec.requests_per_minute
    except (TypeError, ValueError):
        value = spec.requests_per_minute
    return max(1, value)


def ttl_seconds(spec: ProxySpec, config: Mapping[str, Any]) -> int:
    """How long an answer is fresh: the person's choice where the spec lets them choose."""
    if spec.ttl_settable:
        chosen = (config or {}).get(TTL_CONFIG_KEY)
        if isinstance(chosen, int) and not isinstance(chosen, bool) \
                and 0 <= chosen <= MAX_TTL_SECONDS:
            return chosen
    return max(0, min(spec.ttl_seconds, MAX_TTL_SECONDS))


def stale_seconds() -> int:
    """How long past its TTL an answer may still be served when the provider is down."""
    return max(0, int(getattr(settings, "THINKALIKE_PROXY_STALE_SECONDS",
                              DEFAULT_STALE_SECONDS)))


def max_bytes() -> int:
    """The largest answer passed on: the smaller of this and the transport's own cap."""
    own = int(getattr(settings, "THINKALIKE_PROXY_MAX_BYTES", DEFAULT_MAX_BYTES))
    return min(own, int(settings.THINKALIKE_MAX_RESPONSE_BYTES))


def _timeouts() -> tuple[float, float]:
    timeout = settings.THINKALIKE_HTTP_TIMEOUT
    if isinstance(timeout, tuple | list):
        return float(timeout[0]), float(timeout[1])
    return float(timeout), float(timeout)


def _attempt_seconds() -> float:
    """The longest one attempt of a fetch takes: the budget's wait, connecting, the first byte
    (the read timeout) and the body (transport.body_seconds: the read timeout again)."""
    connect, read = _timeouts()
    return BUDGET_MAX_WAIT_SECONDS + connect + 2 * read


def lock_seconds(*, refreshes: bool = True) -> float:
    """How long a fetch holds the single-flight lock before others may take over: the longest
    one fetch can take, plus a margin. With an OAuth token (``refreshes``) a 401 is refreshed
    (the token request, or waiting for another worker's, THINKALIKE_REFRESH_WAIT_SECONDS) and
    sent again; a key is sent once. A holder that dies frees the key after this; one that is
    merely slow past it costs a second upstream request, never a wrong answer."""
    configured = getattr(settings, "THINKALIKE_PROXY_LOCK_SECONDS", None)
    if configured is not None:
        return float(configured)
    attempt = _attempt_seconds()
    if not refreshes:
        return attempt + LOCK_MARGIN_SECONDS
    connect, read = _timeouts()
    refresh = max(float(settings.THINKALIKE_REFRESH_WAIT_SECONDS), connect + 2 * read)
    return 2 * attempt + refresh + LOCK_MARGIN_SECONDS


def wait_seconds(*, refreshes: bool = True) -> float:
    """How long a request waits for another's fetch in all before answering "try later" (or
    with a stale copy): past the lock's lapse, so a holder that died is taken over."""
    configured = getattr(settings, "THINKALIKE_PROXY_WAIT_SECONDS", None)
    return float(configured) if configured is not None else lock_seconds(refreshes=refreshes) + 5


def poll_seconds() -> float:
    return float(getattr(settings, "THINKALIKE_PROXY_POLL_SECONDS", DEFAULT_POLL_SECONDS))
