"""A stand-in of Plausible's Stats API v1 for the demo: realtime visitors, aggregate, timeseries
and breakdown of any site, with Plausible's ``{"error": ...}`` refusals (401 for a key of the
wrong shape or a site no key can read, 400 for a missing site or a bad parameter) and the
headers Phoenix sends. Any key shaped like a Plausible key is accepted; a site under the
reserved ``.invalid`` domain (RFC 2606) stands for one the key cannot read. Filters are
accepted and not applied."""

import hashlib
import re
from datetime import UTC, date

from django.http import JsonResponse
from django.urls import path

from integrations import clock
from integrations.providers.plausible import client

from . import plausible_data as data
from .gate import stand_in_view

KEY = re.compile(r"Bearer [A-Za-z0-9_-]{32,128}")
UNREADABLE_SITES = ".invalid"
JSON = "application/json; charset=utf-8"
MAX_DAYS = 731  # the stand-in's own bound on a custom range
DOCS = "https://plausible.io/docs/stats-api"
# Plausible's own words (PlausibleWeb.Plugs.AuthorizePublicAPI, Api.ExternalStatsController).
INVALID_KEY = ("Invalid API key or site ID. Please make sure you're using a valid API key with "
               "access to the site you've requested.")
MISSING_SITE = "Missing site ID. Please provide the required site_id parameter with your request."
BAD_PERIOD = ("Error parsing `period` parameter: invalid period `{}`. Please find accepted "
              f"values in our docs: {DOCS}#time-periods")
BAD_DATE = ("Error parsing `date` parameter: invalid_format. Please specify a valid date in "
            "ISO-8601 format.")
BAD_RANGE = ("Invalid format for `date` parameter. When using a custom period, please include "
             f"two ISO-8601 formatted dates joined by a comma. See {DOCS}#time-periods")
BAD_INTERVAL = ("Error parsing `interval` parameter: invalid interval `{}`. Valid intervals "
                "are `day`, `month`")
UNKNOWN_METRIC = ("The metric `{}` is not recognized. Find valid metrics from the "
                  f"documentation: {DOCS}#metrics")
REPEATED_METRIC = "Metrics cannot be queried multiple times."
# Metrics that need a goal or a page filter, which the stand-in does not model.
UNSUPPORTED_METRIC = {
    "conversion_rate": "Metric `conversion_rate` can only be queried in a goal breakdown or "
                       "with a goal filter",
    "time_on_page": "Metric `time_on_page` can only be queried in a page breakdown or with a "
                    "page filter.",
}
NO_BREAKDOWN_METRIC = "Metric `{}` is not supported in breakdown queries."
MISSING_PROPERTY = ("The `property` parameter is required. Please provide at least one property "
                    "to show a breakdown by.")
BAD_PROPERTY = ("Invalid property '{}'. Please provide a valid property for the breakdown "
                f"endpoint: {DOCS}#properties")
BAD_LIMIT = f"Please provide limit as a number between 1 and {client.MAX_BREAKDOWN_LIMIT}."
BAD_PAGE = "Please provide page as a positive number."


class Refused(Exception):
    """A query Plausible answers with 400 and this message."""


def error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status, content_type=JSON)


def phoenix_headers(request) -> dict[str, str]:
    request_id = hashlib.sha256(request.get_full_path().encode()).hexdigest()[:20]
    return {"Cache-Control": "max-age=0, private, must-revalidate", "X-Request-Id": request_id}


plausible_view = stand_in_view(KEY, lambda: error(401, INVALID_KEY), phoenix_headers)


def stats_view(answer):
    """The site check every Stats API read makes, then ``answer(params, site, today)``."""

    def view(request):
        site = request.GET.get("site_id", "")
        if not site:
            return error(400, MISSING_SITE)
        if site.endswith(UNREADABLE_SITES):
            return error(401, INVALID_KEY)
        try:
            body = answer(request.GET, site, clock.now().astimezone(UTC).date())
        except Refused as refused:
            return error(400, str(refused))
        return JsonResponse(body, safe=False, content_type=JSON)

    return plausible_view(view)


def parse_day(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip()) if len(value.strip()) == 10 else None
    except ValueError:
        return None


