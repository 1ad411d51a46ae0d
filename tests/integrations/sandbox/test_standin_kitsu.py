"""The Kitsu stand-in answers Kitsu's shapes from a library it keeps: the password grant at the
token URL's path, JSON:API pages with included media, categories and mappings and links.next,
and a PATCH of a library entry (the real action's) that the next GET shows. The real provider
connects with the demo account's password and syncs both lists from it."""

import json

import pytest

from consent.purposes import PURPOSES
from consent.services import consent_set
from integrations.actions import connection_action_perform
from integrations.exceptions import ConnectionTestFailed
from integrations.models import ActionRun, Connection, ExternalItem, SyncRun
from integrations.providers.kitsu import client as kitsu_client
from integrations.providers.kitsu.provider import KitsuProvider
from integrations.providers.registry import get_provider
from integrations.sandbox.standins import anime_lists as lists
from integrations.sandbox.standins import kitsu as standin
from integrations.services import connection_connect_with_form
from integrations.sync import sync_execute, sync_request
from tests.factories import make_user

BASE = "/sandbox/stand-ins/kitsu/"
TOKEN = "0123456789abcdef" * 4
AUTH = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
JSON_API = "application/vnd.api+json"
USER = lists.KITSU_ACCOUNT["id"]


@pytest.fixture(autouse=True)
def sandbox_on(settings, db):
    settings.THINKALIKE_SANDBOX = True


def entries(client, **params):
    query = {"filter[userId]": USER, **params}
    return client.get(BASE + "library-entries", query, **AUTH)


def patch(client, entry_id, attributes: dict, **headers):
    body = {"data": {"id": str(entry_id), "type": "libraryEntries", "attributes": attributes}}
    return client.patch(f"{BASE}library-entries/{entry_id}", json.dumps(body),
                        content_type=JSON_API, **{**AUTH, **headers})


def test_the_providers_demo_account_is_the_stand_ins():
    assert KitsuProvider.stand_in_username == standin.DEMO_EMAIL
    assert KitsuProvider.stand_in_example == standin.DEMO_PASSWORD


