"""Full sync of 10,000 sandbox tracks over real HTTP, against a bare loop; then re-syncs.

DESIGN.md section 11: the engine's full sync reaches at least 70% of the throughput of a bare
loop that fetches the same pages with one ``requests.Session`` and bulk-inserts the same rows,
and a re-sync with nothing changed writes no rows in under 30% of the full sync's time.

Everything is real: the sandbox is served by ``runserver`` on loopback (its own process), and
each side runs in a subprocess of its own (``python -m benchmarks.sync_throughput <mode>``)
whose settings point at that server and at the same SQLite file. The subprocess times itself
and prints one JSON line. Each side runs ``RUNS`` times, alternating, each time for a fresh
user and connection of the same sandbox account (so the same items); the best run counts.

Both sides do the same work per page: the same requests (``limit=50``, as the engine's
NextUrlPaginator asks, plus the one empty ``me/top-artists`` page, since the engine syncs that
stream too), the same mapping to ExternalItem fields (connection, kind, external_id, title,
attrs, content_hash) and one ``bulk_create`` per page. What the engine does on top is its own
cost: the ApiCall row per request, the existing-rows lookup, the checkpoint and progress
updates per page, the run bookkeeping and the interests recomputation at the end.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRACKS = 10_000
PAGE = 50  # NextUrlPaginator(limit=50) on the sandbox's streams
RUNS = 5
ACCOUNT = "bench-listener"
TARGET_RATIO = 0.7
TARGET_RESYNC = 0.3
CHILD_TIMEOUT = 600
STOCK_PAGES = 20


# -- the parent: server, setup, alternating runs ------------------------------------------------
def run(runs: int = RUNS, tracks: int = TRACKS) -> dict:
    from integrations.sandbox.liveserver import (
        PROJECT_DIR,
        SandboxServer,
        _env,
        migrated_sqlite_url,
        set_knobs,
    )

    with tempfile.TemporaryDirectory(prefix="thinkalike-bench-sync-") as tmp:
        database_url = migrated_sqlite_url(tmp)
        set_knobs(database_url, track_count=tracks, artist_count=0)

        def child(server, *args: str) -> dict:
            env = _env(database_url, {
                "THINKALIKE_SANDBOX_URL": server.sandbox_url, "REDIS_URL": "",
                "THINKALIKE_RATE_BUDGETS": "0",
            })
            result = subprocess.run(
                [sys.executable, "-m", "benchmarks.sync_throughput", *args],
                cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT,
            )
            if result.returncode:
                raise RuntimeError(f"benchmarks.sync_throughput {' '.join(args)} failed:\n"
                                   f"{result.stderr[-3000:]}\nserver:\n{server.stderr_tail()}")
            return json.loads(result.stdout.strip().splitlines()[-1])

        with SandboxServer(database_url, extra_env={"REDIS_URL": ""}) as server:
            ids = child(server, "setup", str(runs))
            fetch_only = child(server, "fetch", str(ids["bare"][0]))
            bare, engine = [], []
            for i in range(runs):  # alternate, so a slow spell of the machine hits both sides
                bare.append(child(server, "bare", str(ids["bare"][i])))
                engine.append(child(server, "engine", str(ids["engine"][i])))
        # Why the benchmark's server sets TCP_NODELAY: the same fetch on stock runserver.
        with SandboxServer(database_url, extra_env={"REDIS_URL": ""}, nodelay=False) as stock:
            stock_fetch = child(stock, "fetch", str(ids["bare"][0]), str(STOCK_PAGES))
    result = summarise(bare, engine, fetch_only, tracks=tracks, runs=runs)
    result["stock_runserver_ms_per_page"] = round(
        1000 * stock_fetch["full"]["seconds"] / stock_fetch["full"]["pages"], 1)
    result["nodelay_runserver_ms_per_page"] = round(
        1000 * fetch_only["full"]["seconds"] / fetch_only["full"]["pages"], 1)
    return result


def summarise(bare: list[dict], engine: list[dict], fetch_only: dict, *, tracks: int,
              runs: int) -> dict:
    for result in bare + engine:
        assert result["full"]["items"] == tracks, result
    best_bare = min(bare, key=lambda r: r["full"]["seconds"])
    best_engine = min(engine, key=lambda r: r["full"]["seconds"])
    full_seconds = best_engine["full"]["seconds"]
    resyncs = {}
    for name in ("incremental", "incremental_etag", "forced_full"):
        best = min(engine, key=lambda r, n=name: r[n]["seconds"])[name]
        resyncs[name] = {
            **best,
            "ratio_to_full": round(best["seconds"] / full_seconds, 4),
            # the worst run's writes: every run must write nothing
            "rows_written_max": max(r[name]["rows_written"] for r in engine),
        }
    ratio = best_bare["full"]["seconds"] / full_seconds  # throughput ratio engine / bare
    # Each engine run against the bare run just before it: the spread shows the noise.
    pairs = sorted(round(b["full"]["seconds"] / e["full"]["seconds"], 3)
                   for b, e in zip(bare, engine, strict=True))
    return {
        "tracks": tracks, "runs_per_side": runs, "taken": "best run of each side",
        "bare": {**best_bare["full"],
                 "items_per_s": round(tracks / best_bare["full"]["seconds"], 1),
                 "all_seconds": [r["full"]["seconds"] for r in bare]},
        "engine": {**best_engine["full"],
                   "items_per_s": round(tracks / full_seconds, 1),
                   "all_seconds": [r["full"]["seconds"] for r in engine]},
        "fetch_only": {**fetch_only["full"],
                       "items_per_s": round(tracks / fetch_only["full"]["seconds"], 1)},
        "throughput_ratio": round(ratio, 4),
        "pair_ratios": pairs, "median_pair_ratio": pairs[len(pairs) // 2],
        "throughput_target": TARGET_RATIO,
        "throughput_met": ratio >= TARGET_RATIO,
        "resync": resyncs,
        "resync_target": TARGET_RESYNC,
        "resync_met": (resyncs["incremental"]["ratio_to_full"] <= TARGET_RESYNC
                       and all(r["rows_written_max"] == 0 for r in resyncs.values())),
    }


def table(result: dict) -> str:
    bare, engine, fetch = result["bare"], result["engine"], result["fetch_only"]
    pairs = ", ".join(f"{r:.2f}" for r in result["pair_ratios"])
    lines = [
        f"Full sync of {result['tracks']:,} sandbox tracks over loopback HTTP "
        f"(best of {result['runs_per_side']} runs per side):",
        "",
        "| side | seconds | items/s | HTTP requests | SQL queries | queries/page |",
        "|---|---|---|---|---|---|",
        f"| fetch only (no database; reference) | {fetch['seconds']:.2f} | "
        f"{fetch['items_per_s']:,.0f} | {fetch['requests']} | 0 | 0 |",
        f"| bare loop (requests + bulk_create) | {bare['seconds']:.2f} | "
        f"{bare['items_per_s']:,.0f} | {bare['requests']} | {bare['queries']} | "
        f"{bare['queries'] / bare['pages']:.1f} |",
        f"| sync engine, full | {engine['seconds']:.2f} | {engine['items_per_s']:,.0f} | "
        f"{engine['requests']} | {engine['queries']} | "
        f"{engine['queries'] / engine['pages']:.1f} |",
        "",
        f"The server is `runserver` with TCP_NODELAY: {result['nodelay_runserver_ms_per_page']}"
        f" ms a page fetched; stock `runserver` on a kept-alive connection: "
        f"{result['stock_runserver_ms_per_page']} ms (Nagle + delayed ACK), which would hide "
        f"the client's own costs.",
        "",
        f"Engine / bare loop throughput: **{result['throughput_ratio']:.2f}** "
        f"(target >= {result['throughput_target']}: "
        f"{'met' if result['throughput_met'] else 'MISSED'}). Per pair of runs (engine run "
        f"vs the bare run just before it), sorted: {pairs}; median "
        f"{result['median_pair_ratio']:.2f}.",
        "",
        "Re-sync of the same connection with nothing changed:",
        "",
        "| re-sync | seconds | / full sync | item rows written | HTTP requests | SQL queries "
        "| SQL writes |",
        "|---|---|---|---|---|---|---|",
    ]
    labels = {"incremental": "incremental (default; cursor)",
              "incremental_etag": "incremental again (cursor + ETag: 304)",
              "forced_full": "forced full (`--full`)"}
    for name, label in labels.items():
        r = result["resync"][name]
        writes = ", ".join(f"{table} {n}" for table, n in sorted(r["writes"].items())) or "0"
        lines.append(f"| {label} | {r['seconds']:.3f} | {r['ratio_to_full']:.2f} | "
                     f"{r['rows_written_max']} | {r['requests']} | {r['queries']} | {writes} |")
    lines += ["", f"Re-sync target (0 item rows written; default re-sync <= "
                  f"{result['resync_target']} of the full sync's time): "
                  f"{'met' if result['resync_met'] else 'MISSED'}.",
              "", "Where the time goes (wall seconds inside each part, best runs; indented "
                  "rows are part of the row above):", "",
              "| run | part | seconds | share |", "|---|---|---|---|"]
    runs = (("bare loop", bare), ("engine, full", engine),
            ("engine, incremental", result["resync"]["incremental"]))
    for label, run_ in runs:
        parts = dict(run_["sections"])
        total = parts.pop("total")
        top = sum(v for k, v in parts.items() if not k.startswith(" "))
        parts["everything else"] = total - top
        parts[f"SQL execution, all statements ({run_['queries']})"] = run_["sql_seconds"]["total"]
        for part, seconds in parts.items():
            lines.append(f"| {label} | {part} | {seconds:.3f} | {seconds / total:.0%} |")
        lines.append(f"| {label} | **total** | {total:.3f} | 100% |")
    return "\n".join(lines)


# -- the subprocesses ---------------------------------------------------------------------------
class QueryCounter:
    """A cheap ``execute_wrapper``: counts statements, the writes per table and the time spent
    in the database per statement kind (no SQL formatting, unlike CaptureQueriesContext, so it
    barely changes the timing)."""

    def __init__(self) -> None:
        self.queries = 0
        self.writes: dict[str, int] = {}
        self.seconds: dict[str, float] = {}

    def __call__(self, execute, sql, params, many, context):
        self.queries += 1
        verb = sql.lstrip()[:6].upper()
        parts = sql.split('"')
        table = parts[1] if len(parts) > 1 else "?"
        if verb in ("INSERT", "UPDATE", "DELETE"):
            self.writes[table] = self.writes.get(table, 0) + 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            key = f"{verb} {table.removeprefix('integrations_')}"
            self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - started

    def sql_seconds(self) -> dict[str, float]:
        top = sorted(self.seconds.items(), key=lambda kv: -kv[1])
        return {"total": round(sum(self.seconds.values()), 4),
                **{key: round(value, 4) for key, value in top[:8]}}


def _setup(runs: int) -> dict:
    from datetime import timedelta

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from consent.services import consent_set
    from integrations.models import Connection, Credential
    from integrations.sandbox import services

    ids: dict[str, list[int]] = {"bare": [], "engine": []}
    for side in ids:
        for i in range(runs):
            client, uri = settings.THINKALIKE_SANDBOX_CLIENT_ID, "http://127.0.0.1/callback"
            code = services.auth_code_issue(account=ACCOUNT, client_id=client, redirect_uri=uri,
                                            scope="library.read profile.read")
            tokens = services.auth_code_redeem(code=code, client_id=client, redirect_uri=uri,
                                               code_verifier="")
            user = get_user_model().objects.create_user(
                username=f"{side}{i}", email=f"{side}{i}@example.com")
            consent_set(user=user, purpose="matching", granted=True)
            connection = Connection.objects.create(
                user=user, provider="sandbox", external_account_id=ACCOUNT,
                account_label=ACCOUNT, auto_sync=False)
            Credential.objects.create(
                connection=connection, access_token=tokens.access_token,
                refresh_token=tokens.refresh_token,
                expires_at=timezone.now() + timedelta(hours=2))
            ids[side].append(connection.pk)
    return ids


class Sections:
    """Wall time spent inside chosen functions, to show where a run's time goes. The wrappers
    cost a microsecond a call, a few hundred calls a run."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._undo: list[tuple[object, str, object]] = []

    def add(self, label: str, seconds: float) -> None:
        self.seconds[label] = self.seconds.get(label, 0.0) + seconds

    def wrap(self, owner, name: str, label: str) -> None:
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.add(label, time.perf_counter() - started)

        self._undo.append((owner, name, original))
        self.seconds.setdefault(label, 0.0)  # report in the order wrapped, outer first
        setattr(owner, name, timed)

    def restore(self) -> None:
        while self._undo:
            owner, name, original = self._undo.pop()
            setattr(owner, name, original)

    def report(self, total: float) -> dict[str, float]:
        return {"total": round(total, 4),
                **{label: round(value, 4) for label, value in self.seconds.items()}}


