"""library/linking.py: imported list entries become one library entry per person and title."""

import logging
from datetime import UTC, datetime

import pytest
from django.db import IntegrityError
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from integrations.models import ExternalItem
from library import linking
from library.linking import LinkResult, library_link_connection
from library.models import LibraryEntry, MediaTitle
from tests.factories import make_connection, make_user

pytestmark = pytest.mark.django_db

MAY_1 = 1714550400  # 2024-05-01T08:00:00Z


def item(connection, external_id, *, kind="anime", **attrs):
    values = {"entry_id": None, "status": "", "progress": None, "score": None,
              "updated_at": MAY_1, "mal_id": None, "titles": {}, "genres": []}
    return ExternalItem.objects.create(
        connection=connection, kind=kind, external_id=external_id, title=f"title {external_id}",
        content_hash="h", attrs=values | attrs,
    )


@pytest.fixture
def ada():
    user = make_user()
    return {provider: make_connection(user, provider, external_id=f"ada-{provider}")
            for provider in ("anilist", "myanimelist", "kitsu")}


def linked(connection):
    return {i.external_id: i.library_entry for i in connection.items.select_related(
        "library_entry")}


def test_one_title_on_anilist_and_myanimelist_is_one_entry_linked_to_both(ada):
    anilist = item(ada["anilist"], "1001", status="CURRENT", progress=3, score=85, mal_id=21,
                   titles={"english": "One Piece"})
    mal = item(ada["myanimelist"], "21", status="completed", progress=12, score=9, mal_id=21,
               updated_at=MAY_1 + 60)

    assert library_link_connection(connection=ada["anilist"]) == LinkResult(1, 1, 1)
    assert library_link_connection(connection=ada["myanimelist"]) == LinkResult(0, 0, 1)

    title = MediaTitle.objects.get()
    assert (title.kind, title.mal_id, title.anilist_id, title.kitsu_id) == ("anime", 21, 1001,
                                                                           None)
    assert title.titles == {"english": "One Piece"}
    entry = LibraryEntry.objects.get()
    anilist.refresh_from_db()
    mal.refresh_from_db()
    assert anilist.library_entry == mal.library_entry == entry
    # The first service's values, converted; the second's wait for the merge.
    assert (entry.status, entry.progress, entry.score) == ("current", 3, 85)
    moment = datetime.fromtimestamp(MAY_1, UTC)
    assert entry.status_changed_at == entry.progress_changed_at == entry.score_changed_at \
        == moment
    # The base is the service's own terms (AniList's POINT_100 85); the second service joined
    # an entry it never synced with, so it has no base yet: the reconcile compares both sides.
    assert {k: anilist.synced[k] for k in ("status", "progress", "score", "updated_at")} == {
        "status": "CURRENT", "progress": 3, "score": 85, "updated_at": MAY_1}
    assert set(mal.synced) == {"updated_at"} and mal.synced["updated_at"] == MAY_1 + 60


def test_a_kitsu_item_with_the_mal_id_joins_the_entry_and_records_its_id(ada):
    item(ada["myanimelist"], "21", status="watching", mal_id=21)
    kitsu = item(ada["kitsu"], "12", status="current", score=17, mal_id=21)
    library_link_connection(connection=ada["myanimelist"])

    assert library_link_connection(connection=ada["kitsu"]) == LinkResult(0, 0, 1)

    kitsu.refresh_from_db()
    assert kitsu.library_entry == LibraryEntry.objects.get()
    assert MediaTitle.objects.get().kitsu_id == 12


def test_new_entries_take_each_services_values_on_the_library_scales(ada):
    item(ada["kitsu"], "12", status="on_hold", score=17, progress=0, mal_id=5)
    item(ada["myanimelist"], "7", kind="manga", status="plan_to_read", score=9, updated_at=None)

    library_link_connection(connection=ada["kitsu"])
    library_link_connection(connection=ada["myanimelist"])

    kitsu = LibraryEntry.objects.get(title__kitsu_id=12)
    assert (kitsu.status, kitsu.score, kitsu.progress) == ("paused", 85, 0)
    mal = LibraryEntry.objects.get(title__mal_id=7)
    assert (mal.title.kind, mal.status, mal.score) == ("manga", "planning", 90)
    assert mal.status_changed_at is not None  # no time on the service: now


