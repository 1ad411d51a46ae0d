"""Periodic connection tests: each active connection once per interval, spread over it, inside
each provider's rate budget. The schedule ``thinkalike-test-connections`` runs
``connection_tests_run_due`` every few minutes (a tick).

Spread: a connection's slots are fixed points in time, one interval apart, at a phase derived
from its pk (a multiplicative hash modulo the interval): N connections fall evenly over the
interval however and whenever they were created, and stay so, since after each test the next
slot is the same phase one interval on. ``next_test_at`` holds the next slot; a tick gives one
to each connection that has none (a new connection is first tested within one interval; it has
just synced). Changing THINKALIKE_CONNECTION_TEST_INTERVAL_MINUTES takes effect at each
connection's next test.

Budget: per tick and provider, at most THINKALIKE_CONNECTION_TEST_BUDGET_SHARE of what the
provider's declared rate limit allows in a tick (at least one test), and none while its budget
is blocked by a Retry-After. Within the tick a provider's tests are paced: after a test that
sent N requests (counted as this thread sends them, transport.requests_counted: a sync of the
same connection running meanwhile is not charged to the test), its next test waits
N x window / (share x limit) from the test's end, so in any window of the
provider's the tests take about the share of it (at most ceil(share x limit) requests, at
least one), not a burst at the start of the tick. The waits happen in the worker, so a tick
waits at most THINKALIKE_CONNECTION_TEST_MAX_PACING_SECONDS (60) in all: a backlog of a slow-paced
provider (AniList: one test every 20 s plus the test's own time, so 3 a tick) then takes
several ticks rather than hold, four minutes in five, one of the workers that syncs need; the
connections a tick leaves due are counted per provider (TickResult.left_due) and logged as a
warning, so a growing backlog shows. A test takes its requests from the same
shared budget as syncs (ApiClient) but never waits for a slot: when the budget is used up it
raises RateLimited, the connection is due again on the next tick (not a failure) and the
provider gets no more tests this tick. Providers limited per connection (or not at all) are
not paced and are bounded by THINKALIKE_CONNECTION_TESTS_PER_TICK, as are all providers
together.

Fairness: the providers take turns, one test each per pass (round-robin), so a slow provider
delays the others by one test at most; each test has a short timeout
(THINKALIKE_CONNECTION_TEST_HTTP_TIMEOUT) and no retries, and no test starts after 80% of the
tick. A provider that is down (ProviderUnavailable: 5xx, a timeout, unreachable) ends its own
turn for the tick at its first such failure: the connection tested is charged it, the rest
stay due, uncharged.

One tick at a time: a tick takes a cache key (``cache.add``, shared by every worker: Redis or
the database cache) that expires after two ticks and 5 minutes (``tick_lock_seconds``: longer
than the longest tick, whose last test may start at 80% of it and wait for a token renewal); a
tick that finds it taken does nothing, so overlapping ticks cannot exceed a provider's cap. The
tick's time (the 80%, the pacing bound) runs from when the lock is taken.

Claim: a conditional UPDATE of ``next_test_at`` (still due -> the next slot at least
interval - tick ahead, so a late claim is not tested again minutes later), so two ticks on two
machines test a connection once. The test runs outside any transaction.

Outcomes: a refused credential (ReauthRequired), or a test the provider failed
(ConnectionTestFailed: a refused or wrong key; the API's test calls it "reconnect" too), flags
the connection for reconnecting through ``connection_mark_reauth``, as a sync would. Any other
failure (the provider down, bad data) is transient and counts as a failed test:
``consecutive_test_failures`` goes up and ``last_test_error`` says why (apart from the syncs'
``last_error``), so three in a row make it failing (health.py judges on the larger of the sync
and the test failures, and quotes the error of whichever decides). A passing test resets the
test failures and their error but never the sync failures: a working credential does not prove
that syncing works. Then the health is recorded (and notified). Another worker renewing the
token meanwhile (RenewingElsewhere) is, like a used-up budget, no test at all: due again on
the next tick, uncharged (the provider's turn goes on).

Skipped: connections not active or in error (disabled, needs reconnecting), with sync off,
whose provider has nothing to sync or is no longer installed.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from time import monotonic, sleep

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, F, Q
from django.utils import timezone

from . import ratelimit
from .exceptions import (
    ConnectionTestFailed,
    IntegrationError,
    ProviderUnavailable,
    RateLimited,
    ReauthRequired,
    RenewingElsewhere,
)
from .health_record import connection_health_record, connections_health_baseline
from .models import Connection
from .providers.base import Provider
from .providers.registry import PROVIDERS, syncing_provider_slugs
from .reauth import connection_mark_reauth
from .redaction import redact_text
from .services import connection_test
from .transport import requests_counted

logger = logging.getLogger(__name__)

TEST_TASK = "integrations.tasks.test_due_connections"  # in Schedule.func: keep the name
TESTED_STATUSES = (Connection.Status.ACTIVE, Connection.Status.ERROR)
# Knuth's multiplicative hash: consecutive pks land far apart in the interval.
SPREAD_MULTIPLIER = 2654435761
SEED_BATCH = 1000

TICK_LOCK = "integrations:connection-tests:tick"
OK, FAILED, UNAVAILABLE, RECONNECT, RATE_LIMITED, RENEWING, CRASHED = (
    "ok", "failed", "unavailable", "reconnect", "rate_limited", "renewing", "crashed")
# The tick lock outlives the longest tick: no test starts after 80% of the tick, and the last
# one may then take its worst (a token renewal waited for up to THINKALIKE_REFRESH_WAIT_SECONDS,
# the renewal's own request, the test's request on its short timeout: about 2.5 minutes with
# the defaults). One more tick plus 5 minutes covers that with room; ``tick_lock_seconds``.
TICK_LOCK_EXTRA_SECONDS = 300


@dataclass
class TickResult:
    seeded: int = 0
    baselined: int = 0  # connections whose health was recorded for the first time
    outcomes: dict[str, int] = field(default_factory=dict)  # outcome -> count
    per_provider: dict[str, int] = field(default_factory=dict)  # slug -> tests run
    skipped_blocked: list[str] = field(default_factory=list)  # providers blocked this tick
    requests: dict[str, int] = field(default_factory=dict)  # slug -> requests the tests sent
    # slug -> connections still due once the tick ended (the backlog: capped, paced, out of
    # time or blocked); logged as a warning when any
    left_due: dict[str, int] = field(default_factory=dict)
    overlapped: bool = False  # another tick was running: this one did nothing

    @property
    def tested(self) -> int:
        return sum(self.per_provider.values())


def _interval_seconds() -> int:
    return settings.THINKALIKE_CONNECTION_TEST_INTERVAL_MINUTES * 60


def next_slot(pk: int, after: datetime) -> datetime:
    """The first of the connection's test slots strictly after ``after``."""
    interval = _interval_seconds()
    phase = (pk * SPREAD_MULTIPLIER) % interval
    moment = after.timestamp()
    slot = math.floor((moment - phase) / interval) * interval + phase
    if slot <= moment:
        slot += interval
    return datetime.fromtimestamp(slot, tz=after.tzinfo)


