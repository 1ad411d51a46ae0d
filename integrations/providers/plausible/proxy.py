"""What a dashboard may read from Plausible through the proxy: the four Stats API v1 reads.

``site_id`` is never a declared parameter: the proxy refuses undeclared ones, and the
provider's ``proxy_params`` adds the connection's own site to every request.
"""

from integrations.formfields import FormField
from integrations.proxy.spec import ProxyEndpoint, ProxySpec

from . import client

DAY = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
METRIC = "|".join(client.METRICS)


def _choices(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((value, value) for value in values)


PERIOD = FormField("period", "Period", "12mo, 6mo, month, 30d (the default), 7d, day, or "
                   "custom with a date range.", required=False, choices=_choices(client.PERIODS))
DATE = FormField("date", "Date", "YYYY-MM-DD, or two joined by a comma for a custom period.",
                 required=False, max_length=21, pattern=rf"{DAY}(,{DAY})?")
METRICS = FormField("metrics", "Metrics", "Comma-separated, such as visitors,pageviews.",
                    required=False, max_length=200, pattern=rf"({METRIC})(,({METRIC})){{0,8}}")
# Plausible's filter syntax (visit:browser==Firefox;event:page==/blog/**): its own grammar,
# checked by Plausible; here only one line of printable text.
FILTERS = FormField("filters", "Filters", "Such as visit:country==FR;event:page==/blog/**.",
                    required=False, max_length=500, pattern=r"[^\x00-\x1f\x7f]{1,500}")
PROPERTY = FormField("property", "Property", "What to break down by, such as visit:source or "
                     "event:page.", max_length=300,
                     pattern=r"(visit|event):[a-z_]{1,40}|event:props:[^\x00-\x1f\x7f]{1,250}")
LIMIT = FormField("limit", "Limit", "Rows, 1 to 1000 (default 100).", required=False,
                  max_length=4, pattern=r"[1-9][0-9]{0,2}|1000")
PAGE = FormField("page", "Page", "The page of rows, from 1.", required=False, max_length=5,
                 pattern=r"[1-9][0-9]{0,4}")
INTERVAL = FormField("interval", "Interval", "day or month.", required=False,
                     choices=_choices(client.INTERVALS))

PROXY = ProxySpec(
    endpoints=(
        ProxyEndpoint(f"/{client.AGGREGATE}", "Totals (visitors, pageviews, bounce rate...)",
                      params=(PERIOD, DATE, METRICS, FILTERS)),
        ProxyEndpoint(f"/{client.TIMESERIES}", "Visitors over time",
                      params=(PERIOD, DATE, METRICS, FILTERS, INTERVAL),
                      records_path="results", time_field="date"),
        ProxyEndpoint(f"/{client.BREAKDOWN}", "Top sources, pages, countries...",
                      params=(PROPERTY, PERIOD, DATE, METRICS, LIMIT, PAGE, FILTERS),
                      records_path="results"),
        ProxyEndpoint(f"/{client.REALTIME}", "Visitors now"),
    ),
    # The figures for analytics: Plausible's numbers change slowly, and a key allows
    # 600 requests an hour.
    ttl_seconds=600,
    requests_per_minute=10,
)