def test_an_item_without_mal_id_creates_its_own_title(ada):
    item(ada["anilist"], "1001", status="CURRENT", mal_id=21)
    lone = item(ada["anilist"], "2002", status="PLANNING")

    assert library_link_connection(connection=ada["anilist"]) == LinkResult(2, 2, 2)

    lone.refresh_from_db()
    title = lone.library_entry.title
    assert (title.anilist_id, title.mal_id) == (2002, None)
    assert title.titles == {"en": "title 2002"}  # the item's title when attrs have none


def test_a_title_found_by_its_own_id_learns_the_mal_id():
    bo = make_user("bo@example.com")
    title = MediaTitle.objects.create(kind="anime", anilist_id=1001)
    connection = make_connection(bo, "anilist")
    item(connection, "1001", status="CURRENT", mal_id=21)

    assert library_link_connection(connection=connection) == LinkResult(0, 1, 1)

    title.refresh_from_db()
    assert title.mal_id == 21
    assert LibraryEntry.objects.get().title == title


def test_a_second_call_links_nothing_new(ada, caplog):
    item(ada["anilist"], "1001", status="CURRENT", mal_id=21)
    item(ada["anilist"], "2002", status="PLANNING")
    library_link_connection(connection=ada["anilist"])
    before = list(ExternalItem.objects.values_list("pk", "library_entry_id", "synced"))

    with caplog.at_level(logging.WARNING, logger="library.linking"):
        assert library_link_connection(connection=ada["anilist"]) == LinkResult(0, 0, 0)

    assert caplog.text == ""  # linked items are not even looked at again

    assert list(ExternalItem.objects.values_list("pk", "library_entry_id", "synced")) == before
    assert (MediaTitle.objects.count(), LibraryEntry.objects.count()) == (2, 2)


def test_another_persons_items_never_touch_this_persons_entries(ada):
    item(ada["myanimelist"], "21", status="watching", score=7, mal_id=21)
    library_link_connection(connection=ada["myanimelist"])
    bo = make_connection(make_user("bo@example.com"), "myanimelist", external_id="bo")
    theirs = item(bo, "21", status="dropped", score=2, mal_id=21)

    assert library_link_connection(connection=bo) == LinkResult(0, 1, 1)

    mine = LibraryEntry.objects.get(user=ada["myanimelist"].user)
    assert (mine.status, mine.score) == ("current", 70)
    theirs.refresh_from_db()
    assert theirs.library_entry.user == bo.user and theirs.library_entry != mine
    assert theirs.library_entry.title == mine.title  # titles are shared, entries are not
    assert set(linked(ada["myanimelist"]).values()) == {mine}


def test_an_unknown_status_is_skipped_with_a_warning_and_the_rest_linked(ada, caplog):
    odd = item(ada["kitsu"], "12", status="binged", mal_id=21)
    fine = item(ada["kitsu"], "13", status="current", mal_id=22)

    with caplog.at_level(logging.WARNING, logger="library.linking"):
        assert library_link_connection(connection=ada["kitsu"]) == LinkResult(1, 1, 1)

    odd.refresh_from_db()
    fine.refresh_from_db()
    assert odd.library_entry is None and odd.synced == {}
    assert fine.library_entry is not None
    assert f"item {odd.pk} " in caplog.text and "binged" in caplog.text


@pytest.mark.parametrize("attrs", [{"score": 21}, {"progress": -1}, {"progress": True},
                                   {"status": None}])
def test_values_that_do_not_convert_skip_the_item(ada, attrs):
    skipped = item(ada["kitsu"], "12", **({"status": "current", "mal_id": 21} | attrs))

    assert library_link_connection(connection=ada["kitsu"]) == LinkResult(0, 0, 0)

    skipped.refresh_from_db()
    assert skipped.library_entry is None


