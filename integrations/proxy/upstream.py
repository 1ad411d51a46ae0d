"""One upstream request of the proxy, through ApiClient (the connection's auth, refresh on 401,
the shared provider budget, the body cap, the ApiCall row), and what its answer becomes: an
Entry to cache, or a ProxyError in the one error shape.

Sent once, without the transport's retries, and without sitting out the shared provider
budget for more than conf.BUDGET_MAX_WAIT_SECONDS: a person is waiting, a stale copy or "try
later" (503 upstream_rate_limited with Retry-After) serves them better than a minute of
backoff, and the single-flight lock is sized for one such fetch (conf.lock_seconds).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, quote_plus

import requests

from integrations import clock
from integrations.classify import OK, Classification, Verdict
from integrations.credentials import credential_for_use
from integrations.exceptions import (
    CredentialRefused,
    IntegrationError,
    ProviderDataError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    ReauthRequired,
)
from integrations.http import ApiClient
from integrations.models import Connection
from integrations.providers.base import Provider
from integrations.tokens import secret_values
from integrations.transport import parse_json

from . import conf
from .paths import Target
from .spec import ProxyError
from .store import Entry

# The answer's headers a caller may see, and under which name; everything else (hop-by-hop,
# Set-Cookie, auth, server details) stays here. The provider's rate headers tell a dashboard how
# much of the provider's budget is left; renamed, so no client takes them for this API's own.
PASSED_HEADERS = {"ETag": "ETag", "Last-Modified": "Last-Modified",
                  "X-RateLimit-Limit": "X-Upstream-RateLimit-Limit",
                  "X-RateLimit-Remaining": "X-Upstream-RateLimit-Remaining",
                  "X-RateLimit-Reset": "X-Upstream-RateLimit-Reset"}
MAX_HEADER_VALUE = 200

# Messages callers see; tests import them. They name the provider, never its answer's text.
RECONNECT = "{name} refused the stored credential; reconnect it to continue."
FORBIDDEN = "{name} refused this request (HTTP 403): the credential does not reach it."
NOT_ACTIVE = "This connection needs reconnecting before its data can be read."
UPSTREAM_DOWN = "{name} is not answering properly right now; try again later."
UPSTREAM_LIMITED = "{name} is limiting requests right now; try again later."
UPSTREAM_TIMEOUT = "{name} did not answer in time; try again later."
BAD_ANSWER = "{name} sent an answer the proxy does not pass on ({why})."
UPSTREAM_NOT_FOUND = "{name} has no such resource (HTTP 404)."
UPSTREAM_REJECTED = "{name} did not accept the request (HTTP {status}); check the parameters."


# Shorter values (a PIN-like password) would match ordinary text; they are not checked.
MIN_SECRET_LENGTH = 8


def sent_forms(value: str) -> set[str]:
    """``value`` and the forms a request carries it in: percent-encoded in a path (a bot token)
    or a query (a key parameter, encoded by ``requests`` with "+" for spaces)."""
    return {value, quote(value), quote(value, safe=""), quote_plus(value)}


def header_forms(headers: dict[str, str]) -> set[str]:
    """Every auth header value as sent, and its credential without the scheme: "Basic <base64
    of user:password>" -> the base64, "Bearer <token>" -> the token."""
    forms = set()
    for value in headers.values():
        forms.add(value)
        scheme, _, credential = value.partition(" ")
        if credential and scheme.isalpha():
            forms.add(credential.strip())
    return forms


