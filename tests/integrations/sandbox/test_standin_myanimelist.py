"""The MyAnimeList stand-in answers MAL's API v2 shapes from a list it keeps: the real provider
syncs both lists from it, a PATCH of my_list_status (the real action's) changes what the next
GET answers, and nothing is answered without a token of MAL's shape."""

import pytest

from consent.purposes import PURPOSES
from consent.services import consent_set
from integrations.actions import connection_action_perform
from integrations.models import ActionRun, Connection, ExternalItem, SyncRun
from integrations.providers.myanimelist.provider import MyAnimeListProvider
from integrations.sandbox.standins import anime_lists as lists
from integrations.sandbox.standins import myanimelist as standin
from integrations.sync import sync_execute, sync_request
from tests.factories import make_connection, make_user

BASE = "/sandbox/stand-ins/myanimelist/"
TOKEN = MyAnimeListProvider.stand_in_example
AUTH = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
FIELDS = "list_status,genres,alternative_titles,num_episodes"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture(autouse=True)
def sandbox_on(settings, db):
    settings.THINKALIKE_SANDBOX = True


def patch(client, kind: str, media_id: int, body: str, **headers):
    return client.patch(f"{BASE}{kind}/{media_id}/my_list_status", body, content_type=FORM,
                        **{**AUTH, **headers})


def test_the_example_token_has_the_stand_ins_shape():
    assert standin.KEY.fullmatch(f"Bearer {TOKEN}")


def test_nothing_without_a_token_of_mals_shape(client):
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer not-a-jwt"}):
        refused = client.get(BASE + "users/@me", **headers)
        assert refused.status_code == 401
        assert refused.json() == {"error": "invalid_token", "message": "token is invalid"}
    assert patch(client, "anime", 1, "status=completed",
                 HTTP_AUTHORIZATION="Bearer nope").status_code == 401
    assert lists.list_state(lists.MAL)["anime", 1]["updated_at"] == lists.SEEDED_AT


def test_me_is_the_demo_account(client):
    assert client.get(BASE + "users/@me", **AUTH).json() == lists.MAL_ACCOUNT


def test_pages_follow_paging_next_with_every_parameter(client):
    url, seen = f"{BASE}users/@me/animelist?fields={FIELDS}&nsfw=true&limit=3", []
    while url:
        page = client.get(url, **AUTH).json()
        seen += page["data"]
        url = page["paging"].get("next")
        if url:
            assert url.startswith("http://testserver" + BASE) and "limit=3" in url
            assert "fields=list_status%2Cgenres" in url
    assert len(seen) == 8 and len({e["node"]["id"] for e in seen}) == 8
    assert {e["node"]["id"] for e in seen} == {m for k, m in lists.list_state(lists.MAL)
                                               if k == "anime"}
    first = seen[0]
    assert set(first["node"]) == {"id", "title", "alternative_titles", "genres", "num_episodes"}
    assert set(first["list_status"]) >= {"status", "score", "num_episodes_watched",
                                         "is_rewatching", "updated_at"}


def test_only_the_fields_asked_for_and_the_sort_asked_for(client):
    page = client.get(BASE + "users/@me/mangalist", {"sort": "list_score"}, **AUTH).json()
    assert all(set(e) == {"node"} and set(e["node"]) == {"id", "title"} for e in page["data"])
    scores = [lists.list_state(lists.MAL, "manga")["manga", e["node"]["id"]]["score"]
              for e in page["data"]]
    assert scores == sorted(scores, reverse=True) and page["paging"] == {}


@pytest.mark.parametrize("params", [{"limit": "1001"}, {"limit": "0"}, {"offset": "-1"},
                                    {"status": "reading"}, {"sort": "manga_title"}])
def test_bad_list_parameters_are_refused_like_mal(client, params):
    answer = client.get(BASE + "users/@me/animelist", params, **AUTH)
    assert answer.status_code == 400 and answer.json()["error"] == "bad_request"


