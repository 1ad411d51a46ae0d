"""services.connection_data_purge: one service's imported data and the library entries only it
fed are deleted; the connection, other services and other people are untouched; it syncs
again from the start."""

import json
from datetime import timedelta

import pytest

from consent.purposes import PURPOSES
from consent.services import consent_set
from integrations import clock
from integrations.exceptions import SyncInProgress
from integrations.models import (
    AuditEvent,
    Connection,
    Credential,
    ExternalItem,
    Interest,
    StreamState,
    SyncRun,
    UserInterest,
)
from integrations.providers.anilist import client as anilist
from integrations.providers.anilist.contract import USER_ID
from integrations.providers.contract import fixture
from integrations.services import PURGE_WHILE_SYNCING, connection_data_purge
from integrations.sync import sync_execute, sync_request
from library.models import LibraryConflict, LibraryEntry, LibraryPush, ListSyncSettings, MediaTitle
from library.pull import library_pull_merge
from tests.factories import make_connection, make_user
from tests.library.builders import linked_entry, list_item, list_person

pytestmark = pytest.mark.django_db


def interest_from(connection, slug="anime-action"):
    interest, _ = Interest.objects.get_or_create(slug=slug, label=slug, category="anime")
    return UserInterest.objects.create(user=connection.user, interest=interest,
                                       connection=connection, weight=1.0, purpose="matching")


@pytest.fixture
def ada():
    """AniList and MyAnimeList connected; an entry only on each, one on both, one local."""
    person = list_person()
    ani, mal = person["anilist"], person["myanimelist"]
    person["only_ani"] = linked_entry(ani, "1", status="CURRENT", mal_id=1,
                                      titles={"english": "Cowboy Bebop"})
    person["only_mal"] = linked_entry(mal, "5", status="watching", mal_id=5,
                                      titles={"title": "Trigun"})
    list_item(ani, "21", status="CURRENT", mal_id=21, titles={"english": "One Piece"})
    list_item(mal, "21", status="watching", mal_id=21, titles={"title": "One Piece"})
    library_pull_merge(connection=ani)
    library_pull_merge(connection=mal)
    person["shared"] = LibraryEntry.objects.get(user=person["user"], title__mal_id=21)
    assert person["shared"].external_items.count() == 2  # the fixture's premise
    title = MediaTitle.objects.create(kind="anime", titles={"en": "Added here"})
    person["local"] = LibraryEntry.objects.create(user=person["user"], title=title)
    for connection in (ani, mal):
        interest_from(connection)
        StreamState.objects.create(connection=connection, stream="anime_list",
                                   cursor={"page": 3})
        LibraryPush.objects.create(entry=person["shared"], connection=connection,
                                   values={"status": "x"})
        LibraryConflict.objects.create(entry=person["shared"], field="score", local_value=80,
                                       remote_value=70, winner="local",
                                       provider=connection.provider)
        ListSyncSettings.objects.filter(connection=connection).update(
            merged_at=connection.created_at)
    return person


def test_purge_deletes_one_services_data_and_the_entries_only_it_fed(ada):
    ani, mal = ada["anilist"], ada["myanimelist"]

    result = connection_data_purge(connection=ani, actor="user:1")

    assert not ExternalItem.objects.filter(connection=ani).exists()
    assert not UserInterest.objects.filter(connection=ani).exists()
    assert not StreamState.objects.filter(connection=ani).exists()
    assert not LibraryPush.objects.filter(connection=ani).exists()
    assert not LibraryConflict.objects.filter(provider="anilist").exists()
    assert not LibraryEntry.objects.filter(pk=ada["only_ani"].pk).exists()
    assert ListSyncSettings.objects.get(connection=ani).merged_at is None
    # The entry on both services stays, linked only to the other one, with its rows there.
    shared = LibraryEntry.objects.get(pk=ada["shared"].pk)
    assert list(shared.external_items.values_list("connection", flat=True)) == [mal.pk]
    assert LibraryPush.objects.filter(connection=mal, entry=shared).count() == 1
    assert LibraryConflict.objects.filter(provider="myanimelist", entry=shared).count() == 1
    # An entry no service fed is not this service's to delete.
    assert LibraryEntry.objects.filter(pk=ada["local"].pk).exists()
    # The other service is untouched.
    assert LibraryEntry.objects.filter(pk=ada["only_mal"].pk).exists()
    assert ExternalItem.objects.filter(connection=mal).count() == 2
    assert UserInterest.objects.filter(connection=mal).count() == 1
    assert StreamState.objects.filter(connection=mal).count() == 1
    assert ListSyncSettings.objects.get(connection=mal).merged_at is not None
    # The connection, its credential and settings are kept.
    assert Connection.objects.filter(pk=ani.pk, sync_enabled=True).exists()
    assert Credential.objects.filter(connection=ani).exists()
    assert result.items == 2
    assert result.interests == 1
    assert result.checkpoints == 1
    assert result.other == {"library_entries": 1, "library_pushes": 1, "library_conflicts": 1}
    line = AuditEvent.objects.get(connection_ref=ani.pk, action=AuditEvent.Action.DATA_PURGED)
    assert line.actor == "user:1"
    assert "2 items, 1 interests" in line.message
    assert "1 library entries" in line.message


