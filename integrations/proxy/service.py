"""The external-API proxy (DESIGN.md section 14): ``proxy_request`` answers one proxied request
from the cache or the provider, and ``connection_set_proxy_ttl`` lets a person choose how long
a custom API's answers are cached.

A request goes: check the path, method and parameters against the provider's ProxySpec (400,
404, 405) -> refuse a connection that needs reconnecting (before the cache: a refused key's
data is not served, fresh or stale) -> a fresh cached answer is a HIT ->
otherwise one request for the whole site fetches (single flight, store.py) while identical
requests wait for its answer -> a provider that is down (5xx, timeout, unreachable, rate
limiting) is answered with the last good copy while it is within the stale bound. A provider
that refuses the credential itself (a 401 after the refresh attempt; upstream._refusal has the
rule for 403s) flags the connection for reconnecting, as a sync does.

Rate limit: a sliding minute per person and provider, on the shared budget machinery
(integrations/ratelimit.py: Redis or the database, atomic across processes). Only requests that
go to the provider count: a MISS when its fetch is about to be sent, and every REFRESH (the
caller's ``Cache-Control: no-cache``) up front, whether it ends up sending or shares another's
fetch. HITs, and requests answered by another request's fetch, cost the provider nothing and do
not count; the limit is there to protect the provider budget (which every upstream request also
takes a slot of), not to meter reads of our own cache.

Every upstream request is an ApiCall row with the caller and the cache outcome (miss or
refresh), written by the transport; every answer, hits included, is counted in ProxyStat.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from consent.purposes import DASHBOARD, PURPOSES
from consent.selectors import allows
from integrations import clock, ratelimit
from integrations.exceptions import IntegrationError, RateLimited
from integrations.models import Connection
from integrations.providers.base import Provider
from integrations.providers.registry import UnknownProvider, get_provider
from integrations.reauth import connection_mark_reauth

from . import conf, paths, store, upstream
from .spec import ProxyError, ProxyResult, ProxySpec
from .stats import proxy_stat_count

# Failures after which a stale copy is served: the provider is down or busy, or this request
# gave up waiting for another's fetch. Never after a refusal (reconnect) or a bad answer: those
# are not helped by old data.
STALE_ON = frozenset({"upstream_unavailable", "upstream_timeout", "upstream_rate_limited",
                      "upstream_busy"})
RATE_WINDOW_SECONDS = 60.0

# Messages callers see; tests import them.
NO_SUCH_CONNECTION = "No such connection among yours."
RATE_LIMITED = "Too many proxied requests to {name}: at most {limit} a minute. Try again in " \
               "{seconds} s."
BUSY = "Another request for the same data is still waiting for {name}; try again shortly."
TTL_NOT_SETTABLE = "{name} answers are cached for a fixed time."
TTL_OUT_OF_RANGE = "The cache time is a whole number of seconds from 0 to {limit}."


def sleep(seconds: float) -> None:
    """Every wait for another request's fetch; tests replace it."""
    clock.sleep(seconds)


def _provider(connection: Connection) -> tuple[Provider, ProxySpec]:
    try:
        provider = get_provider(connection.provider)
    except UnknownProvider:
        raise ProxyError(404, "not_proxied", paths.NOT_PROXIED) from None
    if provider.proxy is None:
        raise ProxyError(404, "not_proxied", paths.NOT_PROXIED)
    return provider, provider.proxy


CONSENT_REQUIRED = ("You have not allowed {purpose} to use data from {name}: allow it on the "
                    "Consent page to read it here.")


def _scope(connection: Connection) -> str:
    """What the connection reaches: a reconnect to another account or base URL changes it, so
    the old account's answers are never served for the new one."""
    return "|".join((connection.provider, connection.external_account_id,
                     str((connection.config or {}).get("base_url", ""))))


def _take_rate_slot(user_id: int, provider: Provider, spec: ProxySpec) -> None:
    limit = conf.requests_per_minute(provider.slug, spec)
    try:
        ratelimit.acquire(f"proxy:{provider.slug}:user:{user_id}", limit, RATE_WINDOW_SECONDS,
                          max_wait=0)
    except RateLimited as exc:
        seconds = max(1, math.ceil(exc.retry_after or 1))
        raise ProxyError(429, "rate_limited",
                         RATE_LIMITED.format(name=provider.name, limit=limit, seconds=seconds),
                         outcome="retry", retry_after=seconds) from None


