"""ApiClient: the one way this project talks to providers.

Every request gets a timeout, bounded retries with exponential backoff and full jitter on 5xx
and connection errors, ``Retry-After`` on 429 (seconds or an HTTP date, up to a cap), bearer or
key headers, one refresh-and-retry on 401, and one ApiCall row (host and path only: no query
string, no body). Every failure leaves as ReauthRequired or TryLater (exceptions.py); provider
modules never catch ``requests`` exceptions themselves.
"""

from __future__ import annotations

import http.client
import json
import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from django.conf import settings
from django.db import DatabaseError

from . import classify, clock, ratelimit
from .classify import Classification, Verdict
from .exceptions import (
    CursorRejected,
    ProviderDataError,
    ProviderUnavailable,
    RateLimited,
    ReauthRequired,
)
from .models import ApiCall
from .pagination import same_origin
from .redaction import redact_text
from .txguard import check_no_transaction
from .wire import ApiRequest, ApiResponse

if TYPE_CHECKING:
    from .models import Connection
    from .providers.base import Provider

logger = logging.getLogger(__name__)


def sleep(seconds: float) -> None:
    """Every backoff and Retry-After wait; on ``integrations.clock`` so tests need not wait."""
    clock.sleep(seconds)


RETRYABLE_STATUS = frozenset({500, 502, 503, 504})
# Methods that may be sent twice with the effect of once; a write is retried only when its
# caller declares it idempotent (a lost answer may mean the write happened).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Everything the transport can raise for a bad answer or a broken connection. requests wraps
# most of it; urllib3 and http.client errors, and ValueErrors from URL and header parsing,
# can still slip through on hostile input.
TRANSPORT_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError,
                    http.client.HTTPException, ValueError, OSError)
# Worth another attempt: the connection failed or broke. Not an SSL failure, a bad URL, a
# redirect loop or an undecodable body: those fail the same way again.
RETRYABLE_ERRORS = (requests.ConnectionError, requests.Timeout,
                    requests.exceptions.ChunkedEncodingError)
NOT_RETRYABLE_ERRORS = (requests.exceptions.SSLError,)
# Deeper JSON than this is not an API answer; walking it later would overflow the stack.
MAX_JSON_DEPTH = 64
BODY_CHUNK = 64 * 1024

# Messages people see; tests import them. They name the provider by its display name and
# never an exception class (that goes to ApiCall.error and the logs).
UNREACHABLE = "{name} could not be reached right now. Please try again later."
RATE_LIMITED_MESSAGE = "{name} is limiting requests right now. Please try again later."
UNAVAILABLE = "{name} is having problems right now (HTTP {status}). Please try again later."
REFUSED = "{name} refused access (HTTP {status}); please reconnect."
CURSOR_REFUSED = "{name} no longer accepts the sync cursor; syncing everything."
BAD_STATUS = "{name} did not accept a request (HTTP {status}). Please try again later."
NOT_JSON = "{name} sent a response that is not JSON we can read."
TOO_LARGE = "{name} sent a response larger than {limit} MB; it was not read."
TOO_SLOW = "{name} sent its answer too slowly; it was not read. Please try again later."
FOREIGN_URL = "{name} pointed a request to another address; it was not sent."


def provider_name(slug: str) -> str:
    """The display name people know a provider by (the slug when it is not installed)."""
    from .providers.registry import PROVIDERS  # the registry imports the providers

    provider = PROVIDERS.get(slug)
    return provider.name if provider is not None else slug


def cap_wait(seconds: float) -> float:
    """A wait a provider asked for, capped: one answer must not stop a provider for days."""
    return max(0.0, min(seconds, float(settings.THINKALIKE_MAX_PROVIDER_BLOCK_SECONDS)))


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e999 parses as infinity
        raise ValueError("not a finite number")
    return number


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _check_depth(payload: Any) -> None:
    """Raise ValueError when containers nest deeper than MAX_JSON_DEPTH (iteratively)."""
    stack = [(payload, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            raise ValueError("too deeply nested")
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, dict | list))


