"""Deterministic fake music data: the same account always sees the same library.

Each item is computed from ``random.Random(f"{account}:<kind>:<number>")`` alone, so any slice
of a 10,000-track library costs only the items in it.
"""

import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

BASE_UPDATED_AT = datetime(2026, 1, 1, tzinfo=UTC)
UPDATE_STEP = timedelta(hours=1)
ARTIST_POOL = 30  # the artists tracks are credited to; the first ones are the top artists

GENRES = (
    "shoegaze", "art rock", "jazz fusion", "synth-pop", "dream pop", "post-punk",
    "krautrock", "trip hop", "bossa nova", "afrobeat", "drum and bass", "ambient",
    "indie folk", "neo-soul", "hip hop", "techno", "deep house", "grunge", "math rock",
    "bluegrass", "cumbia", "k-pop", "city pop", "baroque pop", "post-rock", "dub",
    "garage rock", "chamber pop", "electro-funk", "highlife",
)
ADJECTIVES = (
    "Velvet", "Paper", "Neon", "Quiet", "Golden", "Electric", "Hollow", "Silver", "Northern",
    "Broken", "Lucid", "Midnight", "Crimson", "Distant", "Gentle", "Wild", "Static", "Amber",
)
NOUNS = (
    "Horizon", "Lanterns", "Harbour", "Gardens", "Signals", "Rivers", "Machines", "Echoes",
    "Satellites", "Orchards", "Mirrors", "Tides", "Avenues", "Comets", "Fields", "Engines",
)
TITLE_ENDINGS = ("", "", " (Live)", " (Demo)", " Part II", " (Reprise)")


def updated_at(number: int) -> str:
    return (BASE_UPDATED_AT + number * UPDATE_STEP).strftime("%Y-%m-%dT%H:%M:%SZ")


def first_number_updated_after(since: datetime) -> int:
    """The lowest item number whose ``updated_at`` is strictly later than ``since``."""
    return max(1, (since - BASE_UPDATED_AT) // UPDATE_STEP + 1)


def _rng(account: str, kind: str, number: int) -> random.Random:
    return random.Random(f"{account}:{kind}:{number}")


def artist(account: str, number: int) -> dict:
    rng = _rng(account, "artist", number)
    article = "The " if rng.random() < 0.4 else ""
    return {
        "id": f"art_{number:05d}",
        "name": f"{article}{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}",
        "genres": sorted(rng.sample(GENRES, rng.randint(1, 3))),
    }


def track(account: str, number: int) -> dict:
    rng = _rng(account, "track", number)
    credited = artist(account, rng.randint(1, ARTIST_POOL))
    return {
        "id": f"trk_{number:05d}",
        "title": f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}{rng.choice(TITLE_ENDINGS)}",
        "artist": credited["name"],
        "genres": credited["genres"],  # a track sounds like the artist it is credited to
        "updated_at": updated_at(number),
    }


class LazyItems(Sequence):
    """Items numbered ``first..last``, built only when indexed or sliced."""

    def __init__(self, build: Callable[[str, int], dict], account: str, first: int, last: int):
        self._build, self._account = build, account
        self._first, self._len = first, max(0, last - first + 1)

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._len))]
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError(index)
        return self._build(self._account, self._first + index)


def tracks(account: str, count: int, *, first: int = 1) -> LazyItems:
    """The account's saved tracks ``trk_<first>..trk_<count>``, sorted by id."""
    return LazyItems(track, account, first, count)


def artists(account: str, count: int) -> LazyItems:
    return LazyItems(artist, account, 1, count)