def _still_active(connection: Connection) -> bool:
    """Read again, not the request's copy: a sync or another request may have flagged it."""
    return Connection.objects.filter(pk=connection.pk, status=Connection.Status.ACTIVE).exists()


def _flag_for_reconnect(connection: Connection, exc: ProxyError) -> None:
    """The provider refused the credential itself (upstream._refusal): flag the connection as
    a sync would, so nothing cached is served for it until the person reconnects. Called once
    the single-flight lock is released and outside any transaction (connection_mark_reauth's
    own is short); a connection flagged already is left as it is, with one audit line."""
    if _still_active(connection):
        connection_mark_reauth(connection=connection, reason=exc.message, actor="proxy")
    else:
        connection.status = Connection.Status.NEEDS_REAUTH


def _result(entry: store.Entry, cache: str, ttl: int) -> ProxyResult:
    return ProxyResult(
        status=entry.status, payload=entry.payload, content_type=entry.content_type,
        cache=cache, age_seconds=int(entry.age(clock.time())),
        fetched_at=datetime.fromtimestamp(entry.fetched_at, tz=UTC),
        headers=dict(entry.headers), ttl_seconds=ttl,
    )


def _fresh(entry: store.Entry | None, ttl: int, now: float) -> bool:
    return entry is not None and entry.age(now) < ttl


def _failure(exc: ProxyError) -> dict[str, Any]:
    return {"status": exc.status, "code": exc.code, "message": exc.message,
            "outcome": exc.outcome, "retry_after": exc.retry_after}


def _raise_failure(failure: dict[str, Any]) -> None:
    raise ProxyError(int(failure["status"]), str(failure["code"]), str(failure["message"]),
                     outcome=str(failure.get("outcome") or ""),
                     retry_after=failure.get("retry_after"))


def _single_flight(*, key: str, name: str, ttl: int, keep: float, refresh: bool,
                   started: float, refreshes: bool, fetch,
                   before_fetch) -> tuple[store.Entry, str]:
    """(entry, cache outcome) for ``key``: fetched here while holding the lock, or the answer
    of the request that holds it. An entry fetched since this request started is as new as one
    fetched for it, so a waiting refresh takes it too.

    Waits at most conf.wait_seconds(); a holder whose lock lapsed (it died) is passed over.
    """
    deadline = clock.time() + conf.wait_seconds(refreshes=refreshes)
    watched: str | None = None  # the token of the fetch this request waits for
    while True:
        if watched is not None:
            entry = store.get_entry(key)
            if entry is not None and (entry.fetched_at >= started
                                      or (not refresh and _fresh(entry, ttl, clock.time()))):
                return entry, "HIT"
            failure = store.failure_of(key, watched)
            if failure is not None:
                _raise_failure(failure)
        lock = store.try_lock(key, seconds=conf.lock_seconds(refreshes=refreshes))
        if lock is not None:
            try:
                if not refresh:  # filled while this request took its turn
                    entry = store.get_entry(key)
                    if _fresh(entry, ttl, clock.time()):
                        return entry, "HIT"
                    before_fetch()
                try:
                    entry = fetch()
                except ProxyError as exc:
                    store.publish_failure(lock, _failure(exc))
                    raise
                store.put_entry(key, entry, keep_seconds=keep)
                return entry, "REFRESH" if refresh else "MISS"
            finally:
                store.release(lock)
        current = store.holder(key)
        now = clock.time()
        if current is not None:
            token, until = current
            if until <= now:
                store.pass_over(key, token)
                continue
            watched = token
        if now >= deadline:
            raise ProxyError(503, "upstream_busy", BUSY.format(name=name),
                             outcome="retry", retry_after=5)
        sleep(conf.poll_seconds())


