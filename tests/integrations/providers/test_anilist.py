"""AniList (integrations/providers/anilist/): mapping, classification, the list sync over
GraphQL, the no-refresh-token rule, and the update-entry action. HTTP is mocked with
``responses`` in AniList's real answer shapes (the provider folder's fixtures)."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consent.purposes import PURPOSES
from consent.services import consent_set
from integrations.actions import connection_action_perform
from integrations.classify import Verdict
from integrations.exceptions import (
    ActionRejected,
    ConnectionTestFailed,
    ProviderDataError,
    ReauthRequired,
)
from integrations.http import ApiClient
from integrations.models import ActionRun, Connection, ExternalItem, SyncRun
from integrations.providers.anilist import actions, client, errors, mapping
from integrations.providers.anilist.contract import USER_ID
from integrations.providers.base import MappedItem
from integrations.providers.contract import fixture
from integrations.providers.registry import get_provider
from integrations.sync import sync_execute, sync_request
from integrations.tokens import CANNOT_RENEW, token_refresh
from integrations.transport import BAD_STATUS
from tests.factories import fake_response, make_connection, make_user

API = client.API_BASE
TOKEN = "AT-anilist-jwt-0001"
CONTRACT_FILE = client.__file__  # fixtures live beside the provider's modules
ANILIST = get_provider("anilist")


def load(name: str):
    return fixture(CONTRACT_FILE, name)


def entries(name: str) -> list[dict]:
    return load(name)["data"]["Page"]["mediaList"]


# --- mapping --------------------------------------------------------------------------------

def test_an_entry_is_keyed_by_media_id_and_keeps_no_spoiler_or_minor_tag():
    item = mapping.map_list_entry(entries("anime_list")[0], {})
    assert item == MappedItem("21", "ONE PIECE", {
        "entry_id": 1111, "status": "CURRENT", "progress": 1100, "score": 85,
        "updated_at": 1714550400, "mal_id": 21,
        "titles": {"english": "ONE PIECE", "romaji": "ONE PIECE"},
        "genres": ["Action", "Adventure", "Comedy", "Drama", "Fantasy"],
        # "Time Skip" is a spoiler, "Shounen" ranks 55: neither is stored.
        "tags": [{"name": "Pirates", "rank": 94}, {"name": "Ensemble Cast", "rank": 86}],
    })


@pytest.mark.parametrize(("id_mal", "expected"), [
    (None, None), (0, None), (-5, None), ("21", None), (True, None), (2**60, None), (813, 813),
])
def test_the_myanimelist_id_is_a_positive_number_or_nothing(id_mal, expected):
    record = entries("anime_list")[0]
    record = {**record, "media": {**record["media"], "idMal": id_mal}}
    assert mapping.map_list_entry(record, {}).attrs["mal_id"] == expected


def test_titles_are_bounded_and_skip_empty_names():
    record = entries("anime_list")[0]
    record = {**record, "media": {**record["media"], "title": {
        "romaji": "x" * 5000, "english": "  ", "native": 7}}}
    titles = mapping.map_list_entry(record, {}).attrs["titles"]
    assert titles == {"romaji": "x" * mapping.MAX_TITLE}


def test_the_romaji_title_stands_in_when_there_is_no_english_one():
    vagabond = entries("manga_list")[1]
    assert vagabond["media"]["title"]["english"] is None
    assert mapping.map_list_entry(vagabond, {}).title == "Vagabond"


@pytest.mark.parametrize("change", [
    {"mediaId": None}, {"mediaId": "21"}, {"mediaId": True}, {"id": None}, {"media": []},
    {"media": {"title": {"romaji": " ", "english": None}}}, {"media": {"title": "ONE PIECE"}},
], ids=str)
def test_an_unusable_entry_is_provider_data_error(change):
    record = {**entries("anime_list")[0], **change}
    with pytest.raises(ProviderDataError):
        mapping.map_list_entry(record, {})


def test_odd_numbers_and_tags_are_dropped_not_fatal():
    record = {**entries("anime_list")[0], "score": 72.0, "progress": "12", "updatedAt": 1e300,
              "status": 5}
    record["media"] = {**record["media"], "tags": [
        {"name": "Pirates", "rank": "94", "isMediaSpoiler": False},  # rank not a number
        {"name": "Crime", "rank": 88},  # spoiler flag missing: treated as a spoiler
        {"name": "", "rank": 99, "isMediaSpoiler": False}, "Space", None,
        {"name": "Space", "rank": 150, "isMediaSpoiler": False}]}
    attrs = mapping.map_list_entry(record, {}).attrs
    assert (attrs["score"], attrs["progress"], attrs["updated_at"], attrs["status"]) == (
        72, None, None, "")
    assert attrs["tags"] == [{"name": "Space", "rank": 100}]


def test_genres_count_fully_and_tags_by_rank_in_the_stream_category():
    item = mapping.map_list_entry(entries("anime_list")[1], {})  # Cowboy Bebop, COMPLETED
    found = {s.slug: s.weight for s in mapping.list_interests("anime")(item.attrs)}
    assert found == {"anime-action": 1.0, "anime-adventure": 1.0, "anime-drama": 1.0,
                     "anime-sci-fi": 1.0, "anime-space": 0.94, "anime-crime": 0.88,
                     "anime-episodic": 0.87}
    manga = mapping.map_list_entry(entries("manga_list")[0], {})
    assert {s.category for s in mapping.list_interests("manga")(manga.attrs)} == {"manga"}


def test_a_plan_counts_half_and_a_dropped_title_not_at_all():
    planned = mapping.map_list_entry(entries("anime_list_last")[0], {})  # Steins;Gate
    weights = {s.slug: s.weight for s in mapping.list_interests("anime")(planned.attrs)}
    assert weights["anime-thriller"] == 0.5
    assert weights["anime-time-manipulation"] == pytest.approx(0.485)
    dropped = mapping.map_list_entry(entries("manga_list")[1], {})  # Vagabond
    assert dropped.attrs["status"] == "DROPPED"
    assert mapping.list_interests("manga")(dropped.attrs) == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=15,
)
media_like = st.fixed_dictionaries({}, optional={
    "title": st.one_of(json_values, st.fixed_dictionaries(
        {}, optional={"english": json_values, "romaji": json_values})),
    "genres": json_values,
    "tags": st.one_of(json_values, st.lists(st.fixed_dictionaries({}, optional={
        "name": json_values, "rank": json_values, "isMediaSpoiler": json_values}))),
})
entry_like = st.fixed_dictionaries({}, optional={
    "id": json_values, "mediaId": json_values, "media": st.one_of(media_like, json_values),
    "status": json_values, "progress": json_values, "score": json_values,
    "updatedAt": json_values,
})


@settings(max_examples=300, deadline=None)
@given(record=st.one_of(entry_like, json_values))
def test_any_entry_maps_or_raises_the_engines_error(record):
    try:
        item = mapping.map_list_entry(record, {})
    except ProviderDataError:
        return
    assert item.external_id.isdigit() and item.title.strip()
    for found in mapping.list_interests("anime")(item.attrs):
        assert found.slug.startswith("anime-") and 0 < found.weight <= 1


# --- classification and error bodies --------------------------------------------------------

@pytest.mark.parametrize(("status", "body", "verdict"), [
    (400, "invalid_token", Verdict.RECONNECT),
    (400, "validation_error", Verdict.BAD_DATA),
    (401, None, Verdict.RECONNECT),  # never "refresh then retry": there is no refresh token
    (200, None, Verdict.OK),
    (403, "api_disabled", Verdict.TRY_LATER),  # AniList switched off: nobody reconnects
    (403, None, Verdict.RECONNECT),
    (502, None, Verdict.TRY_LATER),
])
def test_classification(status, body, verdict):
    payload = load(body) if body else None
    assert ANILIST.classify_response(fake_response(status, payload)).verdict == verdict


def test_a_401_inside_the_errors_list_is_reconnect_too():
    body = {"errors": [{"message": "Unauthorized.", "status": 401}], "data": None}
    assert ANILIST.classify_response(fake_response(400, body)).verdict == Verdict.RECONNECT


def test_a_rate_limit_waits_as_asked_or_until_the_reset(fake_clock):
    limited = load("too_many_requests")
    asked = ANILIST.classify_response(fake_response(429, limited, {"Retry-After": "42"}))
    assert (asked.verdict, asked.wait) == (Verdict.RATE_LIMITED, 42.0)
    reset = int(fake_clock.time()) + 55  # an epoch, as AniList sends it
    until_reset = ANILIST.classify_response(fake_response(429, limited, {
        "X-RateLimit-Limit": "90", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)}))
    assert until_reset.verdict == Verdict.RATE_LIMITED
    assert until_reset.wait == pytest.approx(reset - fake_clock.time())


def test_errors_without_data_fail_the_answer_with_a_bounded_message():
    with pytest.raises(ProviderDataError) as caught:
        ANILIST.check_payload({"data": {"Page": None},
                               "errors": [{"message": "x" * 500, "status": 500}] * 3})
    assert caught.value.message.startswith(errors.GRAPHQL_ERROR.format(errors=""))
    assert len(caught.value.message) <= len(errors.GRAPHQL_ERROR) + errors.MAX_ERROR_TEXT


def test_errors_beside_data_leave_the_answer_to_the_paginator():
    ANILIST.check_payload({"data": {"Page": {"mediaList": []}},
                           "errors": [{"message": "a tag failed", "status": 500}]})
    ANILIST.check_payload(load("anime_list"))


def test_declared_limit_is_the_degraded_thirty_a_minute():
    assert ANILIST.get_rate_limit() == (30, 60.0)
    assert ANILIST.scopes == () and not ANILIST.get_stream("anime_list").incremental


# --- the list sync ----------------------------------------------------------------------------

@pytest.fixture
def person(db, settings, no_sleep):
    settings.THINKALIKE_RATE_BUDGETS = False
    user = make_user("otaku@example.com")
    for purpose in PURPOSES:
        consent_set(user=user, purpose=purpose, granted=True)
    return user


def connect(user, *, external_id=str(USER_ID), expires_in=365 * 24 * 3600) -> Connection:
    # What a connect stores: a year-long token and no refresh token (AniList issues none).
    return make_connection(user, "anilist", external_id=external_id, access_token=TOKEN,
                           refresh_token="", expires_in=expires_in)


def sync(connection) -> SyncRun:
    Connection.objects.filter(pk=connection.pk).update(sync_claimed_at=None)
    run = sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL, full=True)
    return sync_execute(run_id=run.pk)


def graphql_answers(mocked, pages: dict, headers=None) -> list[dict]:
    """Answer each POST by its (type, page) variables; returns the bodies sent."""
    sent = []

    def respond(request):
        body = json.loads(request.body)
        sent.append(body)
        variables = body["variables"]
        name = pages[(variables["type"], variables["page"])]
        return 200, {"Content-Type": "application/json", **(headers or {})}, json.dumps(load(name))

    mocked.add_callback("POST", API, callback=respond)
    return sent


LIST_PAGES = {("ANIME", 1): "anime_list", ("ANIME", 2): "anime_list_last",
              ("MANGA", 1): "manga_list"}


def test_a_full_sync_pages_each_list_by_its_variables(person, mocked_responses):
    sent = graphql_answers(mocked_responses, LIST_PAGES,
                           {"X-RateLimit-Limit": "90", "X-RateLimit-Remaining": "70"})
    connection = connect(person)
    run = sync(connection)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert [b["variables"] for b in sent] == [
        {"userId": USER_ID, "type": "ANIME", "page": 1, "perPage": 50},
        {"userId": USER_ID, "type": "ANIME", "page": 2, "perPage": 50},
        {"userId": USER_ID, "type": "MANGA", "page": 1, "perPage": 50},
    ]
    assert all(b["query"] == client.MEDIA_LIST for b in sent)
    for call in mocked_responses.calls:
        assert call.request.method == "POST"
        assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert call.request.headers["Content-Type"] == "application/json"
    stored = dict(ExternalItem.objects.filter(connection=connection)
                  .values_list("external_id", "kind"))
    assert stored == {"21": "anime", "1": "anime", "9253": "anime", "30002": "manga",
                      "30656": "manga"}


@pytest.mark.parametrize(("status", "body"), [(401, None), (400, "invalid_token")],
                         ids=["http_401", "invalid_token_400"])
def test_a_refused_token_means_reconnect_without_trying_to_refresh(person, mocked_responses,
                                                                   status, body):
    mocked_responses.post(API, status=status, json=load(body) if body else None)
    connection = connect(person)
    run = sync(connection)
    assert run.error_code == "reauth_required"
    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_REAUTH
    # Only the API was asked, once: no token endpoint, no retry.
    assert [c.request.url for c in mocked_responses.calls] == [API]


def test_a_token_at_the_end_of_its_year_means_reconnect_before_any_request(person,
                                                                          mocked_responses):
    connection = connect(person, expires_in=60)  # inside the refresh margin
    run = sync(connection)
    assert run.error_message == CANNOT_RENEW.format(provider="AniList")
    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_REAUTH
    assert len(mocked_responses.calls) == 0


def test_a_refresh_after_a_401_is_never_sent_without_a_refresh_token(person, mocked_responses):
    """Whatever a classification said, tokens.py does not ask AniList's token endpoint."""
    connection = connect(person)
    with pytest.raises(ReauthRequired) as caught:
        token_refresh(connection=connection, stale_access_token=TOKEN)
    assert caught.value.message == CANNOT_RENEW.format(provider="AniList")
    assert len(mocked_responses.calls) == 0


