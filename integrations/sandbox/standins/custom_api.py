"""A sample custom API for the demo: what a person connects as a Custom API, by typing
``<THINKALIKE_SANDBOX_URL>/stand-ins/custom_api/`` as its base URL (allowed through
THINKALIKE_OUTBOUND_ALLOW=127.0.0.1, which the demo sets), "API key in a header" with the header
``X-Api-Key`` and the key DEMO_API_KEY, and ``/status`` as the test path. It answers like a small
real API: JSON, rate-limit headers, and 401 without the key."""

import secrets

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.http import require_GET

from ..guards import json_error, sandbox_required

# Public on purpose: the demo's README gives it to whoever runs the demo.
DEMO_API_KEY = "demo-custom-api-key-2026"
KEY_HEADER = "X-Api-Key"
RATE_LIMIT = 60  # per minute, as advertised in the headers; not enforced
STATIONS = [
    {"id": "st-001", "name": "Harbour", "temperature_c": 14.5, "updated_at": "2026-05-14T09:00Z"},
    {"id": "st-002", "name": "Old Town", "temperature_c": 16.0, "updated_at": "2026-05-14T09:05Z"},
    {"id": "st-003", "name": "Airport", "temperature_c": 12.8, "updated_at": "2026-05-14T09:10Z"},
]


def _answer(request, body: dict) -> JsonResponse:
    given = request.headers.get(KEY_HEADER, "")
    if not secrets.compare_digest(given.encode(), DEMO_API_KEY.encode()):
        return json_error("unauthorized", 401, f"Send the API key in the {KEY_HEADER} header.")
    response = JsonResponse(body)
    response["X-RateLimit-Limit"] = str(RATE_LIMIT)
    response["X-RateLimit-Remaining"] = str(RATE_LIMIT - 1)
    response["Cache-Control"] = "no-store"
    return response


@sandbox_required
@require_GET
def status(request):
    return _answer(request, {"status": "ok", "service": "Sample weather API", "version": "1.0"})


@sandbox_required
@require_GET
def stations(request):
    return _answer(request, {"items": STATIONS, "count": len(STATIONS), "next": None})


urlpatterns = [
    path("status", status, name="custom_api_status"),
    path("stations", stations, name="custom_api_stations"),
]
