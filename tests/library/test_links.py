"""library/links.py: linking two entries by hand, unlinking a service's item."""

import pytest

from integrations.models import AuditEvent, ExternalItem
from library import links
from library.linking import library_link_connection
from library.links import LibraryLinkError, library_entries_link, library_item_unlink
from library.models import LibraryConflict, LibraryEntry, LibraryPush, MediaTitle
from tests.library.builders import MAY_1, linked_entry, list_item, list_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada():
    return list_person()


@pytest.fixture
def split(ada):
    """One title the services could not match: AniList's entry lacks the MyAnimeList id."""
    keep = linked_entry(ada["anilist"], "1001", status="CURRENT", progress=3, score=80,
                        titles={"english": "Frieren"})
    other = linked_entry(ada["myanimelist"], "52991", status="watching", progress=3, score=8,
                         mal_id=52991, titles={"title": "Sousou no Frieren"})
    return keep, other


def test_link_moves_the_other_entrys_items_conflicts_and_sent_pushes_then_deletes_it(ada, split):
    keep, other = split
    conflict = LibraryConflict.objects.create(entry=other, field="score", local_value=80,
                                              remote_value=70, winner="local",
                                              provider="myanimelist")
    sent = LibraryPush.objects.create(entry=other, connection=ada["myanimelist"],
                                      values={"status": "watching"}, state="sent")
    unsent = LibraryPush.objects.create(entry=other, connection=ada["myanimelist"],
                                        values={"status": "dropped"}, state="failed")

    result = library_entries_link(user=ada["user"], keep=keep, other=other, actor="user:1")

    assert result.pk == keep.pk
    assert not LibraryEntry.objects.filter(pk=other.pk).exists()
    assert set(ExternalItem.objects.filter(library_entry=keep).values_list(
        "connection__provider", flat=True)) == {"anilist", "myanimelist"}
    conflict.refresh_from_db()
    sent.refresh_from_db()
    assert conflict.entry_id == sent.entry_id == keep.pk
    # A push decided for the old pairing is dropped: the reconcile decides anew.
    assert not LibraryPush.objects.filter(pk=unsent.pk).exists()
    # The shared title learns nothing from one person's link.
    title = MediaTitle.objects.get(pk=keep.title_id)
    assert (title.anilist_id, title.mal_id) == (1001, None)
    assert AuditEvent.objects.filter(provider="library", actor="user:1",
                                     message__contains="linked into").count() == 1


def test_link_reconciles_at_once_and_a_difference_is_a_conflict(ada):
    keep = linked_entry(ada["anilist"], "1001", status="CURRENT", progress=3, score=80,
                        updated_at=MAY_1)
    other = linked_entry(ada["myanimelist"], "52991", status="watching", progress=7, score=8,
                         mal_id=52991, updated_at=MAY_1 + 3600)

    library_entries_link(user=ada["user"], keep=keep, other=other)

    keep.refresh_from_db()
    # MyAnimeList's progress changed later: it wins, is recorded, and goes to AniList.
    assert keep.progress == 7
    conflict = LibraryConflict.objects.get(entry=keep)
    assert (conflict.field, conflict.local_value, conflict.remote_value, conflict.winner) == (
        "progress", 3, 7, "remote")
    push = LibraryPush.objects.get(entry=keep, connection=ada["anilist"])
    assert push.values["progress"] == 7 and push.state == "pending"


def test_link_is_refused_when_both_entries_are_on_one_service(ada):
    keep = linked_entry(ada["anilist"], "1001", status="CURRENT")
    other = linked_entry(ada["anilist"], "1002", status="PLANNING")

    with pytest.raises(LibraryLinkError) as caught:
        library_entries_link(user=ada["user"], keep=keep, other=other)

    assert caught.value.message == links.LINK_SAME_SERVICE.format(name="AniList")
    assert LibraryEntry.objects.filter(pk__in=[keep.pk, other.pk]).count() == 2
    assert ExternalItem.objects.get(external_id="1002").library_entry_id == other.pk


def test_link_is_refused_across_kinds_and_with_itself(ada):
    anime = linked_entry(ada["anilist"], "1001", status="CURRENT")
    manga = linked_entry(ada["myanimelist"], "2", kind="manga", status="reading")

    with pytest.raises(LibraryLinkError, match=links.LINK_OTHER_KIND):
        library_entries_link(user=ada["user"], keep=anime, other=manga)
    with pytest.raises(LibraryLinkError, match=links.LINK_SAME_ENTRY):
        library_entries_link(user=ada["user"], keep=anime, other=anime)
    assert LibraryEntry.objects.count() == 2


def test_link_with_another_persons_entry_is_not_found(ada, split):
    keep, _ = split
    bob = list_person("bob@example.com")
    theirs = linked_entry(bob["kitsu"], "7", status="current", mal_id=52991)

    with pytest.raises(LibraryEntry.DoesNotExist):
        library_entries_link(user=ada["user"], keep=keep, other=theirs)
    assert LibraryEntry.objects.filter(pk=theirs.pk).exists()


def test_unlink_gives_the_item_its_own_entry_with_the_services_values(ada):
    entry = linked_entry(ada["anilist"], "1001", status="CURRENT", progress=3, score=80,
                         mal_id=21, titles={"english": "One Piece"})
    mal = list_item(ada["myanimelist"], "21", status="completed", progress=12, score=6,
                    mal_id=21, titles={"title": "Wan Pisu?"})
    library_link_connection(connection=ada["myanimelist"])
    mal.refresh_from_db()
    assert mal.library_entry_id == entry.pk
    waiting = LibraryPush.objects.create(entry=entry, connection=ada["myanimelist"],
                                         values={"status": "watching"})
    elsewhere = LibraryPush.objects.create(entry=entry, connection=ada["anilist"],
                                           values={"status": "CURRENT"})

    new = library_item_unlink(item=mal, actor="user:1")

    mal.refresh_from_db()
    assert mal.library_entry_id == new.pk != entry.pk
    assert (new.status, new.progress, new.score) == ("completed", 12, 60)
    # Its base is the service's values: the next pull finds nothing to push or apply.
    assert {k: mal.synced[k] for k in ("status", "progress", "score")} == {
        "status": "completed", "progress": 12, "score": 6}
    assert (new.title.mal_id, new.title.anilist_id, new.title.kitsu_id) == (None, None, None)
    assert new.title.titles == {"title": "Wan Pisu?"} and new.title.kind == "anime"
    assert MediaTitle.objects.get(pk=entry.title_id).mal_id == 21  # shared: untouched
    assert list(ExternalItem.objects.filter(library_entry=entry).values_list(
        "external_id", flat=True)) == ["1001"]
    assert not LibraryPush.objects.filter(pk=waiting.pk).exists()
    assert LibraryPush.objects.filter(pk=elsewhere.pk, entry=entry).exists()
    assert AuditEvent.objects.filter(provider="myanimelist", actor="user:1",
                                     message__contains="unlinked").exists()


def test_unlink_of_an_entrys_only_service_is_refused(ada):
    entry = linked_entry(ada["anilist"], "1001", status="CURRENT")
    item = ExternalItem.objects.get(library_entry=entry)

    with pytest.raises(LibraryLinkError, match=links.UNLINK_ONLY_ITEM):
        library_item_unlink(item=item)
    assert LibraryEntry.objects.count() == 1 and MediaTitle.objects.count() == 1