def _testable() -> Q:
    return Q(status__in=TESTED_STATUSES, sync_enabled=True,
             provider__in=syncing_provider_slugs())


def tick_cap(provider: Provider) -> int | None:
    """How many tests one tick may run for ``provider`` (None: no per-provider cap)."""
    rule = provider.get_rate_limit()
    if rule is None or provider.rate_limit_per_connection:
        return None
    limit, window = rule
    tick = settings.THINKALIKE_CONNECTION_TEST_TICK_MINUTES * 60
    allowed = settings.THINKALIKE_CONNECTION_TEST_BUDGET_SHARE * limit * tick / window
    return max(1, math.floor(allowed))


def connection_tests_seed(*, now: datetime) -> int:
    """Give every testable connection without a next test its first slot."""
    seeded = 0
    while True:
        rows = list(Connection.objects.filter(_testable(), next_test_at__isnull=True)
                    .only("pk")[:SEED_BATCH])
        for row in rows:
            row.next_test_at = next_slot(row.pk, now)
        Connection.objects.bulk_update(rows, ["next_test_at"])
        seeded += len(rows)
        if len(rows) < SEED_BATCH:
            return seeded


def tick_spacing(provider: Provider) -> float:
    """Seconds between two of ``provider``'s test requests in a tick (0: not paced)."""
    rule = provider.get_rate_limit()
    if rule is None or provider.rate_limit_per_connection:
        return 0.0
    limit, window = rule
    return window / (settings.THINKALIKE_CONNECTION_TEST_BUDGET_SHARE * limit)


