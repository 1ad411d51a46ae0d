"""Single flight: concurrent identical misses make one upstream request, across threads and
across processes.

The cross-process test runs worker processes (each with several threads) against a SQLite file
and a real loopback HTTP server standing in for a custom API. Their cache is whatever the
environment gives: the database cache on the SQLite leg, Redis on the PostgreSQL + Redis leg
(REDIS_URL is passed on), so the same test covers both backends. Late arrivals would be cache
hits anyway, so the count of upstream requests is exact whatever the timing; the workers also
report each answer's cache outcome: one MISS, every other a HIT.

The in-process thread test needs PostgreSQL: SQLite's in-memory test database, shared between
threads, reports lock conflicts instead of waiting (tests/integrations/test_refresh_race.py).
"""

import threading
import time
import uuid

import pytest
from django.db import connection as db
from django.db import connections

from integrations.models import ApiCall
from integrations.proxy import service
from integrations.proxy.service import proxy_request
from integrations.sandbox.liveserver import _shell, migrated_sqlite_url, proxy_flight
from tests.factories import make_user
from tests.loopback_server import LoopbackServer

from .helpers import STRIPE_API, stripe_connection

THREADS = 8

CREATE = """
from django.contrib.auth import get_user_model
from integrations.models import Connection, Credential
user = get_user_model().objects.create_user(username="flight", email="flight@example.com")
connection = Connection.objects.create(
    user=user, provider="custom_api", external_account_id=ARGS["base_url"],
    config={"name": "Readings", "base_url": ARGS["base_url"], "auth_kind": "api_key",
            "header_name": "X-Api-Key"})
Credential.objects.create(connection=connection, secret=json.dumps({"api_key": ARGS["key"]}))
from consent.services import consent_set
consent_set(user=user, purpose="dashboard", granted=True)
print(connection.pk)
"""


def run_workers(database_url: str, connection_id: int, *, processes: int,
                threads: int) -> list[str]:
    return proxy_flight(database_url, connection_id, path="/readings",
                        params=[("station", "st-1")], threads=[threads] * processes,
                        extra_env={"THINKALIKE_OUTBOUND_ALLOW": "127.0.0.1"},
                        lead_seconds=3.0, timeout=120)


@pytest.mark.realserver
def test_identical_misses_from_four_processes_make_one_upstream_request(tmp_path):
    key = f"flight-key-{uuid.uuid4().hex}"
    seen_keys = []

    def slow_readings(path, headers):
        seen_keys.append(headers.get("X-Api-Key"))
        time.sleep(0.5)  # widens the window for a second request; the count holds regardless
        return 200, {"Content-Type": "application/json"}, b'{"temperature": 14.5}'

    database_url = migrated_sqlite_url(tmp_path)
    with LoopbackServer(respond=slow_readings) as server:
        base_url = f"http://127.0.0.1:{server.port}/api/"
        connection_id = int(_shell(CREATE, database_url=database_url, base_url=base_url,
                                   key=key).strip().splitlines()[-1])
        outcomes = run_workers(database_url, connection_id, processes=4, threads=5)
    assert [path for path, _ in server.seen.requests] == ["/api/readings?station=st-1"]
    assert seen_keys == [key]
    assert sorted(outcomes) == ["HIT"] * 19 + ["MISS"], outcomes


@pytest.mark.skipif(db.vendor != "postgresql",
                    reason="threads share SQLite's in-memory test database badly: PostgreSQL leg")
@pytest.mark.django_db(transaction=True)
def test_identical_misses_from_threads_make_one_upstream_request(mocked_responses, monkeypatch):
    connection = stripe_connection(make_user())
    everyone_waits = threading.Event()
    waiting: set[int] = set()
    real_sleep = service.sleep

    def note_waiting(seconds):
        waiting.add(threading.get_ident())
        if len(waiting) == THREADS - 1:
            everyone_waits.set()
        real_sleep(seconds)

    def answer_once_all_wait(request):
        everyone_waits.wait(timeout=30)
        return 200, {}, '{"object": "list", "data": []}'

    monkeypatch.setattr(service, "sleep", note_waiting)
    mocked_responses.add_callback("GET", STRIPE_API + "charges", callback=answer_once_all_wait,
                                  content_type="application/json")
    barrier = threading.Barrier(THREADS)
    outcomes, errors = [], []

    def ask():
        try:
            barrier.wait()
            outcomes.append(proxy_request(connection=connection, user=connection.user,
                                          method="GET", path="/v1/charges", params=[]).cache)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=ask) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert everyone_waits.is_set()  # the answer came only once every other thread waited
    assert sorted(outcomes) == ["HIT"] * (THREADS - 1) + ["MISS"]
    assert len(mocked_responses.calls) == 1
    assert ApiCall.objects.filter(cache_outcome="miss").count() == 1
