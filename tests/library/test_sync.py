"""Two-way sync of one title across AniList, MyAnimeList and Kitsu: pull, merge, conflicts,
pushes (in each service's real request shape), retries, and no ping-pong."""

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pytest
import time_machine
from django.utils import timezone

from integrations.models import ActionRun, Connection, Credential, ExternalItem
from integrations.providers.anilist import client as anilist
from integrations.providers.contract import fixture
from integrations.providers.kitsu import client as kitsu
from integrations.providers.myanimelist import client as mal
from library.models import LibraryConflict, LibraryEntry, LibraryPush
from library.pull import library_pull_merge
from library.push import library_push_send, library_pushes_retry
from library.services import (
    PROGRESS_NOT_CLEARED,
    LibraryInputError,
    library_entry_update,
    library_settings_update,
)
from tests.factories import make_connection, make_user

pytestmark = pytest.mark.django_db

T0 = 1714550400  # 2024-05-01T08:00:00Z
MAL_PATCH = mal.API_BASE + "anime/21/my_list_status"
KITSU_PATCH = kitsu.API_BASE + kitsu.LIBRARY_ENTRIES + "/51234001"
ANILIST = anilist.API_BASE


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def attrs(**values):
    return {"entry_id": None, "status": "", "progress": None, "score": None, "repeating": False,
            "updated_at": T0, "mal_id": 21, "titles": {"en": "One Piece"}, "genres": []} | values


def item(connection, external_id, **values):
    return ExternalItem.objects.create(
        connection=connection, kind="anime", external_id=external_id, title="One Piece",
        content_hash="h", attrs=attrs(**values))


@pytest.fixture(autouse=True)
def frozen():
    """The clock stands a day before the services' change times unless a test moves it."""
    with time_machine.travel(at(T0 - 86400), tick=False):
        yield


def pulled(item_, **values):
    """The service now answers these values (stored as a pull stores them: last_seen_at)."""
    item_.refresh_from_db()
    item_.attrs = {**item_.attrs, **values}
    item_.save(update_fields=["attrs", "last_seen_at"])
    library_pull_merge(connection=item_.connection)


@pytest.fixture
def three():
    """One Piece on all three services, the same values in each one's terms, merged."""
    user = make_user()
    conns = {p: make_connection(user, p, external_id=f"ada-{p}")
             for p in ("anilist", "myanimelist", "kitsu")}
    items = {
        "anilist": item(conns["anilist"], "21", status="CURRENT", progress=10, score=80),
        "myanimelist": item(conns["myanimelist"], "21", status="watching", progress=10,
                            score=8),
        "kitsu": item(conns["kitsu"], "12", entry_id="51234001", status="current",
                      progress=10, score=16),
    }
    for connection in conns.values():
        library_pull_merge(connection=connection)
    return conns, items


def entry():
    return LibraryEntry.objects.get()


def pushes(**filters):
    return list(LibraryPush.objects.filter(**filters).order_by("connection__provider"))


def mock_writes(mocked, *, status=200):
    mocked.post(ANILIST, json=fixture(anilist.__file__, "save_entry"), status=status)
    mocked.patch(MAL_PATCH, json=fixture(mal.__file__, "update_status"), status=status)
    mocked.patch(KITSU_PATCH, json=fixture(kitsu.__file__, "update_entry"), status=status)


def send_all() -> list[LibraryPush]:
    return [library_push_send(push_id=p.pk) for p in pushes(state=LibraryPush.State.PENDING)]


# --- linking and the first merge ------------------------------------------------------------

def test_the_same_values_in_three_services_terms_are_one_entry_with_no_conflict(three):
    _conns, items = three
    found = entry()
    assert (found.status, found.progress, found.score) == ("current", 10, 80)
    assert not LibraryConflict.objects.exists()
    assert not LibraryPush.objects.exists()
    # Each later service now has its base: its own values.
    for provider, expected in (("myanimelist", {"status": "watching", "score": 8}),
                               ("kitsu", {"status": "current", "score": 16})):
        items[provider].refresh_from_db()
        assert {k: items[provider].synced[k] for k in expected} == expected