def _tick_seconds() -> int:
    return settings.THINKALIKE_CONNECTION_TEST_TICK_MINUTES * 60


def tick_lock_seconds() -> int:
    """How long the tick lock lasts: two ticks and 5 minutes, longer than the longest tick
    (tests start up to 80% of a tick after the lock is taken, and the last one may take its
    worst case, see TICK_LOCK_EXTRA_SECONDS), so a tick that runs long is never overlapped.
    A worker that dies holding it delays the ticks by that long at most."""
    return 2 * _tick_seconds() + TICK_LOCK_EXTRA_SECONDS


def connection_tests_run_due(*, now: datetime | None = None) -> TickResult:
    """One tick: test the connections whose slot has come, within each provider's share.

    Must be called with no transaction open (each test calls the provider). Does nothing
    while another tick runs.
    """
    now = now or timezone.now()
    token = uuid.uuid4().hex
    if not cache.add(TICK_LOCK, token, timeout=tick_lock_seconds()):
        logger.info("connection tests: another tick is running; this one does nothing")
        return TickResult(overlapped=True)
    started = monotonic()  # the tick's time runs from the lock, seeding included
    try:
        return _run_due(now, started)
    finally:
        if cache.get(TICK_LOCK) == token:
            cache.delete(TICK_LOCK)


def _run_due(now: datetime, started: float) -> TickResult:
    result = TickResult(seeded=connection_tests_seed(now=now),
                        baselined=connections_health_baseline(now=now))
    room = settings.THINKALIKE_CONNECTION_TESTS_PER_TICK
    # Slow providers must not make one tick overlap the next (or outlive the worker's task
    # timeout): no test starts after most of the tick has gone (counted from the lock); the
    # rest stay due, unclaimed.
    stop_at = started + _tick_seconds() * 0.8
    # Pacing waits in the worker: bound them, so a backlog of one paced provider keeps a worker
    # (of THINKALIKE_WORKERS, shared with syncs) busy for at most this long a tick.
    wait_until = started + settings.THINKALIKE_CONNECTION_TEST_MAX_PACING_SECONDS
    queues: dict[str, deque[int]] = {}
    for slug in syncing_provider_slugs():
        provider = PROVIDERS[slug]
        if not provider.rate_limit_per_connection and provider.get_rate_limit() is not None \
                and ratelimit.blocked_for(ratelimit.provider_key(slug)) > 0:
            result.skipped_blocked.append(slug)
            continue
        cap = min(room, tick_cap(provider) or room)
        due = list(Connection.objects.filter(_testable(), provider=slug, next_test_at__lte=now)
                   .order_by("next_test_at").values_list("pk", flat=True)[:cap])
        if due:
            queues[slug] = deque(due)
    ready_at = dict.fromkeys(queues, 0.0)  # monotonic time of each provider's next test
    while queues and room > 0:
        moment = monotonic()
        if moment > stop_at:
            break
        turn = [slug for slug in queues if ready_at[slug] <= moment]
        if not turn:  # every provider waits for its pace: wait for the first one
            first = min(ready_at[slug] for slug in queues)
            if first > min(stop_at, wait_until):
                break
            sleep(first - moment)
            continue
        for slug in turn:  # one test per provider per pass
            if room <= 0 or monotonic() > stop_at:
                break
            provider = PROVIDERS[slug]
            pk = queues[slug].popleft()
            outcome, sent = _test_one(provider, pk, now=now)
            if outcome is not None:
                result.outcomes[outcome] = result.outcomes.get(outcome, 0) + 1
                result.per_provider[slug] = result.per_provider.get(slug, 0) + 1
                result.requests[slug] = result.requests.get(slug, 0) + sent
                room -= 1
                ready_at[slug] = monotonic() + max(sent, 1) * tick_spacing(provider)
            ends_turn = outcome == UNAVAILABLE or (
                outcome == RATE_LIMITED and not provider.rate_limit_per_connection)
            if ends_turn or not queues[slug]:
                # Used-up budget or a provider down: the rest wait for the next tick, due and
                # uncharged.
                del queues[slug]
    result.left_due = _left_due(now)
    if result.left_due:
        logger.warning("connection tests: due connections left untested this tick (the "
                       "backlog, per provider): %s", result.left_due)
    logger.info("connection tests: %s", result)
    return result


