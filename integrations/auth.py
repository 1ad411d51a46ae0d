"""Auth strategies: one object per kind of credential.

A strategy owns what the connect form asks for, how a request is authenticated (a header, the
URL path), and whether the credential is an OAuth grant that can be refreshed and revoked
(tokens.py does both, through the strategy's token endpoint). Providers pick one; the shared
code asks the strategy, never "is this OAuth?".
"""

from __future__ import annotations

import base64
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import requests

from .formfields import FormField

if TYPE_CHECKING:
    from .providers.base import Provider

# Header names a person may choose for a custom API key: RFC 7230 token characters.
HEADER_NAME = r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}"
# What a request may still carry after a redirect to another origin (transport.py strips the
# rest): headers that steer the request and carry nothing secret.
REDIRECT_SAFE_HEADERS = frozenset({"accept", "accept-encoding", "accept-language", "connection",
                                   "content-length", "content-type", "cookie",
                                   "transfer-encoding", "user-agent"})
# A key header the person names may not be one of those (it would follow a redirect anywhere)
# nor one that steers the request itself.
RESERVED_HEADERS = REDIRECT_SAFE_HEADERS | {"host"}
# Shown to people when a credential is refused at connect; tests import them.
CREDENTIALS_REFUSED = "{name} did not accept these credentials. Nothing was saved."
PASSWORD_REFUSED = "{name} did not accept that user name and password. Nothing was saved."
# Printable ASCII without spaces: what every token, key and bot token here is made of.
TOKEN_PATTERN = r"[!-~]{1,1000}"


class AuthKind(enum.StrEnum):
    OAUTH2 = "oauth2"  # through allauth
    OAUTH2_PASSWORD = "oauth2_password"
    API_KEY = "api_key"
    BEARER = "bearer"
    BASIC = "basic"
    PAT = "pat"  # Basic with an empty user name
    BOT_TOKEN = "bot_token"
    USERNAME = "username"  # public data, identified by a username
    NONE = "none"


@dataclass(frozen=True)
class TokenEndpoint:
    """Where and how an OAuth grant is refreshed or a password exchanged for tokens."""

    url: str
    body: dict[str, str]  # client credentials, when the provider wants them in the body
    auth: requests.auth.AuthBase | None
    headers: dict[str, str]
    secrets: tuple[str, ...]  # what the outbound log must not show


@dataclass(frozen=True)
class ClientApp:
    """An OAuth client's id and secret: a person's own app (integrations/oauth_apps.py)."""

    client_id: str
    secret: str

    def __repr__(self) -> str:  # never the secret, in a traceback or a log line
        return f"ClientApp(client_id={self.client_id!r})"


@dataclass(frozen=True)
class AuthStrategy:
    kind: ClassVar[AuthKind]
    # Connected through the provider's sign-in page (allauth), not a form.
    via_allauth: ClassVar[bool] = False
    # Holds an OAuth access token (and maybe a refresh token) in the Credential.
    uses_tokens: ClassVar[bool] = False
    # Public data only: nothing private was shared, so there is nothing to revoke.
    public_only: ClassVar[bool] = False
    # What people read when the provider refuses the credential while it is tested at connect.
    refused_message: ClassVar[str] = CREDENTIALS_REFUSED

    def fields(self) -> tuple[FormField, ...]:
        """What the connect form asks for (besides the provider's own fields)."""
        return ()

    def base_url(self, base: str, secrets: Mapping[str, str]) -> str:
        """The API base to send requests under (a bot token lives in the path)."""
        return base

    def headers(self, *, access_token: str, secrets: Mapping[str, str]) -> dict[str, str]:
        return {}

    def token_endpoint(self, provider: Provider, client: ClientApp | None = None) -> TokenEndpoint:
        """``client`` is the app that issued the grant when it is a person's own; None means
        the operator's app."""
        raise NotImplementedError(f"{self.kind} credentials have no token endpoint")