def test_a_second_service_that_differs_at_first_link_is_a_conflict_the_later_change_wins():
    user = make_user()
    anilist_ = make_connection(user, "anilist", external_id="a")
    mal_ = make_connection(user, "myanimelist", external_id="m")
    item(anilist_, "21", status="CURRENT", progress=10, score=80, updated_at=T0)
    item(mal_, "21", status="completed", progress=10, score=8, updated_at=T0 + 60)
    library_pull_merge(connection=anilist_)
    library_pull_merge(connection=mal_)

    conflict = LibraryConflict.objects.get()
    assert (conflict.field, conflict.local_value, conflict.remote_value, conflict.winner,
            conflict.provider) == ("status", "watching", "completed", "remote", "myanimelist")
    assert conflict.remote_changed_at == at(T0 + 60)
    assert entry().status == "completed"
    # The library changed, so AniList (which had the old value) is told.
    (push,) = pushes()
    assert (push.connection, push.values) == (anilist_, {"status": "COMPLETED"})


# --- the conflict matrix --------------------------------------------------------------------

def test_remote_only_change_is_applied_and_passed_on_to_the_other_services(three):
    _conns, items = three
    pulled(items["myanimelist"], status="completed", progress=24, updated_at=T0 + 3600)

    found = entry()
    assert (found.status, found.progress, found.score) == ("completed", 24, 80)
    assert found.status_changed_at == at(T0 + 3600)
    assert not LibraryConflict.objects.exists()
    assert [(p.connection.provider, p.values) for p in pushes()] == [
        ("anilist", {"status": "COMPLETED", "progress": 24}),
        ("kitsu", {"status": "completed", "progress": 24}),
    ]


def test_local_only_change_is_pushed_to_every_service_in_its_terms(three):
    library_entry_update(entry=entry(), values={"score": 87, "status": "paused"})

    assert [(p.connection.provider, p.values) for p in pushes()] == [
        ("anilist", {"status": "PAUSED", "score": 87}),
        ("kitsu", {"status": "on_hold", "score": 17}),  # 87 is 8.5 of 10: 17 of 20
        ("myanimelist", {"status": "on_hold", "score": 9}),
    ]
    assert not LibraryConflict.objects.exists()


@pytest.mark.parametrize("later", ["local", "remote"])
def test_both_changed_is_a_conflict_and_the_later_change_wins(three, later):
    conns, items = three
    local_at, remote_at = (T0 + 7200, T0 + 3600) if later == "local" else (T0 + 3600, T0 + 7200)
    with time_machine.travel(at(local_at), tick=False):
        library_entry_update(entry=entry(), values={"progress": 30})
    pulled(items["myanimelist"], progress=40, updated_at=remote_at)

    conflict = LibraryConflict.objects.get()
    assert (conflict.field, conflict.local_value, conflict.remote_value, conflict.winner) == (
        "progress", 30, 40, later)
    assert entry().progress == (30 if later == "local" else 40)
    mal_push = LibraryPush.objects.get(connection=conns["myanimelist"])
    assert mal_push.values == {"status": "watching", "progress": 30}
    if later == "local":  # the library's value goes (back) to MyAnimeList
        assert mal_push.state == LibraryPush.State.PENDING
    else:  # MyAnimeList holds the winner: the edit's push must not overwrite it
        assert mal_push.state == LibraryPush.State.SUPERSEDED
    others = {p.connection.provider: p.values["progress"] for p in pushes()
              if p.connection != conns["myanimelist"]}
    assert others == ({"anilist": 30, "kitsu": 30} if later == "local"
                      else {"anilist": 40, "kitsu": 40})
    # The conflict is recorded once, not again on the next pull.
    pulled(items["myanimelist"], progress=40, updated_at=remote_at)
    assert LibraryConflict.objects.count() == 1


