"""setup_demo connects the demo user's MyAnimeList (the example token, stored directly) and
Kitsu (the stand-in's password grant) once, queues their first syncs, and those syncs fill a
library in which the titles both services list are one entry each."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from consent.purposes import PURPOSES
from consent.services import consent_set
from integrations.models import Connection, Credential, ExternalItem, SyncRun
from integrations.providers.myanimelist.provider import MyAnimeListProvider
from integrations.sandbox.standins import anime_lists as lists
from integrations.sync import sync_execute
from library.linking import library_link_connection
from library.models import LibraryEntry

ANIME_LISTS = ("kitsu", "myanimelist")


@pytest.fixture
def demo(db, settings, sandbox):
    settings.THINKALIKE_STAND_INS = True
    settings.THINKALIKE_RATE_BUDGETS = False
    for _ in range(2):  # idempotent
        call_command("setup_demo", stdout=StringIO())
    return get_user_model().objects.get(email="demo@example.com")


def test_both_are_connected_once_with_a_first_sync_queued(demo):
    connections = Connection.objects.filter(user=demo, provider__in=ANIME_LISTS)
    assert sorted((c.provider, c.external_account_id, c.status) for c in connections) == [
        ("kitsu", lists.KITSU_ACCOUNT["id"], Connection.Status.ACTIVE),
        ("myanimelist", str(lists.MAL_ACCOUNT["id"]), Connection.Status.ACTIVE)]
    runs = SyncRun.objects.filter(connection__in=connections)
    assert sorted(runs.values_list("connection__provider", "trigger", "status")) == [
        (slug, SyncRun.Trigger.CONNECT, SyncRun.Status.QUEUED) for slug in ANIME_LISTS]
    mal = Credential.objects.get(connection__provider="myanimelist", connection__user=demo)
    assert mal.access_token == MyAnimeListProvider.stand_in_example
    kitsu = Credential.objects.get(connection__provider="kitsu", connection__user=demo)
    assert kitsu.access_token and kitsu.refresh_token and kitsu.expires_at is not None


def test_a_second_run_keeps_the_tokens_it_stored(db, settings, sandbox):
    settings.THINKALIKE_STAND_INS = True
    call_command("setup_demo", stdout=StringIO())
    first = Credential.objects.get(connection__provider="kitsu").access_token
    call_command("setup_demo", stdout=StringIO())
    assert Credential.objects.get(connection__provider="kitsu").access_token == first


def test_the_first_syncs_fill_one_library_of_both_lists(demo, sandbox):
    for purpose in PURPOSES:
        consent_set(user=demo, purpose=purpose, granted=True)
    for run in SyncRun.objects.filter(connection__user=demo,
                                      connection__provider__in=ANIME_LISTS):
        finished = sync_execute(run_id=run.pk)
        assert finished.status == SyncRun.Status.SUCCEEDED, finished.error_message
        assert finished.created == 12
        library_link_connection(connection=finished.connection)
    assert ExternalItem.objects.filter(connection__user=demo,
                                       connection__provider__in=ANIME_LISTS).count() == 24
    # 11 titles on both lists, Mushishi on MyAnimeList only, the One Piece manga on Kitsu only.
    assert LibraryEntry.objects.filter(user=demo).count() == 13
    assert any(p.startswith("/sandbox/stand-ins/kitsu/") for p in sandbox.paths())
    assert any(p.startswith("/sandbox/stand-ins/myanimelist/") for p in sandbox.paths())
