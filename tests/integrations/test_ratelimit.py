"""The shared rate budget (integrations/ratelimit.py), on the database and on Redis.

Unit tests run on a fake clock (tests/fake_clock.py) that moves only when the budget waits, so
every wait and grant time is exact and nothing depends on how long a real sleep took. The two
``realserver`` tests run four worker processes against one budget on the real clock and check
the grant times the backend itself recorded, which no scheduling delay can shift.
Redis tests use DB 14 (flushed) of the configured Redis host, or of 127.0.0.1 when none is set.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.conf import settings

from integrations import ratelimit
from integrations.exceptions import RateLimited
from integrations.models import RateBucket

KEY = "provider:test"
ROOT = Path(__file__).resolve().parents[2]


def span(window: float) -> float:
    return window * ratelimit.SAFETY_FACTOR + ratelimit.SAFETY_SECONDS


def redis_test_url() -> str:
    base = urlsplit(settings.REDIS_URL or "redis://127.0.0.1:6379")
    return urlunsplit(base._replace(path="/14"))


@pytest.fixture
def redis_url():
    url = redis_test_url()
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.flushdb()
    except redis.ConnectionError as exc:
        pytest.skip(f"Redis is not reachable at {url}: {exc}")
    yield url
    client.flushdb()


@pytest.fixture(params=["database", "redis"])
def backend(request, settings):
    if request.param == "database":
        request.getfixturevalue("db")
        settings.REDIS_URL = ""
    else:
        settings.REDIS_URL = request.getfixturevalue("redis_url")
    return request.param


@pytest.fixture
def slept(fake_clock):
    """The waits acquire() asked for; each moved the fake clock on by exactly that much."""
    return fake_clock.sleeps


@pytest.fixture
def grants(monkeypatch):
    """The exact grant times, as the backend recorded them (its own clock)."""
    stamps: list[float] = []
    real_backend = ratelimit._backend

    class Spy:
        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def try_acquire(self, *args):
            wait, stamp = self.inner.try_acquire(*args)
            if stamp is not None:
                stamps.append(stamp)
            return wait, stamp

    monkeypatch.setattr(ratelimit, "_backend", lambda: Spy(real_backend()))
    return stamps


def test_keys():
    assert ratelimit.provider_key("spotify") == "provider:spotify"
    assert ratelimit.connection_key("spotify", 7) == "connection:spotify:7"


def test_a_limit_needs_a_positive_size_and_window():
    with pytest.raises(ValueError):
        ratelimit.acquire(KEY, 0, 1.0, max_wait=1)
    with pytest.raises(ValueError):
        ratelimit.acquire(KEY, 1, 0.0, max_wait=1)


def test_grants_up_to_the_limit_then_waits_for_the_oldest_to_leave(backend, slept, grants,
                                                                   fake_clock):
    waited = [ratelimit.acquire(KEY, 3, 0.2, max_wait=5) for _ in range(3)]
    fake_clock.advance(0.05)
    waited.append(ratelimit.acquire(KEY, 3, 0.2, max_wait=5))

    assert waited == [0.0, 0.0, 0.0, pytest.approx(span(0.2) - 0.05, abs=1e-5)]
    assert slept == [pytest.approx(waited[3])]
    # The fourth starts exactly when the first has left the (widened) window.
    assert grants[3] - grants[0] == pytest.approx(span(0.2), abs=1e-5)


def test_no_window_holds_more_than_the_limit_under_a_burst(backend, slept, grants):
    limit, window = 4, 0.15
    for _ in range(18):
        ratelimit.acquire(KEY, limit, window, max_wait=5)

    assert len(grants) == 18
    for first, after_limit in zip(grants, grants[limit:], strict=False):
        assert after_limit - first >= span(window) - 1e-6
    # 18 grants are five batches of four: the last one starts exactly four windows in.
    assert grants[-1] - grants[0] == pytest.approx(4 * span(window), abs=1e-5)


def test_refund_frees_a_slot(backend):
    ratelimit.acquire(KEY, 2, 10.0, max_wait=0)
    ratelimit.acquire(KEY, 2, 10.0, max_wait=0)

    ratelimit.refund(KEY)

    assert ratelimit.acquire(KEY, 2, 10.0, max_wait=0) == 0.0
    with pytest.raises(RateLimited):
        ratelimit.acquire(KEY, 2, 10.0, max_wait=0)


def test_refund_without_a_grant_does_nothing(backend):
    ratelimit.refund("provider:never-used")
    ratelimit.acquire(KEY, 1, 10.0, max_wait=0)
    ratelimit.refund(KEY)
    ratelimit.refund(KEY)  # the grant is already given back; nothing else is removed
    ratelimit.acquire(KEY, 1, 10.0, max_wait=0)
    with pytest.raises(RateLimited):
        ratelimit.acquire(KEY, 1, 10.0, max_wait=0)


def test_block_until_delays_the_next_acquire(backend, slept, grants, fake_clock):
    until = fake_clock.time() + 0.3
    ratelimit.block_until(KEY, until)
    ratelimit.block_until(KEY, until - 0.2)  # an earlier end never shortens a block

    waited = ratelimit.acquire(KEY, 5, 1.0, max_wait=5)

    assert waited == pytest.approx(0.3, abs=1e-5)
    assert grants[0] == pytest.approx(until, abs=1e-5)
    assert ratelimit.acquire("provider:other", 5, 1.0, max_wait=0) == 0.0


def test_a_wait_beyond_max_wait_raises_at_once(backend, slept):
    ratelimit.acquire(KEY, 1, 10.0, max_wait=0)

    with pytest.raises(RateLimited) as raised:
        ratelimit.acquire(KEY, 1, 10.0, max_wait=1)

    assert slept == []
    assert raised.value.code == "rate_limited"
    assert raised.value.retry_after == pytest.approx(span(10.0), abs=1e-5)
    assert raised.value.message == ratelimit.RATE_LIMITED_MESSAGE.format(
        key=KEY, seconds=raised.value.retry_after
    )


def test_a_block_beyond_max_wait_raises_with_its_end(backend, slept, fake_clock):
    ratelimit.block_until(KEY, fake_clock.time() + 60)

    with pytest.raises(RateLimited) as raised:
        ratelimit.acquire(KEY, 5, 1.0, max_wait=30)

    assert slept == []
    assert raised.value.retry_after == pytest.approx(60, abs=1e-5)


def test_keys_are_isolated(backend):
    key_a = ratelimit.connection_key("sandbox", 1)
    key_b = ratelimit.connection_key("sandbox", 2)
    ratelimit.acquire(key_a, 1, 10.0, max_wait=0)

    assert ratelimit.acquire(key_b, 1, 10.0, max_wait=0) == 0.0
    with pytest.raises(RateLimited):
        ratelimit.acquire(key_a, 1, 10.0, max_wait=0)


@pytest.mark.django_db
def test_database_bucket_is_created_on_first_use_and_keeps_at_most_limit_stamps(settings,
                                                                               fake_clock):
    settings.REDIS_URL = ""
    for _ in range(3):
        ratelimit.acquire(KEY, 3, 10.0, max_wait=0)
    with pytest.raises(RateLimited):
        ratelimit.acquire(KEY, 2, 10.0, max_wait=0)  # a lowered limit counts what is there
    ratelimit.acquire(KEY, 4, 10.0, max_wait=0)
    assert len(RateBucket.objects.get(key=KEY).stamps) == 4

    fake_clock.advance(span(0.01) + 0.01)
    ratelimit.acquire(KEY, 2, 0.01, max_wait=0)  # the old stamps have left this short window

    assert len(RateBucket.objects.get(key=KEY).stamps) == 1


def test_redis_keeps_a_self_expiring_sorted_set_per_key(settings, redis_url):
    settings.REDIS_URL = redis_url  # on the Redis server's own clock
    ratelimit.acquire(KEY, 3, 2.0, max_wait=0)
    ratelimit.block_until(KEY, time.time() + 5)

    client = redis.Redis.from_url(redis_url)
    assert client.zcard(f"thinkalike:rate:{KEY}") == 1
    assert 0 < client.pttl(f"thinkalike:rate:{KEY}") <= span(2.0) * 1000 + 10_000
    assert 0 < client.pttl(f"thinkalike:rate-blocked:{KEY}") <= 6000


# --- Several processes sharing one budget ------------------------------------------------------

LIMIT, WINDOW, GRANTS_EACH, WORKERS = 10, 0.5, 15, 4

# Each worker says it is ready, waits for the go file, then takes a fixed number of grants,
# recording the grant time the backend stored for each (its own clock, taken under its lock):
# what the budget promised, whatever the scheduler does to the worker afterwards.
WORKER = """
import json, sys, time
from pathlib import Path
import django
django.setup()
from integrations import ratelimit
workdir, index = Path(sys.argv[1]), sys.argv[2]
(workdir / f"ready-{index}").touch()
while not (workdir / "go").exists():
    time.sleep(0.01)