def _bare(connection_id: int, *, store: bool = True, max_pages: int | None = None) -> dict:
    """The reference: one Session, the same pages, the same rows, one bulk_create per page."""
    import requests
    from django.conf import settings
    from django.db import connection as db

    from integrations.models import Credential, ExternalItem
    from integrations.providers.registry import get_provider

    base = get_provider("sandbox").get_api_base_url()
    token = Credential.objects.get(connection_id=connection_id).access_token
    counter, sections = QueryCounter(), Sections()
    items = pages = requests_sent = 0
    clock = time.perf_counter
    with db.execute_wrapper(counter):
        started = clock()
        session = requests.Session()
        session.headers.update({"User-Agent": settings.THINKALIKE_USER_AGENT,
                                "Accept": "application/json",
                                "Authorization": f"Bearer {token}"})
        for path, kind in (("me/tracks", "track"), ("me/top-artists", "artist")):
            url, params = base + path, {"limit": PAGE}
            while url and (max_pages is None or pages < max_pages):
                t0 = clock()
                response = session.get(url, params=params, timeout=(5.0, 20.0))
                requests_sent += 1
                response.raise_for_status()
                payload = response.json()
                t1 = clock()
                rows = []
                for record in payload["items"]:
                    title = record["title"][:500]
                    artist = record.get("artist")
                    attrs = {"artist": artist if isinstance(artist, str) else "",
                             "genres": [g for g in record.get("genres") or []
                                        if isinstance(g, str)][:10]}
                    body = json.dumps([title, attrs], sort_keys=True, separators=(",", ":"))
                    rows.append(ExternalItem(
                        connection_id=connection_id, kind=kind, external_id=record["id"],
                        title=title, attrs=attrs,
                        content_hash=hashlib.sha256(body.encode()).hexdigest()))
                t2 = clock()
                if store and rows:
                    ExternalItem.objects.bulk_create(rows)
                sections.add("fetch + JSON", t1 - t0)
                sections.add("map + hash", t2 - t1)
                sections.add("bulk_create", clock() - t2)
                items += len(rows)
                pages += 1
                url, params = payload.get("next"), None
        session.close()
        seconds = clock() - started
    return {"full": {"seconds": round(seconds, 4), "items": items, "pages": pages,
                     "requests": requests_sent, "queries": counter.queries,
                     "writes": counter.writes, "sql_seconds": counter.sql_seconds(),
                     "sections": sections.report(seconds)}}


