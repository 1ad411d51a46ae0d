"""Kitsu (integrations/providers/kitsu/): the password grant (the password kept nowhere), the
JSON:API library pages with their included media, hostile data, the update-entry action and
errors. HTTP is mocked with ``responses`` in Kitsu's real answer shapes (fixtures/)."""

import json
import logging

import pytest
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st
from responses import matchers

from consent.purposes import PURPOSES
from consent.services import consent_set
from integrations.actions import connection_action_perform
from integrations.auth import PASSWORD_REFUSED
from integrations.exceptions import (
    ActionRejected,
    ConnectionTestFailed,
    ProviderDataError,
)
from integrations.http import ApiClient
from integrations.models import (
    ActionRun,
    ApiCall,
    AuditEvent,
    Connection,
    Credential,
    ExternalItem,
    SyncRun,
)
from integrations.providers.base import MappedItem
from integrations.providers.contract import fixture
from integrations.providers.kitsu import actions, client, errors, mapping
from integrations.providers.registry import get_provider
from integrations.services import connection_connect_with_form
from integrations.sync import sync_execute, sync_request
from integrations.tokens import token_refresh
from integrations.transport import BAD_STATUS
from integrations.wire import ApiRequest, ApiResponse
from tests.factories import make_connection, make_user

KITSU = get_provider("kitsu")
API = client.API_BASE
ENTRIES = API + client.LIBRARY_ENTRIES
TOKEN_URL = client.TOKEN_URL  # the tests that take Django's test client shadow the module
PASSWORD = "kitsu pass-word %&+= 0042"  # characters a form body must percent-encode
TOKEN = "AT-kitsu-0001"
JSON_API = "application/vnd.api+json"


def load(name: str):
    return fixture(client.__file__, name)


def parse(payload, relation="anime"):
    paginator = client.IncludedPaginator(relation=relation)
    request = paginator.first(ApiRequest(client.LIBRARY_ENTRIES))
    return paginator.parse(ApiResponse(200, {}, payload), request, base_url=API)


def items(name="anime_list", kind="anime"):
    return [mapping.entry_mapper(kind)(r, {}) for r in parse(load(name), kind).records]


# --- mapping and included resolution ------------------------------------------------------------

@pytest.mark.parametrize(("value", "repeating"), [(True, True), (False, False), ("true", False),
                                                  (None, False)])
def test_reconsuming_is_the_repeating_flag_only_when_true(value, repeating):
    document = load("anime_list")
    document["data"][0]["attributes"]["reconsuming"] = value
    record = parse(document, "anime").records[0]
    assert mapping.entry_mapper("anime")(record, {}).attrs["repeating"] is repeating


def test_entries_are_keyed_by_media_id_with_their_included_media_resolved():
    one_piece, bebop = items()
    assert one_piece == MappedItem("12", "One Piece", {
        "entry_id": "51234001", "status": "current", "progress": 1100, "score": 17,
        "repeating": False, "updated_at": 1772366400,  # 2026-03-01T12:00:00Z
        "mal_id": 21,  # from the myanimelist/anime mapping, not anidb's
        "titles": {"en": "One Piece", "en_jp": "One Piece", "ja_jp": "ワンピース"},
        "genres": ["Pirate", "Adventure"],
    })
    assert (bebop.external_id, bebop.attrs["score"], bebop.attrs["mal_id"],
            bebop.attrs["genres"]) == ("1", None, 1, ["Adventure", "Space"])


def test_manga_take_their_mal_id_from_the_manga_mapping():
    vagabond, berserk = items("manga_list", "manga")
    assert (vagabond.external_id, vagabond.title, vagabond.attrs["mal_id"]) == ("3", "Vagabond",
                                                                                656)
    assert berserk.attrs["status"] == "dropped" and berserk.attrs["score"] == 6
    # An anime mapping never stands in for a manga's MAL id.
    page = load("manga_list")
    page["included"][-1]["attributes"]["externalSite"] = "myanimelist/anime"
    assert [mapping.entry_mapper("manga")(r, {}).attrs["mal_id"]
            for r in parse(page, "manga").records] == [656, None]


def test_an_entry_naming_media_the_page_does_not_include_fails_the_page_clearly():
    page = load("anime_list")
    page["included"] = [r for r in page["included"] if r["id"] != "1"]
    with pytest.raises(ProviderDataError) as caught:
        parse(page)
    assert caught.value.message == client.NOT_INCLUDED.format(entry="51234002",
                                                              relation="anime", media="1")


