"""The external-API proxy over real HTTP: a cache hit against a direct call to the provider, a
miss, and single flight across processes.

The whole site runs under ``runserver`` on loopback (its own process, its own SQLite file and
database cache), with the Stripe stand-in (integrations/sandbox/standins/stripe.py) as the
provider: the proxy's upstream requests go back to the same server over loopback. One client
with a kept-alive session times, one request after another:

(a) HIT: ``GET /api/v1/connections/{id}/proxy/v1/charges`` answered from the cache;
(b) direct: ``GET /sandbox/stand-ins/stripe/charges`` with the key, what the proxy itself asks;
(c) MISS: the proxy endpoint with a new ``created[gte]`` each time, so each is a miss and one
    upstream request.

Per-person proxy limits, the API's per-token throttle and the shared provider budget are
lifted for (a) to (c): they measure the path, not the limits. Then single flight: 4 worker
processes, 50 threads in all, ask ``proxy_request`` for the same uncached charges at the same
instant; the ApiCall rows of misses count the upstream requests (target 1).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time

import requests

KEY = "rk_test_BenchProxyKey0123456789"
HIT_REQUESTS = 500
DIRECT_REQUESTS = 500
MISS_REQUESTS = 200
FLIGHT_PROCESSES = 4
FLIGHT_THREADS = 50
SERVER_ENV = {
    "THINKALIKE_STAND_INS": "1", "THINKALIKE_RATE_BUDGETS": "0", "REDIS_URL": "",
    "THINKALIKE_PROXY_RATE_STRIPE": "1000000", "THINKALIKE_API_THROTTLE": "1000000/minute",
}

CREATE = """
from django.contrib.auth import get_user_model
from integrations.api_tokens import api_token_create
from integrations.models import Connection, Credential
user = get_user_model().objects.create_user(username="bench", email="bench@example.com")
connection = Connection.objects.create(user=user, provider="stripe",
                                       external_account_id="test_bench", account_label="bench")
