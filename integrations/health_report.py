"""Reads for the staff health overview, the daily digest and the usage charts.

Every figure is aggregated in the database (GROUP BY), so the number of queries and the work
per query do not grow with the number of connections, days or requests: health is counted
from the state recorded on each connection (integrations/health_record.py), never judged row by
row here. Errors are shown as our error codes with a fixed description per code, never the
provider's wording (which may name a person): they reach staff pages and an e-mail.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, Q, QuerySet, Sum

from consent.purposes import PURPOSES
from consent.selectors import allows_from_map, consent_map
from thinkalike.charts import Chart, bar_chart, day_labels, line_chart

from .health import STATE_WORDS, STATES
from .models import ApiCall, Connection, ProxyStat, SyncRun, UsageDay, UserInterest
from .providers.retired import provider_or_retired

RECENT_DAYS = 7  # the errors, waits and hit rates of the overview and the digest
CHART_DAYS = 30  # the usage charts
TOP_ERRORS = 10
ERROR_TEXT_MAX = 160
CHART_RUNS = 30
USAGE_SERIES = (("requests", "Requests"), ("errors", "Errors"),
                ("rate_limit_waits", "Rate-limit waits"), ("cache_hits", "Cache hits"))


def provider_name(slug: str) -> str:
    return provider_or_retired(slug).name


# Fixed wording per error code (integrations/exceptions.py and sync.py set the codes): the
# overview and the digest show these, never the stored message, which may quote a provider.
ERROR_DESCRIPTIONS = {
    "error": "Unexpected error",
    "internal_error": "An error in our code",
    "internal": "An error in our code",
    "reauth_required": "The provider refused the credential: the person must reconnect",
    "try_later": "A temporary problem: the next run tries again",
    "provider_unavailable": "The provider failed or did not answer in time",
    "rate_limited": "Rate limited (the provider's or our own budget)",
    "bad_provider_data": "The provider's answer was not what its API promises",
    "cursor_rejected": "The provider refused the stream's cursor: everything syncs again",
    "lease_lost": "Another run took the connection over",
    "lost": "The worker running the sync stopped; it was queued again",
    "unknown_provider": "The provider is no longer installed",
    "provider_not_available": "The provider is not configured here",
    "not_public": "The provider's data is not public",
    "query_refused": "The provider refused the query",
}
OTHER_ERROR = "Other error"
_CODE = re.compile(r"[A-Za-z0-9_.-]{1,50}")


def _code(value: str) -> str:
    """An error code or exception class name as stored by our code, else "other"."""
    value = (value or "").strip()
    return value if _CODE.fullmatch(value) else "other"


def error_description(code: str) -> str:
    return ERROR_DESCRIPTIONS.get(code, OTHER_ERROR)


def _http_description(status: int | None, error: str) -> str:
    if error:
        return f"No usable answer (HTTP {status})" if status else "No usable answer"
    if status == 429:
        return "Rate limited by the provider"
    if status in (401, 403):
        return "Credential refused"
    if status and status >= 500:
        return "Provider error"
    return "Request refused"


UNRECORDED = "unrecorded"  # health_state blank: not judged since it was added to the row
UNRECORDED_WORDS = "Not recorded yet"
OVERVIEW_STATES = [*STATES, UNRECORDED]


@dataclass
class ProviderHealth:
    provider: str
    name: str
    states: dict[str, int]  # state -> connections, every state present
    total: int = 0


def health_by_provider() -> list[ProviderHealth]:
    """Connections per provider and recorded health state (one GROUP BY query).

    The state is the one recorded at the connection's last sync, test or change
    (``Connection.health_state``); a row never judged since counts as "not recorded yet".
    """
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(OVERVIEW_STATES, 0))
    rows = (Connection.objects.order_by().values("provider", "health_state")
            .annotate(n=Count("pk")))
    for row in rows:
        state = row["health_state"] if row["health_state"] in STATES else UNRECORDED
        counts[row["provider"]][state] += row["n"]
    return [ProviderHealth(slug, provider_name(slug), states, sum(states.values()))
            for slug, states in sorted(counts.items())]


@dataclass(frozen=True)
class ErrorLine:
    source: str  # "sync" or "request"
    provider: str
    code: str  # our error code, exception class name or "HTTP <status>"
    what: str  # a fixed description: never the provider's wording
    count: int


def top_errors(*, since: datetime, limit: int = TOP_ERRORS) -> list[ErrorLine]:
    """The most frequent sync error codes and failed outbound requests since ``since``
    (2 queries; the runs' through the partial index on failed runs by time)."""
    runs = (SyncRun.objects.filter(queued_at__gte=since).exclude(error_code="")
            .values("connection__provider", "error_code")
            .annotate(n=Count("pk")).order_by("-n")[:limit])
    calls = (ApiCall.objects.filter(at__gte=since)
             .filter(~Q(error="") | Q(status_code__gte=400))
             .values("provider", "error", "status_code")
             .annotate(n=Count("pk")).order_by("-n")[:limit])
    found: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for row in runs:
        code = _code(row["error_code"])
        found["sync", row["connection__provider"], code, error_description(code)] += row["n"]
    for row in calls:
        code = _code(row["error"]) if row["error"] else f"HTTP {row['status_code']}"
        what = _http_description(row["status_code"], row["error"])
        found["request", row["provider"], code, what] += row["n"]
    lines = [ErrorLine(*key, count) for key, count in found.items()]
    lines.sort(key=lambda line: (-line.count, line.source, line.provider, line.code))
    return lines[:limit]


@dataclass(frozen=True)
class ProviderUsage:
    provider: str
    name: str
    requests: int
    errors: int
    rate_limit_waits: int
    wait_seconds: float


def usage_by_provider(*, since: date) -> list[ProviderUsage]:
    """Requests, errors and rate-limit waits per provider since the day ``since`` (1 query)."""
    rows = (UsageDay.objects.filter(day__gte=since).values("provider")
            .annotate(r=Sum("requests"), e=Sum("errors"), w=Sum("rate_limit_waits"),
                      s=Sum("wait_seconds")).order_by("provider"))
    return [ProviderUsage(row["provider"], provider_name(row["provider"]), row["r"] or 0,
                          row["e"] or 0, row["w"] or 0, round(row["s"] or 0.0, 1))
            for row in rows]


@dataclass(frozen=True)
class ProviderCache:
    provider: str
    name: str
    hits: int
    answered: int  # hits, misses, refreshes and stale answers (errors left out)
    errors: int

    @property
    def hit_rate(self) -> float | None:
        return self.hits / self.answered if self.answered else None

    @property
    def hit_rate_text(self) -> str:
        rate = self.hit_rate
        return "-" if rate is None else f"{rate:.0%}"


def cache_by_provider(*, since: date) -> list[ProviderCache]:
    """The external-API proxy's cache hit rate per provider since ``since`` (1 query)."""
    rows = (ProxyStat.objects.filter(day__gte=since).values("provider")
            .annotate(h=Sum("hits"), m=Sum("misses"), r=Sum("refreshes"), s=Sum("stale"),
                      e=Sum("errors")).order_by("provider"))
    return [ProviderCache(row["provider"], provider_name(row["provider"]),
                          row["h"] or 0, (row["h"] or 0) + (row["m"] or 0) + (row["r"] or 0)
                          + (row["s"] or 0), row["e"] or 0)
            for row in rows]


def _usage_days(usage: QuerySet[UsageDay], stats: QuerySet[ProxyStat], key: str,
                stat_key: str, *, since: date) -> dict[str, dict[date, dict[str, float]]]:
    """key value -> day -> {requests, errors, rate_limit_waits, cache_hits} (2 queries)."""
    found: dict[str, dict[date, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for row in (usage.filter(day__gte=since).values(key, "day")
                .annotate(requests=Sum("requests"), errors=Sum("errors"),
                          rate_limit_waits=Sum("rate_limit_waits")).order_by()):
        found[row[key]][row["day"]].update(
            requests=row["requests"], errors=row["errors"],
            rate_limit_waits=row["rate_limit_waits"])
    for row in (stats.filter(day__gte=since).values(stat_key, "day")
                .annotate(cache_hits=Sum("hits")).order_by()):
        found[row[stat_key]][row["day"]]["cache_hits"] = row["cache_hits"]
    return found


def usage_chart(days: dict[date, dict[str, float]], *, today: date, title: str,
                dom_id: str, span: int = CHART_DAYS) -> Chart:
    """Requests, errors, rate-limit waits and cache hits a day over the ``span`` days to today."""
    labels = day_labels(today - timedelta(days=span - 1), today)
    series = [(words, [days.get(day, {}).get(name) or 0 for day in labels])
              for name, words in USAGE_SERIES]
    return line_chart([day.isoformat() for day in labels], series, title=title,
                      what="Usage a day", dom_id=dom_id)


@dataclass
class ProviderChart:
    provider: str
    name: str
    chart: Chart


def usage_charts_by_provider(*, today: date, span: int = CHART_DAYS) -> list[ProviderChart]:
    """A usage chart per provider over the last ``span`` days (2 queries)."""
    since = today - timedelta(days=span - 1)
    found = _usage_days(UsageDay.objects.all(), ProxyStat.objects.all(), "provider",
                        "provider", since=since)
    return [ProviderChart(slug, provider_name(slug),
                          usage_chart(found[slug], today=today, span=span,
                                      title=f"{provider_name(slug)}: usage a day, last {span} days",
                                      dom_id=f"usage-{slug}"))
            for slug in sorted(found)]


def connection_usage_chart(*, connection: Connection, today: date,
                           span: int = CHART_DAYS) -> Chart:
    """The usage chart of one connection, nothing of anyone else's (2 queries)."""
    since = today - timedelta(days=span - 1)
    found = _usage_days(UsageDay.objects.filter(connection=connection),
                        ProxyStat.objects.filter(connection=connection), "connection",
                        "connection", since=since)
    return usage_chart(found.get(connection.pk, {}), today=today, span=span,
                       title=f"Requests to {provider_name(connection.provider)} a day, "
                             f"last {span} days", dom_id="connection-usage")


@dataclass
class SyncCharts:
    items: Chart
    duration: Chart


def connection_sync_charts(*, connection: Connection, limit: int = CHART_RUNS) -> SyncCharts:
    """Items fetched and created, and duration, of the connection's last ``limit`` finished
    syncs, oldest first (1 query)."""
    runs = list(SyncRun.objects.filter(connection=connection, finished_at__isnull=False)
                .order_by("-finished_at", "-pk")
                .values("pk", "started_at", "finished_at", "fetched", "created")[:limit])
    runs.reverse()
    labels = [f"{run['finished_at']:%Y-%m-%d %H:%M}" for run in runs]
    items = line_chart(labels, [("Fetched", [run["fetched"] for run in runs]),
                                ("Created", [run["created"] for run in runs])],
                       title=f"Items per sync, last {limit} syncs", what="Items per sync",
                       dom_id="sync-items")
    seconds = [max(0.0, (run["finished_at"] - run["started_at"]).total_seconds())
               if run["started_at"] else 0.0 for run in runs]
    duration = line_chart(labels, [("Seconds", seconds)],
                          title=f"Duration per sync, last {limit} syncs",
                          what="Seconds per sync", dom_id="sync-duration")
    return SyncCharts(items, duration)


@dataclass
class Overview:
    health: list[ProviderHealth]
    state_words: list[tuple[str, str]]  # every state of OVERVIEW_STATES, in order
    errors: list[ErrorLine]
    usage: list[ProviderUsage]
    cache: list[ProviderCache]
    since: date
    waits_chart: Chart | None = None
    charts: list[ProviderChart] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        return {state: sum(row.states[state] for row in self.health)
                for state in OVERVIEW_STATES}


def health_overview(*, now: datetime, with_charts: bool = True) -> Overview:
    """Everything the overview page and the digest show (about 7 queries, whatever the size)."""
    today = now.date()
    since_day = today - timedelta(days=RECENT_DAYS - 1)
    usage = usage_by_provider(since=since_day)
    overview = Overview(
        health=health_by_provider(),
        state_words=[*((state, STATE_WORDS[state]) for state in STATES),
                     (UNRECORDED, UNRECORDED_WORDS)],
        errors=top_errors(since=now - timedelta(days=RECENT_DAYS)),
        usage=usage,
        cache=cache_by_provider(since=since_day),
        since=since_day,
    )
    if with_charts:
        overview.waits_chart = bar_chart(
            [(row.name, row.rate_limit_waits) for row in usage],
            title=f"Rate-limit waits per provider, last {RECENT_DAYS} days", what="waits",
            dom_id="waits-per-provider")
        overview.charts = usage_charts_by_provider(today=today)
    return overview


TOP_INTERESTS = 10


@dataclass
class PurposeChart:
    purpose: str
    name: str
    chart: Chart


def interest_charts(*, user, limit: int = TOP_INTERESTS) -> list[PurposeChart]:
    """For the person's own My interests page: per purpose, their ``limit`` strongest interests
    as that purpose may use them now (consent read at this moment; across connections the
    strongest weight wins), as bar charts. A purpose with nothing to show has no chart.
    Two queries (consent, interests), whatever the number of interests."""
    answers = consent_map(user=user)
    # Keyed by slug, as interests_for_purpose is: two interests may share a label.
    weights: dict[str, dict[str, float]] = defaultdict(dict)
    labels: dict[str, str] = {}
    rows = UserInterest.objects.filter(user=user, purpose__in=list(PURPOSES)).values_list(
        "purpose", "interest__slug", "interest__label", "connection__provider", "weight")
    for purpose, slug, label, provider, weight in rows:
        if allows_from_map(answers, purpose, provider):
            seen = weights[purpose]
            seen[slug] = max(seen.get(slug, 0.0), weight)
            labels[slug] = label
    charts = []
    for slug, purpose in PURPOSES.items():
        if not weights.get(slug):
            continue
        top = sorted(weights[slug].items(),
                     key=lambda pair: (-pair[1], labels[pair[0]], pair[0]))[:limit]
        shown = [labels[key] for key, _ in top]
        bars = [(label if shown.count(label) == 1 else f"{label} ({key})",
                 round(max(0.0, min(1.0, weight)) * 100))
                for (key, weight), label in zip(top, shown, strict=True)]
        charts.append(PurposeChart(slug, purpose.name, bar_chart(
            bars, title=f"Top interests for {purpose.name}", what="strength (%)",
            dom_id=f"interests-{slug}", value_format=lambda v: f"{v:.0f}%")))
    return charts