def parse_json(body: bytes, *, name: str) -> Any:
    """A provider's JSON body, or ProviderDataError: the one way provider JSON is parsed.

    Strict UTF-8 (a BOM is allowed), no NaN or Infinity, no number that overflows, no nesting
    deeper than MAX_JSON_DEPTH; a RecursionError from the parser is bad data like the rest.
    """
    try:
        payload = json.loads(body.decode("utf-8-sig"), parse_constant=_reject_constant,
                             parse_float=_finite_float)
        _check_depth(payload)
    except (ValueError, UnicodeError, RecursionError):
        raise ProviderDataError(NOT_JSON.format(name=name)) from None
    return payload


def response_json(response: requests.Response, *, provider_slug: str) -> Any:
    """``parse_json`` of a response's body, naming the provider in the error."""
    return parse_json(response.content or b"", name=provider_name(provider_slug))


def _read_body(response: requests.Response, name: str) -> None:
    """Read a streamed body into ``response.content``, up to the configured size.

    The limit applies to the decoded bytes, so a compressed bomb stops too.
    """
    limit = settings.THINKALIKE_MAX_RESPONSE_BYTES
    too_large = ProviderDataError(TOO_LARGE.format(name=name, limit=round(limit / 1e6, 1)))
    declared = response.headers.get("Content-Length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        response.close()
        raise too_large
    # requests' read timeout bounds each socket read, not the body: a server dripping a byte
    # at a time would hold a worker (and a refresh lease) for as long as it likes.
    deadline = clock.time() + body_seconds()
    chunks, size = [], 0
    for chunk in response.iter_content(BODY_CHUNK):
        size += len(chunk)
        if size > limit:
            response.close()
            raise too_large
        if clock.time() > deadline:
            response.close()
            raise ProviderUnavailable(TOO_SLOW.format(name=name))
        chunks.append(chunk)
    response._content = b"".join(chunks)


def body_seconds() -> float:
    """How long reading one response body may take in all: the read timeout."""
    timeout = settings.THINKALIKE_HTTP_TIMEOUT
    return float(timeout[1] if isinstance(timeout, tuple | list) else timeout)


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


def _note_limits(budget: Budget | None, response: requests.Response,
                 verdict: Classification) -> None:
    """Tell every worker sharing the budget what the provider said about its limit.

    Every block is capped (THINKALIKE_MAX_PROVIDER_BLOCK_SECONDS), and it is scoped by the
    budget's key: the connection's own where the provider limits each user.
    """
    if budget is None:
        return
    now = clock.time()
    if verdict.verdict == Verdict.RATE_LIMITED and verdict.wait is not None:
        ratelimit.block_until(budget.key, now + cap_wait(verdict.wait))
    elif response.headers.get("X-RateLimit-Remaining") == "0":
        until = reset_at(response.headers.get("X-RateLimit-Reset"), now)
        if until is not None:
            ratelimit.block_until(budget.key, now + cap_wait(until - now))


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    provider_slug: str,
    connection_id: int | None,
    retry: bool = True,
    idempotent: bool | None = None,
    secrets: tuple[str, ...] = (),
    budget: Budget | None = None,
    classify_response: Callable[[requests.Response], Classification] | None = None,
    display_name: str = "",
    **kwargs: Any,
) -> requests.Response:
    """Send one logical request with the retry policy and write its ApiCall row.

    Every attempt first takes a slot of the shared ``budget`` (so all workers together stay
    under the provider's limit); a 304 gives it back, since providers do not count those.
    Retries failed connections and 5xx and waits out short rate limits (when ``retry`` and the
    request is idempotent: GET, HEAD and OPTIONS are, a write only when ``idempotent=True``);
    returns the final response, whatever its status, with its body read (at most
    THINKALIKE_MAX_RESPONSE_BYTES). Every transport failure ends as ProviderUnavailable, a rate
    limit past the cap as RateLimited, an oversized body as ProviderDataError.
    """
    method = method.upper()
    # Host only: a path may carry a secret (bot tokens live in it).
    check_no_transaction(f"{method} {urlsplit(url).hostname}")
    if idempotent is None:
        idempotent = method in IDEMPOTENT_METHODS
    max_retries = settings.THINKALIKE_HTTP_MAX_RETRIES if retry and idempotent else 0
    if not settings.THINKALIKE_RATE_BUDGETS:
        budget = None
    classify_response = classify_response or classify.default
    kwargs.pop("stream", None)  # the body is always streamed, to cap its size
    name = display_name or provider_name(provider_slug)
    retries = 0
    started = time.monotonic()
    status: int | None = None
    error = ""
    try:
        while True:
            if budget is not None:
                try:
                    ratelimit.acquire(budget.key, budget.limit, budget.window,
                                      max_wait=settings.THINKALIKE_MAX_RETRY_AFTER)
                except RateLimited as exc:  # its message names the budget key, not the provider
                    raise RateLimited(RATE_LIMITED_MESSAGE.format(name=name),
                                      retry_after=cap_wait(exc.retry_after or 0)) from None
            try:
                response = session.request(
                    method, url, timeout=settings.THINKALIKE_HTTP_TIMEOUT, stream=True, **kwargs
                )
                status = response.status_code
                _read_body(response, name)
            except ProviderDataError:
                error = "ResponseTooLarge"
                raise
            except ProviderUnavailable:
                error = "ResponseTooSlow"
                raise
            except TRANSPORT_ERRORS as exc:
                error = type(exc).__name__
                retryable = isinstance(exc, RETRYABLE_ERRORS) and not isinstance(
                    exc, NOT_RETRYABLE_ERRORS)
                if not retryable or retries >= max_retries:
                    raise ProviderUnavailable(UNREACHABLE.format(name=name)) from None
                sleep(backoff_seconds(retries))
                retries += 1
                continue
            if status == 304 and budget is not None:
                ratelimit.refund(budget.key)
            verdict = classify_response(response)
            _note_limits(budget, response, verdict)
            if verdict.verdict == Verdict.RATE_LIMITED:
                wait = backoff_seconds(retries) if verdict.wait is None else cap_wait(verdict.wait)
                if retries >= max_retries or wait > settings.THINKALIKE_MAX_RETRY_AFTER:
                    raise RateLimited(RATE_LIMITED_MESSAGE.format(name=name), retry_after=wait)
                sleep(wait)
                retries += 1
                continue
            if (verdict.verdict == Verdict.TRY_LATER and status in RETRYABLE_STATUS
                    and retries < max_retries):
                sleep(backoff_seconds(retries))
                retries += 1
                continue
            return response
    finally:
        _record_call(
            url, secrets, connection_id=connection_id, provider=provider_slug, method=method,
            status_code=status, duration_ms=int((time.monotonic() - started) * 1000),
            retries=retries, error=error[:200],
        )


