"""Token refresh under concurrency: many workers, one expiring token, one refresh request.

Two shapes of the race. The in-process one: threads in this process, each with its own
database connection, against a mocked slow token endpoint; it runs on PostgreSQL (CI's second
leg), since SQLite's in-memory test database is shared between threads through a cache that
reports lock conflicts instead of waiting. The real one: worker threads in a separate process
against the sandbox served by a real loopback server whose token endpoint writes to the same
database (the demo's setup, in which a transaction held across the token request locked SQLite
until the request timed out); it runs on a SQLite file, and on PostgreSQL in the second leg.
"""

import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection as db
from django.db import connections
from django.utils import timezone

from integrations.models import Credential
from integrations.sandbox.liveserver import (
    SandboxServer,
    _shell,
    create_sandbox_connections,
    manage,
    migrated_sqlite_url,
)
from integrations.tokens import access_token_for, token_refresh
from tests.factories import make_connection, make_user

TOKEN_URL = "https://accounts.spotify.com/api/token"
WORKERS = 8

on_postgresql = pytest.mark.skipif(
    db.vendor != "postgresql",
    reason="the in-process race needs PostgreSQL (run in CI's second leg)")


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


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_many_workers_after_a_401_cause_exactly_one_refresh(mocked_responses):
    connection = make_connection(make_user(), "spotify", access_token="AT-old")
    calls: list[float] = []
    slow_token_endpoint(mocked_responses, calls)
    results = race(lambda: token_refresh(connection=connection, stale_access_token="AT-old"))
    assert len(calls) == 1
    assert set(results) == {"AT-new-1"}
    credential = Credential.objects.get()
    assert (credential.access_token, credential.refresh_token) == ("AT-new-1", "RT-new-1")


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_many_workers_with_an_expiring_token_cause_exactly_one_refresh(mocked_responses):
    connection = make_connection(make_user(), "spotify", access_token="AT-old", expires_in=30)
    calls: list[float] = []
    slow_token_endpoint(mocked_responses, calls)
    results = race(lambda: access_token_for(connection=connection))
    assert len(calls) == 1
    assert set(results) == {"AT-new-1"}
    assert Credential.objects.get().expires_at > timezone.now() + timedelta(minutes=50)


# --- The real race: a loopback server and worker threads in another process -------------------

RACE = """
import threading
from django.db import connections
from integrations.models import Credential
from integrations.sandbox.liveserver import (
    SandboxServer,
    _shell,
    create_sandbox_connections,
    manage,
    migrated_sqlite_url,
)
from integrations.tokens import access_token_for, token_refresh
connection = Credential.objects.select_related("connection").get(
    connection_id=ARGS["connection"]).connection
stale = connection.credential.access_token
connections.close_all()
barrier = threading.Barrier(ARGS["workers"])
results, errors = [], []

def work(i):
    try:
        barrier.wait()
        if i % 2:  # half of them got a 401 for the old token, half saw it expiring
            results.append(token_refresh(connection=connection, stale_access_token=stale))
        else:
            results.append(access_token_for(connection=connection))
    except Exception as exc:
        errors.append(repr(exc))
    finally:
        connections.close_all()

threads = [threading.Thread(target=work, args=(i,)) for i in range(ARGS["workers"])]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps({"results": results, "errors": errors}))
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def live_database_url(request, tmp_path):
    """A migrated database of its own for a live server: a SQLite file, or on the PostgreSQL
    leg a fresh PostgreSQL database next to the test database (dropped afterwards)."""
    if request.param == "sqlite":
        yield migrated_sqlite_url(tmp_path)
        return
    if db.vendor != "postgresql":
        pytest.skip("PostgreSQL runs in CI's second leg")
    import psycopg

    settings = db.settings_dict
    name = f"{settings['NAME']}_live_race"[:63]
    url = (f"postgres://{settings['USER']}:{settings['PASSWORD'] or ''}@{settings['HOST']}:"
           f"{settings['PORT'] or 5432}/{name}")
    admin = dict(host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"],
                 password=settings["PASSWORD"] or None, dbname="postgres", autocommit=True)
    with psycopg.connect(**admin) as server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}"')
        server.execute(f'CREATE DATABASE "{name}"')
    try:
        manage("migrate", "--noinput", database_url=url)
        yield url
    finally:
        with psycopg.connect(**admin) as server:
            server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.realserver
def test_eight_worker_threads_against_a_real_server_make_one_token_request(live_database_url):
    database_url = live_database_url
    with SandboxServer(database_url, extra_env={"REDIS_URL": ""}) as server:
        env = {"REDIS_URL": "", "THINKALIKE_SANDBOX_URL": server.sandbox_url}
        (connection_id,) = create_sandbox_connections(database_url, accounts=["race-listener"])
        _shell("from integrations.models import Credential\n"
               "Credential.objects.update(expires_at='2000-01-01T00:00:00Z')\n",
               database_url=database_url)
        outcome = json.loads(manage(
            "shell", "--no-imports", "-c",
            f"import json\nARGS = {{'connection': {connection_id}, 'workers': {WORKERS}}}\n"
            + RACE,
            database_url=database_url, extra_env=env, timeout=120,
        ).stdout.strip().splitlines()[-1])
        state = json.loads(_shell(
            "from integrations.models import ApiCall, Connection, Credential\n"
            "from integrations.sandbox.models import SandboxGrant\n"
            "from integrations.sandbox.services import hash_secret\n"
            "credential = Credential.objects.get()\n"
            "print(json.dumps({\n"
            "    'token_requests': ApiCall.objects.filter(path__endswith='/oauth/token')\n"
            "        .count(),\n"
            "    'status': Connection.objects.get().status,\n"
            "    'lease': str(credential.refresh_lease_token),\n"
            "    'stored_is_live': SandboxGrant.objects.filter(\n"
            "        access_hash=hash_secret(credential.access_token),\n"
            "        refresh_hash=hash_secret(credential.refresh_token), revoked=False).exists(),\n"
            "    'access_token': credential.access_token}))\n",
            database_url=database_url).strip().splitlines()[-1])
    assert outcome["errors"] == [], server.stderr_tail()
    assert state["token_requests"] == 1
    assert len(outcome["results"]) == WORKERS
    assert set(outcome["results"]) == {state["access_token"]}
    assert state["stored_is_live"]  # the rotated refresh token and its access token were kept
    assert (state["status"], state["lease"]) == ("active", "None")


@pytest.mark.realserver
def test_refresh_tokens_command_against_the_running_demo(tmp_path):
    """``refresh_tokens --within-minutes 120`` while the demo serves the sandbox from the same
    SQLite file: it used to hold the database while asking the sandbox, which then could not
    write its new grant, and the command failed after the 20 s read timeout."""
    database_url = migrated_sqlite_url(tmp_path)
    with SandboxServer(database_url, extra_env={"REDIS_URL": ""}) as server:
        env = {"REDIS_URL": "", "THINKALIKE_SANDBOX_URL": server.sandbox_url}
        ids = create_sandbox_connections(database_url, accounts=["cmd-1", "cmd-2"])
        result = manage("refresh_tokens", "--within-minutes", "120", database_url=database_url,
                        extra_env=env, timeout=120)
    assert result.stdout.splitlines() == ["Refreshed 2 token(s)."], result.stdout
    assert len(ids) == 2
