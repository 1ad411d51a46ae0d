"""/api/v1/library/ (entries, conflicts, sync) and /api/v1/connections/{id}/list-sync/."""

import pytest

from integrations.models import Connection, ExternalItem, SyncRun
from library.api import NO_LIST_SERVICE, UNKNOWN_CONNECTION
from library.linking import library_link_connection
from library.models import LibraryConflict, LibraryEntry, LibraryPush, ListSyncSettings
from library.services import NOT_A_LIST_SERVICE, NOTHING_TO_CHANGE
from tests.factories import make_connection

from .conftest import error_code

pytestmark = pytest.mark.django_db

MAY_1 = 1714550400  # 2024-05-01T08:00:00Z


@pytest.fixture
def queued(monkeypatch):
    """Sync runs and pushes that would be handed to django-q2, instead of queueing them."""
    calls = []
    monkeypatch.setattr("integrations.sync.enqueue_many",
                        lambda func, batch: calls.extend((func, args) for args, _ in batch))
    monkeypatch.setattr("library.push.enqueue_many",
                        lambda func, batch: calls.extend((func, args) for args, _ in batch))
    return calls


def item(connection, external_id, *, kind="anime", **attrs):
    """An imported list entry as the services' mappings store it (tests/library/)."""
    values = {"entry_id": None, "status": "", "progress": None, "score": None,
              "updated_at": MAY_1, "mal_id": None, "titles": {}, "genres": []}
    return ExternalItem.objects.create(
        connection=connection, kind=kind, external_id=external_id, title=f"title {external_id}",
        content_hash="h", attrs=values | attrs,
    )


@pytest.fixture
def mal(user):
    return make_connection(user, "myanimelist", external_id="ada-mal")


@pytest.fixture
def entries(user, mal):
    """Three entries linked to MyAnimeList: One Piece (anime, watching), Berserk (manga,
    completed) and Frieren (anime, plan to watch), with one conflict on Berserk."""
    item(mal, "21", status="watching", progress=3, score=8, mal_id=21,
         titles={"en": "One Piece", "ja": "ワンピース"})
    item(mal, "2", kind="manga", status="completed", progress=380, score=10, mal_id=2,
         titles={"en": "Berserk"})
    item(mal, "52991", status="plan_to_watch", mal_id=52991, titles={"en": "Frieren"})
    library_link_connection(connection=mal)
    found = {str(e.title): e for e in LibraryEntry.objects.filter(user=user)}
    LibraryConflict.objects.create(entry=found["Berserk"], field="score", local_value=90,
                                   remote_value=100, winner="remote", provider="myanimelist")
    return found


def ids(response):
    return [entry["id"] for entry in response.json()["results"]]


# -- list -------------------------------------------------------------------------------------

def test_the_list_shows_each_entry_with_its_services_and_conflicts(api, entries, mal):
    response = api.get("/api/v1/library/")
    assert response.status_code == 200
    shown = {entry["title"]: entry for entry in response.json()["results"]}
    assert set(shown) == {"One Piece", "Berserk", "Frieren"}
    one_piece = shown["One Piece"]
    assert (one_piece["kind"], one_piece["status"], one_piece["progress"],
            one_piece["score"]) == ("anime", "current", 3, 80)
    assert one_piece["titles"] == {"en": "One Piece", "ja": "ワンピース"}
    assert one_piece["ids"] == {"mal": 21, "anilist": None, "kitsu": None}
    assert one_piece["services"] == [{"provider": "myanimelist", "connection": mal.pk}]
    assert (one_piece["conflict_count"], shown["Berserk"]["conflict_count"]) == (0, 1)


@pytest.mark.parametrize(("query", "titles"), [
    ({"kind": "manga"}, {"Berserk"}),
    ({"status": "planning"}, {"Frieren"}),
    ({"conflicts": "true"}, {"Berserk"}),
    ({"conflicts": "false"}, {"One Piece", "Frieren"}),
    ({"search": "  piece "}, {"One Piece"}),
    ({"service": "myanimelist"}, {"One Piece", "Berserk", "Frieren"}),
    ({"service": "anilist"}, set()),
])
def test_the_list_filters(api, entries, query, titles):
    response = api.get("/api/v1/library/", query)
    assert response.status_code == 200
    assert {entry["title"] for entry in response.json()["results"]} == titles


