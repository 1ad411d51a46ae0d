"""library/views.py: My library, the entry page, link/unlink, and the List sync box."""

import html
import re

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from integrations.models import ExternalItem, SyncRun
from library import services, views
from library.links import LINK_SAME_SERVICE
from library.models import LibraryConflict, LibraryEntry, LibraryPush, ListSyncSettings
from library.pull import library_pull_merge
from tests.factories import make_connection
from tests.library.builders import linked_entry, list_item, list_person

pytestmark = pytest.mark.django_db

LIBRARY = reverse("library:library")


@pytest.fixture
def ada(client):
    person = list_person()
    client.force_login(person["user"])
    return person


@pytest.fixture
def bebop(ada):
    """On AniList and MyAnimeList, one entry."""
    entry = linked_entry(ada["anilist"], "1", status="CURRENT", progress=5, score=80, mal_id=1,
                         titles={"english": "Cowboy Bebop", "native": "カウボーイビバップ"})
    list_item(ada["myanimelist"], "1", status="watching", progress=5, score=8, mal_id=1)
    library_pull_merge(connection=ada["myanimelist"])
    return entry


def entry_url(entry, name="library:entry"):
    return reverse(name, args=[entry.pk])


def text(response):
    return html.unescape(response.content.decode())


def test_the_library_lists_the_persons_entries_with_their_services(client, ada, bebop):
    LibraryConflict.objects.create(entry=bebop, field="score", local_value=80, remote_value=70,
                                   winner="local", provider="myanimelist")
    bob = list_person("bob@example.com")
    linked_entry(bob["kitsu"], "9", status="current", titles={"en": "Bob's own show"})

    page = text(client.get(LIBRARY))

    assert "Cowboy Bebop" in page and "Bob's own show" not in page
    assert entry_url(bebop) in page
    assert 'badge-service badge-anilist">AniList' in page
    assert 'badge-service badge-myanimelist">MyAnimeList' in page
    assert "1 conflict" in page
    assert "<strong>1</strong> entry" in page


def test_an_empty_library_says_how_to_fill_it(client, ada):
    page = text(client.get(LIBRARY))

    assert "Your library is empty." in page
    assert reverse("integrations:connected_services") in page


def test_signed_out_people_are_sent_to_log_in(client, bebop):
    client.logout()

    for url in (LIBRARY, entry_url(bebop)):
        response = client.get(url)
        assert response.status_code == 302 and "login" in response.url


def test_another_persons_entry_is_404(client, ada, bebop):
    bob = list_person("bob@example.com")
    client.force_login(bob["user"])

    assert client.get(entry_url(bebop)).status_code == 404
    assert client.post(entry_url(bebop), {"status": "dropped"}).status_code == 404
    assert client.post(entry_url(bebop, "library:entry_link"),
                       {"other": bebop.pk}).status_code == 404
    bebop.refresh_from_db()
    assert bebop.status == "current"


@pytest.fixture
def shelf(ada):
    """Anime and manga in several states, on several services."""
    linked_entry(ada["anilist"], "10", status="CURRENT", titles={"english": "Akira"})
    linked_entry(ada["anilist"], "11", kind="manga", status="COMPLETED",
                 titles={"english": "Berserk"})
    linked_entry(ada["kitsu"], "12", status="completed", titles={"en": "Cowboy Bebop"})
    conflicted = linked_entry(ada["kitsu"], "13", kind="manga", status="current",
                              titles={"en": "Dorohedoro"})
    LibraryConflict.objects.create(entry=conflicted, field="progress", local_value=3,
                                   remote_value=4, winner="remote", provider="kitsu")


@pytest.mark.parametrize(("query", "shown"), [
    ({"kind": "manga"}, {"Berserk", "Dorohedoro"}),
    ({"status": "completed"}, {"Berserk", "Cowboy Bebop"}),
    ({"service": "kitsu"}, {"Cowboy Bebop", "Dorohedoro"}),
    ({"conflicts": "on"}, {"Dorohedoro"}),
    ({"q": "bebop"}, {"Cowboy Bebop"}),
    ({"kind": "manga", "service": "anilist"}, {"Berserk"}),
    ({"kind": "cartoon"}, {"Akira", "Berserk", "Cowboy Bebop", "Dorohedoro"}),  # ignored
])
def test_filters(client, shelf, query, shown):
    page = text(client.get(LIBRARY, query))

    assert {name for name in ("Akira", "Berserk", "Cowboy Bebop", "Dorohedoro")
            if f">{name}</a>" in page} == shown


