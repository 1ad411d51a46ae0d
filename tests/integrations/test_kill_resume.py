"""A real worker is SIGKILLed in the middle of a 5,000-item sync; running the sync again must
leave exactly the rows an uninterrupted run leaves.

Everything is real: the sandbox served by ``runserver`` on loopback, a ``qcluster`` worker
process, and a SQLite file database they share. The test process only reads that file.
"""

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from integrations.sandbox.liveserver import (
    PROJECT_DIR,
    SandboxServer,
    _env,
    create_sandbox_connections,
    manage,
    migrated_sqlite_url,
    set_knobs,
)

TRACKS = 5000
pytestmark = pytest.mark.realserver

def rows(db_path: Path, connection_id: int) -> list[tuple]:
    with sqlite3.connect(db_path) as db:
        return sorted(db.execute(
            "SELECT kind, external_id, content_hash, deleted_at IS NULL FROM "
            "integrations_externalitem WHERE connection_id = ?", [connection_id]))


def item_count(db_path: Path, connection_id: int) -> int:
    with sqlite3.connect(db_path, timeout=20) as db:
        return db.execute("SELECT COUNT(*) FROM integrations_externalitem WHERE "
                          "connection_id = ?", [connection_id]).fetchone()[0]


def test_sigkill_mid_sync_then_rerun_matches_an_uninterrupted_run(tmp_path):
    database_url = migrated_sqlite_url(tmp_path)
    db_path = Path(database_url.removeprefix("sqlite:///"))
    with SandboxServer(database_url, extra_env={"REDIS_URL": ""}) as server:
        env = {"REDIS_URL": "", "THINKALIKE_SANDBOX_URL": server.sandbox_url}
        manage("createcachetable", database_url=database_url, extra_env=env)
        set_knobs(database_url, track_count=TRACKS, artist_count=20, latency_ms=5)
        reference, victim = create_sandbox_connections(
            database_url, accounts=["kill-listener", "kill-listener"])
        ids = {"reference": reference, "victim": victim}

        # The uninterrupted run.
        manage("sync_connections", "--connection", str(ids["reference"]), "--full",
               "--foreground", database_url=database_url, extra_env=env, timeout=300)
        expected = rows(db_path, ids["reference"])
        assert len(expected) == TRACKS + 20

        # Queue the victim's run and let a real worker take it.
        manage("sync_connections", "--connection", str(ids["victim"]), "--full",
               database_url=database_url, extra_env=env)
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"], cwd=PROJECT_DIR,
            env=_env(database_url, env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 120
            while item_count(db_path, ids["victim"]) < TRACKS // 4:
                assert time.monotonic() < deadline, "the worker never got going"
                assert worker.poll() is None, "the worker died on its own"
                time.sleep(0.05)
        finally:
            os.killpg(worker.pid, signal.SIGKILL)  # the whole cluster, no goodbye
            worker.wait(timeout=30)
        interrupted = item_count(db_path, ids["victim"])
        assert interrupted < TRACKS, "the run finished before it could be killed"

        # The claim of the killed run is still held; once it is stale the next request
        # takes over, and the run resumes from the stream's checkpoint.
        with sqlite3.connect(db_path, timeout=20) as db:
            db.execute("UPDATE integrations_connection SET sync_claimed_at = "
                       "'2000-01-01 00:00:00' WHERE id = ?", [ids["victim"]])
        result = manage("sync_connections", "--connection", str(ids["victim"]),
                        "--foreground", database_url=database_url, extra_env=env, timeout=300)
        assert "succeeded" in result.stdout, result.stdout
        fetched = int(re.search(r"fetched=(\d+)", result.stdout).group(1))
        # resumed from the checkpoint: the pages before it were not fetched again
        assert fetched <= TRACKS + 20 - (interrupted - 20) + 100, result.stdout
    assert rows(db_path, ids["victim"]) == expected
    with sqlite3.connect(db_path) as db:
        statuses = [s for (s,) in db.execute(
            "SELECT status FROM integrations_syncrun WHERE connection_id = ? ORDER BY id",
            [ids["victim"]])]
    assert statuses == ["failed", "succeeded"]  # the killed run was closed as lost
