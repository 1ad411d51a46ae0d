"""Sending one request: the retry policy, body limits, rate budgets and the outbound log.

ApiClient (http.py) and the token endpoint calls (tokens.py) both send through ``send()``:
a timeout, bounded retries with exponential backoff and full jitter on 5xx and connection
errors, ``Retry-After`` on 429 (seconds or an HTTP date, up to a cap), a streamed body with a
size and time limit, the shared rate budget, and one ApiCall row (host and path only: no
query string, no body). Nothing here knows about providers, tokens or connections.
"""

from __future__ import annotations

import http.client
import json
import logging
import math
import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from django.conf import settings
from django.db import DatabaseError

from . import classify, clock, ratelimit
from .addresses import RefusedAddress
from .auth import REDIRECT_SAFE_HEADERS
from .classify import Classification, Verdict, reset_at
from .exceptions import (
    ProviderDataError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
)
from .models import ApiCall
from .redaction import redact_text
from .txguard import check_no_transaction
from .usage import usage_count

logger = logging.getLogger(__name__)


def sleep(seconds: float) -> None:
    """Every backoff and Retry-After wait; on ``integrations.clock`` so tests need not wait."""
    clock.sleep(seconds)


@dataclass
class SentCount:
    """Requests this thread (context) really sent while counting: every attempt that went out,
    a token renewal's included; not a request refused a slot of the budget."""

    sent: int = 0


_sent_count: ContextVar[SentCount | None] = ContextVar("thinkalike_sent_count", default=None)


@contextmanager
def requests_counted() -> Iterator[SentCount]:
    """Count the requests ``send()`` sends in this thread while the block runs (the periodic
    connection tests pace on it: another worker's requests for the same connection are not
    this one's)."""
    count = SentCount()
    token = _sent_count.set(count)
    try:
        yield count
    finally:
        _sent_count.reset(token)


def request_sent() -> None:
    """Note one attempt (``send()`` calls it as each attempt, granted its budget slot, is
    handed to the HTTP session: one refused locally after that, by the address guard or DNS,
    counts too, as it used a slot of the provider's budget)."""
    count = _sent_count.get()
    if count is not None:
        count.sent += 1


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
# A refused address (outbound.py) is refused again: not worth another attempt either.
NOT_RETRYABLE_ERRORS = (requests.exceptions.SSLError, RefusedAddress)
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


def response_json(response: requests.Response, *, name: str) -> Any:
    """``parse_json`` of a response's body, naming the provider (``name``) in the error."""
    return parse_json(response.content or b"", name=name)


def _read_body(response: requests.Response, name: str,
               timeout: float | tuple[float, float] | None = None) -> None:
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
    deadline = clock.time() + body_seconds(timeout)
    chunks, size = [], 0
    for chunk in response.iter_content(BODY_CHUNK):
        size += len(chunk)
        if size > limit:
            response.close()
            raise too_large
        if clock.time() > deadline:
            response.close()
            raise ProviderTimeout(TOO_SLOW.format(name=name))
        chunks.append(chunk)
    response._content = b"".join(chunks)


def body_seconds(timeout: float | tuple[float, float] | None = None) -> float:
    """How long reading one response body may take in all: the read timeout (the request's,
    else THINKALIKE_HTTP_TIMEOUT's)."""
    timeout = timeout or settings.THINKALIKE_HTTP_TIMEOUT
    return float(timeout[1] if isinstance(timeout, tuple | list) else timeout)


def backoff_seconds(attempt: int) -> float:
    """Full jitter: uniform in [0, base * 2**attempt], capped."""
    ceiling = min(settings.THINKALIKE_HTTP_BACKOFF_CAP,
                  settings.THINKALIKE_HTTP_BACKOFF_BASE * (2**attempt))
    return random.uniform(0, ceiling)


class OriginBoundSession(requests.Session):
    """A session whose credentials stay on the origin they were meant for.

    requests strips only Authorization when a redirect leaves the origin; a key may sit in any
    header (X-Api-Key, one a person names for a custom API), so every header but the harmless
    ones is dropped there.
    """

    def rebuild_auth(self, prepared_request, response) -> None:
        if self.should_strip_auth(response.request.url, prepared_request.url):
            for name in list(prepared_request.headers):
                if name.lower() not in REDIRECT_SAFE_HEADERS:
                    del prepared_request.headers[name]
        super().rebuild_auth(prepared_request, response)


def new_session() -> requests.Session:
    session = OriginBoundSession()
    session.headers["User-Agent"] = settings.THINKALIKE_USER_AGENT
    return session


