"""A custom API: the person names it, types its base URL, picks how it authenticates and a path
to test. It has no data streams yet; the proxy of the next issue sends requests through it."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from integrations.auth import CHOOSABLE, AuthKind, AuthStrategy
from integrations.exceptions import ConnectionTestFailed, ReauthRequired
from integrations.providers.base import AccountInfo, Provider
from integrations.proxy.spec import ProxySpec

from . import fields as form

# Messages people see; tests import them.
CREDENTIALS_REFUSED = "The API refused the credentials (HTTP 401 or 403). Check them and the " \
                      "authentication kind. Nothing was saved."
NOT_SUCCESS = "The API answered the test path with HTTP {status}, not a success (2xx). Check " \
              "the base URL and the test path. Nothing was saved."
REVOKE_HELP = "Revoke the token or key in the API's own settings: we cannot do it for you."

MAX_ACCOUNT_ID = 255  # Connection.external_account_id


def account_id(base_url: str) -> str:
    """The connection's external id: the normalised base URL (it holds no secret: user info and
    queries are refused), or its digest when too long to store."""
    if len(base_url) <= MAX_ACCOUNT_ID:
        return base_url
    return "sha256:" + hashlib.sha256(base_url.encode()).hexdigest()


class CustomApiProvider(Provider):
    slug = "custom_api"
    name = "Custom API"
    description = "Any HTTP API you use: give its base URL, how it authenticates and a path " \
                  "to test. Tested before it is saved."
    icon = "AP"
    category = "custom"
    # The strategy a connection uses is the one its person chose (auth_for); this one stands
    # for the kind in general (a pasted credential, nothing to refresh).
    auth = CHOOSABLE[AuthKind.BEARER]
    user_base_url = True
    form_fields = form.FORM_FIELDS
    revoke_help = REVOKE_HELP
    # Any GET under the person's base URL; the cache time is theirs to choose (0 to 3600 s).
    proxy = ProxySpec(any_path=True, ttl_seconds=30, ttl_settable=True, requests_per_minute=30)

    def connect_fields(self):
        return form.CONNECT_FIELDS

    def auth_for(self, config: Mapping[str, Any]) -> AuthStrategy:
        # An unknown kind (a hand-edited row) sends no credential rather than a wrong one.
        return CHOOSABLE.get((config or {}).get("auth_kind"), CHOOSABLE[AuthKind.NONE])

    def get_api_base_url(self, config: Mapping[str, Any] | None = None) -> str:
        return (config or {}).get("base_url", "")

    def default_headers(self) -> dict[str, str]:
        # A custom API may answer a health check in plain text: do not make it refuse with 406.
        return {"Accept": "application/json, text/plain;q=0.9, */*;q=0.8"}

    def clean_connect_fields(self, fields: Mapping[str, str]) -> dict[str, str]:
        return form.clean(fields)

    def test_credentials(self, client, fields) -> AccountInfo:
        """GET the test path; any 2xx passes, whatever its body. The body is not parsed: a
        custom API's health check may answer text, and the proxy reads the real answers."""
        try:
            response = client.request("GET", fields.get("test_path") or form.DEFAULT_TEST_PATH)
        except ReauthRequired:  # 401 or 403: there is no token to refresh here
            raise ConnectionTestFailed(CREDENTIALS_REFUSED) from None
        if not 200 <= response.status_code < 300:
            raise ConnectionTestFailed(NOT_SUCCESS.format(status=response.status_code))
        base_url = client.base_url
        return AccountInfo(external_id=account_id(base_url), label=fields.get("name") or base_url)

    def test_connection(self, client, connection) -> AccountInfo:
        return self.test_credentials(client, connection.config)
