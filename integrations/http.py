"""ApiClient: the one way this project talks to providers.

Every request gets a timeout, bounded retries with exponential backoff and full jitter on 5xx
and connection errors, ``Retry-After`` on 429 (seconds or an HTTP date, up to a cap), bearer or
key headers, one refresh-and-retry on 401, and one ApiCall row (host and path only: no query
string, no body). Every failure leaves as ReauthRequired or TryLater (exceptions.py); provider
modules never catch ``requests`` exceptions themselves.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings

from . import clock, ratelimit
from .exceptions import (
    CursorRejected,
    ProviderDataError,
    ProviderUnavailable,
    RateLimited,
    ReauthRequired,
)
from .models import ApiCall
from .redaction import redact_text
from .txguard import check_no_transaction

if TYPE_CHECKING:
    from .models import Connection
    from .providers.base import Provider

logger = logging.getLogger(__name__)


def sleep(seconds: float) -> None:
    """Every backoff and Retry-After wait; on ``integrations.clock`` so tests need not wait."""
    clock.sleep(seconds)


RETRYABLE_STATUS = frozenset({500, 502, 503, 504})


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
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff_seconds(attempt: int) -> float:
    """Full jitter: uniform in [0, base * 2**attempt], capped."""
    ceiling = min(settings.THINKALIKE_HTTP_BACKOFF_CAP,
                  settings.THINKALIKE_HTTP_BACKOFF_BASE * (2**attempt))
    return random.uniform(0, ceiling)


def new_session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = settings.THINKALIKE_USER_AGENT
    return session


@dataclass(frozen=True)
class Budget:
    """A shared rate budget: at most ``limit`` requests per ``window`` seconds under ``key``."""

    key: str
    limit: int
    window: float


def reset_at(value: str | None, now: float) -> float | None:
    """``X-RateLimit-Reset`` as Unix time: providers send either an epoch or seconds from now."""
    try:
        number = float(value) if value else None
    except ValueError:
        return None
    if number is None or not math.isfinite(number) or number < 0:
        return None
    return number if number > 1_000_000_000 else now + number


def _note_limits(budget: Budget | None, response: requests.Response, wait: float | None) -> None:
    """Tell every worker what the provider said about its limit."""
    if budget is None:
        return
    now = clock.time()
    if response.status_code == 429 and wait is not None:
        ratelimit.block_until(budget.key, now + wait)
    elif response.headers.get("X-RateLimit-Remaining") == "0":
        until = reset_at(response.headers.get("X-RateLimit-Reset"), now)
        if until is not None:
            ratelimit.block_until(budget.key, until)


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    provider_slug: str,
    connection_id: int | None,
    retry: bool = True,
    secrets: tuple[str, ...] = (),
    budget: Budget | None = None,
    **kwargs: Any,
) -> requests.Response:
    """Send one logical request with the retry policy and write its ApiCall row.

    Every attempt first takes a slot of the shared ``budget`` (so all workers together stay
    under the provider's limit); a 304 gives it back, since providers do not count those.
    Retries 5xx and connection errors (when ``retry``) and waits out short 429s; returns the
    final response, whatever its status, or raises TryLater when the provider cannot be reached
    or keeps limiting us.
    """
    # Host only: a path may carry a secret (bot tokens live in it).
    check_no_transaction(f"{method.upper()} {urlsplit(url).hostname}")
    max_retries = settings.THINKALIKE_HTTP_MAX_RETRIES if retry else 0
    if not settings.THINKALIKE_RATE_BUDGETS:
        budget = None
    retries = 0
    started = time.monotonic()
    status: int | None = None
    error = ""
    try:
        while True:
            if budget is not None:
                ratelimit.acquire(budget.key, budget.limit, budget.window,
                                  max_wait=settings.THINKALIKE_MAX_RETRY_AFTER)
            try:
                response = session.request(
                    method, url, timeout=settings.THINKALIKE_HTTP_TIMEOUT, **kwargs
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                error = type(exc).__name__
                if retries >= max_retries:
                    raise ProviderUnavailable(
                        f"{provider_slug} could not be reached ({error}); will try again later"
                    ) from None
                sleep(backoff_seconds(retries))
                retries += 1
                continue
            status = response.status_code
            if status == 304 and budget is not None:
                ratelimit.refund(budget.key)
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            _note_limits(budget, response, wait)
            if status == 429:
                if wait is None:
                    wait = backoff_seconds(retries)
                if retries >= max_retries or wait > settings.THINKALIKE_MAX_RETRY_AFTER:
                    raise RateLimited(
                        f"{provider_slug} is rate limiting requests; will try again later",
                        retry_after=wait,
                    )
                sleep(wait)
                retries += 1
                continue
            if status in RETRYABLE_STATUS and retries < max_retries:
                sleep(backoff_seconds(retries))
                retries += 1
                continue
            return response
    finally:
        parts = urlsplit(url)
        ApiCall.objects.create(
            connection_id=connection_id,
            provider=provider_slug,
            method=method.upper(),
            host=parts.hostname or "",
            path=redact_text(parts.path, secrets)[:500],
            status_code=status,
            duration_ms=int((time.monotonic() - started) * 1000),
            retries=retries,
            error=error[:200],
        )


@dataclass(frozen=True)
class Fetched:
    payload: Any
    etag: str = ""
    not_modified: bool = False


class ApiClient:
    """An authenticated client for one provider, optionally bound to one connection."""

    def __init__(
        self,
        provider: Provider,
        *,
        connection: Connection | None = None,
        secrets: Mapping[str, str] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.provider = provider
        self.connection = connection
        self.secrets = dict(secrets or {})
        self.session = session or new_session()
        self.base_url = provider.get_api_base_url()
        self._credential = None
        self.budget = self._budget()

    def _budget(self) -> Budget | None:
        rule = self.provider.get_rate_limit()
        if rule is None:
            return None
        if self.provider.rate_limit_per_connection and self.connection is not None:
            key = ratelimit.connection_key(self.provider.slug, self.connection.pk)
        else:
            key = ratelimit.provider_key(self.provider.slug)
        return Budget(key, *rule)

    def absolute(self, url: str) -> str:
        if urlsplit(url).scheme:
            return url
        return urljoin(self.base_url, url.lstrip("/"))

    def _access_token(self, *, force_refresh: bool = False, stale: str = "") -> str:
        from . import tokens  # tokens imports this module

        if self.connection is None or not self.provider.is_oauth:
            return ""
        if force_refresh:
            self._credential = None
            return tokens.token_refresh(connection=self.connection, stale_access_token=stale)
        # The credential is read once per client and again only when it nears expiry, so a
        # long sync does not spend a query per request on it.
        if self._credential is None or tokens.is_expiring(self._credential):
            self._credential = tokens.credential_fresh(connection=self.connection)
        return self._credential.access_token

    def _known_secrets(self, access_token: str) -> tuple[str, ...]:
        return tuple(v for v in (access_token, *self.secrets.values()) if v)

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """An authenticated request; 401 refreshes the token once, then means reconnect."""
        url = self.absolute(url)
        extra_headers = kwargs.pop("headers", {})
        access_token = self._access_token()
        refreshed = False
        while True:
            headers = {
                "Accept": "application/json",
                **self.provider.auth_headers(access_token=access_token, secrets=self.secrets),
                **extra_headers,
            }
            response = send(
                self.session, method, url, headers=headers,
                provider_slug=self.provider.slug,
                connection_id=self.connection.pk if self.connection else None,
                secrets=self._known_secrets(access_token), budget=self.budget, **kwargs,
            )
            if response.status_code == 401 and access_token and not refreshed:
                access_token = self._access_token(force_refresh=True, stale=access_token)
                refreshed = True
                continue
            if response.status_code in (401, 403):
                raise ReauthRequired(
                    f"{self.provider.name} refused access (HTTP {response.status_code}); "
                    "please reconnect"
                )
            if response.status_code >= 500:
                raise ProviderUnavailable(
                    f"{self.provider.name} answered HTTP {response.status_code}; will try again "
                    "later"
                )
            if response.status_code == 410:
                raise CursorRejected(
                    f"{self.provider.name} no longer accepts the sync cursor; syncing everything"
                )
            if response.status_code >= 400:
                raise ProviderDataError(
                    f"{self.provider.name} answered HTTP {response.status_code} for "
                    f"{urlsplit(url).path}"
                )
            return response

    def get_json(self, url: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET and decode JSON, checking the body for provider-specific error markers."""
        return self.get_page(url, params).payload

    def get_page(self, url: str, params: Mapping[str, Any] | None = None, *,
                 etag: str = "") -> Fetched:
        """GET a page, conditionally when ``etag`` is given (a 304 means: unchanged)."""
        headers = {"If-None-Match": etag} if etag else {}
        response = self.request("GET", url, params=dict(params or {}), headers=headers)
        if response.status_code == 304:
            return Fetched(payload=None, etag=etag, not_modified=True)
        try:
            payload = response.json()
        except ValueError:
            raise ProviderDataError(
                f"{self.provider.name} sent a response that is not JSON"
            ) from None
        self.provider.check_payload(payload)
        return Fetched(payload=payload, etag=response.headers.get("ETag", ""))

    def close(self) -> None:
        self.session.close()
