"""privacy/: the Your data page, a stream's items with the interests they fed, and the items
behind an interest. Each figure is checked against the database, and another person's data is
never reachable."""

import copy
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from consent.purposes import COMMUNITY_RECOMMENDATION, MATCHING
from consent.services import consent_set
from integrations.interests import interests_recompute
from integrations.models import ExternalItem, StreamState, SyncRun, UserInterest
from integrations.providers.registry import PROVIDERS, get_provider
from privacy import selectors
from privacy.selectors import (
    interest_sources_for_owner,
    stream_items_for_owner,
    your_data_for_owner,
)
from tests.factories import make_connection, make_user

pytestmark = pytest.mark.django_db

T1 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
T2 = datetime(2026, 5, 2, 10, 30, tzinfo=UTC)
T3 = datetime(2026, 7, 3, 12, 0, tzinfo=UTC)


@pytest.fixture
def user():
    return make_user()


@pytest.fixture
def other():
    return make_user("bob@example.com")


@pytest.fixture
def client_in(client, user):
    client.force_login(user)
    return client


def store(connection, kind, genre_sets, prefix="x"):
    ExternalItem.objects.bulk_create([
        ExternalItem(connection=connection, kind=kind, external_id=f"{prefix}{i}",
                     title=f"{kind} {prefix}{i}", attrs={"genres": genres}, content_hash="h")
        for i, genres in enumerate(genre_sets)
    ])


def recompute(connection):
    interests_recompute(connection=connection, provider=get_provider(connection.provider))


def stream_summary(data, connection, name):
    summary = next(c for c in data.connections if c.connection.pk == connection.pk)
    return next(s for s in summary.streams if s.stream.name == name)


def allowed(row) -> dict[str, bool]:
    return {p.purpose.slug: p.allowed for p in row.purposes}


# -- the overview -------------------------------------------------------------------------------

def test_counts_dates_and_last_fetched_match_the_database(client_in, user):
    conn = make_connection(user, "sandbox")
    for at, external_id in ((T2, "b"), (T1, "a"), (T3, "c")):
        with time_machine.travel(at, tick=False):
            ExternalItem.objects.create(connection=conn, kind="track", external_id=external_id,
                                        title=external_id, content_hash="h")
    with time_machine.travel(datetime(2025, 1, 1, tzinfo=UTC), tick=False):
        ExternalItem.objects.create(connection=conn, kind="track", external_id="gone",
                                    title="gone", content_hash="h", deleted_at=T3)
    StreamState.objects.create(connection=conn, stream="tracks",
                               cursor={"completed_at": T3.isoformat(), "since": "x"})
    SyncRun.objects.create(connection=conn, trigger=SyncRun.Trigger.MANUAL,
                           status=SyncRun.Status.SUCCEEDED, finished_at=T3,
                           streams={"tracks": {"status": "succeeded"},
                                    "top_artists": {"status": "skipped"}})

    data = your_data_for_owner(user=user)
    tracks = stream_summary(data, conn, "tracks")
    artists = stream_summary(data, conn, "top_artists")

    live = ExternalItem.objects.filter(connection=conn, kind="track", deleted_at__isnull=True)
    assert tracks.held.items == live.count() == 3  # the soft-deleted one is not counted
    assert (tracks.held.oldest, tracks.held.newest) == (T1, T3)
    assert tracks.last_fetched == T3
    assert tracks.last_run_status == "succeeded"
    assert (artists.held.items, artists.held.oldest, artists.last_fetched) == (0, None, None)
    assert artists.last_run_status == "skipped"
    assert data.items == 3

    html = client_in.get(reverse("privacy:your_data")).content.decode()
    assert "1 Mar 2026" in html and "3 Jul 2026" in html
    assert "1 Jan 2025" not in html  # the deleted item's date is not the oldest
    assert "last sync: skipped" in html
    assert reverse("privacy:stream_items", args=[conn.pk, "tracks"]) in html
    assert reverse("integrations:connection_detail", args=[conn.pk]) + "#imported" in html


