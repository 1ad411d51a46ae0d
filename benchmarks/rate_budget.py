"""Rate budget use: several worker processes share one provider's limit.

The sandbox runs on loopback and enforces a sliding-window limit itself; each worker process
hammers its API through ApiClient (which takes slots of the shared budget: the database, or
Redis when REDIS_URL is set). Afterwards the sandbox's own request log says what it saw: the
most requests in any window (must not exceed the limit) and the share of the limit used in
each full window while there was work (target 90-100%).
"""

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from integrations.sandbox.liveserver import (
    PROJECT_DIR,
    SandboxServer,
    _env,
    create_sandbox_connections,
    migrated_sqlite_url,
    set_knobs,
)
from integrations.sandbox.windows import fixed_window_counts, sliding_window_counts

WORKER = """
import json, time
from integrations.exceptions import IntegrationError
from integrations.http import ApiClient
from integrations.models import Connection
from integrations.providers.registry import get_provider
args = json.loads(ARGS)
connection = Connection.objects.get(pk=args["connection"])
client = ApiClient(get_provider("sandbox"), connection=connection)
ok = failed = 0
while time.time() < args["start"]:
    time.sleep(0.005)
while time.time() < args["start"] + args["duration"]:
    try:
        client.get_json("me/tracks", {"limit": 1, "offset": ok % 100})
        ok += 1
    except IntegrationError:
        failed += 1
print(json.dumps({"ok": ok, "failed": failed}))
"""


def run(*, processes: int = 4, limit: int = 20, window: float = 1.0,
        duration: float = 8.0) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="thinkalike-budget-"))
    database_url = migrated_sqlite_url(workdir)
    db_path = database_url.removeprefix("sqlite:///")
    with SandboxServer(database_url) as server:
        env = {"THINKALIKE_SANDBOX_URL": server.sandbox_url, "THINKALIKE_RATE_BUDGETS": "1",
               "THINKALIKE_SANDBOX_RATE_LIMIT": f"{limit}/{window}"}
        ids = create_sandbox_connections(
            database_url, accounts=[f"budget-{n}" for n in range(processes)], consent=False)
        set_knobs(database_url, rate_limit_requests=limit, rate_limit_window_seconds=window)
        start = time.time() + 4.0  # every worker is up and waiting by then
        workers = [
            subprocess.Popen(
                [sys.executable, "manage.py", "shell", "-c",
                 "ARGS = " + json.dumps(json.dumps(
                     {"connection": pk, "start": start, "duration": duration})) + "\n" + WORKER],
                cwd=PROJECT_DIR, env=_env(database_url, env), stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True,
            )
            for pk in ids
        ]
        outputs = []
        for worker in workers:
            out, err = worker.communicate(timeout=duration + 120)
            if worker.returncode:
                raise RuntimeError(f"a budget worker failed:\n{err[-2000:]}")
            outputs.append(json.loads(out.strip().splitlines()[-1]))
    with sqlite3.connect(db_path) as db:
        times = [t for (t,) in db.execute(
            "SELECT at FROM sandbox_sandboxrequest WHERE counted ORDER BY at")]
        refused = db.execute(
            "SELECT COUNT(*) FROM sandbox_sandboxrequest WHERE status = 429").fetchone()[0]
    # Full windows while there was work: skip the first (workers starting) and the last.
    per_window = fixed_window_counts(times, window, start=start)[1:-1]
    return {
        "backend": "redis" if os.environ.get("REDIS_URL") else "database",
        "processes": processes, "limit": limit, "window_seconds": window,
        "duration_seconds": duration, "requests_answered": len(times),
        "refused_by_sandbox": refused,
        "client_failures": sum(o["failed"] for o in outputs),
        "max_in_any_window": max(sliding_window_counts(times, window), default=0),
        "utilisation_per_window": [round(c / limit, 3) for c in per_window],
        "min_utilisation": round(min(per_window, default=0) / limit, 3),
        "mean_utilisation": round(sum(per_window) / (len(per_window) * limit), 3)
        if per_window else 0.0,
    }


def table(result: dict) -> str:
    return "\n".join([
        "| rate budget | value |", "|---|---|",
        f"| backend | {result['backend']} |",
        f"| worker processes | {result['processes']} |",
        f"| sandbox limit | {result['limit']} per {result['window_seconds']} s |",
        f"| most requests in any window | {result['max_in_any_window']} |",
        f"| refused by the sandbox (429) | {result['refused_by_sandbox']} |",
        f"| use of the limit per full window: min / mean | "
        f"{result['min_utilisation']:.0%} / {result['mean_utilisation']:.0%} |",
    ])


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "thinkalike.settings_test")
    print(table(run()))
