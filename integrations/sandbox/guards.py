"""Checks shared by the sandbox's views: is it on, and which client is calling."""

import base64
import binascii
import secrets
from functools import wraps
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.http import Http404, JsonResponse


def sandbox_required(view):
    """404 unless THINKALIKE_SANDBOX is on, read per request so tests can switch it."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not settings.THINKALIKE_SANDBOX:
            raise Http404("The sandbox is switched off.")
        return view(request, *args, **kwargs)

    return wrapper


def json_error(error: str, status: int, description: str = "", **headers) -> JsonResponse:
    body = {"error": error}
    if description:
        body["error_description"] = description
    response = JsonResponse(body, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _same(given: str, expected: str) -> bool:
    return secrets.compare_digest(given.encode(), expected.encode())


def is_known_client(client_id: str) -> bool:
    return _same(client_id, settings.THINKALIKE_SANDBOX_CLIENT_ID)


CALLBACK_PATH = "/accounts/sandbox/login/callback/"
_LOOPBACK_TWINS = {"127.0.0.1": "localhost", "localhost": "127.0.0.1"}


def registered_redirect_uris() -> set[str]:
    """THINKALIKE_SANDBOX_REDIRECT_URIS plus the callback on the sandbox's own origin (and its
    loopback twin), read per request: tests and live servers move the sandbox to other ports."""
    own = urlsplit(settings.THINKALIKE_SANDBOX_URL)
    origins = {own.netloc}
    if own.hostname in _LOOPBACK_TWINS:
        twin = _LOOPBACK_TWINS[own.hostname]
        origins.add(f"{twin}:{own.port}" if own.port else twin)
    return {*settings.THINKALIKE_SANDBOX_REDIRECT_URIS,
            *(f"{own.scheme}://{netloc}{CALLBACK_PATH}" for netloc in origins)}


def is_registered_redirect_uri(uri: str) -> bool:
    # Exact string comparison (RFC 6749 3.1.2.3, OAuth 2.1 2.3.1): no prefix, host-only or
    # case-insensitive match, so a code is never delivered anywhere else.
    return uri in registered_redirect_uris()


def _basic_credentials(request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    # RFC 6749 2.3.1: both parts are form-urlencoded before being joined.
    return (unquote(client_id), unquote(secret)) if sep else None


def authenticated_client_id(request) -> str | None:
    """The client id if the request carries the right credentials (Basic or body), else None."""
    credentials = _basic_credentials(request) or (
        request.POST.get("client_id", ""), request.POST.get("client_secret", "")
    )
    client_id, secret = credentials
    if not client_id or not is_known_client(client_id):
        return None
    if not _same(secret, settings.THINKALIKE_SANDBOX_CLIENT_SECRET):
        return None
    return client_id
