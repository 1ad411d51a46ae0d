"""library/scores.py: every service value converts exactly and back; unrated stays unrated."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integrations.exceptions import ProviderDataError
from library.scores import ANILIST, KITSU, MYANIMELIST, anilist_scale

SCALES = {f"anilist-{name}": scale for name, scale in ANILIST.items()}
SCALES |= {"myanimelist": MYANIMELIST, "kitsu": KITSU}
ALL = list(SCALES.values())
scales = st.sampled_from(ALL)
scores = st.integers(min_value=0, max_value=100)


def service_values(scale):
    return [float(v) if scale.decimal else int(v) for v, _ in scale.points]


@pytest.mark.parametrize(
    ("scale", "value", "score"),
    [
        (ANILIST["POINT_100"], 85, 85),
        (ANILIST["POINT_100"], 85.0, 85),  # AniList's Float field
        (ANILIST["POINT_10_DECIMAL"], 8.7, 87),
        (ANILIST["POINT_10_DECIMAL"], 0.1, 1),
        (ANILIST["POINT_10_DECIMAL"], 10, 100),
        (ANILIST["POINT_10"], 7, 70),
        (ANILIST["POINT_5"], 4, 80),
        (ANILIST["POINT_3"], 1, 35),
        (ANILIST["POINT_3"], 2, 60),
        (ANILIST["POINT_3"], 3, 85),
        (MYANIMELIST, 9, 90),
        (MYANIMELIST, 1, 10),
        (KITSU, 2, 10),
        (KITSU, 17, 85),
        (KITSU, 20, 100),
    ],
)
def test_known_values(scale, value, score):
    assert scale.to_internal(value) == score
    assert scale.from_internal(score) == value


@pytest.mark.parametrize(
    ("scale", "score", "value"),
    [
        (MYANIMELIST, 85, 9),  # half up
        (MYANIMELIST, 84, 8),
        (MYANIMELIST, 0, 1),  # a rated entry stays rated
        (MYANIMELIST, 4, 1),
        (KITSU, 0, 2),
        (KITSU, 12, 2),
        (KITSU, 13, 3),
        (ANILIST["POINT_5"], 50, 3),  # 2.5 stars: half up
        (ANILIST["POINT_5"], 49, 2),
        (ANILIST["POINT_10_DECIMAL"], 0, 0.1),
        (ANILIST["POINT_3"], 47, 1),
        (ANILIST["POINT_3"], 48, 2),
        (ANILIST["POINT_3"], 0, 1),
        (ANILIST["POINT_3"], 100, 3),
    ],
)
def test_rounding(scale, score, value):
    assert scale.from_internal(score) == value


@pytest.mark.parametrize("scale", ALL, ids=list(SCALES))
def test_unrated_stays_unrated(scale):
    assert scale.to_internal(None) is None
    assert scale.from_internal(None) is None


@pytest.mark.parametrize("scale", [*ANILIST.values(), MYANIMELIST])
def test_zero_is_unrated_on_anilist_and_myanimelist(scale):
    assert scale.to_internal(0) is None
    assert scale.to_internal(0.0) is None


@pytest.mark.parametrize(
    ("scale", "value"),
    [
        (KITSU, 0),  # Kitsu's unrated is null, and 1 is not a ratingTwenty
        (KITSU, 1),
        (KITSU, 21),
        (MYANIMELIST, 11),
        (MYANIMELIST, -1),
        (MYANIMELIST, 8.5),
        (ANILIST["POINT_10_DECIMAL"], 8.55),
        (ANILIST["POINT_10_DECIMAL"], 10.1),
        (ANILIST["POINT_5"], 6),
        (ANILIST["POINT_3"], 4),
        (ANILIST["POINT_100"], 101),
        (ANILIST["POINT_100"], "85"),
        (ANILIST["POINT_100"], True),
        (MYANIMELIST, False),  # not a number, though False == 0
        (ANILIST["POINT_100"], float("nan")),
        (ANILIST["POINT_100"], float("inf")),
        (ANILIST["POINT_100"], [85]),
    ],
)
def test_values_off_the_scale_are_provider_data_errors(scale, value):
    with pytest.raises(ProviderDataError, match="has no score"):
        scale.to_internal(value)


@pytest.mark.parametrize("score", [-1, 101, 8.5, "85", True])
def test_a_library_score_off_0_to_100_is_a_bug(score):
    with pytest.raises(ValueError, match="library score"):
        MYANIMELIST.from_internal(score)


def test_anilist_scale_by_score_format():
    assert anilist_scale("POINT_5") is ANILIST["POINT_5"]
    for bad in ("POINT_7", "point_5", None, 5):
        with pytest.raises(ProviderDataError, match="AniList has no score format"):
            anilist_scale(bad)


@pytest.mark.parametrize("scale", ALL, ids=list(SCALES))
def test_every_service_value_round_trips(scale):
    """external -> internal -> external is the identity on every valid value."""
    for value in service_values(scale):
        assert scale.from_internal(scale.to_internal(value)) == value


@given(scale=scales, score=scores)
def test_a_score_the_scale_holds_survives_the_trip(scale, score):
    """internal -> external -> internal keeps exactly the scores the scale can hold."""
    back = scale.to_internal(scale.from_internal(score))
    held = {internal for _, internal in scale.points}
    assert (back == score) == (score in held)


@given(scale=scales, a=scores, b=scores)
def test_monotonic(scale, a, b):
    low, high = sorted((a, b))
    assert scale.from_internal(low) <= scale.from_internal(high)


@given(scale=scales, score=scores)
def test_bounds(scale, score):
    value = scale.from_internal(score)
    lowest, highest = scale.points[0][0], scale.points[-1][0]
    assert lowest <= Decimal(repr(value)) <= highest
    assert 1 <= scale.to_internal(value) <= 100


@given(scale=scales, score=scores)
def test_the_nearest_value_is_chosen(scale, score):
    value = scale.to_internal(scale.from_internal(score))
    assert all(abs(value - score) <= abs(other - score) for _, other in scale.points)


@pytest.mark.parametrize("scale", ALL, ids=list(SCALES))
def test_service_values_strictly_increase(scale):
    internal = [scale.to_internal(v) for v in service_values(scale)]
    assert internal == sorted(set(internal))
