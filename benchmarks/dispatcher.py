"""The scheduled dispatcher, ``integrations.sync.sync_dispatch_due()``.

Two measurements, both with django-q2 in its normal (queued, not sync) mode on the ORM broker,
so queueing (one OrmQ row per run) is part of what is counted:

* SQL queries to dispatch 1, 10 and 100 due connections: the same count at every size;
* seconds and queries to dispatch 10,000 due connections, in batches of the dispatcher's
  default size (what the scheduled task uses) and of 500.
"""

from __future__ import annotations

import inspect
import time
import uuid
from datetime import timedelta

from django.db import connection as db
from django.test.utils import CaptureQueriesContext

SIZES = (1, 10, 100)
LARGE = 10_000
OTHER_BATCH = 500


def _check_mode() -> str:
    from django_q.brokers import get_broker
    from django_q.brokers.orm import ORM
    from django_q.conf import Conf

    broker = get_broker()
    if Conf.SYNC or not isinstance(broker, ORM):
        raise RuntimeError("the dispatcher benchmark needs django-q2 in queued mode on the ORM "
                           f"broker (sync={Conf.SYNC}, broker={type(broker).__name__})")
    return "ORM"


def _seed_due(count: int) -> str:
    """``count`` users, each with one due sandbox connection, in a few bulk INSERTs."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from integrations.models import Connection

    User = get_user_model()
    tag = uuid.uuid4().hex[:8]
    users = User.objects.bulk_create(
        [User(username=f"d{tag}-{i}", email=f"d{tag}-{i}@example.com", password="!")
         for i in range(count)],
        batch_size=1000,
    )
    due = timezone.now() - timedelta(minutes=1)
    Connection.objects.bulk_create(
        [Connection(user=user, provider="sandbox", external_account_id=f"d{tag}-{i}",
                    account_label=f"due {i}", next_sync_at=due - timedelta(seconds=i))
         for i, user in enumerate(users)],
        batch_size=1000,
    )
    return tag


def _queued() -> int:
    from django_q.models import OrmQ

    return OrmQ.objects.count()


def default_batch_size() -> int:
    from integrations.sync import sync_dispatch_due

    return inspect.signature(sync_dispatch_due).parameters["batch_size"].default


def _dispatch(batch_size: int, max_batches: int) -> tuple[int, list[str]]:
    """Dispatch under CaptureQueriesContext; how many were queued and the SQL sent."""
    from integrations.sync import sync_dispatch_due

    with CaptureQueriesContext(db) as ctx:
        queued = sync_dispatch_due(batch_size=batch_size, max_batches=max_batches)
    return queued, [q["sql"] for q in ctx.captured_queries]


def _kinds(sqls: list[str]) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for sql in sqls:
        parts = sql.split('"')
        key = f"{sql.lstrip()[:6].upper()} {parts[1] if len(parts) > 1 else ''}".strip()
        kinds[key] = kinds.get(key, 0) + 1
    return kinds


def _large(batch_size: int) -> dict:
    """Dispatch LARGE due connections, timed under a counting wrapper rather than
    CaptureQueriesContext (on SQLite its debug cursor runs an extra query per statement to
    quote the parameters). Then the claims are released, the runs and tasks deleted, and the
    same dispatch runs again under CaptureQueriesContext for a count comparable with the small
    sizes."""
    from django_q.models import OrmQ

    from integrations.models import Connection, SyncRun
    from integrations.sync import sync_dispatch_due

    tag = _seed_due(LARGE)
    before = _queued()
    statements = 0

    def count(execute, sql, params, many, context):
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    batches = -(-LARGE // batch_size)
    with db.execute_wrapper(count):
        started = time.perf_counter()
        queued = sync_dispatch_due(batch_size=batch_size, max_batches=batches + 1)
        seconds = time.perf_counter() - started
    assert queued == LARGE == _queued() - before, (queued, _queued() - before)

    mine = Connection.objects.filter(external_account_id__startswith=f"d{tag}-")
    SyncRun.objects.filter(connection__in=mine).delete()
    OrmQ.objects.all().delete()
    mine.update(sync_claimed_at=None, sync_claim_token=None)
    queued, sqls = _dispatch(batch_size, max_batches=batches + 1)
    assert queued == LARGE, queued
    mine.update(status=Connection.Status.DISABLED)  # out of the way of the next measurement
    return {
        "connections": LARGE, "batch_size": batch_size, "batches": batches,
        "seconds": round(seconds, 3), "connections_per_s": round(LARGE / seconds),
        "queries": len(sqls), "queries_per_batch": round(len(sqls) / batches, 2),
        "statements_executed": statements, "by_statement": _kinds(sqls),
    }


def run() -> dict:
    from django.db import connection as default

    from integrations.models import Connection

    broker = _check_mode()
    batch_size = default_batch_size()
    Connection.objects.all().delete()  # whatever earlier benchmarks left must not be due
    counts: dict[int, int] = {}
    kinds: dict[int, dict[str, int]] = {}
    for size in SIZES:
        _seed_due(size)
        before = _queued()
        queued, sqls = _dispatch(batch_size, max_batches=2)
        assert queued == size == _queued() - before, (size, queued)
        counts[size], kinds[size] = len(sqls), _kinds(sqls)
    sizes = [batch_size] + ([OTHER_BATCH] if batch_size != OTHER_BATCH else [])
    return {
        "broker": broker, "database": default.vendor, "default_batch_size": batch_size,
        "queries": {"counts": counts, "by_statement": kinds[SIZES[-1]]},
        "large": [_large(size) for size in sizes],
    }


def table(result: dict) -> str:
    counts = result["queries"]["counts"]
    values = [counts[s] for s in SIZES]
    lines = [
        f"Dispatcher (`sync_dispatch_due`, django-q2 queued mode, {result['broker']} broker, "
        f"{result['database']}; default batch size {result['default_batch_size']}):",
        "",
        "| due connections | " + " | ".join(str(s) for s in SIZES) + " | constant |",
        "|---|" + "---|" * (len(SIZES) + 1),
        "| SQL queries | " + " | ".join(map(str, values))
        + f" | {'yes' if len(set(values)) == 1 else 'NO'} |",
        "",
        "| due connections | batch size | seconds | connections/s | SQL queries | per batch |",
        "|---|---|---|---|---|---|",
    ]
    for large in result["large"]:
        lines.append(
            f"| {large['connections']:,} | {large['batch_size']} | {large['seconds']:.2f} | "
            f"{large['connections_per_s']:,} | {large['queries']} | "
            f"{large['queries_per_batch']:g} |")
    return "\n".join(lines)