def test_allowed_now_follows_consent(client_in, user):
    conn = make_connection(user, "sandbox")
    store(conn, "artist", [["rock"]])

    artists = stream_summary(your_data_for_owner(user=user), conn, "top_artists")
    assert allowed(artists) == {MATCHING: False}  # opt-in: no answer is no
    assert not artists.allowed_now

    consent_set(user=user, purpose=MATCHING, granted=True)
    artists = stream_summary(your_data_for_owner(user=user), conn, "top_artists")
    assert allowed(artists) == {MATCHING: True}
    assert "Matching: allowed" in client_in.get(reverse("privacy:your_data")).content.decode()

    consent_set(user=user, purpose=MATCHING, granted=False, provider="sandbox")  # withdrawn here
    tracks = stream_summary(your_data_for_owner(user=user), conn, "tracks")
    assert allowed(tracks) == {MATCHING: False, COMMUNITY_RECOMMENDATION: False}
    html = client_in.get(reverse("privacy:your_data")).content.decode()
    assert "Matching: allowed" not in html
    assert "Matching: not allowed" in html


def test_purpose_totals_count_interests_and_those_usable_now(user):
    sandbox = make_connection(user, "sandbox")
    spotify = make_connection(user, "spotify", external_id="ext-2")
    store(sandbox, "track", [["rock"], ["jazz"]])
    store(spotify, "artist", [["rock"], ["folk"]])
    recompute(sandbox)
    recompute(spotify)
    consent_set(user=user, purpose=MATCHING, granted=True)
    consent_set(user=user, purpose=MATCHING, granted=False, provider="spotify")

    totals = {t.purpose.slug: t for t in your_data_for_owner(user=user).purposes}

    assert (totals[MATCHING].interests, totals[MATCHING].usable_now) == (3, 2)  # rock once
    assert (totals[COMMUNITY_RECOMMENDATION].interests,
            totals[COMMUNITY_RECOMMENDATION].usable_now) == (3, 0)


def test_query_count_is_the_same_for_one_and_five_connections(client_in, user,
                                                             django_assert_max_num_queries):
    def fill(conn):
        provider = PROVIDERS[conn.provider]
        for stream in provider.streams:
            store(conn, stream.kind, [["rock"], ["jazz"]], prefix=stream.name)
            StreamState.objects.create(connection=conn, stream=stream.name,
                                       cursor={"completed_at": T2.isoformat()})
        SyncRun.objects.create(connection=conn, trigger=SyncRun.Trigger.MANUAL,
                               status=SyncRun.Status.SUCCEEDED, finished_at=T2)
        recompute(conn)

    def count():
        with CaptureQueriesContext(db_connection) as ctx:
            assert client_in.get(reverse("privacy:your_data")).status_code == 200
        return len(ctx.captured_queries)

    fill(make_connection(user, "sandbox"))
    one = count()
    for slug in ("spotify", "openlibrary", "github", "anilist"):
        fill(make_connection(user, slug, external_id=slug))
    consent_set(user=user, purpose=MATCHING, granted=True)
    with django_assert_max_num_queries(one):
        html = client_in.get(reverse("privacy:your_data")).content.decode()
    assert html.count('class="your-data"') == 5


