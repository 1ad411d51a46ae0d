"""Contract tests: every registered provider satisfies the same checks with real-shaped fixtures.

A provider supplies a fixture page per stream in its fixtures/<stream>.json; a missing
fixture fails the contract, it never passes quietly.
"""

import json
from pathlib import Path

import pytest
import requests
from allauth.socialaccount import providers as allauth_providers
from hypothesis import given, settings
from hypothesis import strategies as st

from consent.purposes import PURPOSES
from integrations.auth import AuthKind, AuthStrategy
from integrations.classify import Verdict
from integrations.exceptions import ProviderDataError
from integrations.models import Connection
from integrations.pagination import NextUrlPaginator, PageNumberPaginator
from integrations.providers.base import InterestSignal, MappedItem
from integrations.providers.registry import PROVIDERS, UnknownProvider, get_provider
from integrations.providers.spotify import mapping as spotify_mapping
from integrations.wire import ApiRequest, ApiResponse

PROVIDERS_DIR = Path(__file__).resolve().parents[2] / "integrations" / "providers"
STREAMS = [(p, s) for p in PROVIDERS.values() for s in p.streams]


def fixture(slug: str, name: str):
    path = PROVIDERS_DIR / slug / "fixtures" / f"{name}.json"
    assert path.exists(), f"missing fixture {path}"
    return json.loads(path.read_text())


@pytest.mark.parametrize("provider", PROVIDERS.values(), ids=lambda p: p.slug)
def test_declaration_is_complete(provider):
    assert provider.slug.isidentifier() and provider.slug == provider.slug.lower()
    assert provider.name and len(provider.description) > 20
    assert isinstance(provider.auth, AuthStrategy)
    names = [s.name for s in provider.streams]
    kinds = [s.kind for s in provider.streams]
    assert len(set(names)) == len(names) and len(set(kinds)) == len(kinds)
    for stream in provider.streams:
        assert stream.purposes and set(stream.purposes) <= set(PURPOSES)
    if provider.auth.via_allauth:
        assert provider.allauth_id in allauth_providers.registry.provider_map
    elif provider.auth.kind != AuthKind.NONE:
        assert provider.connect_fields(), "credential-based providers need a connect form"


@pytest.mark.parametrize(("provider", "stream"), STREAMS,
                         ids=lambda v: getattr(v, "slug", getattr(v, "name", "")))
def test_stream_maps_its_fixture_page(provider, stream):
    payload = fixture(provider.slug, stream.name)
    # The context a sync would give: the provider's values for a connection (unsaved: no
    # database), then the segment's.
    connection = Connection(provider=provider.slug, external_account_id="12345", config={})
    request = stream.paginator.first(stream.first_request(
        provider.connection_params(connection) | dict(stream.segments[0])))
    base = provider.get_api_base_url()
    page = stream.paginator.parse(ApiResponse(200, {}, payload), request, base_url=base)
    assert page.records, "the fixture page should hold records"
    for record in page.records:
        item = stream.map_record(record, stream.segments[0])
        assert isinstance(item, MappedItem) and item.external_id and item.title
        for found in stream.interests(item.attrs):
            assert isinstance(found, InterestSignal)
            assert found.slug.startswith(found.category + "-") and 0 < found.weight <= 1


def test_unknown_provider_slug():
    with pytest.raises(UnknownProvider):
        get_provider("myspace")


def test_spotify_top_artists_map_to_genre_interests():
    record = fixture("spotify", "top_artists")["items"][0]
    item = spotify_mapping.map_top_artist(record, {})
    assert item == MappedItem("4Z8W4fKeB5YxbusRsdQVPb", "Radiohead",
                              {"genres": ["alternative rock", "art rock"]})
    labels = [s.label for s in spotify_mapping.artist_genre_interests(item.attrs)]
    assert labels == ["Alternative rock", "Art rock"]


def test_spotify_saved_track_keeps_only_what_is_used():
    record = fixture("spotify", "saved_tracks")["items"][0]
    item = spotify_mapping.map_saved_track(record, {})
    assert item.attrs == {"artists": ["Pink Floyd"]}  # no album, duration, urls: minimisation


def test_open_library_private_shelf_is_an_error_with_a_clear_message():
    with pytest.raises(ProviderDataError) as exc:
        get_provider("openlibrary").check_payload(fixture("openlibrary", "private_shelf"))
    assert "public" in exc.value.message


def test_next_url_on_another_host_is_refused():
    paginator = NextUrlPaginator()
    payload = {"items": [{"id": "1"}], "next": "https://evil.example/steal"}
    with pytest.raises(ProviderDataError):
        paginator.parse(ApiResponse(200, {}, payload), ApiRequest("me/tracks"),
                        base_url="https://api.spotify.com/v1/")


