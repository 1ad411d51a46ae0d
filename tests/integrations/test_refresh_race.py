"""Token refresh under concurrency: many workers, one expiring token, one refresh request.

Threads each hold their own database connection, so this is the real row-lock race. It runs
on PostgreSQL (CI's second leg); SQLite's in-memory test database is shared between threads
through a cache that reports lock conflicts instead of waiting, so it cannot host the race.
"""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection as db
from django.db import connections
from django.utils import timezone

from integrations.models import Credential
from integrations.tokens import access_token_for, token_refresh
from tests.factories import make_connection, make_user

TOKEN_URL = "https://accounts.spotify.com/api/token"
WORKERS = 8

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(db.vendor != "postgresql",
                       reason="the row-lock race needs PostgreSQL (run in CI's second leg)"),
]


def slow_token_endpoint(mocked_responses, counter):
    def answer(request):
        counter.append(time.monotonic())
        time.sleep(0.3)  # a slow provider widens the window in which a second refresh could start
        n = len(counter)
        return 200, {}, (
            f'{{"access_token": "AT-new-{n}", "refresh_token": "RT-new-{n}", '
            f'"expires_in": 3600, "token_type": "Bearer"}}'
        )

    mocked_responses.add_callback("POST", TOKEN_URL, callback=answer,
                                  content_type="application/json")


def race(target) -> list:
    barrier = threading.Barrier(WORKERS)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(target())
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def test_many_workers_after_a_401_cause_exactly_one_refresh(mocked_responses):
    connection = make_connection(make_user(), "spotify", access_token="AT-old")
    calls: list[float] = []
    slow_token_endpoint(mocked_responses, calls)
    results = race(lambda: token_refresh(connection=connection, stale_access_token="AT-old"))
    assert len(calls) == 1
    assert set(results) == {"AT-new-1"}
    credential = Credential.objects.get()
    assert (credential.access_token, credential.refresh_token) == ("AT-new-1", "RT-new-1")


def test_many_workers_with_an_expiring_token_cause_exactly_one_refresh(mocked_responses):
    connection = make_connection(make_user(), "spotify", access_token="AT-old", expires_in=30)
    calls: list[float] = []
    slow_token_endpoint(mocked_responses, calls)
    results = race(lambda: access_token_for(connection=connection))
    assert len(calls) == 1
    assert set(results) == {"AT-new-1"}
    assert Credential.objects.get().expires_at > timezone.now() + timedelta(minutes=50)