def proxy_request(*, connection: Connection, user: AbstractBaseUser, method: str, path: str,
                  params: Any, refresh: bool = False, body: Any = None) -> ProxyResult:
    """Answer ``method`` ``path`` with ``params`` for ``user``'s ``connection`` through the
    proxy: a ProxyResult whose ``cache`` is HIT, MISS, REFRESH or STALE, or ProxyError.

    ``params`` are (name, value) pairs, a QueryDict or a mapping; ``refresh`` skips the cache
    (and counts against the rate limit); ``body`` is a read-only POST's JSON body.
    Call it outside any transaction: it may send a request.
    """
    if connection.user_id != getattr(user, "pk", None):
        raise ProxyError(404, "not_found", NO_SUCH_CONNECTION)
    provider, spec = _provider(connection)
    try:
        result = _answer(connection, user, provider, spec, method, path, params, refresh, body)
    except ProxyError:
        proxy_stat_count(connection_id=connection.pk, provider=connection.provider,
                         outcome="ERROR")
        raise
    proxy_stat_count(connection_id=connection.pk, provider=connection.provider,
                     outcome=result.cache)
    return result


def _answer(connection: Connection, user: AbstractBaseUser, provider: Provider,
            spec: ProxySpec, method: str, path: str, params: Any, refresh: bool,
            body: Any) -> ProxyResult:
    target = paths.resolve(spec, method, path, params)
    if target.method != "POST":
        body = None
    if connection.status != Connection.Status.ACTIVE:
        raise upstream.reconnect_error(provider, upstream.NOT_ACTIVE)
    if not allows(user, DASHBOARD, provider.slug):
        # The proxy exists for the person's dashboard: what it reads is that purpose's data,
        # so it reads nothing the person has not allowed for it (checked before the cache too).
        raise ProxyError(403, "consent_required", CONSENT_REQUIRED.format(
            name=provider.name, purpose=PURPOSES[DASHBOARD].name), outcome="consent")
    ttl = conf.ttl_seconds(spec, connection.config)
    keep = ttl + conf.stale_seconds()
    key = store.entry_key(connection.pk, _scope(connection), target.method, target.path,
                          target.sorted_params(), body)
    started = clock.time()
    if not refresh:
        entry = store.get_entry(key)
        if _fresh(entry, ttl, started):
            return _result(entry, "HIT", ttl)
    else:
        _take_rate_slot(user.pk, provider, spec)

    def fetch() -> store.Entry:
        return upstream.fetch(connection=connection, provider=provider, target=target,
                              caller_id=user.pk, outcome="refresh" if refresh else "miss",
                              body=body)

    try:
        entry, outcome = _single_flight(
            key=key, name=provider.name, ttl=ttl, keep=keep, refresh=refresh, started=started,
            refreshes=provider.auth_for(connection.config or {}).uses_tokens, fetch=fetch,
            before_fetch=lambda: _take_rate_slot(user.pk, provider, spec))
    except ProxyError as exc:
        if exc.reauth:
            _flag_for_reconnect(connection, exc)
        elif exc.code in STALE_ON:
            entry = store.get_entry(key)
            if entry is not None and entry.age(clock.time()) <= keep:
                if not _still_active(connection):  # flagged meanwhile: no old data for it
                    raise upstream.reconnect_error(provider, upstream.NOT_ACTIVE) from None
                return _result(entry, "STALE", ttl)
        raise
    return _result(entry, outcome, ttl)


def connection_set_proxy_ttl(*, connection: Connection, seconds: Any) -> int:
    """Set how long the proxy caches ``connection``'s answers (where its provider lets the
    person choose: a custom API), 0 to 3600 seconds. Raises IntegrationError otherwise."""
    provider = get_provider(connection.provider)
    if provider.proxy is None or not provider.proxy.ttl_settable:
        raise IntegrationError(TTL_NOT_SETTABLE.format(name=provider.name), code="invalid_ttl")
    if (not isinstance(seconds, int) or isinstance(seconds, bool)
            or not 0 <= seconds <= conf.MAX_TTL_SECONDS):
        raise IntegrationError(TTL_OUT_OF_RANGE.format(limit=conf.MAX_TTL_SECONDS),
                               code="invalid_ttl")
    with transaction.atomic():
        locked = Connection.objects.select_for_update().get(pk=connection.pk)
        locked.config = {**(locked.config or {}), conf.TTL_CONFIG_KEY: seconds}
        locked.save(update_fields=["config", "updated_at"])
    connection.config = locked.config
    return seconds
