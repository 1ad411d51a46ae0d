"""integrations/interests.py and the purpose-gated selectors: a purpose sees only its streams.

The promise under test: the items of a stream that does not serve purpose P, or of a provider
consent does not allow for P, never change what P receives.
"""

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consent.purposes import COMMUNITY_RECOMMENDATION, MATCHING, PURPOSES
from consent.services import consent_set
from integrations.interests import interests_recompute, weights_by_purpose
from integrations.models import ExternalItem, UserInterest
from integrations.providers.base import Provider
from integrations.providers.registry import get_provider
from integrations.selectors import interests_for_owner, interests_for_purpose, items_for_purpose
from tests.factories import make_connection, make_user

GENRES = ["rock", "jazz", "shoegaze", "art rock", "folk", "techno"]
genre_lists = st.lists(st.sampled_from(GENRES), min_size=1, max_size=4)
item_sets = st.lists(genre_lists, min_size=1, max_size=8)
no_health_checks = settings(max_examples=30, deadline=None,
                            suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def user(db):
    return make_user()


@pytest.fixture
def sandbox_conn(user):
    return make_connection(user, "sandbox")


@pytest.fixture
def spotify_conn(user):
    return make_connection(user, "spotify", external_id="ext-2")


def store(connection, kind, genre_sets, prefix="x"):
    ExternalItem.objects.bulk_create([
        ExternalItem(connection=connection, kind=kind, external_id=f"{prefix}{i}",
                     title=f"{kind} {i}", attrs={"genres": genres}, content_hash="h")
        for i, genres in enumerate(genre_sets)
    ])


def recompute(connection):
    interests_recompute(connection=connection, provider=get_provider(connection.provider))


def expected_from(kind, genre_sets):
    """What a purpose should receive from these items alone (normalised to the strongest)."""
    totals = {}
    for genres in genre_sets:
        for genre in genres:
            slug = "music-" + genre.replace(" ", "-")
            totals[slug] = totals.get(slug, 0) + 1
    strongest = max(totals.values())
    return {slug: round(total / strongest, 4) for slug, total in totals.items()}


def test_top_artists_never_shape_what_community_recommendations_receive(user):
    """The issue's case: sandbox tracks (both purposes), top artists (matching only)."""
    connection = make_connection(user, "sandbox")
    consent_set(user=user, purpose=COMMUNITY_RECOMMENDATION, granted=True)
    tracks = [["rock"], ["rock", "jazz"], ["folk"]]
    store(connection, "track", tracks)
    recompute(connection)
    before = interests_for_purpose(user=user, purpose=COMMUNITY_RECOMMENDATION)
    assert before == {"music-rock": 1.0, "music-jazz": 0.5, "music-folk": 0.5}

    store(connection, "artist", [["jazz"]] * 10 + [["techno"]], prefix="a")  # jazz dominates
    recompute(connection)

    assert interests_for_purpose(user=user, purpose=COMMUNITY_RECOMMENDATION) == before
    assert interests_for_purpose(user=user, purpose=MATCHING) == {}  # not allowed
    consent_set(user=user, purpose=MATCHING, granted=True)
    matching = interests_for_purpose(user=user, purpose=MATCHING)
    assert matching["music-jazz"] == 1.0 and "music-techno" in matching  # artists serve matching
    assert interests_for_purpose(user=user, purpose=COMMUNITY_RECOMMENDATION) == before


@no_health_checks
@given(tracks=item_sets, artists=item_sets, changed=item_sets)
def test_items_of_a_stream_outside_the_purpose_never_change_it(user, sandbox_conn, tracks,
                                                               artists, changed):
    connection = sandbox_conn
    ExternalItem.objects.filter(connection=connection).delete()
    consent_set(user=user, purpose=COMMUNITY_RECOMMENDATION, granted=True)
    store(connection, "track", tracks)
    recompute(connection)
    before = interests_for_purpose(user=user, purpose=COMMUNITY_RECOMMENDATION)
    assert before == expected_from("track", tracks)

    store(connection, "artist", artists, prefix="a")  # add
    recompute(connection)
    assert interests_for_purpose(user=user, purpose=COMMUNITY_RECOMMENDATION) == before
    ExternalItem.objects.filter(kind="artist").delete()
    store(connection, "artist", changed, prefix="b")  # change
    recompute(connection)
    assert interests_for_purpose(user=user, purpose=COMMUNITY_RECOMMENDATION) == before


@no_health_checks
@given(sandbox_tracks=item_sets, spotify_artists=item_sets)
def test_items_of_a_provider_not_allowed_for_the_purpose_never_change_it(
        user, sandbox_conn, spotify_conn, sandbox_tracks, spotify_artists):
    sandbox, spotify = sandbox_conn, spotify_conn
    ExternalItem.objects.filter(connection__user=user).delete()
    consent_set(user=user, purpose=MATCHING, granted=True)  # all services ...
    consent_set(user=user, purpose=MATCHING, granted=False, provider="spotify")  # ... but one
    store(sandbox, "track", sandbox_tracks)
    recompute(sandbox)
    recompute(spotify)
    before = interests_for_purpose(user=user, purpose=MATCHING)
    items_before = set(items_for_purpose(user=user, purpose=MATCHING).values_list("pk", flat=True))

    store(spotify, "artist", spotify_artists)  # spotify top artists serve matching
    recompute(spotify)

    assert interests_for_purpose(user=user, purpose=MATCHING) == before
    assert set(items_for_purpose(user=user, purpose=MATCHING).values_list(
        "pk", flat=True)) == items_before
    # The rows exist, for the owner's page and for the moment consent is given:
    assert UserInterest.objects.filter(connection=spotify, purpose=MATCHING).exists()


@given(
    purposes=st.lists(st.sets(st.sampled_from(list(PURPOSES)), min_size=1), min_size=2,
                      max_size=4),
    items=st.lists(st.tuples(st.integers(0, 3), genre_lists), max_size=20),
    noise=st.lists(genre_lists, min_size=1, max_size=6),
)
def test_weights_of_a_purpose_depend_only_on_its_streams(purposes, items, noise):
    """Any declaration: streams with any purposes; noise in a stream outside P changes nothing."""
    template = get_provider("sandbox").streams[0]
    streams = [replace(template, name=f"s{i}", kind=f"k{i}", purposes=tuple(sorted(p)))
               for i, p in enumerate(purposes)]
    rows = [(f"k{index % len(streams)}", {"genres": genres}) for index, genres in items]
    weights, _ = weights_by_purpose(streams, rows)
    for purpose in PURPOSES:
        serving = {s.kind for s in streams if purpose in s.purposes}
        own = [(kind, attrs) for kind, attrs in rows if kind in serving]
        assert weights.get(purpose, {}) == weights_by_purpose(streams, own)[0].get(purpose, {})
        outside = [s.kind for s in streams if purpose not in s.purposes]
        if outside:
            noisy = rows + [(outside[0], {"genres": genres}) for genres in noise]
            assert weights_by_purpose(streams, noisy)[0].get(purpose, {}) == weights.get(
                purpose, {})


def test_owner_page_shows_each_interest_once_with_the_purposes_allowed_now(user):
    connection = make_connection(user, "sandbox")
    store(connection, "track", [["rock"]])
    store(connection, "artist", [["jazz"], ["jazz"], ["rock"]], prefix="a")
    recompute(connection)
    consent_set(user=user, purpose=COMMUNITY_RECOMMENDATION, granted=True)

    views = {v.label: (v.weight, v.purposes) for v in interests_for_owner(user=user)}
    assert views == {"Rock": (1.0, [COMMUNITY_RECOMMENDATION]), "Jazz": (1.0, [])}
    shown = interests_for_owner(user=user, purpose=COMMUNITY_RECOMMENDATION)
    assert [(v.label, v.weight) for v in shown] == [("Rock", 1.0)]


def test_unknown_purposes_are_refused(user):
    for selector in (interests_for_purpose, items_for_purpose):
        with pytest.raises(KeyError):
            selector(user=user, purpose="advertising")


def test_items_for_purpose_hands_out_only_serving_streams_of_allowed_providers(user):
    connection = make_connection(user, "sandbox")
    store(connection, "track", [["rock"]])
    store(connection, "artist", [["jazz"]], prefix="a")
    assert not items_for_purpose(user=user, purpose=COMMUNITY_RECOMMENDATION).exists()
    consent_set(user=user, purpose=COMMUNITY_RECOMMENDATION, granted=True)
    assert set(items_for_purpose(user=user, purpose=COMMUNITY_RECOMMENDATION).values_list(
        "kind", flat=True)) == {"track"}
    ExternalItem.objects.filter(kind="track").update(deleted_at="2026-01-01T00:00:00Z")
    assert not items_for_purpose(user=user, purpose=COMMUNITY_RECOMMENDATION).exists()


def test_unknown_provider_streams_contribute_nothing():
    class Empty(Provider):
        streams = ()

    assert weights_by_purpose(Empty.streams, [("track", {"genres": ["rock"]})]) == ({}, {})


def test_every_selector_handing_out_interests_or_items_takes_a_purpose_or_says_owner():
    """No unguarded read path: a new selector must either take ``purpose`` or be named for
    the owner's own pages."""
    import inspect

    from integrations import selectors

    handing_out = []
    for name, function in inspect.getmembers(selectors, inspect.isfunction):
        if name.startswith("_") or function.__module__ != selectors.__name__:
            continue
        returns = str(inspect.signature(function).return_annotation)
        if any(word in name or word in returns for word in (
                "interest", "Interest", "item", "Item")):
            handing_out.append(name)
            purpose = inspect.signature(function).parameters.get("purpose")
            requires_purpose = purpose is not None and purpose.default is inspect.Parameter.empty
            assert requires_purpose or "owner" in name, name
    assert {"interests_for_purpose", "items_for_purpose", "interests_for_owner",
            "items_page_for_owner"} <= set(handing_out)
    assert not hasattr(selectors, "interests_for_user")


def test_imported_counts_count_interests_not_rows_per_purpose(user, sandbox_conn):
    from integrations.selectors import imported_counts

    store(sandbox_conn, "track", [["rock"], ["jazz"]])  # tracks serve both purposes
    recompute(sandbox_conn)
    assert UserInterest.objects.filter(connection=sandbox_conn).count() == 4
    assert imported_counts(connection=sandbox_conn) == {"items": 2, "interests": 2}