def test_a_patch_changes_what_the_next_get_answers(client, time_machine):
    time_machine.move_to("2026-11-29T09:30:00Z", tick=False)
    saved = patch(client, "anime", 9253, "status=watching&num_watched_episodes=5&score=8")
    assert saved.status_code == 200
    assert saved.json()["status"] == "watching" and saved.json()["num_episodes_watched"] == 5
    assert saved.json()["updated_at"] == "2026-11-29T09:30:00+00:00"
    page = client.get(BASE + "users/@me/animelist", {"fields": "list_status", "limit": 100},
                      **AUTH).json()
    (entry,) = [e for e in page["data"] if e["node"]["id"] == 9253]
    assert entry["list_status"] == {"status": "watching", "score": 8,
                                    "num_episodes_watched": 5, "is_rewatching": False,
                                    "updated_at": "2026-11-29T09:30:00+00:00"}


def test_a_patch_adds_a_title_of_the_catalogue_and_refuses_others(client):
    assert ("manga", 13) not in lists.list_state(lists.MAL)  # only on Kitsu
    added = patch(client, "manga", 13, "num_chapters_read=3")
    assert added.status_code == 200 and added.json()["status"] == "plan_to_read"
    assert lists.list_state(lists.MAL)["manga", 13]["progress"] == 3
    assert patch(client, "manga", 999999, "status=reading").status_code == 404
    wrong = patch(client, "manga", 2, "status=watching")
    assert wrong.status_code == 400
    assert lists.list_state(lists.MAL)["manga", 2]["status"] == "reading"


@pytest.mark.parametrize("body", [b"status=\xff\xfe", "status=%ED%A0%80",
                                  "&".join(f"f{n}=1" for n in range(5000))])
def test_a_patch_it_cannot_read_is_mals_error_and_changes_nothing(client, body):
    answer = patch(client, "anime", 1, body)
    assert answer.status_code == 400 and answer.json()["error"] == "bad_request"
    assert lists.list_state(lists.MAL)["anime", 1]["updated_at"] == lists.SEEDED_AT


def test_the_provider_syncs_and_updates_through_the_stand_in(sandbox, settings):
    settings.THINKALIKE_STAND_INS = True
    settings.THINKALIKE_RATE_BUDGETS = False
    user = make_user()
    for purpose in PURPOSES:
        consent_set(user=user, purpose=purpose, granted=True)
    connection = make_connection(user, "myanimelist", external_id="7654321",
                                 access_token=TOKEN, refresh_token="", expires_in=None)

    def sync() -> SyncRun:
        Connection.objects.filter(pk=connection.pk).update(sync_claimed_at=None)
        run = sync_execute(run_id=sync_request(connection=connection, full=True,
                                               trigger=SyncRun.Trigger.MANUAL).pk)
        assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
        return run

    assert sync().created == 12
    items = ExternalItem.objects.filter(connection=connection)
    assert sorted(items.values_list("kind", flat=True)) == ["anime"] * 8 + ["manga"] * 4
    bebop = items.get(kind="anime", external_id="1")
    assert bebop.attrs["status"] == "completed" and bebop.attrs["score"] == 10
    assert bebop.attrs["titles"]["ja"] == "カウボーイビバップ"

    run = connection_action_perform(
        connection=connection, action="update_entry", idempotency_key="mal-1",
        data={"kind": "anime", "media_id": "1", "status": "watching", "progress": "3",
              "score": "9"})
    assert run.status == ActionRun.Status.SUCCEEDED, run.error
    assert lists.list_state(lists.MAL)["anime", 1]["progress"] == 3
    assert sync().updated == 1
    bebop.refresh_from_db()
    assert (bebop.attrs["status"], bebop.attrs["progress"], bebop.attrs["score"]) == (
        "watching", 3, 9)
    assert all(path.startswith(BASE) for path in sandbox.paths())


def test_staff_change_an_entry_as_if_at_the_service(admin_client, client, time_machine):
    from integrations.sandbox.models import StandInListEntry

    time_machine.move_to("2026-11-29T10:00:00Z", tick=False)
    row = lists.list_entries(lists.MAL, "anime").get(media_id=1535)
    answer = admin_client.post(f"/admin/sandbox/standinlistentry/{row.pk}/change/",
                               {"status": "completed", "progress": "37", "score": "9"})
    assert answer.status_code == 302, answer.content.decode()[:2000]
    row = StandInListEntry.objects.get(pk=row.pk)
    assert (row.status, row.progress, row.score) == ("completed", 37, 9)
    page = client.get(BASE + "users/@me/animelist", {"fields": "list_status"}, **AUTH).json()
    (entry,) = [e for e in page["data"] if e["node"]["id"] == 1535]
    assert entry["list_status"]["updated_at"] == "2026-11-29T10:00:00+00:00"