@pytest.mark.parametrize("query", [{"kind": "film"}, {"status": "watching"},
                                   {"service": "spotify"}, {"conflicts": "yes"}])
def test_an_unknown_filter_value_is_400(api, entries, query):
    response = api.get("/api/v1/library/", query)
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == set(query)


def test_the_list_is_paged_newest_first(api, entries):
    first = api.get("/api/v1/library/", {"page_size": 2})
    second = api.get(first.json()["next"])
    every = sorted((e.pk for e in entries.values()), reverse=True)
    assert ids(first) + ids(second) == every
    assert second.json()["next"] is None


def test_another_persons_entries_are_not_listed(api, entries, other_user):
    theirs = make_connection(other_user, "myanimelist", external_id="grace-mal")
    item(theirs, "21", status="completed", mal_id=21)
    library_link_connection(connection=theirs)
    assert len(ids(api.get("/api/v1/library/"))) == 3


# -- retrieve and update ----------------------------------------------------------------------

def test_an_entry_shows_each_services_state_and_its_history(api, entries, mal):
    berserk = entries["Berserk"]
    response = api.get(f"/api/v1/library/{berserk.pk}/")
    assert response.status_code == 200
    data = response.json()
    assert data["services"] == [{"provider": "myanimelist", "connection": mal.pk,
                                 "state": "synced", "label": "Up to date on MyAnimeList",
                                 "error": "", "since": data["services"][0]["since"]}]
    assert [(line["kind"], line["provider"]) for line in data["history"]] == [
        ("conflict", "myanimelist")]
    assert "90 here, 100 on MyAnimeList" in data["history"][0]["text"]


def test_a_patch_changes_the_entry_and_pushes_it_to_myanimelist(api, entries, mal, queued,
                                                              django_capture_on_commit_callbacks):
    one_piece = entries["One Piece"]
    with django_capture_on_commit_callbacks(execute=True):
        response = api.patch(f"/api/v1/library/{one_piece.pk}/",
                             {"status": "completed", "score": None})
    assert response.status_code == 200
    data = response.json()
    assert (data["status"], data["score"], data["progress"]) == ("completed", None, 3)
    one_piece.refresh_from_db()
    assert (one_piece.status, one_piece.score) == ("completed", None)
    push = LibraryPush.objects.get(entry=one_piece, connection=mal)
    assert push.state == LibraryPush.State.PENDING
    assert push.values["status"] == "completed"
    assert [s["state"] for s in data["services"]] == ["waiting"]
    assert queued == [("library.tasks.push_task", (push.pk,))]


@pytest.mark.parametrize(("body", "field"), [
    ({"status": "done"}, "status"),
    ({"score": 101}, "score"),
    ({"score": True}, "score"),
    ({"progress": "3"}, "progress"),
    ({"progress": 2.5}, "progress"),
    ({"progress": -1}, "progress"),
    ({"score": 50, "rating": 5}, "rating"),
])
def test_a_bad_patch_is_400_and_changes_nothing(api, entries, body, field):
    one_piece = entries["One Piece"]
    response = api.patch(f"/api/v1/library/{one_piece.pk}/", body)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    one_piece.refresh_from_db()
    assert (one_piece.status, one_piece.score) == ("current", 80)
    assert not LibraryPush.objects.exists()


def test_an_empty_patch_is_400_with_the_services_message(api, entries):
    response = api.patch(f"/api/v1/library/{entries['Frieren'].pk}/", {})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"status": [NOTHING_TO_CHANGE]}


def test_another_persons_entry_is_404_and_unchanged(api, entries, other_user):
    theirs = make_connection(other_user, "myanimelist", external_id="grace-mal")
    item(theirs, "21", status="completed", mal_id=21)
    library_link_connection(connection=theirs)
    entry = LibraryEntry.objects.get(user=other_user)
    assert api.get(f"/api/v1/library/{entry.pk}/").status_code == 404
    response = api.patch(f"/api/v1/library/{entry.pk}/", {"status": "dropped"})
    assert response.status_code == 404
    entry.refresh_from_db()
    assert entry.status == "completed"


