"""Shared helpers for turning provider labels (genres, subjects) into interest signals."""

from functools import lru_cache

from django.utils.text import slugify

from .base import InterestSignal


@lru_cache(maxsize=4096)  # pure, and the same few hundred labels recur in every recompute
def signal(category: str, label: str, weight: float = 1.0) -> InterestSignal | None:
    """An interest signal for ``label`` in ``category``, or None when the label has no slug."""
    label = " ".join(label.split())[:120]
    slug = slugify(label)
    if not slug:
        return None
    return InterestSignal(
        slug=f"{category}-{slug}"[:150], label=label[:1].upper() + label[1:], category=category,
        weight=weight,
    )


def signals(category: str, labels, weight: float = 1.0) -> list[InterestSignal]:
    found = (signal(category, label, weight) for label in labels)
    return [s for s in found if s is not None]