def test_an_entry_whose_media_is_gone_is_skipped(caplog):
    page = load("anime_list")
    page["data"][1]["relationships"]["anime"] = {"data": None}
    with caplog.at_level(logging.WARNING):
        records = parse(page).records
    assert [r["id"] for r in records] == ["51234001"]
    assert "without its anime was skipped" in caplog.text


@pytest.mark.parametrize("relationships", [None, {}, {"anime": "12"}, {"anime": []},
                                           {"anime": {"data": {"type": "anime", "id": 12}}},
                                           {"anime": {"data": {"type": "anime", "id": ""}}}],
                         ids=str)
def test_an_entry_without_a_usable_relationship_is_provider_data_error(relationships):
    page = load("anime_list")
    page["data"][0]["relationships"] = relationships
    with pytest.raises(ProviderDataError):
        parse(page)


def test_missing_categories_and_mappings_are_left_out_not_fatal():
    page = load("anime_list")
    page["included"] = [r for r in page["included"] if r["type"] == "anime"]
    page["included"][0]["relationships"]["categories"]["data"].append("junk")
    one_piece = mapping.entry_mapper("anime")(parse(page).records[0], {})
    assert (one_piece.attrs["genres"], one_piece.attrs["mal_id"]) == ([], None)


@pytest.mark.parametrize("included", ["x", {"id": "1"}, [{"type": "anime"}] * 20_001])
def test_included_must_be_a_bounded_list(included):
    page = {**load("anime_list"), "included": included}
    with pytest.raises(ProviderDataError):
        parse(page)


@pytest.mark.parametrize(("attributes", "expected"), [
    ({"ratingTwenty": 1, "progress": -1, "updatedAt": "yesterday"},
     {"score": None, "progress": None, "updated_at": None}),
    ({"ratingTwenty": 21, "progress": True, "updatedAt": "2026-03-01T12:00:00"},  # no zone
     {"score": None, "progress": None, "updated_at": None}),
    ({"ratingTwenty": "17", "progress": 2.5, "updatedAt": 1772366400, "status": 3},
     {"score": None, "progress": None, "updated_at": None, "status": ""}),
    ({"ratingTwenty": 2, "progress": 0, "updatedAt": "2026-03-01T13:00:00+01:00"},
     {"score": 2, "progress": 0, "updated_at": 1772366400}),
], ids=["out_of_range", "out_of_range_2", "wrong_types", "bounds"])
def test_odd_values_become_null_not_fatal(attributes, expected):
    record = parse(load("anime_list")).records[0]
    record = {**record, "attributes": {**record["attributes"], **attributes}}
    attrs = mapping.entry_mapper("anime")(record, {}).attrs
    assert {key: attrs[key] for key in expected} == expected


def test_titles_are_bounded_and_stand_in_for_a_missing_canonical_title():
    record = parse(load("anime_list")).records[0]
    record["media"]["attributes"] = {
        "canonicalTitle": " ", "titles": {"en_jp": "Wan Piisu", 5: "x", "k" * 30: "long key",
                                          **{f"x{i}": "y" for i in range(20)}}}
    item = mapping.entry_mapper("anime")(record, {})
    assert item.title == "Wan Piisu"
    assert len(item.attrs["titles"]) == mapping.MAX_TITLES and "k" * 30 not in item.attrs["titles"]
    record["media"]["attributes"] = {"titles": "One Piece"}
    with pytest.raises(ProviderDataError, match=mapping.NO_TITLE):
        mapping.entry_mapper("anime")(record, {})


def test_categories_become_interests_in_the_stream_category():
    one_piece = items()[0]
    found = KITSU.get_stream("anime_list").interests(one_piece.attrs)
    assert [(s.slug, s.category, s.weight) for s in found] == [
        ("anime-pirate", "anime", 1.0), ("anime-adventure", "anime", 1.0)]
    manga = KITSU.get_stream("manga_list").interests
    assert manga({"status": "dropped", "genres": ["Samurai"]}) == []
    assert [s.weight for s in manga({"status": "planned", "genres": ["Samurai"]})] == [0.5]
    assert manga({"status": "current", "genres": "Samurai"}) == []


resources = st.dictionaries(st.sampled_from(["id", "type", "attributes", "relationships",
                                             "data"]),
                            st.recursive(st.none() | st.booleans() | st.integers()
                                         | st.text(max_size=5),
                                         lambda inner: st.lists(inner, max_size=3)
                                         | st.dictionaries(st.text(max_size=8), inner,
                                                           max_size=3), max_leaves=10))