def test_an_api_switched_off_is_try_later_and_keeps_the_connection(person, mocked_responses):
    mocked_responses.post(API, status=403, json=load("api_disabled"))
    connection = connect(person)
    run = sync(connection)
    assert run.error_code == "provider_unavailable"
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE


def test_a_connection_without_a_numeric_user_id_asks_to_reconnect(person, mocked_responses):
    connection = connect(person, external_id="someone")
    run = sync(connection)
    assert (run.error_code, run.error_message) == ("reauth_required", client.NO_USER_ID)
    assert len(mocked_responses.calls) == 0


# --- the update-entry action ------------------------------------------------------------------

def perform(connection, key="k-1", **data):
    data = {"media_id": "21", "status": "COMPLETED", "progress": "1100", "score": "", **data}
    return connection_action_perform(connection=connection, action="update_entry", data=data,
                                     idempotency_key=key, actor="test")


def test_update_entry_sends_the_mutation_with_only_the_given_values(person, mocked_responses):
    mocked_responses.post(API, json=load("save_entry"))
    run = perform(connect(person))
    assert run.status == ActionRun.Status.SUCCEEDED, run.error
    body = json.loads(mocked_responses.calls[0].request.body)
    assert body == {"query": client.SAVE_ENTRY,
                    "variables": {"mediaId": 21, "status": "COMPLETED", "progress": 1100}}
    assert run.external_id == "21"  # the media id, as the list items are keyed
    assert run.summary == actions.SAVED.format(status="COMPLETED", progress=1100, score=85,
                                               entry=1111)