def test_page_number_paginator_stops_at_num_found():
    paginator = PageNumberPaginator(items_key="entries", limit=2)
    first = paginator.first(ApiRequest("log.json"))

    def answer(payload):
        return ApiResponse(200, {}, payload)

    page = paginator.parse(answer({"entries": [{}, {}], "numFound": 3}), first, base_url="")
    assert page.next.params["page"] == 2
    last = paginator.parse(answer({"entries": [{}], "numFound": 3}), page.next, base_url="")
    assert last.next is None
    exact = paginator.parse(answer({"entries": [{}, {}], "numFound": 2}), first, base_url="")
    assert exact.next is None


# --- property tests: any JSON either maps or raises the engine's own error ------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20,
)
record_like = st.dictionaries(
    st.sampled_from(["id", "name", "title", "genres", "track", "work", "key", "artists",
                     "author_names", "subjects"]),
    json_values, max_size=6,
)


@pytest.mark.parametrize(("provider", "stream"), STREAMS,
                         ids=lambda v: getattr(v, "slug", getattr(v, "name", "")))
@settings(max_examples=150, deadline=None)
@given(record=st.one_of(record_like, json_values))
def test_mapping_never_raises_a_bare_error(provider, stream, record):
    try:
        item = stream.map_record(record, stream.segments[0])
    except ProviderDataError:
        return
    assert isinstance(item, MappedItem)
    list(stream.interests(item.attrs))


@pytest.mark.parametrize("paginator", [NextUrlPaginator(), PageNumberPaginator("entries")],
                         ids=["next_url", "page_number"])
@settings(max_examples=200, deadline=None)
@given(payload=st.one_of(json_values, st.dictionaries(
    st.sampled_from(["items", "entries", "next", "numFound"]), json_values, max_size=4)))
def test_paginators_never_raise_a_bare_error(paginator, payload):
    try:
        page = paginator.parse(ApiResponse(200, {}, payload), paginator.first(ApiRequest("p")),
                               base_url="https://api.example/")
    except ProviderDataError:
        return
    assert isinstance(page.records, list)


@settings(max_examples=200, deadline=None)
@given(work=json_values)
def test_open_library_subjects_never_raise_a_bare_error(work):
    from integrations.providers.openlibrary.mapping import subjects_of

    try:
        subjects = subjects_of(work)
    except ProviderDataError:
        return
    assert all(isinstance(s, str) and s for s in subjects)


@settings(max_examples=200, deadline=None)
@given(data=st.one_of(json_values, st.dictionaries(
    st.sampled_from(["access_token", "refresh_token", "expires_in", "scope", "token_type"]),
    json_values, max_size=5)))
def test_token_responses_parse_or_raise_the_engines_error(data):
    from integrations.tokens import grant_from_response

    try:
        grant = grant_from_response(data)
    except ProviderDataError:
        return
    assert isinstance(grant.access_token, str)
    assert grant.expires_at is None or grant.expires_at.year < 9999
    assert grant.scopes is None or all(isinstance(s, str) for s in grant.scopes)


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(st.none(), st.text(max_size=40)))
def test_rate_headers_never_raise(value):
    from integrations.classify import reset_at, retry_after_seconds

    seconds = retry_after_seconds(value)
    assert seconds is None or seconds >= 0
    until = reset_at(value, 1_800_000_000.0)
    assert until is None or 0 <= until < float("inf")


# Error bodies shaped like the catalog's, with any JSON (huge integers too) where values go.
error_like = st.dictionaries(
    st.sampled_from(["ok", "error_code", "description", "parameters", "errors", "error",
                     "message", "data", "retry_after", "status"]),
    json_values | st.integers(min_value=10**300, max_value=10**400)
    | st.lists(st.dictionaries(st.sampled_from(["status", "message", "retry_after"]),
                               json_values | st.integers(min_value=10**300), max_size=3),
               max_size=3)
    | st.fixed_dictionaries({"retry_after": json_values | st.integers(min_value=10**300)}),
    max_size=5,
)


@pytest.mark.parametrize("provider", PROVIDERS.values(), ids=lambda p: p.slug)
@settings(max_examples=150, deadline=None)
@given(status=st.sampled_from([200, 400, 401, 403, 404, 409, 429, 500, 503]), body=error_like,
       retry_after=st.sampled_from([None, "7", "-1", "1e999", "soon", "9" * 400]))
def test_classification_never_raises_on_any_answer(provider, status, body, retry_after):
    response = requests.Response()
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    response.headers["X-RateLimit-Remaining"] = "0"
    response.headers["X-RateLimit-Reset"] = "9" * 30
    response._content = json.dumps(body).encode()
    verdict = provider.classify_response(response)
    assert isinstance(verdict.verdict, Verdict)
    assert verdict.wait is None or verdict.wait >= 0