@settings(max_examples=300, deadline=None)
@given(data=st.lists(resources, max_size=3), included=st.lists(resources, max_size=4))
def test_any_page_parses_and_maps_or_raises_the_engines_error(data, included):
    try:
        for record in parse({"data": data, "included": included}).records:
            mapping.entry_mapper("anime")(record, {})
    except ProviderDataError:
        pass


# --- the password grant ---------------------------------------------------------------------

@pytest.fixture
def person(db, settings, no_sleep):
    settings.THINKALIKE_RATE_BUDGETS = False
    user = make_user("otaku@example.com")
    for purpose in PURPOSES:
        consent_set(user=user, purpose=purpose, granted=True)
    return user


def token_answer(mocked, grant_type="password", **body):
    form = {"grant_type": grant_type, **body}
    return mocked.post(client.TOKEN_URL, json=load("token"),
                       match=[matchers.urlencoded_params_matcher(form)])


def users_answer(mocked, token="kitsu-access-token-0001"):
    return mocked.get(API + "users", json=load("users_self"), match=[
        matchers.query_param_matcher({"filter[self]": "true"}),
        matchers.header_matcher({"Authorization": f"Bearer {token}", "Accept": JSON_API})])


@pytest.mark.django_db(transaction=True)
def test_connecting_trades_the_password_for_tokens_and_keeps_it_nowhere(
        client, mocked_responses, caplog, django_capture_on_commit_callbacks):
    user = make_user("otaku@example.com")
    client.force_login(user)
    granted = token_answer(mocked_responses, username="someone@example.com", password=PASSWORD)
    users_answer(mocked_responses)
    caplog.set_level(logging.DEBUG)

    response = client.post(reverse("integrations:connect", args=["kitsu"]),
                           {"username": "someone@example.com", "password": PASSWORD})

    assert response.status_code == 302
    assert granted.call_count == 1
    # OAuth calls take plain JSON answers, not JSON:API, and no client credentials.
    token_call = mocked_responses.calls[0].request
    assert token_call.headers["Accept"] == "application/json"
    assert "client_id" not in token_call.body
    connection = Connection.objects.get()
    assert (connection.external_account_id, connection.account_label) == ("42", "someone")
    assert connection.config == {"username": "someone@example.com"}
    credential = Credential.objects.get()
    assert (credential.access_token, credential.refresh_token) == (
        "kitsu-access-token-0001", "kitsu-refresh-token-0001")
    logged = json.dumps([list(Connection.objects.values()), list(ApiCall.objects.values()),
                         list(AuditEvent.objects.values())], default=str)
    assert ApiCall.objects.exists() and AuditEvent.objects.exists()
    assert PASSWORD not in logged and "kitsu-access-token-0001" not in logged
    # Decrypted, every field of the credential: the tokens, never the password.
    assert PASSWORD not in json.dumps(list(Credential.objects.values()), default=str)
    assert all(PASSWORD not in r.getMessage() and PASSWORD not in str(r.args)
               for r in caplog.records)
    assert PASSWORD not in json.dumps(dict(client.session.items()), default=str)


@pytest.mark.django_db(transaction=True)
def test_a_wrong_password_says_so_and_saves_nothing(client, mocked_responses, caplog):
    client.force_login(make_user("otaku@example.com"))
    mocked_responses.post(TOKEN_URL, status=400, json=load("invalid_grant"))
    caplog.set_level(logging.DEBUG)
    response = client.post(reverse("integrations:connect", args=["kitsu"]),
                           {"username": "someone", "password": PASSWORD})
    assert response.status_code == 200
    html = response.content.decode()
    assert PASSWORD_REFUSED.format(name="Kitsu") in html
    assert PASSWORD not in html
    assert not Connection.objects.exists() and not Credential.objects.exists()
    assert [c.request.url for c in mocked_responses.calls] == [TOKEN_URL]
    assert PASSWORD not in json.dumps(list(ApiCall.objects.values()), default=str)
    assert all(PASSWORD not in r.getMessage() for r in caplog.records)
    assert PASSWORD not in json.dumps(dict(client.session.items()), default=str)


@pytest.mark.django_db(transaction=True)
def test_tokens_are_refreshed_at_the_same_endpoint_and_the_newest_kept(mocked_responses):
    token_answer(mocked_responses, username="someone", password=PASSWORD)
    users_answer(mocked_responses)
    connection = connection_connect_with_form(user=make_user(), provider=KITSU,
                                              fields={"username": "someone",
                                                      "password": PASSWORD})
    renewed = {**load("token"), "access_token": "AT-kitsu-0002", "refresh_token": "RT-kitsu-2"}
    mocked_responses.post(client.TOKEN_URL, json=renewed, match=[
        matchers.urlencoded_params_matcher({"grant_type": "refresh_token",
                                            "refresh_token": "kitsu-refresh-token-0001"})])
    assert token_refresh(connection=connection,
                         stale_access_token="kitsu-access-token-0001") == "AT-kitsu-0002"
    assert Credential.objects.get().refresh_token == "RT-kitsu-2"


