"""The sandbox's data API: bearer-protected, paged with limit/offset and a ``next`` URL.

Faults apply in the order a gateway in front of a real API would meet them: latency, the
enforced rate limit, the random 429 and 503 knobs, then authentication, and last the view's
own faults (expired cursors, broken pages). List pages carry a strong ETag and answer a
matching ``If-None-Match`` with 304, which does not count against the rate limit.
"""

import hashlib
import json
import random
import time
from functools import wraps
from urllib.parse import urlencode

from django.http import HttpResponse, HttpResponseNotModified, JsonResponse
from django.utils.dateparse import parse_datetime
from django.utils.http import parse_etags
from django.views.decorators.http import require_GET

from . import data
from .guards import json_error, sandbox_required
from .models import SandboxKnobs
from .services import (
    Admission,
    grant_holding_access_token,
    knobs_count_answered_request,
    request_admit,
    request_finish,
    request_log,
)

MAX_LIMIT, DEFAULT_LIMIT = 100, 50
MALFORMED_BODY = b'{"items": [{"id": "trk_00001", "title": <html>502 Bad Gateway</html>'


class BadRequest(Exception):
    pass


def _random_fault(knobs: SandboxKnobs) -> JsonResponse | None:
    if random.random() < knobs.rate_limit_rate:
        return json_error("rate_limited", 429, Retry_After=str(knobs.retry_after_seconds))
    if random.random() < knobs.error_rate:
        return json_error("temporarily_unavailable", 503)
    return None


def _bearer_grant(request):
    scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
    return grant_holding_access_token(bearer.strip()) if scheme.lower() == "bearer" else None


def _rate_headers(response: HttpResponse, admission: Admission) -> None:
    remaining = admission.remaining + (response.status_code == 304)  # a 304 gives it back
    response["X-RateLimit-Limit"] = str(admission.limit)
    response["X-RateLimit-Remaining"] = str(min(remaining, admission.limit))
    # Millisecond precision (GitHub sends whole seconds): clients that wait for the reset lose
    # no more than they must.
    response["X-RateLimit-Reset"] = f"{admission.reset_at:.3f}"


def api_view(required_scope: str):
    """Sandbox gate, GET only, faults, then a live bearer token holding ``required_scope``."""

    def decorate(view):
        def answer(request, knobs, grant, admission, args, kwargs) -> HttpResponse:
            if admission is not None and not admission.admitted:
                return json_error("rate_limited", 429, Retry_After=str(admission.retry_after))
            if (fault := _random_fault(knobs)) is not None:
                return fault
            if grant is None or not grant.is_live():
                return json_error("invalid_token", 401,
                                  WWW_Authenticate='Bearer error="invalid_token"')
            if required_scope not in grant.scopes:
                return json_error("insufficient_scope", 403, WWW_Authenticate=(
                    f'Bearer error="insufficient_scope", scope="{required_scope}"'))
            try:
                return view(request, grant, knobs, *args, **kwargs)
            except BadRequest as error:
                return json_error("invalid_request", 400, str(error))

        @sandbox_required
        @require_GET
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            knobs = SandboxKnobs.get()
            if knobs.latency_ms:
                time.sleep(knobs.latency_ms / 1000)
            grant = _bearer_grant(request)  # in any state: the limit is per client, live or not
            who = {"client_id": grant.client_id if grant else "",
                   "account": grant.account if grant else "", "path": request.path}
            admission = None
            if knobs.rate_limit_requests:
                admission = request_admit(**who, limit=knobs.rate_limit_requests,
                                          window_seconds=knobs.rate_limit_window_seconds)
            response = answer(request, knobs, grant, admission, args, kwargs)
            if admission is not None:
                request_finish(admission=admission, status=response.status_code)
                _rate_headers(response, admission)
            elif knobs.log_requests:
                request_log(**who, status=response.status_code)
            if knobs.revoke_after_requests:
                knobs_count_answered_request()
            return response

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


def _limit_offset(request) -> tuple[int, int]:
    return (_int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
            _int_param(request, "offset", 0, 0, 10**9))


def _etag(request, *content_keys) -> str:
    """Strong: equal only when the bytes are, so it hashes everything the page is built from
    (the absolute URL and every query parameter go into ``next``)."""
    source = json.dumps([
        data.FORMAT_VERSION, request.build_absolute_uri(request.path),
        sorted(request.GET.lists()), *content_keys,
    ])
    return '"' + hashlib.sha256(source.encode()).hexdigest()[:32] + '"'


def _not_modified(request, etag: str) -> bool:
    given = parse_etags(request.headers.get("If-None-Match", ""))
    return "*" in given or etag in [tag.removeprefix("W/") for tag in given]


def _page(request, items, limit: int, offset: int, etag: str | None) -> HttpResponse:
    if etag is not None and _not_modified(request, etag):
        response = HttpResponseNotModified()
        response["ETag"] = etag
        return response
    next_url = None
    if offset + limit < len(items):
        params = {**request.GET.dict(), "limit": limit, "offset": offset + limit}
        next_url = request.build_absolute_uri(f"{request.path}?{urlencode(params)}")
    response = JsonResponse({
        "items": items[offset:offset + limit], "total": len(items),
        "limit": limit, "offset": offset, "next": next_url,
    })
    if etag is not None:
        response["ETag"] = etag
    return response


@api_view("profile.read")
def me(request, grant, knobs):
    return JsonResponse({"id": grant.account, "display_name": grant.account.title()})


@api_view("library.read")
def saved_tracks(request, grant, knobs):
    since = None
    if since_raw := request.GET.get("updated_since"):
        if knobs.reject_cursors:
            return json_error("cursor_expired", 410)
        try:  # an unencoded "+" in the offset arrives as a space
            since = parse_datetime(since_raw.replace(" ", "+"))
        except ValueError:
            since = None
        if since is None or since.tzinfo is None:
            raise BadRequest("updated_since must be an ISO 8601 datetime with a timezone")
    limit, offset = _limit_offset(request)
    page_number = offset // limit + 1
    items = data.tracks(
        grant.account, knobs.track_count, revision=knobs.data_revision, updated_since=since
    )
    if page_number == knobs.malformed_page:
        return HttpResponse(MALFORMED_BODY, content_type="application/json")
    etag = _etag(request, "tracks", grant.account, knobs.track_count, knobs.data_revision)
    if page_number == knobs.truncated_page:
        whole = _page(request, items, limit, offset, etag=None)
        return HttpResponse(whole.content[:len(whole.content) // 2],
                            content_type="application/json")
    return _page(request, items, limit, offset, etag)


@api_view("library.read")
def top_artists(request, grant, knobs):
    limit, offset = _limit_offset(request)
    etag = _etag(request, "artists", grant.account, knobs.artist_count)
    return _page(request, data.artists(grant.account, knobs.artist_count), limit, offset, etag)
