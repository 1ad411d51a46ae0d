"""Counting each provider request per connection and day (UsageDay), for staff and the person.

``usage_count`` is called once per logical request, where its ApiCall row is written
(transport.send): one UPDATE with F() expressions in the common case, so it costs one query
per request; the first request of a day inserts the row (INSERT ... ON CONFLICT DO NOTHING)
and updates again, which is race-safe without a transaction or a lock. It never raises: a
counter must not replace the request's own outcome. Never inside a transaction of the
request's (send() refuses to run inside one).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError
from django.db.models import F

from . import clock
from .models import UsageDay

logger = logging.getLogger(__name__)

# UsageDay rows older than this many days are deleted by the daily log purge.
DEFAULT_RETENTION_DAYS = 400


def retention_days() -> int:
    return int(getattr(settings, "THINKALIKE_USAGE_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))


def usage_count(*, provider: str, connection_id: int | None, requests: int = 1,
                errors: int = 0, waits: int = 0, wait_seconds: float = 0.0) -> None:
    """Add to today's (UTC) counters of ``connection_id`` (or of ``provider`` alone)."""
    if not (requests or errors or waits):
        return
    day = clock.now().date()
    provider = provider[:50]
    rows = UsageDay.objects.filter(provider=provider, day=day)
    rows = (rows.filter(connection_id=connection_id) if connection_id is not None
            else rows.filter(connection__isnull=True))
    changes = {"requests": F("requests") + requests, "errors": F("errors") + errors,
               "rate_limit_waits": F("rate_limit_waits") + waits,
               "wait_seconds": F("wait_seconds") + float(wait_seconds)}
    try:
        if rows.update(**changes):
            return
        # The day's first request: a zero row (or nothing, when a concurrent request made it
        # first), then the same UPDATE.
        UsageDay.objects.bulk_create(
            [UsageDay(connection_id=connection_id, provider=provider, day=day)],
            ignore_conflicts=True,
        )
        rows.update(**changes)
    except DatabaseError as exc:  # the connection deleted meanwhile, the database away
        logger.warning("could not count a %s request (%s)", provider, type(exc).__name__)


def usage_purge(*, older_than_days: int | None = None) -> int:
    """Delete UsageDay rows past the retention (400 days unless configured)."""
    days = older_than_days if older_than_days is not None else retention_days()
    cutoff = clock.now().date() - timedelta(days=days)
    deleted, _ = UsageDay.objects.filter(day__lt=cutoff).delete()
    return deleted


def usage_fold_into_provider(*, connection_id: int) -> int:
    """Move a connection's per-day counts into its provider's connection-less rows, then delete
    them: a disconnect or an account deletion keeps the staff's figures (400 days) without the
    link to the person. Inside the caller's transaction, with the connection row locked (a
    concurrent usage_count of this connection then waits and fails on the missing row). Each
    provider row is raised with F() expressions after an INSERT ... ON CONFLICT DO NOTHING,
    like usage_count, so a count added meanwhile to that row is never lost. Returns the rows
    folded."""
    # Locked: a count of this connection committing meanwhile is in the figures read here,
    # or waits and then finds its row gone (and is dropped, as a request of a disconnected
    # connection).
    rows = list(UsageDay.objects.select_for_update().filter(connection_id=connection_id))
    if not rows:
        return 0
    UsageDay.objects.bulk_create(
        [UsageDay(connection=None, provider=row.provider, day=row.day) for row in rows],
        ignore_conflicts=True,
    )
    for row in rows:
        UsageDay.objects.filter(connection__isnull=True, provider=row.provider,
                                day=row.day).update(
            requests=F("requests") + row.requests, errors=F("errors") + row.errors,
            rate_limit_waits=F("rate_limit_waits") + row.rate_limit_waits,
            wait_seconds=F("wait_seconds") + row.wait_seconds)
    UsageDay.objects.filter(pk__in=[row.pk for row in rows]).delete()
    return len(rows)


def fold_usage_before_delete(sender, instance, **kwargs) -> None:
    """pre_delete of a Connection, however it is deleted: fold its counts first. Django sends
    it inside the deletion's transaction and before its SET_NULL updates, so the connection's
    rows are gone by then. A disconnect's delete runs it under the connection row lock it
    already holds."""
    usage_fold_into_provider(connection_id=instance.pk)