def test_a_connection_test_for_another_account_is_refused(person, mocked_responses):
    users_answer(mocked_responses, token=TOKEN)
    connection = make_connection(person, "kitsu", external_id="43", access_token=TOKEN)
    with pytest.raises(ConnectionTestFailed, match="different Kitsu account"):
        KITSU.test_connection(ApiClient(KITSU, connection=connection), connection)


@pytest.mark.parametrize("body", [{"data": []}, {"data": [{"id": 42}]}, {"data": "x"}, []],
                         ids=str)
def test_an_account_answer_without_a_user_is_provider_data_error(person, mocked_responses,
                                                                 body):
    mocked_responses.get(API + "users", json=body)
    connection = make_connection(person, "kitsu", external_id="42", access_token=TOKEN)
    with pytest.raises(ProviderDataError):
        KITSU.test_connection(ApiClient(KITSU, connection=connection), connection)


# --- the library sync -------------------------------------------------------------------------

def connect(user, external_id="42") -> Connection:
    return make_connection(user, "kitsu", external_id=external_id, access_token=TOKEN,
                           refresh_token="RT-kitsu-0001", expires_in=30 * 24 * 3600)


def sync(connection) -> SyncRun:
    Connection.objects.filter(pk=connection.pk).update(sync_claimed_at=None)
    run = sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL, full=True)
    return sync_execute(run_id=run.pk)


def library_page(mocked, name, kind, **extra):
    params = {**client.library_params(kind), "filter[userId]": "42", "page[limit]": "100",
              **extra}
    return mocked.get(ENTRIES, json=load(name), match=[matchers.query_param_matcher(params)])


def test_a_full_sync_follows_links_next_for_the_connections_user(person, mocked_responses):
    pages = [library_page(mocked_responses, "anime_list", "anime"),
             library_page(mocked_responses, "anime_list_last", "anime",
                          **{"page[offset]": "100"}),
             library_page(mocked_responses, "manga_list", "manga")]
    connection = connect(person)
    run = sync(connection)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert [p.call_count for p in pages] == [1, 1, 1]
    # Spelled out once: the user from the connection, the kind, the media with its categories
    # and mappings, a stable order for offset paging.
    assert mocked_responses.calls[2].request.url == (
        ENTRIES + "?filter%5BuserId%5D=42&filter%5Bkind%5D=manga"
        "&include=manga%2Cmanga.categories%2Cmanga.mappings&sort=id&page%5Blimit%5D=100")
    for call in mocked_responses.calls:
        assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert call.request.headers["Accept"] == JSON_API
    stored = dict(ExternalItem.objects.filter(connection=connection)
                  .values_list("external_id", "kind"))
    assert stored == {"12": "anime", "1": "anime", "7442": "anime", "3": "manga",
                      "38": "manga"}
    assert ExternalItem.objects.get(external_id="7442").attrs["mal_id"] == 16498


def test_a_page_with_an_unresolvable_entry_fails_the_stream_and_deletes_nothing(
        person, mocked_responses):
    connection = connect(person)
    ExternalItem.objects.create(connection=connection, kind="anime", external_id="1",
                                title="Cowboy Bebop", content_hash="h")
    page = load("anime_list")
    page["included"] = [r for r in page["included"] if r["id"] != "1"]
    page["links"].pop("next")
    mocked_responses.get(ENTRIES, json=page)
    run = sync(connection)
    assert run.error_code == "bad_provider_data"
    assert "51234002" in run.streams["anime_list"]["reason"]
    assert ExternalItem.objects.get(external_id="1").deleted_at is None


def test_a_401_refreshes_once_then_asks_to_reconnect(person, mocked_responses):
    mocked_responses.get(ENTRIES, status=401, json=load("invalid_token"))
    refresh = mocked_responses.post(client.TOKEN_URL, status=400, json=load("invalid_grant"))
    connection = connect(person)
    run = sync(connection)
    assert run.error_code == "reauth_required"
    assert refresh.call_count == 1
    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_REAUTH


@pytest.mark.parametrize(("status", "code"), [(429, "rate_limited"), (503, "provider_unavailable"),
                                              (500, "provider_unavailable")])