def test_update_entry_is_retried_after_a_5xx_as_an_idempotent_write(person, mocked_responses):
    assert ANILIST.get_action("update_entry").idempotent
    mocked_responses.post(API, status=502, json={"errors": [{"message": "Bad gateway"}]})
    mocked_responses.post(API, json=load("save_entry"))
    run = perform(connect(person), score="85")
    assert run.status == ActionRun.Status.SUCCEEDED, run.error
    assert len(mocked_responses.calls) == 2
    assert json.loads(mocked_responses.calls[1].request.body)["variables"]["scoreRaw"] == 85


def test_graphql_errors_fail_the_run_with_a_bounded_message(person, mocked_responses):
    mocked_responses.post(API, json={"data": {"SaveMediaListEntry": None},
                                     "errors": [{"message": "no " * 400, "status": 500}]})
    run = perform(connect(person))
    assert run.status == ActionRun.Status.FAILED
    assert run.error.startswith(errors.GRAPHQL_ERROR.format(errors="no no"))
    assert len(run.error) <= len(errors.GRAPHQL_ERROR) + errors.MAX_ERROR_TEXT


def test_an_entry_saved_for_another_title_fails_the_run(person, mocked_responses):
    saved = load("save_entry")
    saved["data"]["SaveMediaListEntry"]["mediaId"] = 22
    mocked_responses.post(API, json=saved)
    run = perform(connect(person))
    assert (run.status, run.error) == (ActionRun.Status.FAILED, actions.OTHER_MEDIA)