def test_purge_leaves_other_people_alone(ada):
    grace = list_person("grace@example.com")
    theirs = linked_entry(grace["anilist"], "1", status="CURRENT", mal_id=1)
    interest_from(grace["anilist"])

    connection_data_purge(connection=ada["anilist"])

    assert LibraryEntry.objects.filter(pk=theirs.pk).exists()
    assert ExternalItem.objects.filter(connection=grace["anilist"]).count() == 1
    assert UserInterest.objects.filter(connection=grace["anilist"]).count() == 1


def test_a_failing_listener_rolls_the_purge_back(ada, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("library bug")

    monkeypatch.setattr("library.services.library_connection_purge", broken)
    with pytest.raises(RuntimeError):
        connection_data_purge(connection=ada["anilist"])
    assert ExternalItem.objects.filter(connection=ada["anilist"]).count() == 2
    assert LibraryEntry.objects.filter(pk=ada["only_ani"].pk).exists()


def test_no_purge_while_a_sync_holds_the_connection(ada):
    ani = ada["anilist"]
    run = sync_request(connection=ani, trigger=SyncRun.Trigger.MANUAL)
    assert run is not None  # queued: the connection is claimed

    with pytest.raises(SyncInProgress) as raised:
        connection_data_purge(connection=ani)

    assert raised.value.message == PURGE_WHILE_SYNCING
    assert ExternalItem.objects.filter(connection=ani).count() == 2
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.DATA_PURGED).exists()


def test_a_stale_claim_does_not_block_a_purge(ada, settings):
    ani = ada["anilist"]
    stale = clock.now() - timedelta(seconds=settings.THINKALIKE_SYNC_CLAIM_TTL_SECONDS + 1)
    Connection.objects.filter(pk=ani.pk).update(sync_claimed_at=stale)
    assert connection_data_purge(connection=ani).items == 2


# --- syncing again afterwards ------------------------------------------------------------------

TOKEN = "AT-anilist-jwt-0001"
PAGES = {("ANIME", 1): "anime_list", ("ANIME", 2): "anime_list_last", ("MANGA", 1): "manga_list"}


@pytest.fixture
def otaku(settings, no_sleep):
    settings.THINKALIKE_RATE_BUDGETS = False
    user = make_user("otaku@example.com")
    for purpose in PURPOSES:
        consent_set(user=user, purpose=purpose, granted=True)
    return make_connection(user, "anilist", external_id=str(USER_ID), access_token=TOKEN,
                           refresh_token="", expires_in=365 * 24 * 3600)


def answer_graphql(mocked) -> list[dict]:
    """AniList's list pages by their variables; returns the variables asked for."""
    asked = []

    def respond(request):
        variables = json.loads(request.body)["variables"]
        asked.append((variables["type"], variables["page"]))
        body = fixture(anilist.__file__, PAGES[(variables["type"], variables["page"])])
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    mocked.add_callback("POST", anilist.API_BASE, callback=respond)
    return asked


def sync(connection, *, full: bool) -> SyncRun:
    Connection.objects.filter(pk=connection.pk).update(sync_claimed_at=None)
    run = sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL, full=full)
    return sync_execute(run_id=run.pk)


def test_the_connection_syncs_everything_again_after_a_purge(otaku, mocked_responses):
    asked = answer_graphql(mocked_responses)
    assert sync(otaku, full=True).status == SyncRun.Status.SUCCEEDED
    before = set(ExternalItem.objects.filter(connection=otaku).values_list("external_id",
                                                                           flat=True))
    entries = LibraryEntry.objects.filter(user=otaku.user).count()
    assert before and entries

    connection_data_purge(connection=otaku)
    assert not ExternalItem.objects.filter(connection=otaku).exists()
    assert not LibraryEntry.objects.filter(user=otaku.user).exists()
    asked.clear()

    # Not a full pass: only the deleted checkpoints make it start from the first page.
    run = sync(otaku, full=False)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert asked == [("ANIME", 1), ("ANIME", 2), ("MANGA", 1)]
    after = set(ExternalItem.objects.filter(connection=otaku).values_list("external_id",
                                                                          flat=True))
    assert after == before
    assert LibraryEntry.objects.filter(user=otaku.user).count() == entries
