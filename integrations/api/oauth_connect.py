"""Connecting an OAuth provider from the API: the person's browser does the connect.

``POST /api/v1/connections/`` answers an ``authorize_url`` on this site carrying a signed token
(django.core.signing, 10 minutes) that names the person, the provider and where to land
(``return_to``). Opened in a browser logged in as that person, the start page hands over to
allauth's connect, which ends on ``return_to``:

* a path of this site: allauth's ``next``, kept in its state and followed after the callback;
* an origin on ``THINKALIKE_API_RETURN_TO_ORIGINS``: allauth ends on our return page, which
  redirects there only with a second signed token naming that exact address.

Nothing else is ever redirected to, so neither page is an open redirect. The token is what
stands in for allauth's POST + CSRF check here: only its person can use it, only briefly, and
only once: it carries a nonce kept in the cache for its lifetime and deleted by its first use
(a delete is atomic on both cache backends: one of two simultaneous uses wins). A link opened
after the provider got connected some other way starts nothing: it lands where it would have.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.providers.base import AuthProcess
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ..oauth_apps import oauth_app_providers, provider_available_for
from ..providers.base import Provider
from ..providers.registry import PROVIDERS
from ..selectors import connection_for_provider
from .serializers import connection_status

START_SALT = "integrations.api.oauth_connect.start"
RETURN_SALT = "integrations.api.oauth_connect.return"
START_MAX_AGE = timedelta(minutes=10)
# The return token is made when the connect starts; the person then signs in at the provider,
# which allauth allows 10 minutes (its state's lifetime): a little more is kept for the way back.
RETURN_MAX_AGE = timedelta(minutes=15)
RETURN_TO_MAX_LENGTH = 2000

# Messages people see; tests import them.
RETURN_TO_REFUSED = (
    "Must be a path on this site (starting with a single /) or an address on an origin this "
    "site allows."
)
LINK_INVALID = "That connect link is not valid. Start again from your app."
LINK_EXPIRED = "That connect link has expired. Start again from your app."
LINK_OTHER_PERSON = "That connect link was made for someone else. Nothing was started."
NOT_AVAILABLE = "{name} cannot be connected on this site right now."
LINK_USED = "That connect link was already used. Start again from your app."
ALREADY_CONNECTED = "{name} is already connected."


def _origin(scheme: str, host: str, port: int | None) -> str:
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


def _allowed_origins() -> set[str]:
    origins = set()
    for origin in settings.THINKALIKE_API_RETURN_TO_ORIGINS:
        parts = urlsplit(origin.strip())
        if parts.scheme in ("http", "https") and parts.hostname:
            origins.add(_origin(parts.scheme, parts.hostname, parts.port))
    return origins


def return_to_is_site_path(value: str) -> bool:
    return value.startswith("/") and not value.startswith("//")


def return_to_check(value: str) -> str:
    """``value`` when it is an allowed place to land after a connect; ValueError otherwise.

    Allowed: a path of this site, or an http(s) address whose origin is listed in
    THINKALIKE_API_RETURN_TO_ORIGINS. Refused whatever else it looks like: backslashes and
    control characters (browsers read ``/\\evil.com`` and ``/\\t/evil.com`` as other hosts),
    ``//host``, user info, other schemes (``javascript:``).
    """
    if (not isinstance(value, str) or not value or len(value) > RETURN_TO_MAX_LENGTH
            or "\\" in value or any(ord(c) < 0x21 or ord(c) == 0x7F for c in value)):
        raise ValueError(RETURN_TO_REFUSED)
    if return_to_is_site_path(value):
        # Django's own check as well: it knows the tricks ours may not.
        parts = urlsplit(value)
        if parts.scheme or parts.netloc or not url_has_allowed_host_and_scheme(
                value, allowed_hosts=set()):
            raise ValueError(RETURN_TO_REFUSED)
        return value
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValueError(RETURN_TO_REFUSED) from None
    if (parts.scheme not in ("http", "https") or not parts.hostname or parts.username is not None
            or parts.password is not None or "@" in parts.netloc
            or _origin(parts.scheme, parts.hostname, port) not in _allowed_origins()):
        raise ValueError(RETURN_TO_REFUSED)
    return value


def authorize_url(request: HttpRequest, *, user: AbstractBaseUser, provider: Provider,
                  return_to: str = "") -> tuple[str, datetime]:
    """The absolute start address for ``user``'s browser, and when it stops working.
    ``return_to`` must have passed ``return_to_check``."""
    nonce = secrets.token_urlsafe(16)
    # A little longer than the token: the token's own max_age is what expires the link.
    cache.set(_nonce_key(nonce), user.pk, timeout=int(START_MAX_AGE.total_seconds()) + 60)
    token = signing.dumps({"u": user.pk, "p": provider.slug, "r": return_to, "n": nonce},
                          salt=START_SALT)
    path = reverse("integrations:api_connect_start") + "?" + urlencode({"token": token})
    return request.build_absolute_uri(path), timezone.now() + START_MAX_AGE


def _nonce_key(nonce: str) -> str:
    return f"integrations:api-connect-start:{nonce}"


def _consume(nonce: object) -> bool:
    """True the first time only: the link's nonce is deleted by its first use."""
    return isinstance(nonce, str) and bool(nonce) and bool(cache.delete(_nonce_key(nonce)))


