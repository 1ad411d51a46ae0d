"""Deterministic fake music data: the same account always sees the same library.

Each item is computed from ``random.Random(f"{account}:<kind>:<number>")`` alone, so any slice
of a 10,000-track library costs only the items in it.

Revisions (the ``data_revision`` knob) let incremental sync be tested. At revision 0 track n
was updated at ``BASE_UPDATED_AT + n hours``. At revision r > 0 every track whose number is a
multiple of 7 is titled ``"<title> (rev r)"`` and was updated at ``REVISED_AT + r hours``,
later than every base timestamp (numbers stay below 100,000). So after seeing revision r - 1,
``updated_since=<the latest updated_at seen>`` returns exactly the multiples of 7, and at an
unchanged revision it returns nothing.
"""

import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

BASE_UPDATED_AT = datetime(2026, 1, 1, tzinfo=UTC)
UPDATE_STEP = timedelta(hours=1)
REVISED_EVERY = 7
REVISED_AT = BASE_UPDATED_AT + 100_000 * UPDATE_STEP
# Part of every ETag: bump it when a change here alters what an unchanged request returns.
FORMAT_VERSION = 2
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


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def updated_at(number: int) -> str:
    return _stamp(BASE_UPDATED_AT + number * UPDATE_STEP)


def revised_at(revision: int) -> datetime:
    return REVISED_AT + revision * UPDATE_STEP


def is_revised(number: int, revision: int) -> bool:
    return revision > 0 and number % REVISED_EVERY == 0


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


def track(account: str, number: int, revision: int = 0) -> dict:
    rng = _rng(account, "track", number)
    credited = artist(account, rng.randint(1, ARTIST_POOL))
    title = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}{rng.choice(TITLE_ENDINGS)}"
    stamp = updated_at(number)
    if is_revised(number, revision):
        title, stamp = f"{title} (rev {revision})", _stamp(revised_at(revision))
    return {
        "id": f"trk_{number:05d}",
        "title": title,
        "artist": credited["name"],
        "genres": credited["genres"],  # a track sounds like the artist it is credited to
        "updated_at": stamp,
    }


class LazyItems(Sequence):
    """Items for the numbers in ``ranges`` (ascending, in order), built only when indexed."""

    def __init__(self, build: Callable[..., dict], account: str, *ranges: range, **options):
        self._build, self._account, self._options = build, account, options
        self._ranges = [numbers for numbers in ranges if len(numbers)]
        self._len = sum(len(numbers) for numbers in self._ranges)

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._len))]
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError(index)
        for numbers in self._ranges:
            if index < len(numbers):
                return self._build(self._account, numbers[index], **self._options)
            index -= len(numbers)
        raise AssertionError("unreachable: the ranges cover len(self)")


def tracks(
    account: str, count: int, *, revision: int = 0, updated_since: datetime | None = None
) -> LazyItems:
    """The account's saved tracks ``trk_00001..trk_<count>`` at ``revision``, sorted by id,
    keeping only those updated strictly after ``updated_since`` when it is given."""
    first = 1 if updated_since is None else first_number_updated_after(updated_since)
    revised_below_first = range(0)
    if revision > 0 and (updated_since is None or updated_since < revised_at(revision)):
        # Below ``first`` only the revised tracks are new enough; from ``first`` on, all are.
        revised_below_first = range(REVISED_EVERY, min(first, count + 1), REVISED_EVERY)
    return LazyItems(
        track, account, revised_below_first, range(first, count + 1), revision=revision
    )


def artists(account: str, count: int) -> LazyItems:
    return LazyItems(artist, account, range(1, count + 1))