def _engine_pass(connection, *, full: bool) -> dict:
    from django.db import connection as db
    from django.db.models import Count, Q
    from django.utils import timezone

    from integrations import http, streams, sync
    from integrations.models import ApiCall, ExternalItem, UserInterest

    items_before = ExternalItem.objects.filter(connection=connection).count()
    calls_before = ApiCall.objects.filter(connection=connection).count()
    counter, sections = QueryCounter(), Sections()
    # Nested: "upsert" includes "upsert: bulk_create", "fetch" includes "ApiCall row".
    sections.wrap(http.ApiClient, "fetch", "fetch (HTTP, JSON, ApiCall row)")
    sections.wrap(ApiCall.objects, "create", "  of which ApiCall row")
    sections.wrap(streams, "map_safely", "map")
    sections.wrap(streams.StreamSync, "_upsert", "upsert (lookup, hash, bulk_create)")
    sections.wrap(ExternalItem.objects, "bulk_create", "  of which bulk_create")
    sections.wrap(streams.StreamSync, "_checkpoint", "checkpoint + progress")
    sections.wrap(sync, "interests_recompute", "interests_recompute")
    since = timezone.now()
    try:
        with db.execute_wrapper(counter):
            started = time.perf_counter()
            run = sync.sync_request(connection=connection, trigger="manual", full=full,
                                    enqueue=False)
            run = sync.sync_execute(run_id=run.pk)
            seconds = time.perf_counter() - started
    finally:
        sections.restore()
    assert run.status == "succeeded", (run.status, run.error_message)
    touched = ExternalItem.objects.filter(connection=connection).aggregate(
        n=Count("pk", filter=Q(first_seen_at__gte=since) | Q(last_seen_at__gte=since)
                | Q(deleted_at__gte=since)))["n"]
    interests = UserInterest.objects.filter(connection=connection, updated_at__gte=since).count()
    items_after = ExternalItem.objects.filter(connection=connection).count()
    return {
        "seconds": round(seconds, 4), "status": run.status, "items": items_after,
        "pages": run.pages, "fetched": run.fetched, "created": run.created,
        "updated": run.updated, "unchanged": run.unchanged, "deleted": run.deleted,
        "rows_written": touched + interests + abs(items_after - items_before),
        "requests": ApiCall.objects.filter(connection=connection).count() - calls_before,
        "queries": counter.queries, "writes": counter.writes,
        "sql_seconds": counter.sql_seconds(), "sections": sections.report(seconds),
        "streams": {name: {k: v for k, v in s.items() if k in ("mode", "not_modified")}
                    for name, s in run.streams.items()},
    }


