"""The sandbox over real HTTP: ``runserver`` subprocesses on a migrated temporary SQLite file.

pytest-django's test database is invisible to the servers, so these tests set knobs and issue
tokens through ``manage.py`` subprocesses and read the request log with plain ``sqlite3``.
"""

import sqlite3
import threading
import time

import pytest
import requests

from integrations.sandbox.liveserver import (
    SandboxServer,
    issue_tokens,
    migrated_sqlite_url,
    set_knobs,
)
from integrations.sandbox.windows import sliding_window_counts

pytestmark = pytest.mark.realserver


@pytest.fixture(scope="module")
def database_url(tmp_path_factory):
    return migrated_sqlite_url(tmp_path_factory.mktemp("sandbox-live"))


@pytest.fixture
def http():
    with requests.Session() as session:
        session.trust_env = False  # loopback: never through a proxy from the environment
        yield session


def counted_times(database_url: str) -> list[float]:
    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as db:
        rows = db.execute(
            "SELECT at FROM sandbox_sandboxrequest WHERE counted ORDER BY at"
        ).fetchall()
    return [at for (at,) in rows]


def test_tracks_over_real_http(database_url, http):
    set_knobs(database_url, track_count=150)
    token = issue_tokens(database_url, account="live-listener")["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    with SandboxServer(database_url) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.sandbox_url == f"{server.url}/sandbox"
        first = http.get(f"{server.sandbox_url}/api/v1/me/tracks", params={"limit": 100},
                         headers=headers, timeout=10)
        assert first.status_code == 200, first.text
        body = first.json()
        assert body["total"] == 150 and len(body["items"]) == 100
        assert body["next"].startswith(f"{server.sandbox_url}/api/v1/me/tracks?")
        rest = http.get(body["next"], headers=headers, timeout=10).json()
        assert [t["id"] for t in rest["items"]][-1] == "trk_00150" and rest["next"] is None

        again = http.get(f"{server.sandbox_url}/api/v1/me/tracks", params={"limit": 100},
                         headers={**headers, "If-None-Match": first.headers["ETag"]}, timeout=10)
        assert again.status_code == 304 and again.content == b""
        assert http.get(f"{server.sandbox_url}/api/v1/me/tracks", timeout=10).status_code == 401
    assert server.process.poll() is not None  # stopped on exit


def test_two_servers_share_one_rate_limit(database_url, http):
    """Eight threads against two server processes: no window ever holds more than the limit."""
    limit, window = 10, 0.5
    set_knobs(database_url, rate_limit_requests=limit, rate_limit_window_seconds=window)
    token = issue_tokens(database_url)["access_token"]
    answers: list[tuple[int, str | None]] = []  # (status, X-RateLimit-Limit)
    with SandboxServer(database_url) as one, SandboxServer(database_url) as two:
        started = time.time()

        def enough() -> bool:
            # Until the window has slid a few times and a refusal was seen; the deadline only
            # ends a hung run, so how fast a loaded machine answers changes no assertion.
            statuses = [status for status, _ in answers]
            return statuses.count(200) >= 3 * limit and 429 in statuses

        def hammer(base: str) -> None:
            with requests.Session() as session:
                session.trust_env = False
                deadline = time.monotonic() + 60
                while not enough() and time.monotonic() < deadline:
                    response = session.get(f"{base}/api/v1/me", timeout=10,
                                           headers={"Authorization": f"Bearer {token}"})
                    answers.append(
                        (response.status_code, response.headers.get("X-RateLimit-Limit"))
                    )

        threads = [threading.Thread(target=hammer, args=(server.sandbox_url,))
                   for server in (one, two) * 4]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    times = [t for t in counted_times(database_url) if t >= started]
    statuses = [status for status, _ in answers]
    assert set(statuses) == {200, 429}
    assert {header for _, header in answers} == {str(limit)}
    assert len(times) == statuses.count(200) >= 3 * limit
    assert max(sliding_window_counts(times, window)) <= limit
