"""A widget's body: its data fetched through the external-API proxy, and rendered.

Called outside any transaction (the proxy may call the provider). The proxy owns the cache,
the rate limit, the audit row and the credential; this module only asks and draws.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from django.utils.safestring import SafeString, mark_safe

from integrations import clock
from integrations.proxy.service import proxy_request
from integrations.proxy.spec import ProxyError, ProxyResult

from . import chart, relative_dates, render
from .models import Widget
from .selectors import endpoint_for, proxy_spec_for

STALE = "STALE"
# Messages people see; tests import them.
UPDATED = "updated {age} ago"
STALE_TEXT = "stale: provider unreachable, updated {age} ago"
RECONNECT = "Reconnect {name} to see this again."
ALLOW = "Allow it on the Consent page."
TRY_LATER = "Try again later."
TRY_IN = "Try again in {seconds} s."
REFRESH_REFUSED = "Not refreshed: {message}"
RATE_LIMITED = 429


@dataclass(frozen=True)
class WidgetBody:
    widget: Widget
    number: render.NumberView | None = None
    table: render.TableView | None = None
    svg: SafeString | None = None
    fetched_at: datetime | None = None
    stale: bool = False
    error: str = ""
    # What the person can do about an error: "reconnect", "consent" or "retry".
    outcome: str = ""
    advice: str = ""
    # Shown above the data: why a refresh the person asked for did not happen.
    notice: str = ""


def age_text(fetched_at: datetime, now: datetime) -> str:
    """How old the data is: "40 s", "3 min", "2 h", "5 d"."""
    seconds = max(0, int((now - fetched_at).total_seconds()))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def freshness(body: WidgetBody, now: datetime | None = None) -> str:
    if body.fetched_at is None:
        return ""
    age = age_text(body.fetched_at, now or clock.now())
    return (STALE_TEXT if body.stale else UPDATED).format(age=age)


def _advice(widget: Widget, error: ProxyError) -> str:
    if error.outcome == "reconnect":
        return RECONNECT.format(name=widget.connection.provider_name)
    if error.outcome == "consent":
        return ALLOW
    if error.retry_after:
        return TRY_IN.format(seconds=error.retry_after)
    return TRY_LATER


def render_result(widget: Widget, result: ProxyResult) -> WidgetBody:
    """The body of a widget for one proxied answer (pure: no I/O)."""
    spec = proxy_spec_for(widget.connection)
    endpoint = endpoint_for(spec, widget.path) if spec is not None else None
    records_path = endpoint.records_path if endpoint is not None else ""
    common = {"widget": widget, "fetched_at": result.fetched_at,
              "stale": result.cache == STALE}
    payload = result.payload
    if widget.view == Widget.View.TABLE:
        return WidgetBody(table=render.table_view(payload, records_path=records_path), **common)
    if widget.view == Widget.View.LINE:
        series = chart.line_series(payload, records_path=records_path,
                                   time_field=widget.time_field, value_path=widget.value_path)
        # chart.line_svg builds the SVG with ElementTree, which escapes all it writes.
        what = widget.value_path.rsplit(".", 1)[-1] or "records"  # "delivered", not the path
        svg = chart.line_svg(series, title=widget.title, what=what,
                             dom_id=f"widget-{widget.pk}-chart")
        return WidgetBody(svg=mark_safe(svg), **common)
    return WidgetBody(number=render.number_view(payload, value_path=widget.value_path,
                                                records_path=records_path), **common)


def widget_body(*, widget: Widget, refresh: bool = False) -> WidgetBody:
    """Fetch and render one widget; a proxy refusal or an upstream failure becomes an error
    body saying what to do (reconnect, or try again later). A refresh over the person's rate
    limit shows what the cache holds instead, saying the refresh did not happen."""
    params = relative_dates.resolve_params(widget.params, clock.now())

    def ask(fresh: bool) -> ProxyResult:
        return proxy_request(connection=widget.connection, user=widget.user, method="GET",
                             path=widget.path, params=params, refresh=fresh)

    notice = ""
    try:
        try:
            result = ask(refresh)
        except ProxyError as exc:
            if not (refresh and exc.status == RATE_LIMITED):
                raise
            notice = REFRESH_REFUSED.format(message=exc.message)
            result = ask(False)
    except ProxyError as exc:
        return WidgetBody(widget=widget, error=exc.message, outcome=exc.outcome,
                          advice=_advice(widget, exc), notice=notice)
    return replace(render_result(widget, result), notice=notice)