def test_a_refused_value_fails_the_run_and_keeps_the_connection(person, mocked_responses):
    mocked_responses.post(API, status=400, json=load("validation_error"))
    connection = connect(person)
    run = perform(connection)
    assert run.error == BAD_STATUS.format(name="AniList", status=400)
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE


def test_an_invalid_token_at_the_action_asks_to_reconnect(person, mocked_responses):
    mocked_responses.post(API, status=400, json=load("invalid_token"))
    connection = connect(person)
    assert perform(connection).status == ActionRun.Status.FAILED
    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_REAUTH


@pytest.mark.parametrize("bad", [
    {"media_id": "abc"}, {"media_id": "0"}, {"media_id": "1234567890"}, {"status": "WATCHING"},
    {"status": "completed"}, {"score": "101"}, {"score": "-1"}, {"progress": "1.5"},
], ids=str)
def test_bad_input_is_refused_before_anything_is_sent(person, mocked_responses, bad):
    with pytest.raises(ActionRejected):
        perform(connect(person), **bad)
    assert len(mocked_responses.calls) == 0
    assert not ActionRun.objects.exists()


def test_a_connect_test_for_another_account_is_refused(person, mocked_responses):
    mocked_responses.post(API, json={"data": {"Viewer": {"id": 999, "name": "other"}}})
    connection = connect(person)
    with pytest.raises(ConnectionTestFailed, match=r"different AniList account"):
        ANILIST.test_connection(ApiClient(ANILIST, connection=connection), connection)
    assert json.loads(mocked_responses.calls[0].request.body) == {"query": client.VIEWER,
                                                                  "variables": {}}
