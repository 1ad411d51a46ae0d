"""Deriving UserInterests from a connection's imported items, per consent purpose."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from .models import Connection, ExternalItem, Interest, UserInterest
from .providers.base import InterestSignal, Provider, Stream


def weights_by_purpose(
    streams: Iterable[Stream], items: Iterable[tuple[str, Mapping[str, Any] | None]]
) -> tuple[dict[str, dict[str, float]], dict[str, InterestSignal]]:
    """purpose -> {interest slug: weight in 0..1}, and the signal of each slug (pure).

    ``items`` are (kind, attrs) pairs. An item counts only towards the purposes of the stream
    that wrote it, and each purpose is normalised on its own (its strongest interest is 1): a
    stream that does not serve a purpose changes nothing that purpose receives.
    """
    streams_by_kind = {stream.kind: stream for stream in streams}
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    signals: dict[str, InterestSignal] = {}
    for kind, attrs in items:
        stream = streams_by_kind.get(kind)
        if stream is None or not stream.purposes:
            continue
        for found in stream.interests(attrs or {}):
            signals.setdefault(found.slug, found)
            for purpose in stream.purposes:
                totals[purpose][found.slug] += found.weight
    weights: dict[str, dict[str, float]] = {}
    for purpose, by_slug in totals.items():
        strongest = max(by_slug.values(), default=0.0) or 1.0
        weights[purpose] = {slug: round(total / strongest, 4) for slug, total in by_slug.items()}
    return weights, signals


@transaction.atomic
def interests_recompute(*, connection: Connection, provider: Provider) -> int:
    """Bring the connection's UserInterests in line with its items; return rows written.

    One row per (interest, purpose). Rows that would not change are not written, so a sync
    that imported nothing new writes nothing here either.
    """
    items = ExternalItem.objects.filter(connection=connection, deleted_at__isnull=True)
    weights, signals = weights_by_purpose(
        provider.streams, items.values_list("kind", "attrs").iterator(chunk_size=2000)
    )
    slugs = list(signals)
    known = dict(Interest.objects.filter(slug__in=slugs).values_list("slug", "pk"))
    missing = [
        Interest(slug=slug, label=signals[slug].label[:150], category=signals[slug].category)
        for slug in slugs if slug not in known
    ]
    if missing:
        Interest.objects.bulk_create(missing, ignore_conflicts=True, batch_size=500)
        known = dict(Interest.objects.filter(slug__in=slugs).values_list("slug", "pk"))
    wanted = {
        (slug, purpose): weight
        for purpose, by_slug in weights.items() for slug, weight in by_slug.items()
    }
    existing = {
        (row.interest.slug, row.purpose): row
        for row in UserInterest.objects.filter(connection=connection).select_related("interest")
    }
    now = timezone.now()
    to_create, to_update = [], []
    to_delete = [row.pk for key, row in existing.items() if key not in wanted]
    for (slug, purpose), weight in wanted.items():
        row = existing.get((slug, purpose))
        if row is None:
            to_create.append(UserInterest(
                user_id=connection.user_id, interest_id=known[slug], connection=connection,
                purpose=purpose, weight=weight,
            ))
        elif row.weight != weight:
            row.weight, row.updated_at = weight, now
            to_update.append(row)
    UserInterest.objects.filter(pk__in=to_delete).delete()
    UserInterest.objects.bulk_create(to_create, batch_size=500)
    UserInterest.objects.bulk_update(to_update, ["weight", "updated_at"], batch_size=500)
    return len(to_create) + len(to_update) + len(to_delete)