# -- conflicts --------------------------------------------------------------------------------

def test_conflicts_are_listed_with_their_values(api, entries):
    berserk = entries["Berserk"]
    LibraryConflict.objects.create(entry=berserk, field="status", local_value="completed",
                                   remote_value="dropped", winner="local",
                                   provider="myanimelist")
    response = api.get("/api/v1/library/conflicts/")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(c["entry"], c["title"], c["field"], c["local_value"], c["remote_value"],
             c["winner"], c["provider"]) for c in results] == [
        (berserk.pk, "Berserk", "status", "completed", "dropped", "local", "myanimelist"),
        (berserk.pk, "Berserk", "score", 90, 100, "remote", "myanimelist"),
    ]
    LibraryConflict.objects.filter(field="score").update(seen_at=berserk.updated_at)
    unseen = api.get("/api/v1/library/conflicts/", {"unseen": "true"}).json()["results"]
    assert [c["field"] for c in unseen] == ["status"]


def test_another_persons_conflicts_are_not_listed(api, entries, other_user):
    theirs = make_connection(other_user, "myanimelist", external_id="grace-mal")
    item(theirs, "21", status="completed", mal_id=21)
    library_link_connection(connection=theirs)
    LibraryConflict.objects.create(entry=LibraryEntry.objects.get(user=other_user),
                                   field="status", winner="local", provider="myanimelist")
    assert len(api.get("/api/v1/library/conflicts/").json()["results"]) == 1


# -- sync -------------------------------------------------------------------------------------

def test_sync_queues_a_run_per_list_connection_and_sends_waiting_pushes(
        api, user, mal, entries, queued, django_capture_on_commit_callbacks):
    anilist = make_connection(user, "anilist", external_id="ada-anilist")
    make_connection(user, "sandbox", external_id="not-a-list")
    push = LibraryPush.objects.create(entry=entries["Frieren"], connection=mal,
                                      values={"status": "watching"},
                                      state=LibraryPush.State.FAILED)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/library/sync/", {"full": True})
    assert response.status_code == 202
    data = response.json()
    runs = SyncRun.objects.filter(trigger="api", mode="full")
    assert {run.connection_id for run in runs} == {mal.pk, anilist.pk}
    assert sorted(run["id"] for run in data["runs"]) == sorted(run.pk for run in runs)
    assert (data["pushes_queued"], data["skipped"]) == (1, [])
    push.refresh_from_db()
    assert push.state == LibraryPush.State.PENDING
    assert ("library.tasks.push_task", (push.pk,)) in queued


def test_sync_of_one_connection_skips_the_others(api, user, mal, queued):
    make_connection(user, "anilist", external_id="ada-anilist")
    response = api.post("/api/v1/library/sync/", {"connection": mal.pk})
    assert response.status_code == 202
    assert [run["mode"] for run in response.json()["runs"]] == ["incremental"]
    assert list(SyncRun.objects.values_list("connection_id", flat=True)) == [mal.pk]


def test_sync_reports_a_connection_that_cannot_sync_beside_the_runs(api, user, mal, queued):
    anilist = make_connection(user, "anilist", external_id="ada-anilist")
    Connection.objects.filter(pk=anilist.pk).update(sync_enabled=False)
    response = api.post("/api/v1/library/sync/", {})
    assert response.status_code == 202
    assert [(s["connection"], s["code"]) for s in response.json()["skipped"]] == [
        (anilist.pk, "sync_disabled")]


@pytest.mark.parametrize(("change", "code"), [
    ({"sync_enabled": False}, "sync_disabled"),
    ({"status": Connection.Status.NEEDS_REAUTH}, "needs_reconnect"),
    ({"status": Connection.Status.DISABLED}, "not_active"),
])
def test_sync_is_409_with_the_connection_syncs_code_when_none_can(api, mal, queued, change,
                                                                  code):
    Connection.objects.filter(pk=mal.pk).update(**change)
    response = api.post("/api/v1/library/sync/", {"full": False})
    assert response.status_code == 409
    assert error_code(response) == code
    assert not SyncRun.objects.exists()


