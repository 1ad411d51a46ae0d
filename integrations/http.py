"""ApiClient: the one way this project talks to providers.

An ApiClient authenticates requests with the connection's auth strategy (integrations/auth.py),
refreshes an OAuth token once on 401 (tokens.py), sends only to the API's own origin, and acts
on the provider's classification of each answer; transport.py does the sending itself (retries,
Retry-After, rate budgets, body limits, the ApiCall row). Every failure leaves as
ReauthRequired or TryLater (exceptions.py); provider modules never catch ``requests``
exceptions themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import requests

from . import ratelimit, tokens
from .classify import Classification, Verdict
from .exceptions import (
    CredentialRefused,
    CursorRejected,
    ProviderDataError,
    ProviderUnavailable,
    RateLimited,
    ReauthRequired,
)
from .outbound import safe_session
from .pagination import same_origin
from .transport import (
    BAD_STATUS,
    CURSOR_REFUSED,
    FOREIGN_URL,
    RATE_LIMITED_MESSAGE,
    REFUSED,
    UNAVAILABLE,
    Budget,
    new_session,
    parse_json,
    send,
)
from .wire import ApiRequest, ApiResponse

if TYPE_CHECKING:
    from .models import Connection
    from .providers.base import Provider


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
        access_token: str = "",
        audit: Mapping[str, Any] | None = None,
        budget_max_wait: float | None = None,
        retry: bool = True,
        timeout: float | tuple[float, float] | None = None,
    ) -> None:
        self.provider = provider
        # The periodic connection tests: no retries and a short timeout, so one slow or down
        # provider cannot hold a tick (None: THINKALIKE_HTTP_TIMEOUT).
        self.retry = retry
        self.timeout = timeout
        # How long a request may wait for a slot of the shared budget (None: the transport's
        # THINKALIKE_MAX_RETRY_AFTER); a person waiting on the answer cannot wait a minute.
        self.budget_max_wait = budget_max_wait
        # Extra fields of every ApiCall row this client writes (the proxy's caller, its cache
        # outcome).
        self.audit = dict(audit or {})
        # A token to test before anything is saved (a password grant's): no connection yet.
        self._given_token = access_token
        self.connection = connection
        self.secrets = dict(secrets or {})
        if config is None:
            config = connection.config if connection is not None else {}
        self.config = dict(config or {})
        self.auth = provider.auth_for(self.config)
        # What the strategy authenticates with: the secrets, and the plain settings beside them
        # (a Basic user name, the header a custom API reads its key from).
        self._auth_values = {**{k: str(v) for k, v in self.config.items()}, **self.secrets}
        if session is None:
            # A base URL the person typed may point anywhere: only checked public addresses.
            session = safe_session() if provider.user_base_url else new_session()
        self.session = session
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
        if self.connection is None or not self.auth.uses_tokens:
            return self._given_token
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

    def classify(self, response: requests.Response) -> Classification:
        """What ``response`` means: the provider's say, which a subclass may refine."""
        return self.provider.classify_response(response)

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
        retry = kwargs.pop("retry", self.retry) and self.retry  # the client's "no" wins
        timeout = kwargs.pop("timeout", None) or self.timeout
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
                idempotent=idempotent, classify_response=self.classify,
                display_name=name, audit=self.audit, budget_max_wait=self.budget_max_wait,
                retry=retry, timeout=timeout,
                **kwargs,
            )
            status = response.status_code
            verdict = self.classify(response).verdict
            if verdict == Verdict.REFRESH_THEN_RETRY and access_token and not refreshed:
                access_token = self._access_token(force_refresh=True, stale=access_token)
                refreshed = True
                continue
            if verdict in (Verdict.REFRESH_THEN_RETRY, Verdict.RECONNECT):
                if reason := self.provider.refusal_message(response):
                    raise CredentialRefused(reason)
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