@dataclass(frozen=True)
class OAuth2(AuthStrategy):
    """OAuth 2 through allauth: a Bearer access token, refreshed and revoked by tokens.py."""

    kind: ClassVar[AuthKind] = AuthKind.OAUTH2
    via_allauth: ClassVar[bool] = True
    uses_tokens: ClassVar[bool] = True

    def headers(self, *, access_token: str, secrets: Mapping[str, str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {access_token}"} if access_token else {}

    def token_endpoint(self, provider: Provider, client: ClientApp | None = None) -> TokenEndpoint:
        # allauth's apps load late. No request: allauth's adapter then lists the operator's
        # app only, never a person's (integrations/allauth/adapter.py).
        from allauth.socialaccount.adapter import get_adapter
        from allauth.socialaccount.providers import registry

        if client is None:
            app = get_adapter().get_app(None, provider.allauth_id)
            client = ClientApp(app.client_id, app.secret)
        adapter = registry.get_class(provider.allauth_id).oauth2_adapter_class(None)
        headers = {"Accept": "application/json", **(adapter.headers or {})}
        if adapter.basic_auth:
            return TokenEndpoint(adapter.access_token_url, {},
                                 requests.auth.HTTPBasicAuth(client.client_id, client.secret),
                                 headers, (client.secret,))
        return TokenEndpoint(adapter.access_token_url,
                             {"client_id": client.client_id, "client_secret": client.secret},
                             None, headers, (client.secret,))


@dataclass(frozen=True)
class OAuth2Password(OAuth2):
    """The resource owner password grant: the password is sent once to get tokens and is
    never stored or logged (it is not a secret field of the Credential)."""

    kind: ClassVar[AuthKind] = AuthKind.OAUTH2_PASSWORD
    via_allauth: ClassVar[bool] = False
    refused_message: ClassVar[str] = PASSWORD_REFUSED
    token_url: str = ""
    client_id: str = ""
    client_secret: str = ""
    username_label: str = "Email or username"

    def fields(self) -> tuple[FormField, ...]:
        return (FormField("username", self.username_label, max_length=200),
                FormField("password", "Password", secret=True, stored=False, max_length=500))

    def token_endpoint(self, provider: Provider, client: ClientApp | None = None) -> TokenEndpoint:
        body = {"client_id": self.client_id, "client_secret": self.client_secret}
        return TokenEndpoint(provider.get_token_url(self.token_url),
                             {k: v for k, v in body.items() if v}, None,
                             {"Accept": "application/json"}, tuple(filter(None, body.values())))


@dataclass(frozen=True)
class Bearer(AuthStrategy):
    """A key or token the person pastes, sent as ``Authorization: Bearer``."""

    kind: ClassVar[AuthKind] = AuthKind.BEARER
    label: str = "Access token"
    help_text: str = ""
    pattern: str = TOKEN_PATTERN

    def fields(self) -> tuple[FormField, ...]:
        return (FormField("token", self.label, self.help_text, secret=True, max_length=1000,
                          pattern=self.pattern),)

    def headers(self, *, access_token: str, secrets: Mapping[str, str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {secrets['token']}"} if secrets.get("token") else {}


@dataclass(frozen=True)
class ApiKey(AuthStrategy):
    """A key in a header the provider declares, or (``header=""``) one the person names."""

    kind: ClassVar[AuthKind] = AuthKind.API_KEY
    header: str = ""
    label: str = "API key"
    help_text: str = ""

    def fields(self) -> tuple[FormField, ...]:
        key = FormField("api_key", self.label, self.help_text, secret=True, max_length=1000,
                        pattern=TOKEN_PATTERN)
        if self.header:
            return (key,)
        return (FormField("header_name", "Header name", "The header the API reads the key "
                          "from, such as X-Api-Key.", max_length=64, pattern=HEADER_NAME), key)

    def headers(self, *, access_token: str, secrets: Mapping[str, str]) -> dict[str, str]:
        name = self.header or secrets.get("header_name", "")
        if not secrets.get("api_key") or not name or name.lower() in RESERVED_HEADERS:
            return {}
        return {name: secrets["api_key"]}


@dataclass(frozen=True)
class Basic(AuthStrategy):
    kind: ClassVar[AuthKind] = AuthKind.BASIC
    username_label: str = "User name"

    def fields(self) -> tuple[FormField, ...]:
        return (FormField("username", self.username_label, max_length=200),
                FormField("password", "Password", secret=True, max_length=500))

    def headers(self, *, access_token: str, secrets: Mapping[str, str]) -> dict[str, str]:
        return basic_header(secrets.get("username", ""), secrets.get("password", ""))


@dataclass(frozen=True)
class Pat(AuthStrategy):
    """A personal access token as HTTP Basic with an empty user name (Azure DevOps)."""

    kind: ClassVar[AuthKind] = AuthKind.PAT
    label: str = "Personal access token"
    help_text: str = ""

    def fields(self) -> tuple[FormField, ...]:
        return (FormField("token", self.label, self.help_text, secret=True, max_length=1000,
                          pattern=TOKEN_PATTERN),)

    def headers(self, *, access_token: str, secrets: Mapping[str, str]) -> dict[str, str]:
        return basic_header("", secrets.get("token", "")) if secrets.get("token") else {}


@dataclass(frozen=True)
class BotToken(AuthStrategy):
    """A bot token in the URL path (Telegram: ``/bot<token>/<method>``)."""

    kind: ClassVar[AuthKind] = AuthKind.BOT_TOKEN
    label: str = "Bot token"
    help_text: str = ""
    pattern: str = r"[0-9]{1,20}:[A-Za-z0-9_-]{20,100}"

    def fields(self) -> tuple[FormField, ...]:
        return (FormField("bot_token", self.label, self.help_text, secret=True,
                          max_length=130, pattern=self.pattern),)

    def base_url(self, base: str, secrets: Mapping[str, str]) -> str:
        return f"{base}bot{secrets.get('bot_token', '')}/"


@dataclass(frozen=True)
class Username(AuthStrategy):
    """Public data, found by a user name: nothing secret is kept."""

    kind: ClassVar[AuthKind] = AuthKind.USERNAME
    public_only: ClassVar[bool] = True
    label: str = "User name"
    help_text: str = ""
    pattern: str = r"[A-Za-z0-9_.-]{1,80}"

    def fields(self) -> tuple[FormField, ...]:
        return (FormField("username", self.label, self.help_text, max_length=80,
                          pattern=self.pattern),)


@dataclass(frozen=True)
class NoAuth(AuthStrategy):
    kind: ClassVar[AuthKind] = AuthKind.NONE
    public_only: ClassVar[bool] = True


def basic_header(user: str, password: str) -> dict[str, str]:
    pair = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {pair}"}


# For providers whose strategy the person chooses (a custom API): kind -> strategy.
CHOOSABLE: Mapping[str, AuthStrategy] = {
    AuthKind.BEARER: Bearer(),
    AuthKind.API_KEY: ApiKey(),
    AuthKind.BASIC: Basic(),
    AuthKind.NONE: NoAuth(),
}