def test_a_second_sync_while_one_is_pending_is_409_sync_running(api, mal, queued):
    assert api.post("/api/v1/library/sync/").status_code == 202
    response = api.post("/api/v1/library/sync/")
    assert response.status_code == 409
    assert error_code(response) == "sync_running"
    assert SyncRun.objects.count() == 1


def test_sync_without_a_list_service_is_409(api, user, queued):
    make_connection(user, "sandbox")
    response = api.post("/api/v1/library/sync/")
    assert response.status_code == 409
    assert (error_code(response), response.json()["error"]["message"]) == (
        "nothing_to_sync", NO_LIST_SERVICE)


def test_sync_of_a_connection_not_yours_or_not_a_list_is_400(api, user, other_user, queued):
    theirs = make_connection(other_user, "myanimelist", external_id="grace-mal")
    sandbox = make_connection(user, "sandbox")
    response = api.post("/api/v1/library/sync/", {"connection": theirs.pk})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"connection": [UNKNOWN_CONNECTION]}
    response = api.post("/api/v1/library/sync/", {"connection": sandbox.pk})
    assert (response.status_code, error_code(response)) == (400, "not_a_list_service")
    response = api.post("/api/v1/library/sync/", {"full": "yes"})
    assert response.status_code == 400
    assert not SyncRun.objects.exists()


# -- list-sync --------------------------------------------------------------------------------

def test_list_sync_shows_every_switch_on_by_default(api, mal):
    response = api.get(f"/api/v1/connections/{mal.pk}/list-sync/")
    assert response.status_code == 200
    assert response.json() == {"connection": mal.pk, "provider": "myanimelist",
                               "sync_status": True, "sync_progress": True,
                               "sync_ratings": True, "sync_automatically": True}


def test_list_sync_patch_sets_the_switches_and_the_connections_auto_sync(api, mal):
    response = api.patch(f"/api/v1/connections/{mal.pk}/list-sync/",
                         {"sync_ratings": False, "sync_automatically": False})
    assert response.status_code == 200
    assert response.json() | {"connection": 0} == {
        "connection": 0, "provider": "myanimelist", "sync_status": True,
        "sync_progress": True, "sync_ratings": False, "sync_automatically": False}
    settings = ListSyncSettings.objects.get(connection=mal)
    assert (settings.sync_status, settings.sync_ratings) == (True, False)
    mal.refresh_from_db()
    assert (mal.auto_sync, mal.next_sync_at) == (False, None)
    again = api.get(f"/api/v1/connections/{mal.pk}/list-sync/").json()
    assert (again["sync_ratings"], again["sync_automatically"]) == (False, False)


@pytest.mark.parametrize("body", [{"sync_ratings": "false"}, {"sync_ratings": 0},
                                  {"sync_score": False}, {"sync_automatically": None}])
def test_list_sync_patch_is_strict(api, mal, body):
    response = api.patch(f"/api/v1/connections/{mal.pk}/list-sync/", body)
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == set(body)
    assert not ListSyncSettings.objects.exists()
    mal.refresh_from_db()
    assert mal.auto_sync is True


def test_list_sync_of_another_service_is_400_and_of_another_persons_is_404(api, user,
                                                                            other_user):
    sandbox = make_connection(user, "sandbox")
    response = api.get(f"/api/v1/connections/{sandbox.pk}/list-sync/")
    assert (response.status_code, error_code(response)) == (400, "not_a_list_service")
    assert response.json()["error"]["message"] == NOT_A_LIST_SERVICE.format(
        name=sandbox.provider_name)
    theirs = make_connection(other_user, "myanimelist", external_id="grace-mal")
    assert api.get(f"/api/v1/connections/{theirs.pk}/list-sync/").status_code == 404
    response = api.patch(f"/api/v1/connections/{theirs.pk}/list-sync/",
                         {"sync_status": False})
    assert response.status_code == 404
    assert not ListSyncSettings.objects.exists()


def test_a_search_with_a_nul_is_400(api, entries):
    response = api.get("/api/v1/library/", {"search": "pie\x00ce"})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"search"}


def test_sync_of_a_connection_id_past_any_database_integer_is_400(api, mal, queued):
    response = api.post("/api/v1/library/sync/", {"connection": 2**64})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"connection"}