def test_both_changed_to_the_same_value_is_no_conflict_and_nothing_to_send(three):
    conns, items = three
    library_entry_update(entry=entry(), values={"progress": 30})
    pulled(items["myanimelist"], progress=30, updated_at=T0 + 60)
    assert not LibraryConflict.objects.exists()
    sent = [p.connection.provider for p in pushes() if p.values.get("progress") == 30]
    assert "myanimelist" in sent  # queued by the edit, before the pull saw it arrive
    library_pull_merge(connection=conns["myanimelist"])
    assert not LibraryConflict.objects.exists()


def test_a_removal_there_and_an_earlier_edit_here_is_a_conflict_the_removal_wins():
    user = make_user()
    mal_ = make_connection(user, "myanimelist", external_id="m")
    mal_item = item(mal_, "21", status="watching", progress=10)
    library_pull_merge(connection=mal_)
    with time_machine.travel(at(T0 + 60), tick=False):
        library_entry_update(entry=entry(), values={"progress": 11})
    ExternalItem.objects.filter(pk=mal_item.pk).update(deleted_at=at(T0 + 3600))
    library_pull_merge(connection=mal_)

    conflict = LibraryConflict.objects.get()
    assert (conflict.field, conflict.winner, conflict.remote_value) == ("entry", "remote", None)
    assert conflict.local_value == {"status": "current", "progress": 11, "score": None}
    assert entry().removed_at == at(T0 + 3600)


def test_a_removal_there_and_a_later_edit_here_is_a_conflict_the_edit_wins_and_is_sent_back():
    user = make_user()
    mal_ = make_connection(user, "myanimelist", external_id="m")
    mal_item = item(mal_, "21", status="watching", progress=10)
    library_pull_merge(connection=mal_)
    ExternalItem.objects.filter(pk=mal_item.pk).update(deleted_at=at(T0 + 60))
    with time_machine.travel(at(T0 + 3600), tick=False):
        LibraryEntry.objects.update(progress=12, progress_changed_at=at(T0 + 3600))
    library_pull_merge(connection=mal_)

    conflict = LibraryConflict.objects.get()
    assert (conflict.field, conflict.winner) == ("entry", "local")
    assert entry().removed_at is None
    (push,) = pushes()
    assert push.values == {"status": "watching", "progress": 12}


def test_a_removal_on_one_service_keeps_the_entry_while_another_has_the_title(three):
    conns, items = three
    ExternalItem.objects.filter(pk=items["kitsu"].pk).update(deleted_at=timezone.now())
    library_pull_merge(connection=conns["kitsu"])
    assert entry().removed_at is None
    assert not LibraryPush.objects.exists()  # a removal is never pushed to the others
    assert not LibraryConflict.objects.exists()


# --- pushes ---------------------------------------------------------------------------------

def test_pushes_go_out_in_each_services_request_shape(three, mocked_responses):
    mock_writes(mocked_responses)
    library_entry_update(entry=entry(), values={"status": "repeating", "progress": 12,
                                                "score": 90})
    sent = send_all()
    assert [p.state for p in sent] == [LibraryPush.State.SENT] * 3

    bodies = {call.request.url: call.request.body for call in mocked_responses.calls}
    assert json.loads(bodies[ANILIST])["variables"] == {
        "mediaId": 21, "status": "REPEATING", "progress": 12, "scoreRaw": 90}
    assert parse_qs(bodies[MAL_PATCH]) == {"status": ["watching"], "num_watched_episodes": ["12"],
                                           "score": ["9"], "is_rewatching": ["true"]}
    assert json.loads(bodies[KITSU_PATCH])["data"]["attributes"] == {
        "status": "current", "progress": 12, "ratingTwenty": 18, "reconsuming": True}


def test_no_ping_pong_a_pull_that_reads_our_own_push_back_sends_nothing(three,
                                                                        mocked_responses):
    conns, items = three
    mock_writes(mocked_responses)
    library_entry_update(entry=entry(), values={"status": "repeating", "progress": 12,
                                                "score": 87})
    send_all()
    writes = len(mocked_responses.calls)
    # Each service answers the next pull with what we sent (in its own terms).
    pulled(items["anilist"], status="REPEATING", progress=12, score=87, updated_at=T0 + 99)
    pulled(items["myanimelist"], status="watching", repeating=True, progress=12, score=9,
           updated_at=T0 + 99)
    pulled(items["kitsu"], status="current", repeating=True, progress=12, score=17,
           updated_at=T0 + 99)
    for connection in conns.values():  # and again, unchanged
        library_pull_merge(connection=connection)

    assert pushes(state=LibraryPush.State.PENDING) == []
    assert send_all() == [] and len(mocked_responses.calls) == writes
    found = entry()
    assert (found.status, found.progress, found.score) == ("repeating", 12, 87)  # no drift
    assert not LibraryConflict.objects.exists()