def test_paging_keeps_the_filters(client, ada):
    for n in range(views.PER_PAGE + 3):
        list_item(ada["anilist"], str(100 + n), status="CURRENT",
                  titles={"english": f"Show {n:03}"})
    list_item(ada["anilist"], "999", kind="manga", status="CURRENT",
              titles={"english": "A manga"})
    library_pull_merge(connection=ada["anilist"])

    first = text(client.get(LIBRARY, {"kind": "anime", "q": "show"}))
    second = text(client.get(LIBRARY, {"kind": "anime", "q": "show", "page": 2}))

    assert "Page 1 of 2" in first and "A manga" not in first
    assert 'href="?kind=anime&q=show&page=2"' in first
    assert second.count('<tr>') - 1 == 3  # header row, then the last three
    assert 'href="?kind=anime&q=show&page=1"' in second


def test_the_list_takes_as_many_queries_for_50_entries_as_for_5(client, ada):
    def count(n):
        LibraryEntry.objects.all().delete()
        ExternalItem.objects.all().delete()
        for i in range(n):
            list_item(ada["anilist"], str(i), status="CURRENT", mal_id=i + 1)
            list_item(ada["myanimelist"], str(i + 1), status="watching", mal_id=i + 1)
        for provider in ("anilist", "myanimelist"):
            library_pull_merge(connection=ada[provider])
        assert LibraryEntry.objects.count() == n
        with CaptureQueriesContext(db_connection) as queries:
            assert client.get(LIBRARY).status_code == 200
        return len(queries)

    assert count(5) == count(50)


def test_the_entry_page_shows_names_ids_services_conflicts_and_history(client, ada, bebop):
    LibraryConflict.objects.create(entry=bebop, field="score", local_value=80, remote_value=70,
                                   winner="remote", provider="myanimelist")
    LibraryPush.objects.create(entry=bebop, connection=ada["myanimelist"], values={"score": 8},
                               state="failed", error="MyAnimeList said no")

    page = text(client.get(entry_url(bebop)))

    assert "カウボーイビバップ" in page
    assert "https://myanimelist.net/anime/1" in page and "https://anilist.co/anime/1" in page
    assert "Up to date on AniList" in page
    assert "Not sent to MyAnimeList" in page and "MyAnimeList said no" in page
    assert "Not on Kitsu" in page
    assert "The service" in page  # the conflict's winner
    assert "Score: 80 here, 70 on MyAnimeList; MyAnimeList won" in page  # its history line
    assert "Failed: score 8" in page  # the history line of the push


def test_an_edit_is_saved_and_pushed_to_each_service(client, ada, bebop):
    response = client.post(entry_url(bebop), {"status": "completed", "progress": "26",
                                              "score": "95"}, follow=True)

    bebop.refresh_from_db()
    assert (bebop.status, bebop.progress, bebop.score) == ("completed", 26, 95)
    pushes = {p.connection.provider: p for p in LibraryPush.objects.filter(entry=bebop)}
    assert set(pushes) == {"anilist", "myanimelist"}  # Kitsu has not got it: no id to write
    assert pushes["myanimelist"].values == {"status": "completed", "progress": 26, "score": 10}
    assert all(p.state == "pending" for p in pushes.values())
    assert views.SAVED_SENDING.format(names="AniList, MyAnimeList") in text(response)


def test_a_blank_score_clears_it(client, ada, bebop):
    client.post(entry_url(bebop), {"status": "current", "progress": "5", "score": ""})

    bebop.refresh_from_db()
    assert bebop.score is None and bebop.progress == 5


def test_the_same_values_change_nothing(client, ada, bebop):
    response = client.post(entry_url(bebop), {"status": "current", "progress": "5",
                                              "score": "80"}, follow=True)

    assert views.UNCHANGED in text(response)
    assert not LibraryPush.objects.exists()


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"status": "binge", "progress": "5", "score": "80"}, "status", "Select a valid choice"),
    ({"status": "current", "progress": "-1", "score": "80"}, "progress", "greater than or"),
    ({"status": "current", "progress": "5", "score": "101"}, "score", "less than or equal"),
    ({"status": "current", "progress": "five", "score": "80"}, "progress", "whole number"),
])
def test_bad_input_shows_errors_and_changes_nothing(client, ada, bebop, data, field, message):
    response = client.post(entry_url(bebop), data)

    assert response.status_code == 400
    page = text(response)
    assert f'id="id_{field}_error"' in page and message in page
    bebop.refresh_from_db()
    assert (bebop.status, bebop.progress, bebop.score) == ("current", 5, 80)
    assert not LibraryPush.objects.exists()


def test_a_service_refusal_is_shown_next_to_its_field(client, ada, bebop, monkeypatch):
    def refuse(**kwargs):
        raise services.LibraryInputError({"score": services.BAD_SCORE})

    monkeypatch.setattr(services, "library_entry_update", refuse)

    response = client.post(entry_url(bebop), {"status": "current", "progress": "5",
                                              "score": "80"})

    assert response.status_code == 400
    assert services.BAD_SCORE in text(response)


