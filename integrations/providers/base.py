"""The declarative types a provider is made of: Provider, Stream, Action, FormField and results.

A provider package fills these in; OAuth, refresh, paging, retries and storage live once in the
shared modules (http.py, tokens.py, sync.py). Hooks here are small and named for what they
return.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from django.conf import settings

from integrations import classify
from integrations.auth import AuthKind, AuthStrategy, TokenEndpoint
from integrations.cursors import Cursor
from integrations.exceptions import ProviderDataError
from integrations.formfields import FormField
from integrations.pagination import Paginator
from integrations.proxy.spec import ProxySpec
from integrations.wire import ApiRequest, ApiResponse

if TYPE_CHECKING:
    import requests
    from requests.auth import AuthBase

    from integrations.http import ApiClient
    from integrations.models import Connection, Credential


@dataclass(frozen=True)
class MappedItem:
    """What a raw record becomes: the ExternalItem row, minus bookkeeping."""

    external_id: str
    title: str
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InterestSignal:
    slug: str  # "<category>:<slug>", e.g. "music:art-rock"
    label: str
    category: str
    weight: float = 1.0


@dataclass(frozen=True)
class AccountInfo:
    """The remote account a credential belongs to."""

    external_id: str
    label: str


def no_interests(attrs: Mapping[str, Any]) -> Iterable[InterestSignal]:
    return ()


# Discovered segments (lists, projects) are provider data: bounded like the rest.
MAX_SEGMENTS = 500
MAX_SEGMENT_VALUE = 200


@dataclass(frozen=True)
class Stream:
    """One kind of data a provider can sync, and the consent purposes it serves."""

    name: str
    label: str
    kind: str  # ExternalItem.kind of the rows it writes
    purposes: tuple[str, ...]
    path: str  # relative to the API base; {placeholders} come from the connection and segment
    paginator: Paginator
    # map_record(raw, segment) -> MappedItem; raises ProviderDataError on a bad record.
    map_record: Callable[[Mapping[str, Any], Mapping[str, str]], MappedItem]
    # interests(attrs) -> signals, from the stored attrs of one item (pure).
    interests: Callable[[Mapping[str, Any]], Iterable[InterestSignal]] = no_interests
    # String values may hold {placeholders} too (a JSON:API filter[userId]).
    params: Mapping[str, Any] = field(default_factory=dict)
    # The first request's method, headers and body (a GraphQL query is a POST with a JSON body);
    # ``json`` may be a function of the context (connection and segment values) for variables.
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    # fetch(client, request, etag) -> ApiResponse: how one page is fetched, where a provider
    # needs something the request cannot say. Nothing else about the flow can be overridden.
    fetch: Callable[[ApiClient, ApiRequest, str], ApiResponse] | None = None
    # One pass of the stream per segment: static (one per Open Library shelf), or a function
    # discover(client, connection) -> segments, asked at the start of each run (one per list,
    # project or account).
    segments: tuple[Mapping[str, str], ...] | Callable[
        [ApiClient, Connection], Iterable[Mapping[str, str]]] = ({},)
    # enrich(client, item) -> item: extra calls for new or changed items only.
    enrich: Callable[[ApiClient, MappedItem], MappedItem] | None = None
    # Incremental sync: the cursor (integrations/cursors.py: an ISO time or epoch field of the
    # records, or a token the paginator hands out) and the query parameter that sends it.
    incremental: bool = False
    cursor: Cursor | None = None
    since_param: str = ""
    # A pass that reaches more pages than this ends as bad provider data (a source that never
    # says it is done). Limits on what one item may store (integrations/limits.py): every string
    # is cut to max_string_length, every list (and object) to max_list_length entries, the title
    # to max_title_length; a record whose attrs are still over max_attrs_bytes of JSON is skipped.
    max_pages: int = 1000
    max_string_length: int = 1000
    max_list_length: int = 100
    max_title_length: int = 500
    max_attrs_bytes: int = 16 * 1024

    def segments_for(self, client: ApiClient, connection: Connection) -> list[dict[str, str]]:
        """This run's segments; discovered ones are checked like any provider data."""
        if not callable(self.segments):
            return [dict(segment) for segment in self.segments]
        found = []
        for segment in self.segments(client, connection):
            if not (isinstance(segment, Mapping) and all(
                    isinstance(k, str) and isinstance(v, str) and len(v) <= MAX_SEGMENT_VALUE
                    for k, v in segment.items())):
                raise ProviderDataError(f"a {self.label.lower()} segment has an unexpected shape")
            found.append(dict(segment))
            if len(found) > MAX_SEGMENTS:
                raise ProviderDataError(f"more than {MAX_SEGMENTS} {self.label.lower()} segments")
        return found

    def first_request(self, context: Mapping[str, str]) -> ApiRequest:
        """The stream's first request before paging, with {placeholders} filled from
        ``context`` (the connection's values and the segment's)."""
        body = self.json(context) if callable(self.json) else self.json
        params = {k: v.format(**context) if isinstance(v, str) else v
                  for k, v in self.params.items()}
        return ApiRequest(url=self.path.format(**context), method=self.method,
                          params=params, json=body, headers=dict(self.headers))

    def fetch_page(self, client: ApiClient, request: ApiRequest, *, etag: str = "") -> ApiResponse:
        if self.fetch is not None:
            return self.fetch(client, request, etag)
        # A page read changes nothing at the provider, whatever its method: safe to retry.
        return client.fetch(request, etag=etag, idempotent=True)


