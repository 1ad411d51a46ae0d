"""What a provider lets the proxy reach, declared beside its streams; and what a proxied
request gives back. Providers import only this module."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from integrations.formfields import FormField


@dataclass(frozen=True)
class ProxyEndpoint:
    """One path the proxy may call. ``path`` is relative to the provider's API base URL and may
    hold ``{name}`` segments (``/repos/{owner}/{repo}``), each matching one path segment.

    ``params`` are the query parameters passed through (others are refused with a 400);
    ``time_field``, a dotted path inside each record of ``records_path``, lets a dashboard chart
    the answer over time.
    """

    path: str
    label: str
    methods: tuple[str, ...] = ("GET",)
    params: tuple[FormField, ...] = ()
    # Where the list of records sits in the answer ("data", "results"; "" = the answer itself).
    records_path: str = ""
    time_field: str = ""
    # A POST that only reads (a search or a report query) may be declared here.
    read_only_post: bool = False
    content_types: tuple[str, ...] = ("application/json",)


@dataclass(frozen=True)
class ProxySpec:
    endpoints: tuple[ProxyEndpoint, ...] = ()
    # The start of the provider's documented paths that its API base URL already holds ("/v1"
    # for Stripe, whose base is https://api.stripe.com/v1/): proxied paths are the documented
    # ones (/v1/charges), and this prefix is taken off before they are joined to the base.
    base_path: str = ""
    # A custom API: any path under the person's base URL (GET only).
    any_path: bool = False
    # How long an answer is served from the cache (the person may change it where
    # ``ttl_settable``), and how many proxied requests a person may make a minute.
    ttl_seconds: int = 30
    ttl_settable: bool = False
    requests_per_minute: int = 30
    # The setting that overrides requests_per_minute (THINKALIKE_PROXY_RATE_<SLUG>).


@dataclass(frozen=True)
class ProxyResult:
    """An answer the proxy gives: the provider's JSON, and where it came from."""

    status: int
    payload: Any
    content_type: str
    cache: str  # "HIT", "MISS", "REFRESH" or "STALE"
    age_seconds: int
    fetched_at: datetime
    headers: dict[str, str] = field(default_factory=dict)
    # How long this answer is fresh from when it was fetched (a caller's max-age; with Age,
    # ``age_seconds``, the caller works out what is left).
    ttl_seconds: int = 0


class ProxyError(Exception):
    """A proxied request that gives no data: ``status`` is the answer to send (400, 404, 429,
    502, 503, 504), ``outcome`` says what the person can do ("reconnect" or "retry").
    ``reauth``: the provider refused the credential itself, so the connection is to be flagged
    for reconnecting (upstream.py decides, service.py flags it once the lock is released)."""

    def __init__(self, status: int, code: str, message: str, *, outcome: str = "",
                 retry_after: int | None = None, fields: dict[str, list[str]] | None = None,
                 reauth: bool = False):
        super().__init__(message)
        self.reauth = reauth
        self.status = status
        self.code = code
        self.message = message
        self.outcome = outcome
        self.retry_after = retry_after
        # Per query parameter, what is wrong with it (a 400 for the caller's parameters).
        self.fields = dict(fields or {})