def days_of(params, today: date) -> tuple[str, list[date]]:
    period = params.get("period", "30d")
    if period not in client.PERIODS:
        raise Refused(BAD_PERIOD.format(period))
    anchor, custom = today, None
    if period == "custom":
        ends = [parse_day(end) for end in params.get("date", "").split(",")]
        if len(ends) != 2 or None in ends or ends[0] > ends[1]:
            raise Refused(BAD_RANGE)
        if (ends[1] - ends[0]).days >= MAX_DAYS:  # before the days are listed
            raise Refused(f"This stand-in answers ranges of up to {MAX_DAYS} days.")
        custom = (ends[0], ends[1])
    elif "date" in params:
        anchor = parse_day(params["date"])
        if anchor is None:
            raise Refused(BAD_DATE)
    try:
        return period, data.period_days(period, anchor, custom)
    except (ValueError, OverflowError):  # a period reaching before year 1
        raise Refused(BAD_DATE) from None


def metrics_of(params, *, breakdown: bool = False) -> list[str]:
    metrics = params.get("metrics", "visitors").split(",")
    if len(set(metrics)) != len(metrics):
        raise Refused(REPEATED_METRIC)
    for metric in metrics:
        if metric not in client.METRICS:
            raise Refused(UNKNOWN_METRIC.format(metric))
        if metric in UNSUPPORTED_METRIC:
            raise Refused(UNSUPPORTED_METRIC[metric])
        if breakdown and metric == "views_per_visit":
            raise Refused(NO_BREAKDOWN_METRIC.format(metric))
    return metrics


def whole(params, name: str, default: int, highest: int, message: str) -> int:
    value = params.get(name, str(default))
    if not (value.isascii() and value.isdigit() and 1 <= int(value) <= highest):
        raise Refused(message)
    return int(value)


def realtime(params, site: str, today: date) -> int:
    """Visitors of the last five minutes: the same all hour, at least one (the demo's own)."""
    hour = clock.now().astimezone(UTC).hour
    return 1 + data.hour_numbers(site, today, hour, today)["visitors"]


def aggregate(params, site: str, today: date) -> dict:
    _, days = days_of(params, today)
    totals = data.total([data.day_numbers(site, day, today) for day in days], metrics_of(params))
    return {"results": {name: {"value": value} for name, value in totals.items()}}


def timeseries(params, site: str, today: date) -> dict:
    period, days = days_of(params, today)
    interval = params.get("interval")
    if interval == "date":  # v1's old name for day
        interval = "day"
    if interval is not None and interval not in client.INTERVALS:
        raise Refused(BAD_INTERVAL.format(interval))
    metrics = metrics_of(params)
    if interval is None:  # Plausible's defaults: hours of one day, months of half a year
        interval = {"day": "hour", "6mo": "month", "12mo": "month"}.get(period, "day")
    if interval == "hour":
        return {"results": [
            {"date": f"{days[0].isoformat()} {hour:02d}:00:00",
             **data.total([data.hour_numbers(site, days[0], hour, today)], metrics)}
            for hour in range(24)]}
    slots: dict[str, list] = {}
    for day in days:
        slot = day.replace(day=1) if interval == "month" else day
        slots.setdefault(slot.isoformat(), []).append(data.day_numbers(site, day, today))
    return {"results": [{"date": slot, **data.total(rows, metrics)}
                        for slot, rows in slots.items()]}


def breakdown(params, site: str, today: date) -> dict:
    prop = params.get("property")
    if not prop:
        raise Refused(MISSING_PROPERTY)
    if prop not in data.PROPERTIES:
        raise Refused(BAD_PROPERTY.format(prop))
    _, days = days_of(params, today)
    metrics = metrics_of(params, breakdown=True)
    limit = whole(params, "limit", 100, client.MAX_BREAKDOWN_LIMIT, BAD_LIMIT)
    page = whole(params, "page", 1, 10**6, BAD_PAGE)
    visitors = sum(data.day_numbers(site, day, today)["visitors"] for day in days)
    rows = data.breakdown_rows(site, prop, visitors, metrics)
    return {"results": rows[(page - 1) * limit:page * limit]}


urlpatterns = [
    path(client.REALTIME, stats_view(realtime)),
    path(client.AGGREGATE, stats_view(aggregate)),
    path(client.TIMESERIES, stats_view(timeseries)),
    path(client.BREAKDOWN, stats_view(breakdown)),
]