@dataclass(frozen=True)
class Budget:
    """A shared rate budget: at most ``limit`` requests per ``window`` seconds under ``key``."""

    key: str
    limit: int
    window: float


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
    audit: Mapping[str, Any] | None = None,
    budget_max_wait: float | None = None,
    timeout: float | tuple[float, float] | None = None,
    **kwargs: Any,
) -> requests.Response:
    """Send one logical request with the retry policy and write its ApiCall row.

    Every attempt first takes a slot of the shared ``budget`` (so all workers together stay
    under the provider's limit); a 304 gives it back, since providers do not count those.
    Retries failed connections and 5xx and waits out short rate limits (when ``retry`` and the
    request is idempotent: GET, HEAD and OPTIONS are, a write only when ``idempotent=True``);
    returns the final response, whatever its status, with its body read (at most
    THINKALIKE_MAX_RESPONSE_BYTES). Every transport failure ends as ProviderUnavailable, a rate
    limit past the cap as RateLimited, an oversized body as ProviderDataError. A timeout is
    ProviderTimeout (a ProviderUnavailable). ``audit`` adds fields to the ApiCall row (the
    proxy's caller and cache outcome). ``budget_max_wait`` bounds the wait for a slot of the
    budget (THINKALIKE_MAX_RETRY_AFTER by default): past it, RateLimited at once (the proxy,
    whose caller is waiting, passes 1 s). ``timeout`` replaces THINKALIKE_HTTP_TIMEOUT (the
    periodic connection tests pass a short one).
    """
    method = method.upper()
    # Host only: a path may carry a secret (bot tokens live in it).
    check_no_transaction(f"{method} {urlsplit(url).hostname}")
    if idempotent is None:
        idempotent = method in IDEMPOTENT_METHODS
    max_retries = settings.THINKALIKE_HTTP_MAX_RETRIES if retry and idempotent else 0
    if not settings.THINKALIKE_RATE_BUDGETS:
        budget = None
    if budget_max_wait is None:
        budget_max_wait = settings.THINKALIKE_MAX_RETRY_AFTER
    classify_response = classify_response or classify.default
    kwargs.pop("stream", None)  # the body is always streamed, to cap its size
    name = display_name or provider_slug
    retries = 0
    started = time.monotonic()
    status: int | None = None
    error = ""
    # For the usage counters (UsageDay): was anything sent, and how often and how long did a
    # rate limit (our budget's or the provider's 429) make this request wait.
    sent = False
    waits, waited = 0, 0.0
    try:
        while True:
            # The row and the counters tell how the request ended: an attempt that failed
            # before a later one succeeded shows only in ``retries``.
            status, error = None, ""
            if budget is not None:
                try:
                    slot_wait = ratelimit.acquire(budget.key, budget.limit, budget.window,
                                                  max_wait=budget_max_wait)
                except RateLimited as exc:  # its message names the budget key, not the provider
                    waits += 1  # refused a slot: waiting longer than allowed
                    raise RateLimited(RATE_LIMITED_MESSAGE.format(name=name),
                                      retry_after=cap_wait(exc.retry_after or 0)) from None
                if slot_wait:
                    waits, waited = waits + 1, waited + slot_wait
            sent = True
            request_sent()
            try:
                response = session.request(
                    method, url, timeout=timeout or settings.THINKALIKE_HTTP_TIMEOUT,
                    stream=True, **kwargs
                )
                status = response.status_code
                _read_body(response, name, timeout)
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
                    failure = (ProviderTimeout if isinstance(exc, requests.Timeout)
                               else ProviderUnavailable)
                    raise failure(UNREACHABLE.format(name=name)) from None
                sleep(backoff_seconds(retries))
                retries += 1
                continue
            if status == 304 and budget is not None:
                ratelimit.refund(budget.key)
            verdict = classify_response(response)
            _note_limits(budget, response, verdict)
            if verdict.verdict == Verdict.RATE_LIMITED:
                wait = backoff_seconds(retries) if verdict.wait is None else cap_wait(verdict.wait)
                waits += 1
                if retries >= max_retries or wait > settings.THINKALIKE_MAX_RETRY_AFTER:
                    raise RateLimited(RATE_LIMITED_MESSAGE.format(name=name), retry_after=wait)
                sleep(wait)
                waited += wait
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
            retries=retries, error=error[:200], **dict(audit or {}),
        )
        failed = bool(error) or (status is not None and status >= 400)
        usage_count(provider=provider_slug, connection_id=connection_id, requests=int(sent),
                    errors=int(sent and failed), waits=waits, wait_seconds=waited)


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


