"""Plausible Stats API v1 endpoints used here (paths relative to https://plausible.io/, so the
proxy's paths are the documented ones).

Every request names the site with ``site_id`` (its domain as configured in Plausible):
https://plausible.io/docs/stats-api-v1#concepts
"""

# https://plausible.io/docs/stats-api-v1#get-apiv1statsrealtimevisitors  (a bare integer)
REALTIME = "api/v1/stats/realtime/visitors"
# https://plausible.io/docs/stats-api-v1#get-apiv1statsaggregate
AGGREGATE = "api/v1/stats/aggregate"
# https://plausible.io/docs/stats-api-v1#get-apiv1statstimeseries
TIMESERIES = "api/v1/stats/timeseries"
# https://plausible.io/docs/stats-api-v1#get-apiv1statsbreakdown
BREAKDOWN = "api/v1/stats/breakdown"

# https://plausible.io/docs/stats-api-v1#time-periods
PERIODS = ("12mo", "6mo", "month", "30d", "7d", "day", "custom")
# https://plausible.io/docs/stats-api-v1#metrics
METRICS = ("visitors", "visits", "pageviews", "views_per_visit", "bounce_rate",
           "visit_duration", "events", "conversion_rate", "time_on_page")
# https://plausible.io/docs/stats-api-v1#get-apiv1statstimeseries  (interval)
INTERVALS = ("day", "month")
# https://plausible.io/docs/stats-api-v1#get-apiv1statsbreakdown  (limit: 1 to 1000)
MAX_BREAKDOWN_LIMIT = 1000

# The connect test: today's visitors, the cheapest query that needs both the key and the site.
TEST_QUERY = {"period": "day", "metrics": "visitors"}