def test_rate_limits_and_outages_are_try_later(person, mocked_responses, status, code):
    mocked_responses.get(ENTRIES, status=status, json=load("server_error"),
                         headers={"Retry-After": "1"})
    connection = connect(person)
    assert sync(connection).error_code == code
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE


def test_errors_without_data_fail_the_answer_with_a_bounded_message():
    with pytest.raises(ProviderDataError) as caught:
        errors.check_payload({"errors": [{"title": "T", "detail": "no " * 400}] * 9})
    assert caught.value.message.startswith(errors.API_ERROR.format(errors="no no"))
    assert len(caught.value.message) <= len(errors.API_ERROR) + errors.MAX_ERROR_TEXT
    errors.check_payload({"data": [], "errors": [{"title": "a warning"}]})
    errors.check_payload({"data": None, "errors": [5, {"title": " "}]})
    assert errors.error_texts({"errors": [{"title": "Forbidden"}]}) == ["Forbidden"]


# --- the update-entry action ------------------------------------------------------------------

def perform(connection, key="k-1", **data):
    data = {"entry_id": "51234001", "status": "completed", "progress": "1110", "rating": "",
            **data}
    return connection_action_perform(connection=connection, action="update_entry", data=data,
                                     idempotency_key=key, actor="test")


def test_update_entry_patches_a_json_api_document_of_the_given_values(person, mocked_responses):
    patched = mocked_responses.patch(ENTRIES + "/51234001", json=load("update_entry"), match=[
        matchers.header_matcher({"Content-Type": JSON_API, "Accept": JSON_API,
                                 "Authorization": f"Bearer {TOKEN}"})])
    run = perform(connect(person), rating="18")
    assert run.status == ActionRun.Status.SUCCEEDED, run.error
    assert patched.call_count == 1
    assert json.loads(mocked_responses.calls[0].request.body) == {"data": {
        "id": "51234001", "type": "libraryEntries",
        "attributes": {"status": "completed", "progress": 1110, "ratingTwenty": 18}}}
    assert run.summary == actions.SAVED.format(status="Completed", progress=1110, rating=18,
                                               entry="51234001")


def test_update_entry_leaves_out_what_was_not_given():
    assert actions.entry_body({"entry_id": "7", "status": "on_hold", "progress": "",
                               "rating": ""}) == {
        "data": {"id": "7", "type": "libraryEntries", "attributes": {"status": "on_hold"}}}


def test_update_entry_names_the_media_where_kitsu_says_it(person, mocked_responses):
    answer = load("update_entry")
    answer["data"]["relationships"]["anime"]["data"] = {"type": "anime", "id": "12"}
    mocked_responses.patch(ENTRIES + "/51234001", json=answer)
    assert perform(connect(person)).external_id == "12"


def test_update_entry_is_retried_after_a_5xx_as_an_idempotent_write(person, mocked_responses):
    assert KITSU.get_action("update_entry").idempotent
    mocked_responses.patch(ENTRIES + "/51234001", status=502, json=load("server_error"))
    mocked_responses.patch(ENTRIES + "/51234001", json=load("update_entry"))
    run = perform(connect(person))
    assert run.status == ActionRun.Status.SUCCEEDED, run.error
    assert len(mocked_responses.calls) == 2


def test_an_answer_for_another_entry_fails_the_run(person, mocked_responses):
    answer = load("update_entry")
    answer["data"]["id"] = "999"
    mocked_responses.patch(ENTRIES + "/51234001", json=answer)
    run = perform(connect(person))
    assert (run.status, run.error) == (ActionRun.Status.FAILED, actions.OTHER_ENTRY)


def test_a_refused_value_fails_the_run_and_keeps_the_connection(person, mocked_responses):
    mocked_responses.patch(ENTRIES + "/51234001", status=422, json=load("validation_error"))
    connection = connect(person)
    assert perform(connection).error == BAD_STATUS.format(name="Kitsu", status=422)
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE


@pytest.mark.parametrize("bad", [
    {"entry_id": "abc"}, {"entry_id": "0"}, {"entry_id": "1/../2"}, {"status": "watching"},
    {"status": "CURRENT"}, {"rating": "1"}, {"rating": "21"}, {"rating": "8.5"},
    {"progress": "-1"},
], ids=str)
def test_bad_input_is_refused_before_anything_is_sent(person, mocked_responses, bad):
    with pytest.raises(ActionRejected):
        perform(connect(person), **bad)
    assert len(mocked_responses.calls) == 0
    assert not ActionRun.objects.exists()