def test_a_double_submission_is_one_push_and_one_upstream_write(three, mocked_responses):
    mock_writes(mocked_responses)
    for _ in range(2):
        library_entry_update(entry=entry(), values={"progress": 11})
    assert LibraryPush.objects.count() == 3
    mal_push = LibraryPush.objects.get(connection__provider="myanimelist")
    library_push_send(push_id=mal_push.pk)
    # A second delivery of the same task: already sent, nothing goes out again.
    library_push_send(push_id=mal_push.pk)
    assert [c.request.url for c in mocked_responses.calls] == [MAL_PATCH]
    assert ActionRun.objects.filter(connection__provider="myanimelist").count() == 1


def test_a_delivery_while_another_worker_sends_the_push_sends_nothing(three,
                                                                     mocked_responses):
    mock_writes(mocked_responses)
    library_entry_update(entry=entry(), values={"progress": 11})
    push = LibraryPush.objects.get(connection__provider="myanimelist")
    LibraryPush.objects.filter(pk=push.pk).update(state=LibraryPush.State.SENDING, attempts=1)
    assert library_push_send(push_id=push.pk).state == LibraryPush.State.SENDING
    assert len(mocked_responses.calls) == 0


def test_an_attempt_whose_claim_was_lost_replays_its_action_run(three, mocked_responses):
    """The key is push + attempt: a run already made for this attempt answers again."""
    mock_writes(mocked_responses)
    library_entry_update(entry=entry(), values={"progress": 11})
    push = LibraryPush.objects.get(connection__provider="myanimelist")
    library_push_send(push_id=push.pk)
    LibraryPush.objects.filter(pk=push.pk).update(state=LibraryPush.State.PENDING, attempts=0)
    assert library_push_send(push_id=push.pk).state == LibraryPush.State.SENT
    assert len(mocked_responses.calls) == 1


def test_a_try_later_failure_is_retried_after_its_backoff(three, mocked_responses, no_sleep):
    mocked_responses.patch(MAL_PATCH, status=503, json={"error": "unavailable"})
    library_entry_update(entry=entry(), values={"progress": 11})
    push = LibraryPush.objects.get(connection__provider="myanimelist")
    with time_machine.travel(at(T0), tick=False):
        failed = library_push_send(push_id=push.pk)
        assert failed.state == LibraryPush.State.FAILED and failed.error
        assert failed.next_attempt_at == at(T0) + timedelta(minutes=5)
        library_pushes_retry()
        push.refresh_from_db()
        assert push.state == LibraryPush.State.FAILED  # not yet due
    mocked_responses.replace("PATCH", MAL_PATCH, json=fixture(mal.__file__, "update_status"))
    Credential.objects.update(expires_at=None)  # a day later: no refresh in the way
    with time_machine.travel(at(T0 + 301), tick=False):
        library_pushes_retry()
        push.refresh_from_db()
        assert push.state == LibraryPush.State.PENDING
        sent = library_push_send(push_id=push.pk)
        assert sent.state == LibraryPush.State.SENT, sent.error