@pytest.mark.parametrize("as_json", [False, True])
def test_the_password_grant_takes_only_the_demo_account(client, as_json):
    def grant(**body):
        body = {"grant_type": "password", **body}
        if as_json:
            return client.post(BASE + "api/oauth/token", json.dumps(body),
                               content_type="application/json")
        return client.post(BASE + "api/oauth/token", body)

    tokens = grant(username="Demo-Otaku@example.com", password=standin.DEMO_PASSWORD).json()
    assert standin.KEY.fullmatch(f"Bearer {tokens['access_token']}")
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] > 0
    refused = grant(username=standin.DEMO_EMAIL, password="wrong")
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    refreshed = client.post(BASE + "api/oauth/token", {"grant_type": "refresh_token",
                                                       "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200 and refreshed.json()["access_token"] != tokens[
        "access_token"]


NESTED = "[" * 100_000 + "]" * 100_000  # past Python's recursion limit, not a ValueError


@pytest.mark.parametrize(("content_type", "body"), [
    ("application/json", NESTED), ("application/json", b'{"grant_type": "\xff"}'),
    ("application/json", "{"), ("application/json", "[]"),
    ("application/x-www-form-urlencoded", "&".join(f"f{n}=1" for n in range(5000)))])
def test_a_token_request_it_cannot_read_is_kitsus_oauth_error(client, content_type, body):
    answer = client.post(BASE + "api/oauth/token", body, content_type=content_type)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request" and answer.json()["error_description"]


@pytest.mark.parametrize("password", ["\ud800", f"{standin.DEMO_PASSWORD}\udfff"])
def test_a_password_that_cannot_be_encoded_is_an_invalid_grant(client, password):
    body = json.dumps({"grant_type": "password", "username": standin.DEMO_EMAIL,
                       "password": password})  # a lone surrogate, escaped as JSON allows
    answer = client.post(BASE + "api/oauth/token", body, content_type="application/json")
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_nothing_without_a_bearer_token(client):
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer short"}):
        refused = client.get(BASE + "library-entries", {"filter[userId]": USER}, **headers)
        assert refused.status_code == 401 and refused["Content-Type"] == JSON_API
        assert refused.json()["errors"][0]["title"] == "Invalid token"
    assert patch(client, lists.FIRST_ENTRY_ID, {"status": "dropped"},
                 HTTP_AUTHORIZATION="").status_code == 401
    assert lists.list_state(lists.KITSU)["anime", 1]["status"] == "completed"


def test_users_self_is_the_demo_account(client):
    found = client.get(BASE + "users", {"filter[self]": "true"}, **AUTH).json()["data"]
    assert [(u["id"], u["attributes"]["name"]) for u in found] == [(USER, "demo_otaku")]


def test_pages_follow_links_next_and_include_what_is_asked(client):
    include = "anime,anime.categories,anime.mappings"
    url, seen, included = None, [], {}
    page = entries(client, **{"filter[kind]": "anime", "include": include,
                              "page[limit]": "3", "sort": "id"}).json()
    while True:
        seen += page["data"]
        included.update({(r["type"], r["id"]): r for r in page["included"]})
        url = page["links"].get("next")
        if not url:
            break
        assert url.startswith("http://testserver" + BASE) and "page%5Blimit%5D=3" in url
        page = client.get(url, **AUTH).json()
    assert page["meta"]["count"] == len(seen) == 7  # Mushishi is on MyAnimeList only
    assert [e["id"] for e in seen] == sorted(e["id"] for e in seen)
    bebop = next(e for e in seen if e["relationships"]["anime"]["data"]["id"] == "1")
    media = included["anime", "1"]
    mapping_refs = media["relationships"]["mappings"]["data"]
    assert [included["mappings", ref["id"]]["attributes"] for ref in mapping_refs] == [
        {"externalSite": "myanimelist/anime", "externalId": "1"}]
    assert bebop["attributes"]["ratingTwenty"] == 20
    assert "data" not in bebop["relationships"]["manga"]


def test_without_include_an_entry_names_no_media(client):
    page = entries(client, **{"filter[kind]": "manga"}).json()
    assert "included" not in page and len(page["data"]) == 5
    assert all("data" not in e["relationships"]["manga"] for e in page["data"])
    assert entries(client, include="user").status_code == 400
    assert entries(client, **{"page[limit]": "501"}).status_code == 400
    assert client.get(BASE + "library-entries", {"filter[userId]": "1"},
                      **AUTH).json()["data"] == []


def test_a_patch_changes_what_the_next_get_answers(client, time_machine):
    time_machine.move_to("2026-11-29T09:00:00Z", tick=False)
    entry_id = lists.list_state(lists.KITSU)["anime", 5646]["entry_id"]  # Steins;Gate
    saved = patch(client, entry_id, {"status": "current", "progress": 4, "ratingTwenty": 17})
    assert saved.status_code == 200 and saved["Content-Type"] == JSON_API
    assert saved.json()["data"]["attributes"]["updatedAt"] == "2026-11-29T09:00:00.000Z"
    page = entries(client, **{"filter[kind]": "anime", "page[limit]": "20"}).json()
    (entry,) = [e for e in page["data"] if e["id"] == str(entry_id)]
    assert {k: entry["attributes"][k] for k in ("status", "progress", "ratingTwenty")} == {
        "status": "current", "progress": 4, "ratingTwenty": 17}


@pytest.mark.parametrize(("attributes", "status"), [
    ({"status": "watching"}, 422), ({"ratingTwenty": 21}, 422), ({"progress": -1}, 422),
    ({"progress": "4"}, 422), ({"owner": "me"}, 400)])
def test_a_bad_patch_changes_nothing(client, attributes, status):
    answer = patch(client, lists.FIRST_ENTRY_ID, attributes)
    assert answer.status_code == status and answer.json()["errors"][0]["status"] == str(status)
    assert lists.list_state(lists.KITSU)["anime", 1]["updated_at"] == lists.SEEDED_AT


def test_a_patch_needs_the_json_api_media_type_and_an_entry_that_exists(client):
    url = f"{BASE}library-entries/{lists.FIRST_ENTRY_ID}"
    body = {"data": {"id": str(lists.FIRST_ENTRY_ID), "type": "libraryEntries",
                     "attributes": {"status": "dropped"}}}
    assert client.patch(url, json.dumps(body), content_type="application/json",
                        **AUTH).status_code == 415
    assert patch(client, 1, {"status": "dropped"}).status_code == 404


@pytest.mark.parametrize("body", [NESTED, b'{"data": "\xff"}', "{", "null"])
def test_a_patch_it_cannot_read_is_kitsus_error_and_changes_nothing(client, body):
    answer = client.patch(f"{BASE}library-entries/{lists.FIRST_ENTRY_ID}", body,
                          content_type=JSON_API, **AUTH)
    assert answer.status_code == 400 and answer["Content-Type"] == JSON_API
    assert answer.json()["errors"][0]["code"] == "101"
    assert lists.list_state(lists.KITSU)["anime", 1]["updated_at"] == lists.SEEDED_AT


def test_the_provider_connects_syncs_and_updates_through_the_stand_in(sandbox, settings):
    settings.THINKALIKE_STAND_INS = True
    settings.THINKALIKE_RATE_BUDGETS = False
    user = make_user()
    for purpose in PURPOSES:
        consent_set(user=user, purpose=purpose, granted=True)
    provider = get_provider("kitsu")
    with pytest.raises(ConnectionTestFailed):
        connection_connect_with_form(user=user, provider=provider, fields={
            "username": standin.DEMO_EMAIL, "password": "not the password"})
    connection = connection_connect_with_form(user=user, provider=provider, fields={
        "username": standin.DEMO_EMAIL, "password": standin.DEMO_PASSWORD})
    assert connection.external_account_id == USER
    assert sandbox.paths()[0] == BASE + kitsu_client.TOKEN_URL.split("/", 3)[3]

    def sync() -> SyncRun:
        Connection.objects.filter(pk=connection.pk).update(sync_claimed_at=None)
        run = sync_execute(run_id=sync_request(connection=connection, full=True,
                                               trigger=SyncRun.Trigger.MANUAL).pk)
        assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
        return run

    assert sync().created == 12
    items = ExternalItem.objects.filter(connection=connection)
    titan = items.get(kind="anime", external_id="7442")
    assert titan.attrs["mal_id"] == 16498 and titan.attrs["genres"] == [
        "Post Apocalypse", "Military"]
    assert sorted(items.values_list("attrs__mal_id", flat=True)) == sorted(
        row["mal_id"] for row in lists.list_state(lists.KITSU).values())

    run = connection_action_perform(
        connection=connection, action="update_entry", idempotency_key="kitsu-1",
        data={"entry_id": titan.attrs["entry_id"], "status": "current", "progress": "2",
              "rating": "12"})
    assert run.status == ActionRun.Status.SUCCEEDED, run.error
    assert lists.list_state(lists.KITSU)["anime", 7442]["score"] == 12
    assert sync().updated == 1
    titan.refresh_from_db()
    assert (titan.attrs["status"], titan.attrs["progress"], titan.attrs["score"]) == (
        "current", 2, 12)
    assert all(path.startswith(BASE) for path in sandbox.paths())


def test_only_with_stand_ins_does_kitsu_go_to_them(settings):
    provider = get_provider("kitsu")
    settings.THINKALIKE_STAND_INS = False
    assert provider.auth.token_endpoint(provider).url == kitsu_client.TOKEN_URL
    assert provider.get_api_base_url() == kitsu_client.API_BASE
    settings.THINKALIKE_STAND_INS = True
    stand_in = settings.THINKALIKE_SANDBOX_URL + "/stand-ins/kitsu/"
    assert provider.auth.token_endpoint(provider).url == stand_in + "api/oauth/token"
    assert provider.get_api_base_url() == stand_in
