"""Exact score conversions between the library's 0-100 and each list service's scale.

A scale is its list of points: (the service's value, the library's value). Reading a service's
value is a lookup, so every value the service can hold converts exactly and back. Writing a
library score picks the nearest point, the higher one on a tie (half up), and never below the
scale's lowest point: a rated entry stays rated. Unrated is ``None`` on both sides; the services'
own "no score" (0 on AniList and MyAnimeList) reads as ``None`` too.

    AniList POINT_100         1-100          = score
    AniList POINT_10_DECIMAL  0.1-10.0       = value x 10
    AniList POINT_10          1-10           = value x 10
    AniList POINT_5           1-5 stars      = value x 20
    AniList POINT_3           1, 2, 3        = 35, 60, 85 (what AniList stores for each smiley)
    MyAnimeList               1-10 (0 none)  = value x 10
    Kitsu ratingTwenty        2-20 (null)    = value x 5
"""

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from integrations.exceptions import ProviderDataError

MAX_SCORE = 100
NOT_ON_SCALE = "{scale} has no score {value}"
UNKNOWN_FORMAT = "AniList has no score format {value}"
NOT_A_SCORE = "a library score is a whole number from 0 to 100, not {value!r}"


@dataclass(frozen=True)
class Scale:
    name: str
    points: tuple[tuple[Decimal, int], ...]  # ascending on both sides
    unrated: int | None = None  # the service's own value for "no score"
    decimal: bool = False  # the service's values are tenths (sent as floats)
    _index: dict[Decimal, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", dict(self.points))

    def to_internal(self, value: Any) -> int | None:
        """The library score of a service's value; ``ProviderDataError`` if the scale has no
        such value (the provider sent something its API does not promise)."""
        if value is None or (value == self.unrated and not isinstance(value, bool)):
            return None
        number = _decimal(value)
        if number is None or number not in self._index:
            raise ProviderDataError(NOT_ON_SCALE.format(scale=self.name, value=repr(value)[:20]))
        return self._index[number]

    def from_internal(self, score: int | None) -> int | float | None:
        """The service's value nearest to a library score (ties go up)."""
        if score is None:
            return None
        if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= MAX_SCORE:
            raise ValueError(NOT_A_SCORE.format(value=score))
        # The points ascend, so the last one at most as far as any other is the higher on a tie.
        best = min(reversed(self.points), key=lambda point: abs(point[1] - score))[0]
        return float(best) if self.decimal else int(best)


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:  # repr, not the float itself: 8.7 must read as 8.7, not 8.699999999999999289...
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:  # nan, inf
        return None


def _linear(name: str, low: int, high: int, factor: int, **options: Any) -> Scale:
    return Scale(name, tuple((Decimal(v), v * factor) for v in range(low, high + 1)), **options)


ANILIST = {
    "POINT_100": _linear("AniList POINT_100", 1, 100, 1, unrated=0),
    "POINT_10_DECIMAL": Scale(
        "AniList POINT_10_DECIMAL", tuple((Decimal(v) / 10, v) for v in range(1, 101)),
        unrated=0, decimal=True,
    ),
    "POINT_10": _linear("AniList POINT_10", 1, 10, 10, unrated=0),
    "POINT_5": _linear("AniList POINT_5", 1, 5, 20, unrated=0),
    "POINT_3": Scale(
        "AniList POINT_3", ((Decimal(1), 35), (Decimal(2), 60), (Decimal(3), 85)), unrated=0
    ),
}
MYANIMELIST = _linear("MyAnimeList", 1, 10, 10, unrated=0)
KITSU = _linear("Kitsu ratingTwenty", 2, 20, 5)


def anilist_scale(score_format: Any) -> Scale:
    """The scale of a person's AniList ``scoreFormat`` (Viewer.mediaListOptions)."""
    scale = ANILIST.get(score_format) if isinstance(score_format, str) else None
    if scale is None:
        raise ProviderDataError(UNKNOWN_FORMAT.format(value=repr(score_format)[:40]))
    return scale