def test_page_renders_with_a_retired_provider(client_in, user):
    gone = make_connection(user, "lastfm")
    assert "lastfm" not in PROVIDERS
    store(gone, "scrobble", [["rock"], ["jazz"]])

    response = client_in.get(reverse("privacy:your_data"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "No longer offered" in html and "scrobble" in html and "no longer synced" in html
    summary = response.context["data"].connections[0]
    assert summary.retired and summary.items == 2
    # It has no declared stream to open.
    assert client_in.get(reverse("privacy:stream_items",
                                 args=[gone.pk, "scrobbles"])).status_code == 404


def test_another_persons_connections_are_not_listed(client_in, user, other):
    theirs = make_connection(other, "sandbox", external_id="theirs")
    store(theirs, "track", [["rust"]])
    recompute(theirs)
    consent_set(user=other, purpose=MATCHING, granted=True)
    consent_set(user=user, purpose=MATCHING, granted=True)
    mine = make_connection(user, "github")

    data = your_data_for_owner(user=user)

    assert [c.connection.pk for c in data.connections] == [mine.pk]
    assert data.items == 0
    assert all(t.interests == t.usable_now == 0 for t in data.purposes)
    assert "Sandbox" not in client_in.get(reverse("privacy:your_data")).content.decode()


# -- one stream's items ---------------------------------------------------------------------

def test_interests_per_item_equal_what_recompute_stored(client_in, user):
    conn = make_connection(user, "sandbox")
    genres = [["rock", "jazz"], ["folk"], [], ["Art Rock", "rock"]] * 15  # 60 items: two pages
    store(conn, "track", genres)
    store(conn, "artist", [["techno"], ["rock"]], prefix="a")
    ExternalItem.objects.filter(external_id="x1").update(deleted_at=T1)  # deleted: no interest
    recompute(conn)
    consent_set(user=user, purpose=MATCHING, granted=True)
    provider = get_provider("sandbox")

    shown = set()
    for stream in provider.streams:
        for number in (1, 2):
            page, rows = stream_items_for_owner(user=user, connection=conn, provider=provider,
                                                stream=stream, page=number)
            shown |= {(reach.signal.slug, p.purpose.slug)
                      for row in rows for reach in row.interests for p in reach.purposes}
            if not page.has_next():
                break

    stored = set(UserInterest.objects.filter(connection=conn)
                 .values_list("interest__slug", "purpose"))
    assert shown == stored
    assert ("music-techno", COMMUNITY_RECOMMENDATION) not in shown  # artists: matching only

    response = client_in.get(reverse("privacy:stream_items", args=[conn.pk, "tracks"]))
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 59  # live items only
    assert len(response.context["rows"]) == 50
    html = response.content.decode()
    assert reverse("privacy:interest_items", args=["music-art-rock"]) in html
    assert "Community recommendations (not allowed now)" in html


def test_an_item_whose_interests_were_not_recomputed_yet_says_so(client_in, user):
    conn = make_connection(user, "sandbox")
    store(conn, "track", [["rock"]])

    html = client_in.get(reverse("privacy:stream_items", args=[conn.pk, "tracks"])).content.decode()

    assert "not held yet" in html


def test_stream_pages_of_another_person_or_unknown_stream_are_404(client_in, user, other):
    theirs = make_connection(other, "sandbox", external_id="theirs")
    store(theirs, "track", [["rock"]])
    mine = make_connection(user, "sandbox")

    assert client_in.get(reverse("privacy:stream_items",
                                 args=[theirs.pk, "tracks"])).status_code == 404
    assert client_in.get(reverse("privacy:stream_items",
                                 args=[mine.pk, "nope"])).status_code == 404
    assert client_in.get(reverse("privacy:stream_items",
                                 args=[mine.pk, "tracks"])).status_code == 200


def test_pages_require_login(client, user):
    conn = make_connection(user, "sandbox")
    for url in (reverse("privacy:your_data"),
                reverse("privacy:stream_items", args=[conn.pk, "tracks"]),
                reverse("privacy:interest_items", args=["music-rock"])):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_titles_are_escaped(client_in, user):
    conn = make_connection(user, "sandbox")
    ExternalItem.objects.create(connection=conn, kind="track", external_id="evil",
                                title="<script>x()</script>", content_hash="h",
                                attrs={"genres": ["rock"]})
    recompute(conn)
    for url in (reverse("privacy:stream_items", args=[conn.pk, "tracks"]),
                reverse("privacy:interest_items", args=["music-rock"])):
        html = client_in.get(url).content.decode()
        assert "<script>x()" not in html and "&lt;script&gt;x()" in html


# -- the items behind an interest -----------------------------------------------------------

def test_items_behind_an_interest_across_connections(client_in, user, other):
    sandbox = make_connection(user, "sandbox")
    spotify = make_connection(user, "spotify", external_id="ext-2")
    store(sandbox, "track", [["rock"], ["jazz"], ["rock", "folk"]])
    store(spotify, "artist", [["rock"]], prefix="s")
    store(spotify, "track", [["rock"]], prefix="t")  # saved tracks yield no interest
    ExternalItem.objects.filter(connection=sandbox, external_id="x2").update(deleted_at=T1)
    theirs = make_connection(other, "sandbox", external_id="theirs")
    store(theirs, "track", [["rock"]], prefix="theirs")
    for conn in (sandbox, spotify, theirs):
        recompute(conn)
    consent_set(user=user, purpose=MATCHING, granted=True)

    sources = interest_sources_for_owner(user=user, slug="music-rock")

    assert {(s.connection.pk, s.stream.name, s.title) for s in sources.items} == {
        (sandbox.pk, "tracks", "track x0"), (spotify.pk, "top_artists", "artist s0")}
    assert not sources.truncated
    assert {(h.row.connection_id, h.row.purpose, h.allowed) for h in sources.holdings} == {
        (sandbox.pk, MATCHING, True), (sandbox.pk, COMMUNITY_RECOMMENDATION, False),
        (spotify.pk, MATCHING, True), (spotify.pk, COMMUNITY_RECOMMENDATION, False)}

    html = client_in.get(reverse("privacy:interest_items", args=["music-rock"])).content.decode()
    assert "track x0" in html and "artist s0" in html
    assert "theirs0" not in html and "track x2" not in html
    assert "Showing the first" not in html


def test_only_connections_holding_the_interest_are_scanned(user):
    held = make_connection(user, "sandbox")
    store(held, "track", [["rock"]])
    recompute(held)
    unscanned = make_connection(user, "spotify", external_id="ext-2")
    store(unscanned, "artist", [["rock"]], prefix="s")  # no recompute: no row holds it here

    sources = interest_sources_for_owner(user=user, slug="music-rock")

    assert [s.connection.pk for s in sources.items] == [held.pk]


def test_the_scan_stops_at_the_limit_and_says_so(client_in, user):
    conn = make_connection(user, "sandbox")
    store(conn, "track", [["jazz"]] * 5 + [["rock"]] * 205)
    recompute(conn)

    sources = interest_sources_for_owner(user=user, slug="music-rock", limit=3)
    assert len(sources.items) == 3 and sources.truncated
    exactly = interest_sources_for_owner(user=user, slug="music-jazz", limit=5)
    assert len(exactly.items) == 5 and not exactly.truncated

    response = client_in.get(reverse("privacy:interest_items", args=["music-rock"]))
    assert len(response.context["sources"].items) == selectors.INTEREST_ITEMS_LIMIT == 200
    assert "Showing the first 200 items" in response.content.decode()


def test_the_scan_reads_no_further_than_it_needs(user, monkeypatch):
    conn = make_connection(user, "sandbox")
    store(conn, "track", [["rock"]] * 50)
    recompute(conn)
    asked = []
    real = selectors._streams_by_kind

    def wrap(stream):
        def interests(attrs):
            asked.append(attrs)
            return stream.interests(attrs)
        return replace(stream, interests=interests)

    def counting(provider):
        return {kind: wrap(stream) for kind, stream in real(provider).items()}

    monkeypatch.setattr(selectors, "_streams_by_kind", counting)
    sources = interest_sources_for_owner(user=user, slug="music-rock", limit=3)

    assert sources.truncated and len(asked) == 4  # three found, the fourth says "there is more"


def test_an_interest_only_another_person_holds_is_404(client_in, user, other):
    theirs = make_connection(other, "sandbox", external_id="theirs")
    store(theirs, "track", [["rock"]])
    recompute(theirs)

    assert client_in.get(reverse("privacy:interest_items",
                                 args=["music-rock"])).status_code == 404
    assert client_in.get(reverse("privacy:interest_items",
                                 args=["no-such-thing"])).status_code == 404


def test_my_interests_links_each_interest_to_its_items(client_in, user):
    conn = make_connection(user, "sandbox")
    store(conn, "track", [["rock"]])
    recompute(conn)

    html = client_in.get(reverse("integrations:interests")).content.decode()

    assert f'href="{reverse("privacy:interest_items", args=["music-rock"])}"' in html


def test_selectors_are_named_for_the_owner():
    """These pages read without a purpose: their selectors must say they are the owner's."""
    import inspect

    for name, function in inspect.getmembers(selectors, inspect.isfunction):
        if name.startswith("_") or function.__module__ != selectors.__name__:
            continue
        assert name.endswith("_for_owner") or name == "stream_of", name



def test_a_connection_that_does_not_sync_says_so_on_every_stream(client_in, user):
    conn = make_connection(user, "sandbox")
    consent_set(user=user, purpose=MATCHING, granted=True)
    assert stream_summary(your_data_for_owner(user=user), conn, "tracks").syncs

    conn.sync_enabled = False
    conn.save(update_fields=["sync_enabled"])

    tracks = stream_summary(your_data_for_owner(user=user), conn, "tracks")
    assert tracks.allowed_now and tracks.enabled and not tracks.syncs
    assert "the connection does not sync" in client_in.get(
        reverse("privacy:your_data")).content.decode()


def test_the_scan_also_stops_after_reading_its_limit_for_a_rare_interest(client_in, user):
    conn = make_connection(user, "sandbox")
    store(conn, "track", [["jazz"]] * 30 + [["rock"]])
    recompute(conn)

    sources = interest_sources_for_owner(user=user, slug="music-rock", scan_limit=10)

    assert sources.partial and sources.items == [] and not sources.truncated
    whole = interest_sources_for_owner(user=user, slug="music-rock")
    assert not whole.partial and len(whole.items) == 1


def test_hostile_stored_attrs_show_no_interest_instead_of_failing(client_in, user):
    conn = make_connection(user, "sandbox")
    store(conn, "track", [["rock"]])
    ExternalItem.objects.create(connection=conn, kind="track", external_id="bad1",
                                title="Bad genres", attrs={"genres": [1, {"x": []}]},
                                content_hash="h")
    ExternalItem.objects.create(connection=conn, kind="track", external_id="bad2",
                                title="Not a dict", attrs=["genres"], content_hash="h")

    response = client_in.get(reverse("privacy:stream_items", args=[conn.pk, "tracks"]))

    assert response.status_code == 200
    by_title = {row.item.title: row.interests for row in response.context["rows"]}
    assert by_title["Bad genres"] == [] and by_title["Not a dict"] == []
    assert [r.signal.slug for r in by_title["track x0"]] == ["music-rock"]


def test_a_retired_providers_interest_page_does_not_promise_a_next_sync(client_in, user):
    gone = make_connection(user, "lastfm")
    store(gone, "scrobble", [["rock"]])
    from integrations.models import Interest

    rock = Interest.objects.create(slug="music-rock", label="Rock", category="music")
    UserInterest.objects.create(user=user, interest=rock, connection=gone, purpose=MATCHING,
                                weight=1.0)

    html = client_in.get(reverse("privacy:interest_items", args=["music-rock"])).content.decode()

    assert "no longer offered" in html and "next sync" not in html


def test_two_streams_of_one_kind_count_and_explain_the_items_once(user, monkeypatch):
    conn = make_connection(user, "sandbox")
    store(conn, "track", [["rock"], ["jazz"]])
    recompute(conn)
    provider = get_provider("sandbox")
    tracks = next(s for s in provider.streams if s.name == "tracks")
    # A later purpose-less stream of the same kind owns the kind, as in weights_by_purpose.
    again = replace(tracks, name="tracks_again", label="Tracks again", purposes=())
    doubled = copy.copy(provider)
    doubled.streams = [*provider.streams, again]
    monkeypatch.setitem(PROVIDERS, "sandbox", doubled)

    data = your_data_for_owner(user=user)
    summary = next(c for c in data.connections if c.connection.pk == conn.pk)

    assert summary.items == 2
    held = {s.stream.name: s.held.items for s in summary.streams}
    assert held["tracks"] == 0 and held["tracks_again"] == 2
    _page, rows = stream_items_for_owner(user=user, connection=conn, provider=doubled,
                                         stream=again)
    assert len(rows) == 2 and all(row.interests == [] for row in rows)
    _page, rows = stream_items_for_owner(user=user, connection=conn, provider=doubled,
                                         stream=tracks)
    assert rows == []
