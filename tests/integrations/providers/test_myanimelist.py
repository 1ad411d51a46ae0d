"""MyAnimeList (integrations/providers/myanimelist/): mapping, classification, the list sync
with paging.next, refresh on a 401, and the update-entry action. HTTP is mocked with
``responses`` in MAL's real answer shapes (the provider folder's fixtures)."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from responses import matchers

from consent.purposes import PURPOSES
from consent.services import consent_set
from integrations.actions import connection_action_perform
from integrations.classify import Verdict
from integrations.exceptions import ActionRejected, ConnectionTestFailed, ProviderDataError
from integrations.http import ApiClient
from integrations.models import ActionRun, Connection, Credential, ExternalItem, SyncRun
from integrations.providers.base import MappedItem
from integrations.providers.contract import fixture
from integrations.providers.myanimelist import actions, client, errors, mapping
from integrations.providers.myanimelist.contract import USER_ID
from integrations.providers.registry import get_provider
from integrations.sync import sync_execute, sync_request
from integrations.transport import BAD_STATUS
from tests.factories import fake_response, make_connection, make_user

API = client.API_BASE
TOKEN = "AT-mal-0001"
MAL = get_provider("myanimelist")
anime_entry = mapping.list_entry_mapper("num_episodes_watched", "num_episodes",
                                        "is_rewatching")
manga_entry = mapping.list_entry_mapper("num_chapters_read", "num_chapters", "is_rereading")


def load(name: str):
    return fixture(client.__file__, name)


def entries(name: str) -> list[dict]:
    return load(name)["data"]


# --- mapping --------------------------------------------------------------------------------

def test_an_anime_entry_maps_to_the_shared_list_attrs():
    item = anime_entry(entries("anime_list")[1], {})
    assert item == MappedItem("1", "Cowboy Bebop", {
        "entry_id": None, "status": "completed", "progress": 26, "score": 10,
        "repeating": False, "updated_at": 1699823703,  # 2023-11-12T21:15:03+00:00
        "mal_id": 1,
        "titles": {"title": "Cowboy Bebop", "en": "Cowboy Bebop", "ja": "カウボーイビバップ"},
        "genres": ["Action", "Award Winning", "Sci-Fi", "Space"], "total": 26,
    })


@pytest.mark.parametrize(("mapper", "flag"), [(anime_entry, "is_rewatching"),
                                               (manga_entry, "is_rereading")])
@pytest.mark.parametrize(("value", "repeating"), [(True, True), (False, False), ("true", False),
                                                  (1, False), (None, False)])
def test_the_repeating_flag_is_read_from_its_own_key_and_only_as_true(mapper, flag, value,
                                                                       repeating):
    record = entries("anime_list")[1]
    record = {**record, "list_status": {**record["list_status"], flag: value}}
    assert mapper(record, {}).attrs["repeating"] is repeating


def test_a_manga_entry_reads_chapters_and_its_time_zone():
    item = manga_entry(entries("manga_list")[0], {})
    assert (item.external_id, item.attrs["progress"], item.attrs["status"]) == ("2", 364,
                                                                                  "reading")
    assert item.attrs["updated_at"] == 1710466200  # 10:30 at +09:00 is 01:30 UTC
    assert item.attrs["total"] is None  # MAL says 0 chapters while it is unknown


def test_no_english_title_falls_back_to_the_main_one_and_0_is_unscored():
    item = manga_entry(entries("manga_list")[1], {})  # Vagabond: en is ""
    assert item.title == "Vagabond"
    assert item.attrs["titles"] == {"title": "Vagabond", "ja": "バガボンド"}
    assert item.attrs["score"] is None


@pytest.mark.parametrize("change", [
    {"node": None}, {"node": []}, {"node": {"title": "x"}}, {"node": {"id": "21", "title": "x"}},
    {"node": {"id": True, "title": "x"}}, {"node": {"id": 0, "title": "x"}},
    {"node": {"id": 21, "title": " ", "alternative_titles": {"en": ""}}},
    {"node": {"id": 21, "title": ["One Piece"]}},
], ids=str)
def test_an_unusable_entry_is_provider_data_error(change):
    with pytest.raises(ProviderDataError):
        anime_entry({**entries("anime_list")[0], **change}, {})


def test_odd_values_are_dropped_not_fatal():
    record = entries("anime_list")[0]
    record["list_status"] = {"status": 5, "score": 11, "num_episodes_watched": -1,
                             "updated_at": "yesterday"}
    record["node"]["genres"] = [{"name": "Action"}, "Comedy", {"name": 7}, None, {"name": " "}]
    record["node"]["num_episodes"] = 2**40
    attrs = anime_entry(record, {}).attrs
    assert (attrs["status"], attrs["score"], attrs["progress"], attrs["updated_at"],
            attrs["total"]) == ("", None, None, None, None)
    assert attrs["genres"] == ["Action"]
    for score in (True, 9.5, "9"):
        record["list_status"] = {"score": score}
        assert anime_entry(record, {}).attrs["score"] is None


def test_genres_and_titles_are_bounded():
    record = entries("anime_list")[0]
    record["node"]["genres"] = [{"id": n, "name": f"Genre {n}"} for n in range(50)]
    record["node"]["alternative_titles"] = {"en": "x" * 5000}
    attrs = anime_entry(record, {}).attrs
    assert len(attrs["genres"]) == mapping.MAX_GENRES
    assert len(attrs["titles"]["en"]) == mapping.MAX_TITLE


def test_a_missing_list_status_keeps_the_title_without_values():
    record = {"node": entries("anime_list")[0]["node"]}  # fields without list_status
    attrs = anime_entry(record, {}).attrs
    assert (attrs["status"], attrs["progress"], attrs["score"]) == ("", None, None)


def test_genres_become_interests_in_the_stream_category():
    item = anime_entry(entries("anime_list")[1], {})
    found = {s.slug: s.weight for s in mapping.list_interests("anime")(item.attrs)}
    assert found == {"anime-action": 1.0, "anime-award-winning": 1.0, "anime-sci-fi": 1.0,
                     "anime-space": 1.0}
    manga = manga_entry(entries("manga_list")[0], {})
    assert {s.category for s in mapping.list_interests("manga")(manga.attrs)} == {"manga"}


def test_a_plan_counts_half_a_dropped_title_not_at_all_and_sexual_genres_never():
    planned = anime_entry(entries("anime_list_last")[0], {})  # Steins;Gate, plan_to_watch
    assert {s.weight for s in mapping.list_interests("anime")(planned.attrs)} == {0.5}
    dropped = manga_entry(entries("manga_list")[1], {})
    assert mapping.list_interests("manga")(dropped.attrs) == []
    attrs = {"status": "completed", "genres": ["Romance", "Hentai", "Erotica"]}
    assert [s.slug for s in mapping.list_interests("anime")(attrs)] == ["anime-romance"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=15,
)
node_like = st.fixed_dictionaries({}, optional={
    "id": json_values, "title": json_values, "num_episodes": json_values,
    "alternative_titles": st.one_of(json_values, st.fixed_dictionaries(
        {}, optional={"en": json_values, "ja": json_values})),
    "genres": st.one_of(json_values, st.lists(st.fixed_dictionaries(
        {}, optional={"name": json_values}))),
})
entry_like = st.fixed_dictionaries({}, optional={
    "node": st.one_of(node_like, json_values),
    "list_status": st.one_of(json_values, st.fixed_dictionaries({}, optional={
        "status": json_values, "score": json_values, "num_episodes_watched": json_values,
        "updated_at": st.one_of(json_values, st.datetimes().map(lambda d: d.isoformat()))})),
})


@settings(max_examples=300, deadline=None)
@given(record=st.one_of(entry_like, json_values))
def test_any_entry_maps_or_raises_the_engines_error(record):
    try:
        item = anime_entry(record, {})
    except ProviderDataError:
        return
    assert item.external_id.isdigit() and item.title.strip()
    json.dumps(item.attrs, allow_nan=False)  # storable
    for found in mapping.list_interests("anime")(item.attrs):
        assert found.slug.startswith("anime-") and 0 < found.weight <= 1


# --- classification ---------------------------------------------------------------------------

@pytest.mark.parametrize(("status", "body", "verdict"), [
    (401, "invalid_token", Verdict.REFRESH_THEN_RETRY),  # MAL has refresh tokens
    (403, "forbidden", Verdict.RATE_LIMITED),  # "DoS detected": never reconnect
    (403, None, Verdict.RATE_LIMITED),
    (429, None, Verdict.RATE_LIMITED),
    (400, "bad_request", Verdict.BAD_DATA),
    (404, None, Verdict.BAD_DATA),
    (200, None, Verdict.OK),
    (503, None, Verdict.TRY_LATER),
])
def test_classification(status, body, verdict):
    answered = fake_response(status, load(body) if body else None)
    assert MAL.classify_response(answered).verdict == verdict


def test_a_throttled_answer_waits_as_asked_or_our_own_time():
    forbidden = fake_response(403, load("forbidden"))
    assert MAL.classify_response(forbidden).wait == errors.THROTTLED_WAIT
    assert MAL.classify_response(fake_response(429)).wait == errors.THROTTLED_WAIT
    asked = MAL.classify_response(fake_response(429, headers={"Retry-After": "42"}))
    assert (asked.verdict, asked.wait) == (Verdict.RATE_LIMITED, 42.0)
    assert MAL.classify_response(fake_response(403, headers={"Retry-After": "7"})).wait == 7.0


def test_declaration():
    assert MAL.get_rate_limit() == (30, 60.0) and MAL.scopes == ()
    assert not MAL.supports_revoke and "no revocation API" in MAL.revoke_help
    assert not any(s.incremental for s in MAL.streams)


# --- the list sync ----------------------------------------------------------------------------

@pytest.fixture
def person(db, settings, no_sleep):
    settings.THINKALIKE_RATE_BUDGETS = False
    user = make_user("otaku@example.com")
    for purpose in PURPOSES:
        consent_set(user=user, purpose=purpose, granted=True)
    return user


def connect(user, *, expires_in=31 * 24 * 3600) -> Connection:
    return make_connection(user, "myanimelist", external_id=str(USER_ID), access_token=TOKEN,
                           refresh_token="RT-mal-0001", expires_in=expires_in)


def sync(connection) -> SyncRun:
    Connection.objects.filter(pk=connection.pk).update(sync_claimed_at=None)
    run = sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL, full=True)
    return sync_execute(run_id=run.pk)


def list_pages(mocked):
    first = {"fields": client.ANIME_FIELDS, "nsfw": "true", "limit": "1000"}
    mocked.get(API + client.ANIME_LIST, json=load("anime_list"),
               match=[matchers.query_param_matcher(first)])
    mocked.get(API + client.ANIME_LIST, json=load("anime_list_last"),
               match=[matchers.query_param_matcher({**first, "offset": "1000"})])
    mocked.get(API + client.MANGA_LIST, json=load("manga_list"), match=[
        matchers.query_param_matcher({**first, "fields": client.MANGA_FIELDS})])


def test_a_full_sync_follows_paging_next_and_stores_both_lists(person, mocked_responses):
    list_pages(mocked_responses)
    connection = connect(person)
    run = sync(connection)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    urls = [urlsplit(c.request.url) for c in mocked_responses.calls]
    assert [u.path for u in urls] == ["/v2/users/@me/animelist"] * 2 + ["/v2/users/@me/mangalist"]
    # The second request is paging.next as MAL wrote it, nothing added.
    assert mocked_responses.calls[1].request.url == load("anime_list")["paging"]["next"]
    assert all(parse_qs(u.query)["nsfw"] == ["true"] for u in urls)  # NSFW titles included
    for call in mocked_responses.calls:
        assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
    stored = dict(ExternalItem.objects.filter(connection=connection)
                  .values_list("external_id", "kind"))
    assert stored == {"21": "anime", "1": "anime", "9253": "anime", "2": "manga",
                      "656": "manga"}


def test_an_expired_token_is_refreshed_once_and_the_page_asked_again(person, mocked_responses):
    mocked_responses.get(API + client.ANIME_LIST, status=401, json=load("invalid_token"))
    mocked_responses.post(client.TOKEN_URL, json=load("token"))
    list_pages(mocked_responses)
    connection = connect(person)
    run = sync(connection)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    new = load("token")
    assert mocked_responses.calls[1].request.url == client.TOKEN_URL
    assert mocked_responses.calls[2].request.headers["Authorization"] == (
        f"Bearer {new['access_token']}")
    assert Credential.objects.get(connection=connection).refresh_token == new["refresh_token"]


def test_a_dos_ban_stops_the_run_as_rate_limited_and_keeps_the_connection(person,
                                                                        mocked_responses):
    mocked_responses.get(API + client.ANIME_LIST, status=403, json=load("forbidden"))
    connection = connect(person)
    run = sync(connection)
    assert run.error_code == "rate_limited"
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE
    assert len(mocked_responses.calls) == 1  # not asked again at once: that prolongs a ban


# --- the update-entry action ------------------------------------------------------------------

def status_url(kind: str, media_id: int) -> str:
    return API + client.MY_LIST_STATUS.format(kind=kind, media_id=media_id)


def perform(connection, key="k-1", **data):
    data = {"kind": "anime", "media_id": "9253", "status": "completed", "progress": "24",
            "score": "", **data}
    return connection_action_perform(connection=connection, action="update_entry", data=data,
                                     idempotency_key=key, actor="test")


def test_update_entry_patches_a_form_with_only_the_given_values(person, mocked_responses):
    mocked_responses.patch(status_url("anime", 9253), json=load("update_status"), match=[
        matchers.urlencoded_params_matcher({"status": "completed",
                                            "num_watched_episodes": "24"})])
    run = perform(connect(person))
    assert run.status == ActionRun.Status.SUCCEEDED, run.error
    sent = mocked_responses.calls[0].request
    assert sent.method == "PATCH" and sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert run.external_id == "9253"  # the media id, as the list items are keyed
    assert run.summary == actions.SAVED.format(status="completed", progress=24, score=8)


def test_update_entry_of_a_manga_sends_chapters_and_a_zero_score_removes_it(person,
                                                                           mocked_responses):
    saved = {"status": "reading", "is_rereading": False, "num_volumes_read": 0,
             "num_chapters_read": 120, "score": 0, "updated_at": "2026-11-29T09:30:00+00:00"}
    mocked_responses.patch(status_url("manga", 2), json=saved, match=[
        matchers.urlencoded_params_matcher({"status": "reading", "num_chapters_read": "120",
                                            "score": "0"})])
    run = perform(connect(person), kind="manga", media_id="2", status="reading",
                  progress="120", score="0")
    assert run.status == ActionRun.Status.SUCCEEDED, run.error
    assert run.summary == actions.SAVED.format(status="reading", progress=120, score="-")


def test_a_status_of_the_other_kind_fails_before_anything_is_sent(person, mocked_responses):
    run = perform(connect(person), kind="manga", status="watching")
    assert (run.status, run.error) == (
        ActionRun.Status.FAILED, actions.WRONG_STATUS.format(status="watching", kind="manga"))
    assert len(mocked_responses.calls) == 0


def test_update_entry_is_retried_after_a_5xx_as_an_idempotent_write(person, mocked_responses):
    assert MAL.get_action("update_entry").idempotent
    mocked_responses.patch(status_url("anime", 9253), status=502,
                           json={"error": "bad_gateway", "message": ""})
    mocked_responses.patch(status_url("anime", 9253), json=load("update_status"))
    run = perform(connect(person), score="8")
    assert run.status == ActionRun.Status.SUCCEEDED, run.error
    assert len(mocked_responses.calls) == 2
    assert parse_qs(mocked_responses.calls[1].request.body)["score"] == ["8"]


def test_a_refused_value_fails_the_run_and_keeps_the_connection(person, mocked_responses):
    mocked_responses.patch(status_url("anime", 9253), status=400, json=load("bad_request"))
    connection = connect(person)
    run = perform(connection)
    assert run.error == BAD_STATUS.format(name="MyAnimeList", status=400)
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE


def test_an_answer_without_a_status_fails_the_run(person, mocked_responses):
    mocked_responses.patch(status_url("anime", 9253), json={"error": "", "message": ""})
    assert perform(connect(person)).status == ActionRun.Status.FAILED


@pytest.mark.parametrize("bad", [
    {"kind": "novel"}, {"media_id": "abc"}, {"media_id": "0"}, {"media_id": "1234567890"},
    {"status": "CURRENT"}, {"status": "plan to watch"}, {"score": "11"}, {"score": "-1"},
    {"progress": "1.5"},
], ids=str)
def test_bad_input_is_refused_before_anything_is_sent(person, mocked_responses, bad):
    with pytest.raises(ActionRejected):
        perform(connect(person), **bad)
    assert len(mocked_responses.calls) == 0
    assert not ActionRun.objects.exists()


def test_a_connect_test_for_another_account_is_refused(person, mocked_responses):
    mocked_responses.get(API + client.ME, json={"id": 999, "name": "other"})
    connection = connect(person)
    with pytest.raises(ConnectionTestFailed, match=r"different MyAnimeList account"):
        MAL.test_connection(ApiClient(MAL, connection=connection), connection)