def _left_due(now: datetime) -> dict[str, int]:
    rows = (Connection.objects.filter(_testable(), next_test_at__lte=now)
            .values("provider").annotate(count=Count("pk")).order_by("provider"))
    return {row["provider"]: row["count"] for row in rows}


def _test_one(provider: Provider, pk: int, *, now: datetime) -> tuple[str | None, int]:
    """Claim and test one connection: (its outcome or None when not tested, the requests it
    sent)."""
    if provider.rate_limit_per_connection and ratelimit.blocked_for(
            ratelimit.connection_key(provider.slug, pk)) > 0:
        return None, 0
    # The requests this thread sent: not those of a sync of the same connection running
    # meanwhile, nor one refused a slot of the budget.
    with requests_counted() as count:
        outcome = _claim_and_test(pk, now=now)
    if outcome is None:
        return None, 0  # another tick claimed it
    return outcome, count.sent


def _claim_and_test(pk: int, *, now: datetime) -> str | None:
    claimed = Connection.objects.filter(_testable(), pk=pk, next_test_at__lte=now).update(
        next_test_at=slot_after_test(pk, now))
    if not claimed:
        return None
    connection = Connection.objects.select_related("user").get(pk=pk)
    return connection_test_periodic(connection=connection, now=now)


def slot_after_test(pk: int, now: datetime) -> datetime:
    """The slot after a test claimed at ``now``: the connection's first slot at least
    interval - tick ahead, so a claim made late (its slot long past) is not followed by
    another test minutes later, and one made on time keeps its phase."""
    gap = timedelta(seconds=_interval_seconds() - _tick_seconds())
    return next_slot(pk, now + max(gap, timedelta(0)) - timedelta(microseconds=1))


def connection_test_periodic(*, connection: Connection, now: datetime) -> str:
    """Test ``connection`` for the schedule and act on the outcome (see the module's
    docstring). Returns the outcome. No transaction may be open."""
    mine = Connection.objects.filter(pk=connection.pk)
    try:
        connection_test(connection=connection, budget_max_wait=0, quick=True)
    except RateLimited:
        # Not the connection's fault: due again on the next tick, nothing recorded.
        mine.update(next_test_at=now)
        return RATE_LIMITED
    except RenewingElsewhere:
        # Another worker is renewing the token (or just failed to): nothing was tested. Due
        # again on the next tick, nothing recorded; the provider's other tests go on.
        mine.update(next_test_at=now)
        return RENEWING
    except (ReauthRequired, ConnectionTestFailed) as exc:
        # A refused renewal has flagged it already (tokens.py); a refused request has not.
        # A test the provider failed means, as in the API's test, that only a new credential
        # helps (a refused or wrong key, a reading log no longer public).
        if Connection.objects.filter(pk=connection.pk, status__in=TESTED_STATUSES).exists():
            connection_mark_reauth(connection=connection, reason=exc.message,
                                   actor="connection test")
        outcome = RECONNECT
    except IntegrationError as exc:
        mine.update(consecutive_test_failures=F("consecutive_test_failures") + 1,
                    last_test_error=redact_text(exc.message)[:1000], updated_at=timezone.now())
        # The provider is down (a 5xx, a timeout, unreachable): its other tests would fail
        # alike, so the tick ends its turn.
        outcome = UNAVAILABLE if isinstance(exc, ProviderUnavailable) else FAILED
    except Exception:  # a bug in one provider's test must not stop the others
        logger.exception("the periodic test of connection %s crashed", connection.pk)
        outcome = CRASHED
    else:
        # Failed tests are no longer in a row; the sync failures (and their error) stay.
        mine.update(consecutive_test_failures=0, last_test_error="")
        outcome = OK
    mine.update(last_tested_at=now)
    connection_health_record(connection=connection, now=now)
    return outcome
