"""Deriving UserInterests from a connection's imported items."""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from .models import Connection, ExternalItem, Interest, UserInterest
from .providers.base import InterestSignal, Provider


def _aggregate(connection: Connection, provider: Provider):
    streams_by_kind = {stream.kind: stream for stream in provider.streams}
    totals: dict[str, float] = defaultdict(float)
    purposes: dict[str, set[str]] = defaultdict(set)
    signals: dict[str, InterestSignal] = {}
    items = ExternalItem.objects.filter(connection=connection, deleted_at__isnull=True)
    for kind, attrs in items.values_list("kind", "attrs").iterator(chunk_size=2000):
        stream = streams_by_kind.get(kind)
        if stream is None:
            continue
        for found in stream.interests(attrs or {}):
            totals[found.slug] += found.weight
            purposes[found.slug].update(stream.purposes)
            signals.setdefault(found.slug, found)
    return totals, purposes, signals


@transaction.atomic
def interests_recompute(*, connection: Connection, provider: Provider) -> int:
    """Bring the connection's UserInterests in line with its items; return rows written.

    Weights are normalised to 0..1 (the strongest interest is 1). Rows that would not change
    are not written, so a sync that imported nothing new writes nothing here either.
    """
    totals, purposes, signals = _aggregate(connection, provider)
    strongest = max(totals.values(), default=0.0) or 1.0
    wanted = {
        slug: (round(total / strongest, 4), sorted(purposes[slug]))
        for slug, total in totals.items()
    }
    known = dict(Interest.objects.filter(slug__in=list(wanted)).values_list("slug", "pk"))
    missing = [
        Interest(slug=slug, label=signals[slug].label[:150], category=signals[slug].category)
        for slug in wanted if slug not in known
    ]
    if missing:
        Interest.objects.bulk_create(missing, ignore_conflicts=True, batch_size=500)
        known = dict(Interest.objects.filter(slug__in=list(wanted)).values_list("slug", "pk"))
    existing = {
        row.interest.slug: row
        for row in UserInterest.objects.filter(connection=connection).select_related("interest")
    }
    now = timezone.now()
    to_create, to_update, to_delete = [], [], []
    for slug, row in existing.items():
        if slug not in wanted:
            to_delete.append(row.pk)
    for slug, (weight, purpose_list) in wanted.items():
        row = existing.get(slug)
        if row is None:
            to_create.append(UserInterest(
                user_id=connection.user_id, interest_id=known[slug], connection=connection,
                weight=weight, purposes=purpose_list,
            ))
        elif row.weight != weight or row.purposes != purpose_list:
            row.weight, row.purposes, row.updated_at = weight, purpose_list, now
            to_update.append(row)
    UserInterest.objects.filter(pk__in=to_delete).delete()
    UserInterest.objects.bulk_create(to_create, batch_size=500)
    UserInterest.objects.bulk_update(to_update, ["weight", "purposes", "updated_at"],
                                     batch_size=500)
    return len(to_create) + len(to_update) + len(to_delete)