Credential.objects.create(connection=connection, secret=json.dumps({"token": ARGS["key"]}))
from consent.services import consent_set
consent_set(user=user, purpose="dashboard", granted=True)  # the proxy reads nothing without it
_, token = api_token_create(user=user, name="bench")
print(json.dumps({"connection": connection.pk, "token": token}))
"""

def _timed(session: requests.Session, url: str, count: int, *, headers: dict,
           params=None, expect: str | None = None) -> dict:
    latencies = []
    started = time.perf_counter()
    for n in range(count):
        asked = params(n) if callable(params) else params
        begin = time.perf_counter()
        response = session.get(url, headers=headers, params=asked, timeout=30)
        latencies.append(time.perf_counter() - begin)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:300]}")
        if expect is not None and response.headers.get("X-Cache") != expect:
            raise RuntimeError(f"expected X-Cache {expect}, got {response.headers.get('X-Cache')}")
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "requests": count,
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
        "per_second": round(count / elapsed, 1),
    }


def _upstream_misses(database_url: str, connection_id: int) -> int:
    """ApiCall rows of proxy misses of ``connection_id``: one per upstream request."""
    from integrations.sandbox.liveserver import _shell

    return int(_shell(
        "from integrations.models import ApiCall\n"
        "print(ApiCall.objects.filter(cache_outcome='miss',"
        " connection_id=ARGS['connection']).count())\n",
        database_url=database_url, connection=connection_id).strip().splitlines()[-1])


def _single_flight(database_url: str, server, connection_id: int, server_env: dict) -> dict:
    from integrations.sandbox.liveserver import proxy_flight

    before = _upstream_misses(database_url, connection_id)
    shares = [FLIGHT_THREADS // FLIGHT_PROCESSES + (n < FLIGHT_THREADS % FLIGHT_PROCESSES)
              for n in range(FLIGHT_PROCESSES)]
    outcomes = proxy_flight(
        database_url, connection_id, path="/v1/charges",
        params=[("limit", "7"), ("created[gte]", "1")], threads=shares,
        extra_env={**server_env, "THINKALIKE_SANDBOX_URL": server.sandbox_url},
        lead_seconds=4.0, timeout=180)
    upstream = _upstream_misses(database_url, connection_id) - before
    return {
        "processes": FLIGHT_PROCESSES, "requests": len(outcomes),
        "misses": outcomes.count("MISS"), "hits": outcomes.count("HIT"),
        "errors": sum(o.startswith("error") for o in outcomes),
        "upstream_requests": upstream,
    }


def _redis_reachable(url: str) -> bool:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False
    return True


def _run_backend(redis_url: str) -> dict:
    """Hit, direct, miss and single flight with the cache (and rate state) in the database,
    or in Redis when ``redis_url`` is given (its database is emptied before and after)."""
    from integrations.sandbox.liveserver import SandboxServer, _shell, migrated_sqlite_url

    server_env = {**SERVER_ENV, "REDIS_URL": redis_url}
    if redis_url:
        import redis

        redis.Redis.from_url(redis_url).flushdb()
    with tempfile.TemporaryDirectory(prefix="thinkalike-bench-proxy-") as tmp:
        database_url = migrated_sqlite_url(tmp)
        made = json.loads(_shell(CREATE, database_url=database_url, key=KEY)
                          .strip().splitlines()[-1])
        with SandboxServer(database_url, extra_env=server_env) as server:
            proxy_url = f"{server.url}/api/v1/connections/{made['connection']}/proxy/v1/charges"
            direct_url = f"{server.sandbox_url}/stand-ins/stripe/charges"
            ours = {"Authorization": f"Bearer {made['token']}"}
            theirs = {"Authorization": f"Bearer {KEY}", "Accept": "application/json"}
            with requests.Session() as session:
                session.trust_env = False  # loopback: no proxy from the environment
                # Warm both paths (connections, imports, the first cache entry).
                _timed(session, direct_url, 20, headers=theirs)
                _timed(session, proxy_url, 20, headers=ours)
                hit = _timed(session, proxy_url, HIT_REQUESTS, headers=ours, expect="HIT")
                direct = _timed(session, direct_url, DIRECT_REQUESTS, headers=theirs)
                miss = _timed(session, proxy_url, MISS_REQUESTS, headers=ours, expect="MISS",
                              params=lambda n: {"created[gte]": str(1000 + n)})
            flight = _single_flight(database_url, server, made["connection"], server_env)
    if redis_url:
        redis.Redis.from_url(redis_url).flushdb()
    return {
        "backend": "Redis" if redis_url else "database cache (SQLite)",
        "hit": hit, "direct": direct, "miss": miss,
        "hit_vs_direct_p50": round(hit["p50_ms"] / direct["p50_ms"], 2),
        "miss_vs_direct_p50": round(miss["p50_ms"] / direct["p50_ms"], 2),
        "single_flight": flight,
    }


def run() -> dict:
    """Both cache backends in one run, when Redis answers (BENCH_PROXY_REDIS_URL, by default
    database 9 of the local server): the API's throttle and the proxy's cache, lock and rate
    state live wherever the cache is."""
    results = {"database": _run_backend("")}
    redis_url = os.environ.get("BENCH_PROXY_REDIS_URL", "redis://127.0.0.1:6379/9")
    if redis_url and _redis_reachable(redis_url):
        results["redis"] = _run_backend(redis_url)
    return results


def _table_one(result: dict) -> list[str]:
    rows = [f"| proxy, {result['backend']} (loopback, sequential) | p50 ms | p99 ms | "
            "requests/s |", "|---|---|---|---|"]
    for name, label in (("hit", "cache HIT through the proxy"),
                        ("direct", "direct call to the Stripe stand-in"),
                        ("miss", "MISS through the proxy")):
        figures = result[name]
        rows.append(f"| {label} | {figures['p50_ms']} | {figures['p99_ms']} | "
                    f"{figures['per_second']} |")
    flight = result["single_flight"]
    rows += [
        "", "| single flight | value |", "|---|---|",
        f"| identical misses at once | {flight['requests']} from {flight['processes']} "
        f"processes |",
        f"| upstream requests seen (target 1) | {flight['upstream_requests']} |",
        f"| answers: MISS / HIT / error | {flight['misses']} / {flight['hits']} / "
        f"{flight['errors']} |",
        f"| HIT p50 / direct p50 | {result['hit_vs_direct_p50']} |",
        f"| MISS p50 / direct p50 | {result['miss_vs_direct_p50']} |",
    ]
    return rows


def table(results: dict) -> str:
    rows: list[str] = []
    for result in results.values():
        rows += [*_table_one(result), ""]
    return "\n".join(rows).rstrip()


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "thinkalike.settings_test")
    from benchmarks.__main__ import setup_django

    setup_django()
    print(table(run()))
