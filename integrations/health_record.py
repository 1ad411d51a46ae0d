"""Recording a connection's health, so each change is seen once.

``connection_health`` (health.py) judges; this stores its verdict on the row. The store is a
conditional UPDATE (``WHERE pk = .. AND health_state = <the state read>``): two workers that
judge the same change both try it, one matches, and only that one sends ``health_changed``
(the notices app's notice and e-mail). Called after everything that changes what health is
judged on: the end of a sync run, a connection test (on demand or periodic), a flag for
reconnecting, a settings change and a (re)connect. It never calls a provider, so it may run
inside its caller's transaction; listeners send e-mail on commit.
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
    """The row as it is now, with what ``connection_health`` reads beside it."""
    return Connection.objects.select_related("credential").filter(pk=pk).first()


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
    old = current.health_state
    if health.state != old:
        with transaction.atomic():
            changed = Connection.objects.filter(pk=current.pk, health_state=old).update(
                health_state=health.state, health_changed_at=now)
            if changed:
                current.health_state, current.health_changed_at = health.state, now
                _tell(current, old, health, now)
    connection.health_state = current.health_state
    connection.health_changed_at = current.health_changed_at
    return health


def _tell(connection: Connection, old: str, health: Health, at: datetime) -> None:
    for receiver, result in health_changed.send_robust(
        sender=Connection, connection=connection, old=old, health=health, at=at,
    ):
        if isinstance(result, Exception):
            logger.error("health change of connection %s: %s failed", connection.pk,
                         getattr(receiver, "__qualname__", receiver), exc_info=result)
