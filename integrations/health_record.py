"""Recording a connection's health, so each change is seen once.

``connection_health`` (health.py) judges; this stores its verdict on the row. A first look
(no lock) judges the row as read: unchanged, nothing more (the common case costs one read).
Changed, it locks the row (``select_for_update``), reads and judges it again under the lock
and writes that verdict: a worker that read the row before another changed it cannot record
its older verdict over the newer one, and of two workers that see the same change only the
first sends ``health_changed`` (the notices app's notice and e-mail); the second finds it
recorded. Every write of what health is judged on (a sync's end, a test, a flag for
reconnecting) updates the same row, so it waits for that lock too.

The first record of a connection (``health_state`` blank: rows from before migration 0014) is
a silent baseline: stored, not told, so a deploy does not notify everyone whose connection was
already failing. A connection made since is recorded at its (re)connect (idle, "not synced
yet"), so its first failure is a change and is told.

Called after everything that changes what health is judged on: the end of a sync run, a
connection test (on demand or periodic), a flag for reconnecting, a settings change and a
(re)connect. It never calls a provider, so it may run inside its caller's transaction;
listeners send e-mail on commit.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction

from .health import Health, connection_health
from .models import Connection
from .signals import health_changed

logger = logging.getLogger(__name__)


def _current(pk: int) -> Connection | None:
    """The row as it is now, with what ``connection_health`` reads beside it (no lock)."""
    return Connection.objects.select_related("credential").filter(pk=pk).first()


def _locked(pk: int) -> Connection | None:
    """The row under a row lock (this transaction's until it ends); the credential beside it
    is read, not locked (it sits on the nullable side of the join)."""
    return (Connection.objects.select_for_update(of=("self",))
            .select_related("credential").filter(pk=pk).first())


def connection_health_record(*, connection: Connection, now: datetime) -> Health | None:
    """Judge ``connection`` at ``now`` on its row as stored and record the state when it
    changed. Returns the health judged (None when the row is gone).

    The caller's copy need not be fresh: the row is read again. Its ``health_state`` and
    ``health_changed_at`` are updated to what is recorded.
    """
    current = _current(connection.pk)
    if current is None:
        return None
    health = connection_health(current, now=now)
    if health.state != current.health_state:
        with transaction.atomic():
            current = _locked(connection.pk)
            if current is None:
                return None
            health = connection_health(current, now=now)
            old = current.health_state
            if health.state != old:
                Connection.objects.filter(pk=current.pk).update(
                    health_state=health.state, health_changed_at=now)
                current.health_state, current.health_changed_at = health.state, now
                if old:  # blank: the first record, a silent baseline
                    _tell(current, old, health, now)
    connection.health_state = current.health_state
    connection.health_changed_at = current.health_changed_at
    return health


# Connections whose health was never recorded (they predate the column, or nothing has
# recorded them since) get their silent first record this many at a time per call.
BASELINE_BATCH = 500


def connections_health_baseline(*, now: datetime, limit: int = BASELINE_BATCH) -> int:
    """Record the health of up to ``limit`` connections never recorded yet, silently (a first
    record notifies no one), so the staff overview counts them and their next change notifies.
    Connections that are never tested or synced (sync off, disabled) are recorded only here."""
    pks = list(Connection.objects.filter(health_state="").order_by("pk")
               .values_list("pk", flat=True)[:limit])
    for pk in pks:
        connection_health_record(connection=Connection(pk=pk), now=now)
    return len(pks)


def _tell(connection: Connection, old: str, health: Health, at: datetime) -> None:
    for receiver, result in health_changed.send_robust(
        sender=Connection, connection=connection, old=old, health=health, at=at,
    ):
        if isinstance(result, Exception):
            logger.error("health change of connection %s: %s failed", connection.pk,
                         getattr(receiver, "__qualname__", receiver), exc_info=result)
