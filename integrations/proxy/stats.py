"""Counting the proxy's answers per connection and day (ProxyStat), for staff."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F

from integrations import clock
from integrations.models import ProxyStat

OUTCOME_FIELDS = {"HIT": "hits", "MISS": "misses", "REFRESH": "refreshes", "STALE": "stale",
                  "ERROR": "errors"}


def proxy_stat_count(*, connection_id: int, provider: str, outcome: str) -> None:
    """Add one to today's counter of ``outcome`` (HIT, MISS, REFRESH, STALE or ERROR).

    An UPDATE with F() first (the common case: the row exists); the first answer of a day
    creates the row, and a concurrent creator losing the race on the unique constraint
    updates instead.
    """
    field = OUTCOME_FIELDS[outcome]
    day = clock.now().date()
    rows = ProxyStat.objects.filter(connection_id=connection_id, day=day)
    if rows.update(**{field: F(field) + 1}):
        return
    try:
        with transaction.atomic():
            ProxyStat.objects.create(connection_id=connection_id, provider=provider, day=day,
                                     **{field: 1})
    except IntegrityError:
        rows.update(**{field: F(field) + 1})