def test_a_refused_token_waits_for_a_reconnect_and_then_goes(three, mocked_responses):
    conns, _ = three
    mocked_responses.patch(MAL_PATCH, status=401, json={"error": "invalid_token"},
                           headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    mocked_responses.post(mal.TOKEN_URL, status=400, json={"error": "invalid_grant"})
    library_entry_update(entry=entry(), values={"progress": 11})
    push = LibraryPush.objects.get(connection__provider="myanimelist")
    assert library_push_send(push_id=push.pk).state == LibraryPush.State.WAITING_RECONNECT
    conns["myanimelist"].refresh_from_db()
    assert conns["myanimelist"].status == Connection.Status.NEEDS_REAUTH
    # A later edit while it waits is still "not yet on MyAnimeList".
    library_entry_update(entry=entry(), values={"progress": 12})
    push.refresh_from_db()
    assert (push.state, push.values["progress"]) == (LibraryPush.State.WAITING_RECONNECT, 12)

    Connection.objects.filter(pk=conns["myanimelist"].pk).update(
        status=Connection.Status.ACTIVE)
    mocked_responses.replace("PATCH", MAL_PATCH, json=fixture(mal.__file__, "update_status"))
    assert library_pushes_retry() == 1
    assert library_push_send(push_id=push.pk).state == LibraryPush.State.SENT


def test_switches_keep_a_field_out_of_both_directions(three):
    conns, items = three
    library_settings_update(connection=conns["myanimelist"], switches={"sync_ratings": False})
    library_entry_update(entry=entry(), values={"score": 100})
    assert {p.connection.provider for p in pushes()} == {"anilist", "kitsu"}
    library_entry_update(entry=entry(), values={"score": 90, "progress": 11})
    assert LibraryPush.objects.get(connection=conns["myanimelist"]).values == {
        "status": "watching", "progress": 11}
    pulled(items["myanimelist"], score=2, updated_at=T0 + 60)
    assert entry().score == 90


def test_sync_automatically_off_keeps_pushes_waiting_for_a_manual_sync(three):
    conns, _ = three
    Connection.objects.filter(pk=conns["kitsu"].pk).update(auto_sync=False)
    library_entry_update(entry=entry(), values={"progress": 11})
    push = LibraryPush.objects.get(connection=conns["kitsu"])
    assert push.state == LibraryPush.State.PENDING
    assert library_pushes_retry() == 0  # the schedule leaves it for the person


def test_bad_values_change_nothing():
    user = make_user()
    conn = make_connection(user, "myanimelist", external_id="m")
    item(conn, "21", status="watching", progress=10)
    library_pull_merge(connection=conn)
    for values in ({"status": "binged"}, {"score": 101}, {"progress": -1}, {"score": True},
                   {"progress": "3"}, {"rating": 5}, {}):
        with pytest.raises(LibraryInputError):
            library_entry_update(entry=entry(), values=values)
    assert not LibraryPush.objects.exists()
    assert (entry().status, entry().progress) == ("current", 10)


@pytest.mark.parametrize("full", [False, True])
def test_an_unchanged_resync_writes_nothing_and_pushes_nothing(three, full):
    conns, _ = three
    before = {e.pk: e.updated_at for e in LibraryEntry.objects.all()}
    bases = dict(ExternalItem.objects.values_list("pk", "synced"))
    with time_machine.travel(at(T0), tick=False):  # later: a rewrite would show in the bases
        for connection in conns.values():
            result = library_pull_merge(connection=connection, full=full)
            assert (result.applied, result.conflicts, result.pushes) == (0, 0, 0)
            if full:
                assert result.reconciled == 1
    assert {e.pk: e.updated_at for e in LibraryEntry.objects.all()} == before
    assert dict(ExternalItem.objects.values_list("pk", "synced")) == bases
    assert not LibraryPush.objects.exists()


# --- found in review: clears, old pushes, re-adds, news held by another service -------------

def test_clearing_a_score_is_sent_everywhere_and_stays_cleared(three, mocked_responses):
    _, items = three
    mock_writes(mocked_responses)
    library_entry_update(entry=entry(), values={"score": None})
    send_all()
    bodies = {call.request.url: call.request.body for call in mocked_responses.calls}
    assert json.loads(bodies[KITSU_PATCH])["data"]["attributes"]["ratingTwenty"] is None
    assert parse_qs(bodies[MAL_PATCH])["score"] == ["0"]
    assert json.loads(bodies[ANILIST])["variables"]["scoreRaw"] == 0
    # Each service answers its next pull with no score: nothing comes back, nothing is sent.
    pulled(items["kitsu"], score=None, updated_at=T0 + 500)
    pulled(items["myanimelist"], score=None, updated_at=T0 + 500)
    pulled(items["anilist"], score=0, updated_at=T0 + 500)
    assert entry().score is None
    assert pushes(state=LibraryPush.State.PENDING) == []


def test_progress_cannot_be_emptied_and_an_empty_one_from_a_service_is_not_sent(three):
    _, items = three
    with pytest.raises(LibraryInputError) as refused:
        library_entry_update(entry=entry(), values={"progress": None})
    assert refused.value.errors == {"progress": PROGRESS_NOT_CLEARED}
    pulled(items["kitsu"], progress=None, updated_at=T0 + 500)  # Kitsu says nothing
    assert LibraryPush.objects.filter(values__has_key="progress").count() == 0


def test_an_older_push_that_fails_after_a_newer_edit_is_never_sent_again(three,
                                                                        mocked_responses,
                                                                        no_sleep):
    conns, _ = three
    library_entry_update(entry=entry(), values={"progress": 11})
    old = LibraryPush.objects.get(connection=conns["myanimelist"])
    calls = []

    def answer(request):  # while the first attempt is out, the person edits again
        calls.append(parse_qs(request.body)["num_watched_episodes"][0])
        if len(calls) == 1:
            library_entry_update(entry=entry(), values={"progress": 12})
        if calls[-1] == "11":  # MyAnimeList is down for the first push's attempts
            return 503, {}, json.dumps({"error": "unavailable"})
        return 200, {}, json.dumps(fixture(mal.__file__, "update_status"))

    mocked_responses.add_callback("PATCH", MAL_PATCH, callback=answer)
    library_push_send(push_id=old.pk)
    old.refresh_from_db()
    assert old.state == LibraryPush.State.SUPERSEDED  # not failed: no retry of 11
    new = LibraryPush.objects.exclude(pk=old.pk).get(connection=conns["myanimelist"])
    assert library_push_send(push_id=new.pk).state == LibraryPush.State.SENT
    library_pushes_retry()
    assert library_push_send(push_id=old.pk).state == LibraryPush.State.SUPERSEDED
    assert calls[-1] == "12" and "11" not in calls[calls.index("12"):]


def test_a_push_re_adding_a_removed_title_survives_other_services_merges(three):
    conns, items = three
    Connection.objects.filter(pk=conns["myanimelist"].pk).update(auto_sync=False)
    with time_machine.travel(at(T0 + 60), tick=False):
        ExternalItem.objects.filter(pk=items["myanimelist"].pk).update(deleted_at=timezone.now())
        library_pull_merge(connection=conns["myanimelist"])
    with time_machine.travel(at(T0 + 3600), tick=False):
        library_entry_update(entry=entry(), values={"progress": 12})
        readd = LibraryPush.objects.get(connection=conns["myanimelist"])
        pulled(items["kitsu"], score=18, updated_at=T0 + 3600)  # passes a change on
    readd.refresh_from_db()
    assert readd.state == LibraryPush.State.PENDING and readd.values["progress"] == 12


def test_news_held_by_another_services_item_is_left_to_its_own_merge_and_reaches_all(three):
    conns, items = three
    # MyAnimeList's pull stored a new score; its merge has not run yet.
    mal_item = items["myanimelist"]
    mal_item.refresh_from_db()
    mal_item.attrs = {**mal_item.attrs, "score": 6, "updated_at": T0 + 100}
    mal_item.save(update_fields=["attrs", "last_seen_at"])
    pulled(items["kitsu"], progress=11, updated_at=T0 + 200)  # passes progress on
    library_pull_merge(connection=conns["myanimelist"])  # MyAnimeList's own merge
    assert (entry().progress, entry().score) == (11, 60)
    values = {p.connection.provider: p.values for p in pushes()}
    assert values["anilist"] == {"status": "CURRENT", "progress": 11, "score": 60}
    assert values["kitsu"] == {"status": "current", "score": 12}
    assert values["myanimelist"] == {"status": "watching", "progress": 11}
