"""A connection's health state and reason: integrations/health.py.

Times are travelled to (time_machine), never slept through: each threshold is checked a moment
before and a moment after it.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from integrations import health
from integrations.health import connection_health
from integrations.models import Connection
from integrations.models.fields import Undecryptable
from tests.factories import make_connection, make_user

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
INTERVAL = timedelta(hours=1)


@pytest.fixture(autouse=True)
def _interval(settings):
    settings.THINKALIKE_SYNC_INTERVAL_MINUTES = 60


@pytest.fixture
def user():
    return make_user()


def connection_with(user, provider="sandbox", **fields):
    connection = make_connection(user, provider)
    Connection.objects.filter(pk=connection.pk).update(**fields)
    return Connection.objects.select_related("credential").get(pk=connection.pk)


def health_at(connection, moment):
    with time_machine.travel(moment, tick=False):
        return connection_health(connection, now=timezone.now())


def test_a_recent_success_is_healthy(user):
    connection = connection_with(user, last_sync_at=T0, last_success_at=T0,
                                 last_sync_status="succeeded")
    result = health_at(connection, T0 + timedelta(minutes=5))
    assert result.state == health.HEALTHY
    assert result.reason == "Working; last synced 2 Mar 2026, 09:30 UTC."


def test_no_success_for_two_intervals_is_degraded_only_past_the_threshold(user):
    connection = connection_with(user, last_sync_at=T0, last_success_at=T0)
    limit = T0 + health.STALE_AFTER_INTERVALS * INTERVAL
    assert health_at(connection, limit).state == health.HEALTHY
    late = health_at(connection, limit + timedelta(seconds=1))
    assert late.state == health.DEGRADED
    assert late.reason == "No successful sync since 2 Mar 2026, 09:30 UTC."


def test_the_interval_is_read_when_judged(user, settings):
    connection = connection_with(user, last_sync_at=T0, last_success_at=T0)
    moment = T0 + 3 * INTERVAL
    assert health_at(connection, moment).state == health.DEGRADED
    settings.THINKALIKE_SYNC_INTERVAL_MINUTES = 120
    assert health_at(connection, moment).state == health.HEALTHY


def test_no_automatic_sync_is_never_stale(user):
    connection = connection_with(user, last_success_at=T0, auto_sync=False)
    assert health_at(connection, T0 + timedelta(days=30)).state == health.HEALTHY


@pytest.mark.parametrize(("failures", "state", "reason"), [
    (1, health.DEGRADED, "The last sync failed: Open Library is down"),
    (2, health.DEGRADED, "The last 2 syncs failed: Open Library is down"),
    (3, health.FAILING, "The last 3 syncs failed: Open Library is down"),
    (7, health.FAILING, "The last 7 syncs failed: Open Library is down"),
])
def test_failures_in_a_row_degrade_then_fail(user, failures, state, reason):
    connection = connection_with(user, last_success_at=T0, consecutive_failures=failures,
                                 last_error="Open Library is down")
    # Recent success or not, the failures decide.
    result = health_at(connection, T0 + timedelta(minutes=1))
    assert (result.state, result.reason) == (state, reason)


@pytest.mark.parametrize("syncs, tests, state, reason", [
    # Each count quotes its own error: the tests' when they decide, the syncs' otherwise.
    (0, 1, health.DEGRADED, "The last connection test failed: test down"),
    (1, 2, health.DEGRADED, "The last 2 connection tests failed: test down"),
    (1, 3, health.FAILING, "The last 3 connection tests failed: test down"),
    (3, 1, health.FAILING, "The last 3 syncs failed: sync down"),
    (2, 2, health.DEGRADED, "The last 2 syncs failed: sync down"),  # a tie names the syncs
])
def test_sync_and_test_failures_are_counted_apart_the_larger_judges(user, syncs, tests, state,
                                                                     reason):
    connection = connection_with(user, last_sync_at=T0, last_success_at=T0,
                                 last_error="sync down", last_test_error="test down",
                                 consecutive_failures=syncs, consecutive_test_failures=tests)
    assert health_at(connection, T0) == health.Health(state, reason)


def test_the_thresholds_are_the_named_constants(user):
    below = connection_with(user, consecutive_failures=health.FAILING_AFTER_FAILURES - 1,
                            last_success_at=T0)
    assert health_at(below, T0).state == health.DEGRADED
    zero = connection_with(make_user("bo@example.com"),
                           consecutive_failures=health.DEGRADED_AFTER_FAILURES - 1,
                           last_success_at=T0)
    assert health_at(zero, T0).state == health.HEALTHY


def test_the_error_in_the_reason_is_redacted_and_bounded(user):
    error = "refused access_token=AT-LEAKED-9999 " + "x" * 1000
    connection = connection_with(user, consecutive_failures=1, last_error=error)
    reason = health_at(connection, T0).reason
    assert "AT-LEAKED-9999" not in reason and "[redacted]" in reason
    assert len(reason) < len("The last sync failed: ") + health.REASON_ERROR_MAX + 1


def test_an_error_status_without_failures_is_failing(user):
    connection = connection_with(user, status=Connection.Status.ERROR, last_error="Broken")
    result = health_at(connection, T0)
    assert (result.state, result.reason) == (health.FAILING, "In error: Broken")


def test_a_refused_token_needs_reconnecting_whatever_else_the_row_says(user):
    connection = connection_with(user, status=Connection.Status.NEEDS_REAUTH,
                                 consecutive_failures=5, last_success_at=T0,
                                 last_error="invalid_grant", updated_at=T0)
    result = health_at(connection, T0 + timedelta(days=2))
    assert result.state == health.NEEDS_RECONNECT
    assert result.reason == ("Refused its access on 2 Mar 2026, 09:30 UTC: reconnect to sync "
                             "again. (invalid_grant)")


def test_an_unreadable_credential_needs_reconnecting(user):
    connection = connection_with(user, last_success_at=T0)
    connection.credential.access_token = Undecryptable(b"old-key-ciphertext")
    result = health_at(connection, T0)
    assert (result.state, result.reason) == (health.NEEDS_RECONNECT, health.UNREADABLE)


@pytest.mark.parametrize(("provider", "fields", "reason"), [
    ("sandbox", {}, health.NOT_SYNCED_YET),
    ("sandbox", {"last_sync_at": T0, "last_sync_status": "partial"}, health.NEVER_WORKED),
    ("sandbox", {"sync_enabled": False, "consecutive_failures": 4}, health.SYNC_OFF),
    ("sandbox", {"status": Connection.Status.DISABLED}, health.DISABLED),
    ("telegram", {}, health.NOTHING_TO_SYNC),
])
def test_nothing_to_judge_is_idle(user, provider, fields, reason):
    result = health_at(connection_with(user, provider, **fields), T0)
    assert (result.state, result.reason) == (health.IDLE, reason)


def test_the_cards_and_the_connection_page_show_the_badge_and_reason(client, user):
    connection = connection_with(user, consecutive_failures=3, last_success_at=T0,
                                 last_error="Sandbox said 503")
    client.force_login(user)
    expected = "The last 3 syncs failed: Sandbox said 503"
    for url in (reverse("integrations:connected_services"),
                reverse("integrations:connection_detail", args=[connection.pk])):
        html = client.get(url).content.decode()
        assert '<span class="badge badge-health-failing">Failing</span>' in html
        assert expected in html
        assert html.count(expected) == 1  # the reason replaces the old failure lines


def test_a_healthy_card_says_so(client, user):
    connection_with(user, last_sync_at=T0, last_success_at=T0)
    client.force_login(user)
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        html = client.get(reverse("integrations:connected_services")).content.decode()
    assert '<span class="badge badge-health-healthy">Healthy</span>' in html
    assert "Working; last synced 2 Mar 2026, 09:30 UTC." in html