class ProxyClient(ApiClient):
    """An ApiClient whose 4xx answers come back to the proxy instead of raising: the proxy
    tells a provider's 404 from a bad answer. Refusals, rate limits and 5xx keep their
    meaning (reconnect, try later)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Every credential form sent, a refreshed token's too: none may be passed on.
        self.sent_secrets: set[str] = set()
        self.refused_status: int | None = None  # the status of a refusal, for _refusal

    def _known_secrets(self, access_token: str) -> tuple[str, ...]:
        # Called once per attempt with the token that attempt sends: what the auth strategy
        # puts in the headers is derived here the same way ApiClient.request derives it.
        raw = [v for v in (access_token, *self.secrets.values()) if v]
        sent = header_forms(self.auth.headers(access_token=access_token,
                                              secrets=self._auth_values))
        for value in raw:
            sent |= sent_forms(value)
        self.sent_secrets |= {s for s in sent if len(s) >= MIN_SECRET_LENGTH}
        return tuple(dict.fromkeys([*super()._known_secrets(access_token),
                                    *sorted(self.sent_secrets)]))

    def classify(self, response: requests.Response) -> Classification:
        verdict = super().classify(response)
        if verdict.verdict in (Verdict.BAD_DATA, Verdict.CURSOR_REJECTED):
            return OK
        if verdict.verdict in (Verdict.REFRESH_THEN_RETRY, Verdict.RECONNECT):
            self.refused_status = response.status_code
        return verdict


def reconnect_error(provider: Provider, message: str = "", *, reauth: bool = False) -> ProxyError:
    return ProxyError(502, "reconnect_required", message or RECONNECT.format(name=provider.name),
                      outcome="reconnect", reauth=reauth)


def _refusal(client: ProxyClient, exc: ReauthRequired) -> ProxyError:
    """A refusal ApiClient raised (after its one refresh attempt), as the credential's or as
    this request's only. The rule:

    - a 401 (or any refusal but a 403, as a provider's hook classifies it) refuses the
      credential: the connection is flagged for reconnecting, as a sync flags it;
    - a 403 refuses this request only when the provider said why (CredentialRefused: a
      permission the key lacks, which the person fixes at the provider) or when it comes from
      a custom API, whose person-chosen paths may each have their own access rules;
    - any other 403 (ReauthRequired, the default reading of a declared endpoint's 403) refuses
      the credential.
    """
    provider = client.provider
    per_request = client.refused_status == 403 and (
        isinstance(exc, CredentialRefused) or bool(provider.proxy and provider.proxy.any_path))
    if per_request:
        message = exc.message if isinstance(exc, CredentialRefused) else ""
        return ProxyError(502, "upstream_forbidden",
                          message or FORBIDDEN.format(name=provider.name))
    return reconnect_error(provider, exc.message if isinstance(exc, CredentialRefused) else "",
                           reauth=True)


def _retry_after(seconds: float | None) -> int | None:
    return None if seconds is None else max(1, int(seconds + 0.999))


def _send(client: ProxyClient, target: Target, body: Any) -> requests.Response:
    provider = client.provider
    url = client.base_url + target.relative  # never resolved: it cannot climb out of the base
    extra: dict[str, Any] = {"json": body} if target.method == "POST" and body is not None else {}
    try:
        # The provider's own parameters (Plausible's site) come from the connection, never
        # from the caller: they are not declared, so a caller's copy was refused already.
        params = [*target.params, *provider.proxy_params(client.connection).items()]
        return client.request(target.method, url, params=params, retry=False,
                              idempotent=True, **extra)
    except ReauthRequired as exc:  # CredentialRefused too: the provider said why
        raise _refusal(client, exc) from None
    except RateLimited as exc:
        raise ProxyError(503, "upstream_rate_limited",
                         UPSTREAM_LIMITED.format(name=provider.name), outcome="retry",
                         retry_after=_retry_after(exc.retry_after)) from None
    except ProviderTimeout:
        raise ProxyError(504, "upstream_timeout", UPSTREAM_TIMEOUT.format(name=provider.name),
                         outcome="retry") from None
    except ProviderUnavailable:
        raise ProxyError(503, "upstream_unavailable", UPSTREAM_DOWN.format(name=provider.name),
                         outcome="retry") from None
    except ProviderDataError as exc:
        why = "too large" if "larger than" in exc.message else "not a usable answer"
        raise ProxyError(502, "bad_upstream", BAD_ANSWER.format(name=provider.name, why=why),
                         outcome="retry") from None
    except IntegrationError:
        raise ProxyError(502, "bad_upstream", BAD_ANSWER.format(name=provider.name,
                                                                why="an error"),
                         outcome="retry") from None


def _check_status(provider: Provider, status: int) -> None:
    if 200 <= status < 300:
        return
    if status == 404:
        raise ProxyError(404, "upstream_not_found", UPSTREAM_NOT_FOUND.format(name=provider.name))
    if status in (400, 422):
        raise ProxyError(400, "upstream_rejected",
                         UPSTREAM_REJECTED.format(name=provider.name, status=status))
    raise ProxyError(502, "bad_upstream",
                     BAD_ANSWER.format(name=provider.name, why=f"HTTP {status}"), outcome="retry")


def _media_type(response: requests.Response) -> str:
    return (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()


def _is_json(media: str) -> bool:
    return media == "application/json" or (media.startswith("application/")
                                           and media.endswith("+json"))


def _decode(provider: Provider, target: Target, response: requests.Response) -> tuple[Any, str]:
    """(payload, content type) of a 2xx answer: JSON unless the endpoint declares the type."""
    name = provider.name
    body = response.content or b""
    if len(body) > conf.max_bytes():
        raise ProxyError(502, "bad_upstream", BAD_ANSWER.format(name=name, why="too large"),
                         outcome="retry")
    media = _media_type(response)
    declared = {t.lower() for t in target.content_types}
    wants_json = "application/json" in declared
    if response.status_code == 204 or not body:
        return None, "application/json"
    if (media and _is_json(media) and wants_json) or (not media and wants_json):
        try:
            payload = parse_json(body, name=name)
            provider.check_payload(payload)
        except ProviderDataError:
            raise ProxyError(502, "bad_upstream", BAD_ANSWER.format(name=name, why="not JSON"),
                             outcome="retry") from None
        return payload, "application/json"
    if media in declared:
        try:
            return body.decode("utf-8"), media
        except UnicodeError:
            pass
    raise ProxyError(502, "bad_upstream", BAD_ANSWER.format(name=name, why="not JSON"),
                     outcome="retry")


def _passed_headers(response: requests.Response, secrets: list[str]) -> dict[str, str]:
    passed = {}
    for name, exposed in PASSED_HEADERS.items():
        value = response.headers.get(name)
        if (value and len(value) <= MAX_HEADER_VALUE and value.isascii()
                and value.isprintable() and not any(s in value for s in secrets)):
            passed[exposed] = value
    return passed


def _holds_secret(body: bytes, payload: Any, secrets: list[str]) -> bool:
    """Whether the answer repeats a secret in any form it was sent (an API that echoes
    request headers or its URL): in its raw bytes or in the decoded text (JSON may escape a
    "/" of a key or of a base64 pair)."""
    if not secrets:
        return False
    decoded = json.dumps(payload, ensure_ascii=False) if payload is not None else ""
    raw = body.decode("utf-8", errors="replace")
    return any(s in raw or s in decoded for s in secrets)


def credential_secrets(connection: Connection) -> tuple[dict[str, str], list[str]]:
    """(the non-OAuth secrets to authenticate with, every secret value to keep out of answers).
    An unreadable credential is a reconnect."""
    credential = credential_for_use(connection=connection)
    values = secret_values(credential)
    every = [*values.values()]
    if credential is not None:
        every += [credential.access_token, credential.refresh_token]
    forms = {form for s in every if s for form in sent_forms(s)}
    return values, sorted(s for s in forms if len(s) >= MIN_SECRET_LENGTH)


def fetch(*, connection: Connection, provider: Provider, target: Target, caller_id: int,
          outcome: str, body: Any = None) -> Entry:
    """Ask the provider for ``target`` once; its answer as an Entry, or ProxyError."""
    if connection.status != Connection.Status.ACTIVE:
        raise reconnect_error(provider, NOT_ACTIVE)
    try:
        secrets, known = credential_secrets(connection)
    except ReauthRequired as exc:  # unreadable: the credential is gone for every request
        raise reconnect_error(provider, exc.message, reauth=True) from None
    client = ProxyClient(provider, connection=connection, secrets=secrets,
                         audit={"caller_id": caller_id, "cache_outcome": outcome},
                         budget_max_wait=conf.BUDGET_MAX_WAIT_SECONDS)
    try:
        response = _send(client, target, body)
    finally:
        known += sorted(client.sent_secrets)
        client.close()
    _check_status(provider, response.status_code)
    payload, content_type = _decode(provider, target, response)
    if _holds_secret(response.content or b"", payload, known):
        raise ProxyError(502, "bad_upstream",
                         BAD_ANSWER.format(name=provider.name, why="it repeats the credential"),
                         outcome="retry")
    return Entry(status=response.status_code, payload=payload, content_type=content_type,
                 fetched_at=clock.time(), headers=_passed_headers(response, known))