def _engine(connection_id: int, *, only_full: bool = False) -> dict:
    from integrations.models import Connection

    connection = Connection.objects.get(pk=connection_id)
    result = {"full": _engine_pass(connection, full=True)}
    if only_full:
        return result
    result["incremental"] = _engine_pass(connection, full=False)
    result["incremental_etag"] = _engine_pass(connection, full=False)
    result["forced_full"] = _engine_pass(connection, full=True)
    return result


def _child_main(argv: list[str]) -> int:
    """Modes: ``setup RUNS``, ``bare ID``, ``fetch ID [PAGES]``,
    ``engine ID`` and ``profile ID [SORT]`` (cProfile of the engine's full sync; not part of
    ``make bench``)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "thinkalike.settings_test")
    import django

    django.setup()
    mode, arg = argv[0], int(argv[1])
    if mode == "setup":
        out = _setup(arg)
    elif mode == "bare":
        out = _bare(arg)
    elif mode == "fetch":
        out = _bare(arg, store=False, max_pages=int(argv[2]) if len(argv) > 2 else None)
    elif mode == "engine":
        out = _engine(arg)
    elif mode == "profile":
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        out = profiler.runcall(_engine, arg, only_full=True)
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats(argv[2] if len(argv) > 2 else "cumulative").print_stats(45)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(_child_main(sys.argv[1:]))
