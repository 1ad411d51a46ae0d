"""integrations/usage.py: the UsageDay counters, raised once per request where ApiCall rows are
written (transport.send), through the real ApiClient with mocked HTTP."""

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import requests
import responses
import time_machine
from django.db import connection as db_connection
from django.db import connections
from django.test.utils import CaptureQueriesContext

from integrations import usage
from integrations.exceptions import ProviderUnavailable, RateLimited
from integrations.http import ApiClient
from integrations.maintenance import api_calls_purge
from integrations.models import ApiCall, UsageDay
from integrations.providers.registry import get_provider
from integrations.transport import new_session, send
from tests.factories import make_connection, make_user

TOP = "https://api.spotify.com/v1/me/top/artists"
OK = {"items": [], "next": None}


@pytest.fixture
def conn(db):
    return make_connection(make_user(), "spotify")


def client_for(connection):
    return ApiClient(get_provider(connection.provider), connection=connection)


def today_row(connection) -> UsageDay:
    return UsageDay.objects.get(connection=connection)


def figures(row: UsageDay) -> tuple:
    return row.requests, row.errors, row.rate_limit_waits, row.wait_seconds


def test_each_request_counts_once_for_its_connection_and_day(conn, mocked_responses):
    mocked_responses.get(TOP, json=OK)
    client = client_for(conn)
    for _ in range(3):
        client.get_json("me/top/artists")
    row = today_row(conn)
    assert figures(row) == (3, 0, 0, 0.0)
    assert (row.provider, row.day) == ("spotify", datetime.now(UTC).date())
    assert UsageDay.objects.count() == 1


def test_a_retried_5xx_is_one_request_and_one_error(conn, mocked_responses, no_sleep):
    mocked_responses.get(TOP, status=503)
    with pytest.raises(ProviderUnavailable):
        client_for(conn).get_json("me/top/artists")
    assert len(mocked_responses.calls) == 4  # retried, still one logical request
    assert figures(today_row(conn)) == (1, 1, 0, 0.0)


def test_a_transport_error_is_an_error(conn, mocked_responses, no_sleep):
    mocked_responses.get(TOP, body=requests.ConnectionError("refused"))
    with pytest.raises(ProviderUnavailable):
        client_for(conn).get_json("me/top/artists")
    assert figures(today_row(conn)) == (1, 1, 0, 0.0)


@responses.activate(registry=responses.registries.OrderedRegistry)
def test_a_request_that_worked_after_a_failed_attempt_is_no_error(conn, no_sleep):
    """The provider unreachable once (a server still starting), then answering: the request
    worked. Its row and counters say so; the failed attempt shows only as a retry."""
    responses.get(TOP, body=requests.ConnectionError("refused"))
    responses.get(TOP, json=OK)
    client_for(conn).get_json("me/top/artists")
    assert figures(today_row(conn)) == (1, 0, 0, 0.0)
    call = ApiCall.objects.get()
    assert (call.status_code, call.error, call.retries) == (200, "", 1)


@responses.activate(registry=responses.registries.OrderedRegistry)
def test_a_429_waited_out_is_a_wait_not_an_error(conn, no_sleep):
    responses.get(TOP, status=429, headers={"Retry-After": "3"})
    responses.get(TOP, json=OK)
    client_for(conn).get_json("me/top/artists")
    assert no_sleep == [3.0]
    assert figures(today_row(conn)) == (1, 0, 1, 3.0)


def test_a_429_too_long_to_wait_is_a_wait_and_an_error(conn, mocked_responses, no_sleep):
    mocked_responses.get(TOP, status=429, headers={"Retry-After": "3600"})
    with pytest.raises(RateLimited):
        client_for(conn).get_json("me/top/artists")
    assert figures(today_row(conn)) == (1, 1, 1, 0.0)


@pytest.fixture
def budgeted(settings, monkeypatch, conn, fake_clock):
    from integrations.providers.spotify.provider import SpotifyProvider

    settings.THINKALIKE_RATE_BUDGETS = True
    settings.REDIS_URL = ""
    monkeypatch.setattr(SpotifyProvider, "rate_limit", (2, 0.3))
    return fake_clock


def test_a_wait_for_our_own_budget_is_counted_with_its_seconds(conn, mocked_responses, budgeted):
    mocked_responses.get(TOP, json=OK)
    client = client_for(conn)
    for _ in range(3):
        client.get_json("me/top/artists")
    assert len(budgeted.sleeps) == 1  # the third request waited for a slot
    requests_, errors, waits, seconds = figures(today_row(conn))
    assert (requests_, errors, waits) == (3, 0, 1)
    assert seconds == pytest.approx(budgeted.sleeps[0])


def test_a_budget_refusal_is_a_wait_but_no_request(conn, mocked_responses, budgeted):
    mocked_responses.get(TOP, json=OK)
    client = ApiClient(get_provider("spotify"), connection=conn, budget_max_wait=0.01)
    client.get_json("me/top/artists")
    client.get_json("me/top/artists")
    with pytest.raises(RateLimited):
        client.get_json("me/top/artists")
    assert len(mocked_responses.calls) == 2
    assert figures(today_row(conn)) == (2, 0, 1, 0.0)


def test_days_are_counted_apart(conn, mocked_responses):
    mocked_responses.get(TOP, json=OK)
    with time_machine.travel(datetime(2026, 11, 20, 23, 59, tzinfo=UTC), tick=False):
        client_for(conn).get_json("me/top/artists")
    with time_machine.travel(datetime(2026, 11, 21, 0, 1, tzinfo=UTC), tick=False):
        client_for(conn).get_json("me/top/artists")
        client_for(conn).get_json("me/top/artists")
    days = dict(UsageDay.objects.values_list("day", "requests"))
    assert days == {date(2026, 11, 20): 1, date(2026, 11, 21): 2}