def test_link_and_unlink_from_the_entry_page(client, ada):
    keep = linked_entry(ada["anilist"], "1001", status="CURRENT", titles={"english": "Frieren"})
    other = linked_entry(ada["myanimelist"], "52991", status="watching", mal_id=52991,
                         titles={"title": "Sousou no Frieren"})

    found = text(client.get(entry_url(keep), {"find": "sousou"}))
    assert "Sousou no Frieren" in found and f'value="{other.pk}"' in found

    response = client.post(entry_url(keep, "library:entry_link"), {"other": other.pk},
                           follow=True)
    assert views.LINKED.format(other="Sousou no Frieren") in text(response)
    assert not LibraryEntry.objects.filter(pk=other.pk).exists()

    item = ExternalItem.objects.get(connection=ada["myanimelist"])
    response = client.post(reverse("library:entry_unlink", args=[keep.pk, item.pk]),
                           follow=True)
    item.refresh_from_db()
    assert item.library_entry_id not in (None, keep.pk)
    assert response.redirect_chain[-1][0] == entry_url(item.library_entry)
    assert views.UNLINKED.format(name="MyAnimeList") in text(response)


def test_a_refused_link_says_why(client, ada):
    keep = linked_entry(ada["anilist"], "1", status="CURRENT")
    other = linked_entry(ada["anilist"], "2", status="CURRENT")

    response = client.post(entry_url(keep, "library:entry_link"), {"other": other.pk},
                           follow=True)

    assert LINK_SAME_SERVICE.format(name="AniList") in text(response)
    assert LibraryEntry.objects.count() == 2


@pytest.mark.parametrize("other", ["", "abc", "1.5", "-3", "9" * 40, "١٢"])
def test_linking_with_something_that_is_no_entry_id_is_a_404_not_a_500(client, ada, other):
    keep = linked_entry(ada["anilist"], "1", status="CURRENT")
    response = client.post(entry_url(keep, "library:entry_link"), {"other": other})
    assert response.status_code == 404
    assert LibraryEntry.objects.count() == 1


def test_a_second_link_submission_says_it_is_done_already(client, ada, monkeypatch):
    keep = linked_entry(ada["anilist"], "1001", status="CURRENT")
    other = linked_entry(ada["myanimelist"], "52991", status="watching", mal_id=52991)
    original = views.library_entries_link

    def first_one_wins(**kwargs):  # the first submission linked it between check and lock
        original(**kwargs)
        raise LibraryEntry.DoesNotExist

    monkeypatch.setattr(views, "library_entries_link", first_one_wins)
    response = client.post(entry_url(keep, "library:entry_link"), {"other": other.pk},
                           follow=True)
    assert response.status_code == 200
    assert views.ALREADY_LINKED in text(response)


def test_the_connection_page_has_the_list_sync_box_and_saves_the_switches(client, ada):
    anilist = ada["anilist"]
    page = text(client.get(reverse("integrations:connection_detail", args=[anilist.pk])))
    assert 'id="list-sync"' in page and "Sync automatically" in page
    assert page.count("checked") >= 3  # all on before anything is saved

    response = client.post(reverse("library:connection_switches", args=[anilist.pk]),
                           {"sync_status": "on"})

    assert response.status_code == 302 and response.url.endswith("#list-sync")
    row = ListSyncSettings.objects.get(connection=anilist)
    assert (row.sync_status, row.sync_progress, row.sync_ratings) == (True, False, False)
    page = text(client.get(reverse("integrations:connection_detail", args=[anilist.pk])))
    assert re.search(r'<input [^>]*name="sync_status"[^>]* checked', page)
    assert not re.search(r'<input [^>]*name="sync_progress"[^>]* checked', page)


def test_the_list_sync_box_is_only_for_list_services(client, ada):
    spotify = make_connection(ada["user"], "spotify", external_id="ada-spotify")

    page = text(client.get(reverse("integrations:connection_detail", args=[spotify.pk])))

    assert 'id="list-sync"' not in page
    assert client.post(reverse("library:connection_switches", args=[spotify.pk]),
                       {}).status_code == 404


def test_another_persons_connection_switches_are_404(client, ada):
    bob = list_person("bob@example.com")

    response = client.post(reverse("library:connection_switches", args=[bob["kitsu"].pk]), {})

    assert response.status_code == 404
    assert not ListSyncSettings.objects.exists()


def test_sync_library_now_sends_waiting_pushes_and_queues_a_sync(client, ada, bebop,
                                                                 django_capture_on_commit_callbacks,
                                                                 monkeypatch):
    LibraryPush.objects.create(entry=bebop, connection=ada["anilist"],
                               values={"status": "COMPLETED"}, state="failed")
    queued = []
    monkeypatch.setattr("library.push.enqueue_many", lambda task, calls: queued.extend(calls))
    monkeypatch.setattr("integrations.sync._enqueue_on_commit", lambda runs: None)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("library:connection_sync_now",
                                       args=[ada["anilist"].pk]), follow=True)

    assert SyncRun.objects.filter(connection=ada["anilist"]).count() == 1
    assert len(queued) == 1
    assert views.LIBRARY_SYNC_QUEUED.format(count=1, s="", name="AniList") in text(response)