def test_removed_items_other_kinds_and_other_providers_are_left_alone(ada):
    gone = item(ada["anilist"], "1001", status="CURRENT", mal_id=21)
    gone.deleted_at = gone.first_seen_at
    gone.save()
    item(ada["anilist"], "1", kind="profile", status="CURRENT")
    spotify = make_connection(ada["anilist"].user, "spotify", external_id="s")
    item(spotify, "9", status="CURRENT", mal_id=9)

    assert library_link_connection(connection=ada["anilist"]) == LinkResult(0, 0, 0)
    assert library_link_connection(connection=spotify) == LinkResult(0, 0, 0)
    assert not ExternalItem.objects.filter(library_entry__isnull=False).exists()


def test_anime_and_manga_with_one_mal_id_are_two_titles(ada):
    item(ada["myanimelist"], "21", status="watching")
    item(ada["myanimelist"], "21", kind="manga", status="reading")

    assert library_link_connection(connection=ada["myanimelist"]) == LinkResult(2, 2, 2)
    assert sorted(MediaTitle.objects.values_list("kind", flat=True)) == ["anime", "manga"]


def test_two_media_of_one_service_with_one_mal_id_link_once(ada):
    """One item per entry and connection: the second is skipped, not an IntegrityError."""
    first = item(ada["kitsu"], "12", status="current", mal_id=21)
    second = item(ada["kitsu"], "13", status="current", mal_id=21)

    assert library_link_connection(connection=ada["kitsu"]) == LinkResult(1, 1, 1)

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.library_entry is not None and second.library_entry is None
    assert MediaTitle.objects.get().kitsu_id == 12


def test_an_own_id_held_by_another_title_is_not_moved(ada):
    """Unique per kind: AniList's id stays on the title that has it."""
    lone = MediaTitle.objects.create(kind="anime", anilist_id=1001)
    by_mal = MediaTitle.objects.create(kind="anime", mal_id=21)
    item(ada["anilist"], "1001", status="CURRENT", mal_id=21)

    assert library_link_connection(connection=ada["anilist"]) == LinkResult(0, 1, 1)

    by_mal.refresh_from_db()
    lone.refresh_from_db()
    assert (by_mal.anilist_id, lone.anilist_id) == (None, 1001)
    assert LibraryEntry.objects.get().title == by_mal


def test_work_goes_in_chunks(ada, monkeypatch):
    monkeypatch.setattr(linking, "CHUNK", 2)
    for media in range(1, 6):
        item(ada["myanimelist"], str(media), status="watching")

    assert library_link_connection(connection=ada["myanimelist"]) == LinkResult(5, 5, 5)
    assert all(linked(ada["myanimelist"]).values())


def test_on_myanimelist_the_items_own_id_is_the_mal_id(ada):
    MediaTitle.objects.create(kind="anime", mal_id=99)
    item(ada["myanimelist"], "21", status="watching", mal_id=99)

    assert library_link_connection(connection=ada["myanimelist"]) == LinkResult(1, 1, 1)

    assert LibraryEntry.objects.get().title.mal_id == 21


def test_skipped_items_do_not_hold_the_next_chunks_back(ada, monkeypatch):
    monkeypatch.setattr(linking, "CHUNK", 2)
    chunks = []
    real = linking._link_chunk

    def counted(connection, items):
        chunks.append([i.external_id for i in items])
        assert len(chunks) < 10, "the same items again and again"
        return real(connection, items)

    monkeypatch.setattr(linking, "_link_chunk", counted)
    for media in range(1, 4):
        item(ada["myanimelist"], str(media), status="binged")
    item(ada["myanimelist"], "4", status="watching")

    assert library_link_connection(connection=ada["myanimelist"]) == LinkResult(1, 1, 1)
    assert chunks == [["1", "2"], ["3", "4"]]