def test_requests_without_a_connection_share_one_row_per_provider_and_day(db, mocked_responses):
    mocked_responses.post("https://accounts.spotify.com/api/token", json={})
    for _ in range(2):
        send(new_session(), "POST", "https://accounts.spotify.com/api/token",
             provider_slug="spotify", connection_id=None)
    row = UsageDay.objects.get()
    assert row.connection_id is None
    assert (row.provider, row.requests) == ("spotify", 2)


def test_the_day_row_made_by_a_concurrent_request_is_updated_not_duplicated(conn, monkeypatch):
    """The first UPDATE finds no row; another request inserts it before our INSERT."""
    real_bulk_create = UsageDay.objects.bulk_create

    def racing_bulk_create(objs, **kwargs):
        UsageDay.objects.create(connection=conn, provider="spotify",
                                day=objs[0].day, requests=5)  # the other request won
        return real_bulk_create(objs, **kwargs)

    monkeypatch.setattr(UsageDay.objects, "bulk_create", racing_bulk_create)
    usage.usage_count(provider="spotify", connection_id=conn.pk, errors=1)
    row = today_row(conn)
    assert (row.requests, row.errors) == (6, 1)


@pytest.mark.django_db(transaction=True)
def test_concurrent_counting_loses_nothing():
    if db_connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL")
    conn = make_connection(make_user(), "spotify")
    barrier = threading.Barrier(8)

    def worker():
        try:
            barrier.wait()
            for _ in range(10):
                usage.usage_count(provider="spotify", connection_id=conn.pk, waits=1,
                                  wait_seconds=0.5)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    row = UsageDay.objects.get(connection=conn)
    assert (row.requests, row.rate_limit_waits, row.wait_seconds) == (80, 80, 40.0)


def test_counting_costs_one_query_per_request_once_the_day_row_exists(conn, mocked_responses):
    mocked_responses.get(TOP, json=OK)
    client = client_for(conn)
    client.get_json("me/top/artists")  # creates the day's row
    with CaptureQueriesContext(db_connection) as counted:
        client.get_json("me/top/artists")
    usage_queries = [q["sql"] for q in counted.captured_queries
                     if "integrations_usageday" in q["sql"]]
    assert len(usage_queries) == 1 and usage_queries[0].startswith("UPDATE")
    assert today_row(conn).requests == 2


def test_a_database_error_while_counting_never_replaces_the_answer(conn, mocked_responses,
                                                                   monkeypatch):
    from django.db import DatabaseError

    def broken(*args, **kwargs):
        raise DatabaseError("away")

    monkeypatch.setattr("django.db.models.query.QuerySet.update", broken)
    mocked_responses.get(TOP, json=OK)
    assert client_for(conn).get_json("me/top/artists") == OK
    assert ApiCall.objects.count() == 1


def test_usage_rows_are_kept_400_days(conn, db):
    today = datetime.now(UTC).date()
    for age in (0, 399, 401):
        UsageDay.objects.create(connection=conn, provider="spotify",
                                day=today - timedelta(days=age), requests=age + 1)
    api_calls_purge()
    assert sorted(UsageDay.objects.values_list("requests", flat=True)) == [1, 400]



# --- a disconnect keeps the staff's counts, as the provider's ----------------------------------

def test_a_disconnect_folds_its_counts_into_the_providers_rows(conn):
    from integrations.services import connection_disconnect
    from privacy.services import account_delete

    day1, day2 = date(2026, 3, 1), date(2026, 3, 2)
    UsageDay.objects.create(connection=conn, provider="spotify", day=day1, requests=5,
                            errors=1, rate_limit_waits=2, wait_seconds=1.5)
    UsageDay.objects.create(connection=conn, provider="spotify", day=day2, requests=7)
    # requests made before any connection existed that first day
    UsageDay.objects.create(connection=None, provider="spotify", day=day1, requests=3,
                            errors=1, rate_limit_waits=0, wait_seconds=0.5)
    other = make_connection(make_user("grace@example.com"), "spotify", external_id="g")
    UsageDay.objects.create(connection=other, provider="spotify", day=day1, requests=11)

    connection_disconnect(connection=conn)

    rows = {row.day: figures(row) for row in UsageDay.objects.filter(connection__isnull=True)}
    assert rows == {day1: (8, 2, 2, 2.0), day2: (7, 0, 0, 0.0)}
    assert figures(UsageDay.objects.get(connection=other)) == (11, 0, 0, 0.0)
    assert sum(UsageDay.objects.values_list("requests", flat=True)) == 5 + 7 + 3 + 11

    account_delete(user=other.user)  # the account deletion goes through the same disconnect
    assert figures(UsageDay.objects.get(connection__isnull=True, day=day1)) == (19, 2, 2, 2.0)
    assert not UsageDay.objects.filter(connection__isnull=False).exists()


def test_a_connection_deleted_otherwise_folds_its_counts_too(conn):
    UsageDay.objects.create(connection=conn, provider="spotify", day=date(2026, 3, 1),
                            requests=4)
    conn.delete()  # the admin, a shell
    assert figures(UsageDay.objects.get(connection__isnull=True)) == (4, 0, 0, 0.0)


def test_a_person_deleted_with_their_connections_folds_beside_an_existing_provider_row(conn):
    day = date(2026, 3, 1)
    UsageDay.objects.create(connection=None, provider="spotify", day=day, requests=3)
    UsageDay.objects.create(connection=conn, provider="spotify", day=day, requests=4, errors=1)

    conn.user.delete()  # the admin's user deletion cascades to the connection

    assert figures(UsageDay.objects.get(connection__isnull=True, day=day)) == (7, 1, 0, 0.0)
    assert UsageDay.objects.count() == 1