count, limit, window = json.loads((workdir / "go").read_text())
grants = []
for _ in range(count):
    ratelimit.acquire("provider:test", limit=limit, window=window, max_wait=60)
    grants.append(ratelimit._grants()["provider:test"])
(workdir / f"grants-{index}.json").write_text(json.dumps(grants))
"""


def run_workers(workdir: Path, env: dict[str, str]) -> list[float]:
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(workdir), str(i)], cwd=ROOT, env=env)
        for i in range(WORKERS)
    ]
    try:
        # Generous bounds that only catch a hung worker; no assertion depends on them.
        deadline = time.monotonic() + 120
        while len(list(workdir.glob("ready-*"))) < WORKERS:
            assert time.monotonic() < deadline, "the worker processes did not start"
            assert all(w.poll() is None for w in workers), "a worker process died"
            time.sleep(0.02)
        (workdir / "go").write_text(json.dumps([GRANTS_EACH, LIMIT, WINDOW]))
        for worker in workers:
            assert worker.wait(timeout=120) == 0
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    return sorted(
        t for i in range(WORKERS) for t in json.loads((workdir / f"grants-{i}.json").read_text())
    )


def check_budget(stamps: list[float], label: str) -> None:
    assert len(stamps) == WORKERS * GRANTS_EACH  # every grant was made, and recorded once
    # Grant i and grant i + LIMIT must be at least a window apart, or one window holds LIMIT + 1.
    gaps = [after - first for first, after in zip(stamps, stamps[LIMIT:], strict=False)]
    assert min(gaps) >= WINDOW, f"{LIMIT + 1} grants within {min(gaps):.4f} s"
    # How much of the budget was used depends on the machine's load: reported, not asserted
    # (benchmarks/ measure it).
    print(f"{label}: {len(stamps)} grants; steady rate {WINDOW * len(gaps) / sum(gaps):.3f} "
          f"of the limit, tightest window {min(gaps):.4f} s")


def worker_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "thinkalike.settings_test", "REDIS_URL": ""}
    return {**env, **extra}


@pytest.mark.realserver
def test_four_processes_share_one_database_budget(tmp_path):
    env = worker_env(DATABASE_URL=f"sqlite:///{tmp_path / 'budget.sqlite3'}")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"],
                   cwd=ROOT, env=env, check=True, timeout=60)

    check_budget(run_workers(tmp_path, env), "database")


@pytest.mark.realserver
def test_four_processes_share_one_redis_budget(tmp_path, redis_url):
    # The workers never touch this database: the Redis backend needs none.
    env = worker_env(DATABASE_URL=f"sqlite:///{tmp_path / 'unused.sqlite3'}", REDIS_URL=redis_url)

    check_budget(run_workers(tmp_path, env), "redis")