def test_linking_to_known_entries_takes_as_many_queries_for_few_items_as_for_many(ada):
    def queries(connection, media_ids):
        for media in media_ids:
            title = MediaTitle.objects.create(kind="anime", mal_id=media, anilist_id=media)
            LibraryEntry.objects.create(user=connection.user, title=title)
            item(connection, str(media), status="CURRENT", mal_id=media)
        with CaptureQueriesContext(db_connection) as captured:
            assert library_link_connection(connection=connection) == LinkResult(
                0, 0, len(media_ids))
        return len(captured)

    few = queries(ada["anilist"], range(1, 3))
    bo = make_connection(make_user("bo@example.com"), "anilist", external_id="bo")
    assert queries(bo, range(10, 20)) == few


def test_new_titles_and_entries_take_as_many_queries_for_few_items_as_for_many(ada):
    """The titles and entries a chunk creates, and the cross-ids a second service adds, are
    written together: the count does not grow with the items."""
    def queries(user, media_ids, tag):
        anilist = make_connection(user, "anilist", external_id=f"a-{tag}")
        kitsu = make_connection(user, "kitsu", external_id=f"k-{tag}")
        for media in media_ids:
            item(anilist, str(media), status="CURRENT", mal_id=media)
            item(kitsu, str(media + 5000), status="current", mal_id=media)
        counts = []
        for connection in (anilist, kitsu):
            with CaptureQueriesContext(db_connection) as captured:
                library_link_connection(connection=connection)
            counts.append(len(captured))
        assert MediaTitle.objects.filter(mal_id__in=media_ids, kitsu_id__isnull=False).count() \
            == len(media_ids)
        return counts

    assert queries(make_user("few@example.com"), range(1, 3), "few") == queries(
        make_user("many@example.com"), range(100, 140), "many")


def test_a_title_another_link_inserted_meanwhile_is_used(ada, monkeypatch):
    item(ada["myanimelist"], "21", status="watching")
    original = MediaTitle.objects.bulk_create

    def racing(objs, **kwargs):  # another person's link gets there first
        MediaTitle.objects.create(kind="anime", mal_id=21, titles={"en": "theirs"})
        return original(objs, **kwargs)

    monkeypatch.setattr(MediaTitle.objects, "bulk_create", racing)
    assert library_link_connection(connection=ada["myanimelist"]).linked == 1
    assert MediaTitle.objects.get().titles == {"en": "theirs"}
    assert LibraryEntry.objects.get().title == MediaTitle.objects.get()


def test_an_entry_another_service_inserted_meanwhile_keeps_its_values(ada, monkeypatch):
    mal = item(ada["myanimelist"], "21", status="completed", progress=12)
    original = LibraryEntry.objects.bulk_create

    def racing(objs, **kwargs):  # the person's AniList link gets there first
        LibraryEntry.objects.create(user=objs[0].user, title=objs[0].title, status="current",
                                    progress=3)
        return original(objs, **kwargs)

    monkeypatch.setattr(LibraryEntry.objects, "bulk_create", racing)
    assert library_link_connection(connection=ada["myanimelist"]) == LinkResult(1, 0, 1)
    entry = LibraryEntry.objects.get()
    assert (entry.status, entry.progress) == ("current", 3)
    mal.refresh_from_db()
    # Not this service's values, so no base: the reconcile compares both sides.
    assert set(mal.synced) == {"updated_at"}


def test_when_writing_cross_ids_together_fails_each_is_written_where_still_empty(
        ada, monkeypatch):
    item(ada["myanimelist"], "21", status="watching")
    item(ada["myanimelist"], "22", status="watching")
    library_link_connection(connection=ada["myanimelist"])
    item(ada["kitsu"], "12", status="current", mal_id=21)
    item(ada["kitsu"], "13", status="current", mal_id=22)
    MediaTitle.objects.filter(mal_id=22).update(kitsu_id=99)  # set meanwhile by another link

    def taken(objs, fields, **kwargs):  # as if another title took one of the ids meanwhile
        raise IntegrityError("UNIQUE constraint failed")

    monkeypatch.setattr(MediaTitle.objects, "bulk_update", taken)
    assert library_link_connection(connection=ada["kitsu"]).linked == 2
    assert MediaTitle.objects.get(mal_id=21).kitsu_id == 12
    assert MediaTitle.objects.get(mal_id=22).kitsu_id == 99  # only where still empty
