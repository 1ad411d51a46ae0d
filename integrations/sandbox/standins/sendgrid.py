"""A stand-in of SendGrid's v3 API for the demo: /v3/scopes and /v3/stats (global statistics
by day for any date range), with X-RateLimit-Limit/Remaining/Reset on every answer and
SendGrid's ``{"errors": [...]}`` bodies. Any key shaped like a SendGrid key is accepted."""

import hashlib
import re
from datetime import UTC, date, timedelta

from django.http import JsonResponse
from django.urls import path

from integrations import clock
from integrations.providers.sendgrid.mapping import METRICS

from .gate import stand_in_view

KEY = re.compile(r"Bearer SG\.[A-Za-z0-9_-]{16,64}\.[A-Za-z0-9_-]{16,128}")
SCOPES = ["alerts.read", "stats.global.read", "stats.read", "suppression.read",
          "user.profile.read"]
LIMIT = 600
MAX_DAYS = 366  # the stand-in's own bound on one answer


def errors(status: int, message: str, field: str | None = None) -> JsonResponse:
    return JsonResponse({"errors": [{"field": field, "message": message}]}, status=status)


def rate_headers(request) -> dict[str, str]:
    now = int(clock.time())
    return {"X-RateLimit-Limit": str(LIMIT), "X-RateLimit-Remaining": str(LIMIT - 1),
            "X-RateLimit-Reset": str(now - now % 60 + 60)}  # the next minute


sendgrid_view = stand_in_view(KEY, lambda: errors(401, "authorization required"), rate_headers)


def day_stats(day: date) -> dict:
    """Made-up but stable counts for one day."""
    seed = hashlib.sha256(day.isoformat().encode()).digest()
    delivered = 50 + seed[0]
    metrics = dict.fromkeys(METRICS, 0) | {
        "requests": delivered + seed[1] % 5, "processed": delivered + seed[1] % 5,
        "delivered": delivered, "opens": delivered * seed[2] // 512,
        "unique_opens": delivered * seed[2] // 768, "clicks": seed[3] % 20,
        "unique_clicks": seed[3] % 15, "bounces": seed[1] % 5, "deferred": seed[4] % 3}
    return {"date": day.isoformat(), "stats": [{"metrics": metrics}]}


def parse_day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value and len(value) == 10 else None
    except ValueError:
        return None


def stats(request) -> JsonResponse:
    today = clock.now().astimezone(UTC).date()
    start = parse_day(request.GET.get("start_date"))
    end = parse_day(request.GET.get("end_date")) if "end_date" in request.GET else today
    if start is None:
        return errors(400, "start_date is required, as YYYY-MM-DD", "start_date")
    if end is None or end < start:
        return errors(400, "end_date must be a date on or after start_date", "end_date")
    if request.GET.get("aggregated_by", "day") != "day":
        return errors(400, "this stand-in aggregates by day only", "aggregated_by")
    days = min((min(end, today) - start).days + 1, MAX_DAYS)
    return JsonResponse([day_stats(start + timedelta(days=n)) for n in range(max(days, 0))],
                        safe=False)


urlpatterns = [
    path("v3/scopes", sendgrid_view(lambda request: JsonResponse({"scopes": SCOPES}))),
    path("v3/stats", sendgrid_view(stats)),
]
