"""The sandbox's data API: bearer-protected, paged with limit/offset and a ``next`` URL.

Fault knobs are applied before authentication, like a gateway in front of a real API would.
"""

import random
import time
from functools import wraps
from urllib.parse import urlencode

from django.http import JsonResponse
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET

from . import data
from .guards import json_error, sandbox_required
from .models import SandboxKnobs
from .services import grant_for_access_token

MAX_LIMIT, DEFAULT_LIMIT = 100, 50


class BadRequest(Exception):
    pass


def _fault(knobs: SandboxKnobs) -> JsonResponse | None:
    if knobs.latency_ms:
        time.sleep(knobs.latency_ms / 1000)
    if random.random() < knobs.rate_limit_rate:
        return json_error("rate_limited", 429, Retry_After=str(knobs.retry_after_seconds))
    if random.random() < knobs.error_rate:
        return json_error("temporarily_unavailable", 503)
    return None


def api_view(required_scope: str):
    """Sandbox gate, GET only, faults, then a live bearer token holding ``required_scope``."""

    def decorate(view):
        @sandbox_required
        @require_GET
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            knobs = SandboxKnobs.get()
            if (fault := _fault(knobs)) is not None:
                return fault
            scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
            grant = grant_for_access_token(bearer.strip()) if scheme.lower() == "bearer" else None
            if grant is None:
                return json_error("invalid_token", 401,
                                  WWW_Authenticate='Bearer error="invalid_token"')
            if required_scope not in grant.scopes:
                return json_error("insufficient_scope", 403, WWW_Authenticate=(
                    f'Bearer error="insufficient_scope", scope="{required_scope}"'))
            try:
                return view(request, grant, knobs, *args, **kwargs)
            except BadRequest as error:
                return json_error("invalid_request", 400, str(error))

        return wrapper

    return decorate


def _int_param(request, name: str, default: int, low: int, high: int) -> int:
    raw = request.GET.get(name, "")
    try:
        value = int(raw) if raw != "" else default
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}")
    return value


def _page(request, items) -> JsonResponse:
    limit = _int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = _int_param(request, "offset", 0, 0, 10**9)
    next_url = None
    if offset + limit < len(items):
        params = {**request.GET.dict(), "limit": limit, "offset": offset + limit}
        next_url = request.build_absolute_uri(f"{request.path}?{urlencode(params)}")
    return JsonResponse({
        "items": items[offset:offset + limit], "total": len(items),
        "limit": limit, "offset": offset, "next": next_url,
    })


@api_view("profile.read")
def me(request, grant, knobs):
    return JsonResponse({"id": grant.account, "display_name": grant.account.title()})


@api_view("library.read")
def saved_tracks(request, grant, knobs):
    first = 1
    if since_raw := request.GET.get("updated_since"):
        try:  # an unencoded "+" in the offset arrives as a space
            since = parse_datetime(since_raw.replace(" ", "+"))
        except ValueError:
            since = None
        if since is None or since.tzinfo is None:
            raise BadRequest("updated_since must be an ISO 8601 datetime with a timezone")
        first = data.first_number_updated_after(since)
    return _page(request, data.tracks(grant.account, knobs.track_count, first=first))


@api_view("library.read")
def top_artists(request, grant, knobs):
    return _page(request, data.artists(grant.account, knobs.artist_count))
