"""Several dispatchers (several qcluster processes, several machines) at once: each due
connection gets exactly one run. Threads hold their own PostgreSQL connections, so the
conditional UPDATE that claims connections is raced for real (CI's second leg)."""

import threading

import pytest
from django.db import connection as db
from django.db import connections
from django.db.models import Count

from integrations.models import SyncRun
from integrations.sync import sync_dispatch_due
from tests.integrations.test_sync import make_due

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(db.vendor != "postgresql",
                       reason="the claim race needs PostgreSQL (run in CI's second leg)"),
]


def test_racing_dispatchers_queue_each_connection_once(monkeypatch):
    monkeypatch.setattr("integrations.sync.enqueue_many", lambda func, batch: None)
    make_due(400)
    barrier = threading.Barrier(4)
    queued, errors = [], []

    def dispatcher():
        try:
            barrier.wait()
            queued.append(sync_dispatch_due(batch_size=50))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=dispatcher) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert sum(queued) == 400
    per_connection = SyncRun.objects.values("connection").annotate(n=Count("id"))
    assert {row["n"] for row in per_connection} == {1}
    assert per_connection.count() == 400