@dataclass(frozen=True)
class ActionResult:
    """What one write did at the provider: the id of what it created or changed, and a short
    line for people (no secret, no personal data beyond what they typed)."""

    external_id: str = ""
    summary: str = ""


@dataclass(frozen=True)
class Action:
    """One write a person may ask of a provider (DESIGN.md section 12).

    ``perform(client, data)`` makes the write and returns its ActionResult; ``data`` holds the
    declared fields only, already validated. It raises IntegrationError (through the client) on
    failure and never catches ``requests`` exceptions itself. The client it gets sends every
    request with ``idempotent`` forced to the declaration's (integrations/actions.py), so a
    non-idempotent write is never retried automatically, whatever ``perform`` passes.
    """

    name: str  # a slug: it appears in URLs and is stored on ActionRun
    label: str
    fields: tuple[FormField, ...]
    perform: Callable[[ApiClient, Mapping[str, str]], ActionResult]
    # Idempotent at the provider: sending it twice has the effect of once, so it may be retried.
    idempotent: bool = False
    scopes: tuple[str, ...] = ()
    description: str = ""


class Provider:
    """A provider's declaration. Subclasses set class attributes and override a few hooks."""

    slug: ClassVar[str]
    name: ClassVar[str]
    description: ClassVar[str]
    # A two-letter monogram shown in a coloured disc; emoji would need a font not every
    # system has.
    icon: ClassVar[str] = ""
    category: ClassVar[str] = ""
    # How a credential is asked for, sent, refreshed and revoked (integrations/auth.py).
    auth: ClassVar[AuthStrategy]
    allauth_id: ClassVar[str | None] = None
    # The dotted path of the allauth provider class (a custom one in the provider's folder, or
    # allauth's own), registered with allauth at start-up: no INSTALLED_APPS entry is needed.
    # Its client id and secret come from <ALLAUTH ID>_CLIENT_ID and _CLIENT_SECRET.
    allauth_provider: ClassVar[str] = ""
    # The scopes asked for at connect; allauth's provider reads them from here.
    scopes: ClassVar[tuple[str, ...]] = ()
    # True when a person may register their own OAuth app (client id and secret) for it, used
    # instead of the operator's for their connect, refresh and revoke (integrations/oauth_apps.py).
    personal_app: ClassVar[bool] = False
    api_base_url: ClassVar[str] = ""
    # True when integrations/sandbox/standins/ serves a loopback stand-in of the API for the
    # demo (THINKALIKE_STAND_INS).
    stand_in: ClassVar[bool] = False
    # A value the demo's connect page suggests, which the stand-in accepts.
    stand_in_example: ClassVar[str] = ""
    # The one user name a password-grant stand-in signs in (its password is the example).
    stand_in_username: ClassVar[str] = ""
    # True when the person gives the API's base URL: requests then go only to public https
    # addresses, checked after DNS resolution (integrations/outbound.py).
    user_base_url: ClassVar[bool] = False
    # (requests, seconds): the provider's published or observed limit; None when unknown.
    rate_limit: ClassVar[tuple[int, float] | None] = None
    # True where the provider limits each user rather than the whole app.
    rate_limit_per_connection: ClassVar[bool] = False
    # Fields of the connect form besides those of the auth strategy (a custom API's name).
    form_fields: ClassVar[tuple[FormField, ...]] = ()
    streams: ClassVar[tuple[Stream, ...]] = ()
    actions: ClassVar[tuple[Action, ...]] = ()
    # What the external-API proxy may reach for a dashboard (integrations/proxy/); None: nothing.
    proxy: ClassVar[ProxySpec | None] = None
    # RFC 7009 revocation endpoint, for providers that have one.
    revoke_url: ClassVar[str | None] = None
    revoke_help: ClassVar[str] = ""
    # Keys whose values diagnostics and error texts must never show.
    redact_keys: ClassVar[frozenset[str]] = frozenset(
        {"access_token", "refresh_token", "client_secret", "code", "code_verifier", "password"}
    )

    # -- availability ---------------------------------------------------------------------
    def is_available(self) -> bool:
        """Can people connect it on this installation (configured, switched on)? An OAuth
        provider needs its client id and secret."""
        if not self.auth.via_allauth:
            return True
        apps = settings.SOCIALACCOUNT_PROVIDERS.get(self.allauth_id or "", {}).get("APPS") or []
        return any(app.get("client_id") and app.get("secret") for app in apps)

    def unavailable_reason(self) -> str:
        if self.auth.via_allauth:
            prefix = (self.allauth_id or self.slug).upper()
            return f"Not configured here: set {prefix}_CLIENT_ID and {prefix}_CLIENT_SECRET."
        return ""

    @property
    def auth_kind(self) -> AuthKind:
        return self.auth.kind

    def auth_for(self, config: Mapping[str, Any]) -> AuthStrategy:
        """The strategy of one connection: the declared one, unless the person chose one."""
        return self.auth

    def connect_fields(self) -> tuple[FormField, ...]:
        return (*self.form_fields, *self.auth.fields())

    @property
    def supports_revoke(self) -> bool:
        return bool(self.get_revoke_url())

    def secret_keys(self) -> frozenset[str]:
        """Keys whose values diagnostics and error texts must never show: the declared ones and
        every secret field of the connect form (a key, a token, a password)."""
        return (Provider.redact_keys | self.redact_keys
                | {f.name for f in self.connect_fields() if f.secret})

    def get_stream(self, name: str) -> Stream:
        for stream in self.streams:
            if stream.name == name:
                return stream
        raise KeyError(name)

    def get_action(self, name: str) -> Action:
        for action in self.actions:
            if action.name == name:
                return action
        raise KeyError(name)

    # -- requests -------------------------------------------------------------------------
    @property
    def uses_stand_in(self) -> bool:
        return self.stand_in and settings.THINKALIKE_STAND_INS

    def get_api_base_url(self, config: Mapping[str, Any] | None = None) -> str:
        """The API base; ``config`` is the connection's (a custom API's base URL is there).
        In the demo, a provider with a stand-in is sent to it instead."""
        if self.uses_stand_in:
            return f"{settings.THINKALIKE_SANDBOX_URL.rstrip('/')}/stand-ins/{self.slug}/"
        return self.api_base_url

    def get_token_url(self, url: str) -> str:
        """Where a token endpoint at ``url`` is reached: there, or in the demo, for a provider
        with a stand-in, at the same path under the stand-in."""
        if self.uses_stand_in:
            return self.get_api_base_url() + urlsplit(url).path.lstrip("/")
        return url

    def get_rate_limit(self) -> tuple[int, float] | None:
        return self.rate_limit

    def get_revoke_url(self) -> str | None:
        return self.revoke_url

    def connection_params(self, connection: Connection) -> dict[str, str]:
        """Values for {placeholders} in stream paths."""
        return {}

    def proxy_params(self, connection: Connection) -> dict[str, str]:
        """Query parameters the proxy adds to every request it makes for ``connection``, from
        the connection's own settings (Plausible's ``site_id``). They are never declared among
        an endpoint's params, so a caller cannot send them, and they override the caller's."""
        return {}

    def default_headers(self) -> dict[str, str]:
        """Headers every request carries (an API version pin, a media type)."""
        return {"Accept": "application/json"}

    def check_payload(self, payload: Any) -> None:
        """Raise ProviderDataError when a successful response carries an error in its body."""

    def classify_response(self, response: requests.Response) -> classify.Classification:
        """What a response means: ok, refresh then retry, reconnect, rate limited (with the
        wait asked for), try later, or bad data. Providers that answer rate limits with a 403
        put ``classify.github_rate_limit`` or ``google_rate_limit`` in front of this."""
        return classify.default(response)

    def refusal_message(self, response: requests.Response) -> str:
        """Why the provider refused the credential, for people (a permission a restricted
        key lacks), or "" for the generic message. Called on answers classified RECONNECT or
        REFRESH_THEN_RETRY; must never echo the body's text, which may quote the key."""
        return ""

    # -- connect --------------------------------------------------------------------------
    def clean_connect_fields(self, fields: Mapping[str, str]) -> dict[str, str]:
        """The submitted connect values as they are tested and stored, before any request: a
        typed base URL checked and normalised, say. Raises IntegrationError (its message is for
        the person) to refuse them; nothing is saved then."""
        return dict(fields)

    def test_credentials(self, client: ApiClient, fields: Mapping[str, str]) -> AccountInfo:
        """Make a cheap call with the given form values; return the account they belong to.

        Raises ConnectionTestFailed with a message for the person when they are refused.
        """
        raise NotImplementedError

    def test_connection(self, client: ApiClient, connection: Connection) -> AccountInfo:
        """A cheap authenticated call for an existing connection ("Test connection")."""
        raise NotImplementedError

    def revoke_request(self, credential: Credential,
                       endpoint: TokenEndpoint) -> tuple[ApiRequest, AuthBase | None]:
        """The request that revokes the grant, and its client authentication. RFC 7009 by
        default: revoking the refresh token ends the whole grant."""
        if credential.refresh_token:
            token = {"token": credential.refresh_token, "token_type_hint": "refresh_token"}
        else:
            token = {"token": credential.access_token, "token_type_hint": "access_token"}
        return (ApiRequest(self.get_revoke_url() or "", method="POST",
                           data={**endpoint.body, **token}), endpoint.auth)


def require(record: Mapping[str, Any], key: str, kind: type | tuple[type, ...] = str) -> Any:
    """``record[key]`` checked against ``kind``; ProviderDataError instead of KeyError/TypeError."""
    if not isinstance(record, Mapping):
        raise ProviderDataError(f"expected an object, got {type(record).__name__}")
    value = record.get(key)
    wrong_type = not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool)
    if value is None or wrong_type:
        raise ProviderDataError(f"field {key!r} is missing or has the wrong type")
    if isinstance(value, str) and not value.strip():
        raise ProviderDataError(f"field {key!r} is empty")
    return value


def string_list(record: Mapping[str, Any], key: str) -> list[str]:
    """An optional list of strings; anything else in it is ignored, a non-list is an error."""
    value = record.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ProviderDataError(f"field {key!r} is not a list")
    return [v.strip() for v in value if isinstance(v, str) and v.strip()]