def _record_call(url: str, secrets: tuple[str, ...], **fields: Any) -> None:
    """Write the ApiCall row of a request. A failure to write it is logged, never raised: it
    would replace the request's own outcome (a token answer the provider will not repeat)."""
    try:
        parts = urlsplit(url)
        ApiCall.objects.create(host=(parts.hostname or "")[:255],
                               path=redact_text(parts.path, secrets)[:500], **fields)
    except (DatabaseError, ValueError) as exc:
        logger.warning("could not record a %s request to %s (%s)", fields.get("method"),
                       fields.get("provider"), type(exc).__name__)


class ApiClient:
    """An authenticated client for one provider, optionally bound to one connection."""

    def __init__(
        self,
        provider: Provider,
        *,
        connection: Connection | None = None,
        secrets: Mapping[str, str] | None = None,
        config: Mapping[str, Any] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.provider = provider
        self.connection = connection
        self.secrets = dict(secrets or {})
        if config is None:
            config = connection.config if connection is not None else {}
        self.config = dict(config or {})
        self.auth = provider.auth_for(self.config)
        # What the strategy authenticates with: the secrets, and the plain settings beside them
        # (a Basic user name, the header a custom API reads its key from).
        self._auth_values = {**{k: str(v) for k, v in self.config.items()}, **self.secrets}
        self.session = session or new_session()
        self.base_url = self.auth.base_url(provider.get_api_base_url(self.config),
                                           self._auth_values)
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

        if self.connection is None or not self.auth.uses_tokens:
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

    def request(self, method: str, url: str, *, idempotent: bool | None = None,
                **kwargs: Any) -> requests.Response:
        """An authenticated request, acted on as the provider's ``classify_response`` says.

        Only URLs with the API base's scheme, host and port are sent (the token goes with
        them). 401 refreshes the token once; then reconnect.
        """
        name = self.provider.name
        try:
            url = self.absolute(url)
        except ValueError:  # not even a URL (an unbalanced "[" in the host, say)
            raise ProviderDataError(FOREIGN_URL.format(name=name)) from None
        if not same_origin(url, self.base_url):
            raise ProviderDataError(FOREIGN_URL.format(name=name))
        extra_headers = kwargs.pop("headers", {})
        access_token = self._access_token()
        refreshed = False
        while True:
            headers = {
                **self.provider.default_headers(),
                **extra_headers,
                **self.auth.headers(access_token=access_token, secrets=self._auth_values),
            }
            response = send(
                self.session, method, url, headers=headers,
                provider_slug=self.provider.slug,
                connection_id=self.connection.pk if self.connection else None,
                secrets=self._known_secrets(access_token), budget=self.budget,
                idempotent=idempotent, classify_response=self.provider.classify_response,
                display_name=name, **kwargs,
            )
            status = response.status_code
            verdict = self.provider.classify_response(response).verdict
            if verdict == Verdict.REFRESH_THEN_RETRY and access_token and not refreshed:
                access_token = self._access_token(force_refresh=True, stale=access_token)
                refreshed = True
                continue
            if verdict in (Verdict.REFRESH_THEN_RETRY, Verdict.RECONNECT):
                raise ReauthRequired(REFUSED.format(name=name, status=status))
            if verdict == Verdict.RATE_LIMITED:  # send() raises these; a hook may disagree
                raise RateLimited(RATE_LIMITED_MESSAGE.format(name=name))
            if verdict == Verdict.TRY_LATER:
                raise ProviderUnavailable(UNAVAILABLE.format(name=name, status=status))
            if verdict == Verdict.CURSOR_REJECTED:
                raise CursorRejected(CURSOR_REFUSED.format(name=name))
            if verdict == Verdict.BAD_DATA:
                raise ProviderDataError(BAD_STATUS.format(name=name, status=status))
            return response

    def fetch(self, request: ApiRequest, *, etag: str = "",
              idempotent: bool | None = None) -> ApiResponse:
        """Send ``request`` and decode its JSON answer, checking the body for the provider's
        error markers. With ``etag`` the request is conditional: a 304 has no payload."""
        headers = {**request.headers, **({"If-None-Match": etag} if etag else {})}
        body: dict[str, Any] = {}
        if request.json is not None:
            body["json"] = request.json
        elif request.data is not None:
            body["data"] = dict(request.data)
        response = self.request(request.method, request.url, params=dict(request.params),
                                headers=headers, idempotent=idempotent, **body)
        if response.status_code == 304:
            return ApiResponse(304, response.headers, None)
        payload = None
        if response.status_code != 204:
            payload = parse_json(response.content or b"", name=self.provider.name)
            self.provider.check_payload(payload)
        return ApiResponse(response.status_code, response.headers, payload)

    def get_json(self, url: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET and decode JSON, checking the body for provider-specific error markers."""
        return self.fetch(ApiRequest(url, params=dict(params or {}))).payload

    def close(self) -> None:
        self.session.close()
