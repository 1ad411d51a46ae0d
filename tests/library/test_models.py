"""library/models and ExternalItem's link: the constraints hold in the database itself."""

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from integrations.models import ActionRun, ExternalItem
from library.models import LibraryConflict, LibraryEntry, LibraryPush, MediaTitle
from tests.factories import make_connection, make_user

pytestmark = pytest.mark.django_db


def refused(create) -> bool:
    try:
        with transaction.atomic():
            create()
    except IntegrityError:
        return True
    return False


@pytest.mark.parametrize("field", ["mal_id", "anilist_id", "kitsu_id"])
def test_a_cross_id_is_unique_per_kind_when_set(field):
    MediaTitle.objects.create(kind="anime", **{field: 21})

    assert refused(lambda: MediaTitle.objects.create(kind="anime", **{field: 21}))
    assert not refused(lambda: MediaTitle.objects.create(kind="manga", **{field: 21}))
    assert not refused(lambda: MediaTitle.objects.create(kind="anime", **{field: 22}))


def test_titles_without_cross_ids_do_not_collide():
    MediaTitle.objects.create(kind="anime")
    MediaTitle.objects.create(kind="anime")
    assert MediaTitle.objects.count() == 2


def test_a_title_reads_as_its_english_name_or_its_kind():
    assert str(MediaTitle(kind="anime", titles={"ja_jp": "ワンピース", "en": " One Piece "})) == (
        "One Piece")
    assert str(MediaTitle(kind="manga", titles={"en": 5}, pk=7)) == "Manga #7"


def test_one_entry_per_person_and_title():
    user, title = make_user(), MediaTitle.objects.create(kind="anime", mal_id=1)
    LibraryEntry.objects.create(user=user, title=title)

    assert refused(lambda: LibraryEntry.objects.create(user=user, title=title))
    other = make_user("bo@example.com")
    assert not refused(lambda: LibraryEntry.objects.create(user=other, title=title))


@pytest.mark.parametrize(("score", "ok"), [(None, True), (0, True), (100, True), (101, False)])
def test_the_score_is_0_to_100_in_the_database(score, ok):
    user, title = make_user(), MediaTitle.objects.create(kind="anime")
    assert refused(lambda: LibraryEntry.objects.create(user=user, title=title, score=score)) \
        is not ok


def test_a_title_with_entries_cannot_be_deleted():
    entry = LibraryEntry.objects.create(user=make_user(), title=MediaTitle.objects.create(
        kind="manga"))
    with pytest.raises(ProtectedError):
        entry.title.delete()


def item(connection, external_id, entry=None):
    return ExternalItem.objects.create(
        connection=connection, kind="anime", external_id=external_id, title="t",
        content_hash="h", library_entry=entry,
    )


def test_one_external_item_per_connection_and_entry():
    user = make_user()
    anilist, kitsu = make_connection(user, "anilist"), make_connection(user, "kitsu")
    entry = LibraryEntry.objects.create(user=user, title=MediaTitle.objects.create(kind="anime"))
    item(anilist, "1", entry)

    assert refused(lambda: item(anilist, "2", entry))
    assert not refused(lambda: item(kitsu, "1", entry))
    item(anilist, "3")  # unlinked records do not collide
    item(anilist, "4")


def test_deleting_an_entry_unlinks_its_items_and_drops_its_records():
    user = make_user()
    connection = make_connection(user, "anilist")
    entry = LibraryEntry.objects.create(user=user, title=MediaTitle.objects.create(kind="anime"))
    linked = item(connection, "1", entry)
    linked.synced = {"status": "CURRENT", "progress": 3, "updated_at": 1714550400}
    linked.save()
    LibraryConflict.objects.create(entry=entry, field="score", local_value=80, remote_value=70,
                                   winner="local", provider="anilist")
    run = ActionRun.objects.create(connection=connection, action="update_entry",
                                   idempotency_key="k")
    LibraryPush.objects.create(entry=entry, connection=connection, values={"score": 80},
                               action_run=run)

    entry.delete()

    linked.refresh_from_db()
    assert linked.library_entry is None
    assert linked.synced["updated_at"] == 1714550400
    assert not LibraryConflict.objects.exists() and not LibraryPush.objects.exists()
    assert ActionRun.objects.filter(pk=run.pk).exists()


@pytest.mark.parametrize(("titles", "shown"), [
    ({"english": "Frieren", "romaji": "Sousou no Frieren", "native": "葬送のフリーレン"},
     "Frieren"),
    ({"title": "Sousou no Frieren", "en": "", "ja": "葬送のフリーレン"}, "Sousou no Frieren"),
    ({"en_jp": "Sousou no Frieren", "ja_jp": "葬送のフリーレン"}, "Sousou no Frieren"),
    ({"native": "葬送のフリーレン"}, "葬送のフリーレン"),
])
def test_a_title_is_shown_by_the_names_every_service_gives(db, titles, shown):
    assert str(MediaTitle.objects.create(kind="anime", titles=titles)) == shown
