"""Two ticks of the periodic connection tests at once, raced for real: threads hold their own
PostgreSQL connections (CI's second leg; skipped on SQLite, which serialises writers)."""

import threading
from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from django.db import connection as db
from django.db import connections

from integrations import connection_tests
from integrations.models import Connection
from tests.factories import make_connection, make_user

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(db.vendor != "postgresql",
                       reason="the race needs PostgreSQL (run in CI's second leg)"),
]

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clean(settings):
    settings.REDIS_URL = ""  # the database budget (Spotify declares none anyway)
    cache.delete(connection_tests.TICK_LOCK)
    yield
    cache.delete(connection_tests.TICK_LOCK)


def due(count):
    # Spotify declares no rate limit: nothing is paced, the ticks only race.
    for i in range(count):
        make_connection(make_user(f"r{i}@example.com"), "spotify", external_id=f"acct-{i}",
                        expires_in=None)
    Connection.objects.update(next_test_at=T0)


def race(monkeypatch, *, hold_first: bool):
    tested, results, errors = [], [], []
    lock = threading.Lock()
    one_done = threading.Event()
    barrier = threading.Barrier(2)

    def fake(*, connection, budget_max_wait, quick):
        with lock:
            tested.append(connection.pk)
            first = len(tested) == 1
        if hold_first and first:
            one_done.wait(timeout=20)  # the other tick starts and ends while this one tests

    monkeypatch.setattr(connection_tests, "connection_test", fake)

    def run():
        try:
            barrier.wait()
            results.append(connection_tests.connection_tests_run_due(now=T0))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            one_done.set()
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return tested, results


def test_a_tick_that_overlaps_another_does_nothing(monkeypatch):
    due(20)
    tested, results = race(monkeypatch, hold_first=True)
    assert sorted(r.overlapped for r in results) == [False, True]
    assert len(tested) == len(set(tested)) == 20


def test_without_the_tick_lock_the_claim_still_tests_each_once(monkeypatch):
    # The lock off (as if the cache were lost): the conditional UPDATE alone decides.
    monkeypatch.setattr(connection_tests.cache, "add", lambda *args, **kwargs: True)
    due(60)
    tested, results = race(monkeypatch, hold_first=False)
    assert len(tested) == len(set(tested)) == 60
    assert sum(r.tested for r in results) == 60
