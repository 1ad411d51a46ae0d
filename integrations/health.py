"""A connection's health, derived from what its row already holds: one state and a reason.

Pure: no query, no network, and the time is passed in, so a page, the API or a later
notification job can judge many rows alike (``select_related("credential")`` keeps the
unreadable-credential check free) and a test can judge one at any moment it picks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.dateformat import format as date_format

from .credentials import credential_unreadable
from .models import Connection
from .providers.retired import provider_or_retired
from .redaction import redact_text

HEALTHY = "healthy"
DEGRADED = "degraded"
FAILING = "failing"
NEEDS_RECONNECT = "needs_reconnect"
IDLE = "idle"  # nothing to judge: never synced, sync off, or nothing to sync
STATES = [HEALTHY, DEGRADED, FAILING, NEEDS_RECONNECT, IDLE]
STATE_WORDS = {
    HEALTHY: "Healthy", DEGRADED: "Degraded", FAILING: "Failing",
    NEEDS_RECONNECT: "Needs reconnecting", IDLE: "Not checked",
}

# Failed syncs in a row, or failed periodic tests in a row (counted apart, the larger count
# judges), from which a connection is degraded, then failing.
DEGRADED_AFTER_FAILURES = 1
FAILING_AFTER_FAILURES = 3
# Automatic sync on and no success for this many sync intervals: degraded, even with no
# failure recorded (runs that never finish, or are never queued, fail nothing).
STALE_AFTER_INTERVALS = 2
# The error is already redacted where it is stored; the reason still bounds and re-redacts it,
# since it is shown on every card and handed out by the API.
REASON_ERROR_MAX = 200
DATE_FORMAT = "j M Y, H:i T"

REFUSED = "Refused its access on {date}: reconnect to sync again."
REFUSED_NO_DATE = "Refused its access: reconnect to sync again."
UNREADABLE = "Its stored key can no longer be read: reconnect to sync again."
DISABLED = "Disabled: it does not sync."
SYNC_OFF = "Syncing is off."
NOTHING_TO_SYNC = "It syncs nothing, so there is nothing to check."
NOT_SYNCED_YET = "Not synced yet."
NEVER_WORKED = "No sync has worked yet."
IN_ERROR = "In error: {error}"
LAST_FAILED = "The last sync failed: {error}"
LAST_N_FAILED = "The last {count} syncs failed: {error}"
TEST_FAILED = "The last connection test failed: {error}"
TEST_N_FAILED = "The last {count} connection tests failed: {error}"
STALE = "No successful sync since {date}."
WORKING = "Working; last synced {date}."


@dataclass(frozen=True)
class Health:
    state: str  # one of STATES
    reason: str  # plain words, safe to show: no secret, bounded

    @property
    def words(self) -> str:
        return STATE_WORDS[self.state]


def connection_health(connection: Connection, *, now: datetime) -> Health:
    """The connection's health at ``now``; the first rule that matches decides."""
    if connection.status == Connection.Status.NEEDS_REAUTH:
        # Nothing syncs while it waits for reconnecting, so the row's last change is the
        # refusal (or a settings change since, which is close enough to date it).
        when = connection.updated_at
        reason = REFUSED.format(date=_date(when)) if when else REFUSED_NO_DATE
        return Health(NEEDS_RECONNECT, _with_error(reason, connection.last_error))
    if credential_unreadable(connection):
        return Health(NEEDS_RECONNECT, UNREADABLE)
    if connection.status == Connection.Status.DISABLED:
        return Health(IDLE, DISABLED)
    if not provider_or_retired(connection.provider).streams:
        return Health(IDLE, NOTHING_TO_SYNC)
    if not connection.sync_enabled:
        return Health(IDLE, SYNC_OFF)
    # Syncs and periodic tests fail in a row each on their own count (a passing test proves
    # nothing about syncing, a failed one is no failed sync); the larger count judges, and the
    # reason says which failed. Syncs win a tie: they are what the person relies on.
    sync_failures = connection.consecutive_failures
    test_failures = connection.consecutive_test_failures
    failures = max(sync_failures, test_failures)
    by_tests = test_failures > sync_failures
    one, several = (TEST_FAILED, TEST_N_FAILED) if by_tests else (LAST_FAILED, LAST_N_FAILED)
    # Each count has its own error: a failed sync's is no reason for failed tests, and back.
    error = _error(connection.last_test_error if by_tests else connection.last_error)
    if failures >= FAILING_AFTER_FAILURES:
        return Health(FAILING, several.format(count=failures, error=error))
    if connection.status == Connection.Status.ERROR:
        return Health(FAILING, IN_ERROR.format(error=error))
    if failures >= DEGRADED_AFTER_FAILURES:
        words = one if failures == 1 else several
        return Health(DEGRADED, words.format(count=failures, error=error))
    if connection.last_success_at is None:
        return Health(IDLE, NEVER_WORKED if connection.last_sync_at else NOT_SYNCED_YET)
    interval = timedelta(minutes=settings.THINKALIKE_SYNC_INTERVAL_MINUTES)
    if connection.auto_sync and now - connection.last_success_at > STALE_AFTER_INTERVALS * interval:
        return Health(DEGRADED, STALE.format(date=_date(connection.last_success_at)))
    return Health(HEALTHY, WORKING.format(date=_date(connection.last_success_at)))


def _error(text: str) -> str:
    text = redact_text(" ".join((text or "").split()))
    if len(text) > REASON_ERROR_MAX:
        text = text[:REASON_ERROR_MAX - 1] + "…"
    return text or "no error was recorded"


def _with_error(reason: str, error: str) -> str:
    return f"{reason} ({_error(error)})" if error else reason


def _date(value: datetime) -> str:
    return date_format(timezone.localtime(value), DATE_FORMAT)