def _refuse(request: HttpRequest, text: str) -> HttpResponse:
    messages.error(request, text)
    return redirect("integrations:connected_services")


def _next_url(user: AbstractBaseUser, return_to: str) -> str | None:
    if not return_to:
        return None  # allauth's default: Connected Services
    if return_to_is_site_path(return_to):
        return return_to
    token = signing.dumps({"u": user.pk, "r": return_to}, salt=RETURN_SALT)
    return reverse("integrations:api_connect_return") + "?" + urlencode({"token": token})


def _load(request: HttpRequest, salt: str, max_age: timedelta) -> dict | str:
    """The token's claims, or the message to refuse it with."""
    try:
        claims = signing.loads(request.GET.get("token", ""), salt=salt, max_age=max_age)
    except signing.SignatureExpired:
        return LINK_EXPIRED
    except signing.BadSignature:
        return LINK_INVALID
    if not isinstance(claims, dict):
        return LINK_INVALID
    if claims.get("u") != request.user.pk:
        return LINK_OTHER_PERSON
    return claims


@never_cache
@login_required
@require_GET
def api_connect_start(request: HttpRequest) -> HttpResponse:
    """Start allauth's connect of the provider the token names, as allauth's login view would
    after its POST, with ``next`` set to where the person asked to land."""
    claims = _load(request, START_SALT, START_MAX_AGE)
    if isinstance(claims, str):
        return _refuse(request, claims)
    # Used up once its person opens it, whatever follows: a link seen in a log, a history or
    # over a shoulder cannot start a connect again.
    if not _consume(claims.get("n")):
        return _refuse(request, LINK_USED if claims.get("n") else LINK_INVALID)
    provider = PROVIDERS.get(claims.get("p", ""))
    if provider is None or not provider.auth.via_allauth or not provider_available_for(
            provider, oauth_app_providers(user=request.user)):
        return _refuse(request, LINK_INVALID if provider is None
                       else NOT_AVAILABLE.format(name=provider.name))
    try:  # checked again: the list of allowed origins may have changed since
        return_to = return_to_check(claims["r"]) if claims.get("r") else ""
    except ValueError:
        return _refuse(request, LINK_INVALID)
    existing = connection_for_provider(user=request.user, provider=provider.slug)
    if existing is not None and connection_status(existing) == "connected":
        # Connected meanwhile (another tab, another link): a connect would replace a working
        # credential, which the API refuses too (409 already_connected).
        messages.info(request, ALREADY_CONNECTED.format(name=provider.name))
        return redirect(return_to or reverse("integrations:connection_detail",
                                             args=[existing.pk]))
    allauth_provider = get_adapter().get_provider(request, provider.allauth_id)
    return allauth_provider.redirect(request, AuthProcess.CONNECT,
                                     next_url=_next_url(request.user, return_to))


@never_cache
@login_required
@require_GET
def api_connect_return(request: HttpRequest) -> HttpResponse:
    """After the connect: on to the allowed origin the signed token names."""
    claims = _load(request, RETURN_SALT, RETURN_MAX_AGE)
    if isinstance(claims, str):
        return _refuse(request, claims)
    try:
        return HttpResponseRedirect(return_to_check(claims.get("r", "")))
    except ValueError:
        return _refuse(request, LINK_INVALID)
