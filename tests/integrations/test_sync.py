"""integrations/sync.py and streams.py: queueing, consent gating, paging, upsert, counters."""

import pytest
from django.utils import timezone

from consent.services import consent_set
from integrations.models import (
    ApiCall,
    Connection,
    ExternalItem,
    StreamState,
    SyncRun,
    UserInterest,
)
from integrations.sync import SKIP_NO_CONSENT, sync_dispatch_due, sync_execute, sync_request
from tests.factories import make_connection, make_user

OL = "https://openlibrary.org"


@pytest.fixture
def user(db):
    return make_user()


@pytest.fixture
def queued(monkeypatch):
    """Capture what would be handed to django-q2 instead of queueing it."""
    calls = []
    monkeypatch.setattr("integrations.sync.enqueue_many",
                        lambda func, batch: calls.extend((func, *args) for args, _ in batch))
    return calls


def sandbox_connection(user, sandbox, oauth_tokens):
    return make_connection(user, "sandbox", external_id="demo-listener",
                           access_token=oauth_tokens["access_token"],
                           refresh_token=oauth_tokens["refresh_token"])


@pytest.fixture
def sandbox_tokens(sandbox, client):
    """Real tokens from the sandbox's token endpoint (through the bridge)."""
    from tests.integrations.sandbox.conftest import OAuthDriver

    return OAuthDriver(client).tokens("demo-listener")


def run_now(connection, trigger=SyncRun.Trigger.MANUAL, *, full=False):
    run = sync_request(connection=connection, trigger=trigger, full=full)
    assert run is not None
    return sync_execute(run_id=run.pk)


def grant(user, purpose="matching", provider=""):
    consent_set(user=user, purpose=purpose, granted=True, provider=provider)


def test_no_consent_means_no_http_call_and_skipped_streams(user, sandbox, sandbox_tokens, queued):
    connection = sandbox_connection(user, sandbox, sandbox_tokens)
    sandbox.calls.clear()
    run = run_now(connection)
    assert run.status == SyncRun.Status.SKIPPED
    assert {s["reason"] for s in run.streams.values()} == {SKIP_NO_CONSENT}
    assert sandbox.calls == []
    assert not ExternalItem.objects.exists()


def test_full_sync_follows_pages_and_counts(user, sandbox, sandbox_tokens, queued):
    sandbox.knobs(track_count=120, artist_count=30)
    connection = sandbox_connection(user, sandbox, sandbox_tokens)
    grant(user)
    run = run_now(connection)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert (run.pages, run.fetched, run.created, run.updated, run.unchanged) == (3 + 1, 150, 150,
                                                                                0, 0)
    assert ExternalItem.objects.filter(connection=connection, kind="track").count() == 120
    assert ExternalItem.objects.filter(connection=connection, kind="artist").count() == 30
    assert UserInterest.objects.filter(user=user).count() > 0
    assert max(UserInterest.objects.values_list("weight", flat=True)) == 1.0
    assert StreamState.objects.filter(connection=connection).count() == 2
    connection.refresh_from_db()
    assert connection.last_sync_status == SyncRun.Status.SUCCEEDED
    assert connection.last_success_at is not None and connection.sync_claimed_at is None
    assert connection.next_sync_at > timezone.now()


def test_second_identical_sync_writes_no_item_or_interest_rows(user, sandbox, sandbox_tokens,
                                                               queued):
    sandbox.knobs(track_count=60, artist_count=10)
    connection = sandbox_connection(user, sandbox, sandbox_tokens)
    grant(user)
    run_now(connection)
    before_items = list(ExternalItem.objects.values_list("pk", "last_seen_at").order_by("pk"))
    before_interests = list(UserInterest.objects.values_list("pk", "updated_at").order_by("pk"))
    run = run_now(connection, full=True)
    assert (run.created, run.updated, run.unchanged, run.deleted) == (0, 0, 70, 0)
    assert list(ExternalItem.objects.values_list("pk", "last_seen_at").order_by("pk")) == (
        before_items)
    assert list(UserInterest.objects.values_list("pk", "updated_at").order_by("pk")) == (
        before_interests)


def test_items_gone_after_a_full_sync_are_soft_deleted(user, sandbox, sandbox_tokens, queued):
    sandbox.knobs(track_count=60, artist_count=5)
    connection = sandbox_connection(user, sandbox, sandbox_tokens)
    grant(user)
    run_now(connection)
    sandbox.knobs(track_count=50)
    run = run_now(connection, full=True)
    assert run.deleted == 10
    assert ExternalItem.objects.filter(kind="track", deleted_at__isnull=False).count() == 10


def test_failed_run_never_deletes(user, sandbox, sandbox_tokens, queued, no_sleep):
    sandbox.knobs(track_count=60, artist_count=5)
    connection = sandbox_connection(user, sandbox, sandbox_tokens)
    grant(user)
    run_now(connection)
    sandbox.knobs(track_count=10, error_rate=1.0)
    run = run_now(connection, full=True)
    assert run.status == SyncRun.Status.FAILED
    assert run.error_code == "provider_unavailable"
    assert ExternalItem.objects.filter(deleted_at__isnull=False).count() == 0
    connection.refresh_from_db()
    assert connection.consecutive_failures == 1 and connection.last_error
    assert connection.status == Connection.Status.ACTIVE  # try later, not reconnect


def test_withdrawn_consent_skips_streams_that_served_only_that_purpose(user, sandbox,
                                                                       sandbox_tokens, queued):
    connection = sandbox_connection(user, sandbox, sandbox_tokens)
    grant(user, "matching")
    grant(user, "community_recommendation")
    consent_set(user=user, purpose="matching", granted=False)
    run = run_now(connection)
    # tracks serve both purposes; top artists serve matching only
    assert run.streams["tracks"]["status"] == "succeeded"
    assert run.streams["top_artists"] == {"status": "skipped", "reason": SKIP_NO_CONSENT}
    assert not any("/top-artists" in path for path in sandbox.paths())


def test_duplicate_queueing_is_prevented(user, queued, django_capture_on_commit_callbacks):
    connection = make_connection(user, "sandbox")
    with django_capture_on_commit_callbacks(execute=True):
        first = sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL)
        second = sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL)
    assert first is not None and second is None
    assert SyncRun.objects.count() == 1
    assert queued == [("integrations.tasks.sync_run_task", first.pk)]


@pytest.mark.parametrize(
    ("fields", "why"),
    [({"sync_enabled": False}, "sync off"),
     ({"status": Connection.Status.NEEDS_REAUTH}, "needs reconnecting"),
     ({"status": Connection.Status.DISABLED}, "disabled")],
    ids=["sync-off", "needs-reauth", "disabled"],
)
def test_sync_request_refuses_a_connection_that_may_not_sync(
    user, queued, django_capture_on_commit_callbacks, fields, why
):
    connection = make_connection(user, "sandbox")
    # Only the row changes: a caller holding a stale object must not queue a run either.
    Connection.objects.filter(pk=connection.pk).update(**fields)
    with django_capture_on_commit_callbacks(execute=True):
        run = sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL)
    assert run is None, why
    assert not SyncRun.objects.exists() and queued == []
    connection.refresh_from_db()
    assert connection.sync_claimed_at is None  # no claim left behind to block a later run


def test_sync_request_queues_again_once_sync_is_turned_back_on(user, queued):
    connection = make_connection(user, "sandbox")
    Connection.objects.filter(pk=connection.pk).update(sync_enabled=False)
    assert sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL) is None
    Connection.objects.filter(pk=connection.pk).update(sync_enabled=True)
    assert sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL) is not None


def test_a_run_delivered_twice_executes_once(user, sandbox, sandbox_tokens, queued):
    connection = sandbox_connection(user, sandbox, sandbox_tokens)
    grant(user)
    run = sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL)
    sync_execute(run_id=run.pk)
    calls = len(sandbox.calls)
    again = sync_execute(run_id=run.pk)
    assert again.status == SyncRun.Status.SUCCEEDED and len(sandbox.calls) == calls


def test_dispatcher_queues_due_connections_once(user, queued, django_capture_on_commit_callbacks):
    due = make_connection(user, "sandbox")
    other = make_user("bob@example.com")
    not_due = make_connection(other, "sandbox")
    Connection.objects.filter(pk=not_due.pk).update(
        next_sync_at=timezone.now() + timezone.timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert sync_dispatch_due() == 1
        assert sync_dispatch_due() == 0  # already claimed
    assert SyncRun.objects.get().connection_id == due.pk
    assert len(queued) == 1


def test_stale_claim_is_requeued_and_the_lost_run_closed(user, queued):
    connection = make_connection(user, "sandbox")
    lost = sync_request(connection=connection, trigger=SyncRun.Trigger.SCHEDULE)
    Connection.objects.filter(pk=connection.pk).update(
        sync_claimed_at=timezone.now() - timezone.timedelta(hours=2))
    fresh = sync_request(connection=connection, trigger=SyncRun.Trigger.SCHEDULE)
    assert fresh is not None
    lost.refresh_from_db()
    assert (lost.status, lost.error_code) == (SyncRun.Status.FAILED, "lost")


def test_revoked_token_mid_life_means_needs_reauth_and_data_kept(user, sandbox, sandbox_tokens,
                                                                 queued):
    connection = sandbox_connection(user, sandbox, sandbox_tokens)
    grant(user)
    run_now(connection)
    items = ExternalItem.objects.count()
    from integrations.sandbox.models import SandboxGrant

    SandboxGrant.objects.update(revoked=True)
    run = run_now(connection)
    assert (run.status, run.error_code) == (SyncRun.Status.FAILED, "reauth_required")
    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_REAUTH
    assert ExternalItem.objects.count() == items
    # a connection that needs reconnecting is not dispatched again
    assert sync_dispatch_due() == 0


# --- Open Library: the 200-with-error body, malformed JSON, enrichment ----------------------

def reading_log(rsps, username, shelf, entries, status=200):
    rsps.get(f"{OL}/people/{username}/books/{shelf}.json",
             json={"page": 1, "numFound": len(entries), "reading_log_entries": entries},
             status=status)


def entry(n, title):
    return {"work": {"key": f"/works/OL{n}W", "title": title, "author_names": ["A. Author"]}}


def test_openlibrary_sync_enriches_new_items_once(user, mocked_responses, queued):
    connection = make_connection(user, "openlibrary", external_id="reader", access_token="",
                                 refresh_token="", expires_in=None)
    grant(user)
    reading_log(mocked_responses, "reader", "want-to-read", [entry(1, "Dune")])
    reading_log(mocked_responses, "reader", "currently-reading", [])
    reading_log(mocked_responses, "reader", "already-read", [entry(2, "Emma")])
    mocked_responses.get(f"{OL}/works/OL1W.json", json={"subjects": ["Science fiction"]})
    mocked_responses.get(f"{OL}/works/OL2W.json", json={"subjects": ["Romance", "England"]})
    run = run_now(connection)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert ExternalItem.objects.get(external_id="OL2W").attrs["subjects"] == ["Romance", "England"]
    labels = set(UserInterest.objects.values_list("interest__label", flat=True))
    assert labels == {"Science fiction", "Romance", "England"}
    work_calls = lambda: sum("/works/" in c.request.url for c in mocked_responses.calls)  # noqa: E731
    assert work_calls() == 2
    run_now(connection)
    assert work_calls() == 2  # unchanged items are not enriched again


def test_private_reading_log_fails_the_stream_clearly_and_keeps_data(user, mocked_responses,
                                                                     queued):
    connection = make_connection(user, "openlibrary", external_id="reader", access_token="",
                                 refresh_token="", expires_in=None)
    ExternalItem.objects.create(connection=connection, kind="work", external_id="OL9W",
                                title="Kept", content_hash="h")
    grant(user)
    mocked_responses.get(f"{OL}/people/reader/books/want-to-read.json",
                         json={"error": "Shelf want-to-read not found or not accessible"})
    run = run_now(connection)
    assert run.status == SyncRun.Status.FAILED
    assert "not found or not accessible" in run.error_message
    assert "public" in run.error_message
    assert ExternalItem.objects.filter(external_id="OL9W", deleted_at__isnull=True).exists()


def test_malformed_json_fails_with_a_clear_error(user, mocked_responses, queued):
    connection = make_connection(user, "openlibrary", external_id="reader", access_token="",
                                 refresh_token="", expires_in=None)
    grant(user)
    mocked_responses.get(f"{OL}/people/reader/books/want-to-read.json",
                         body="{not json", content_type="application/json")
    run = run_now(connection)
    assert (run.status, run.error_code) == (SyncRun.Status.FAILED, "bad_provider_data")
    assert "not JSON" in run.error_message


def test_malformed_record_shape_is_a_data_error_not_a_crash(user, mocked_responses, queued):
    connection = make_connection(user, "openlibrary", external_id="reader", access_token="",
                                 refresh_token="", expires_in=None)
    grant(user)
    reading_log(mocked_responses, "reader", "want-to-read", [{"work": "not-an-object"}])
    run = run_now(connection)
    assert run.error_code == "bad_provider_data"
    assert ApiCall.objects.filter(connection=connection).exists()


# --- Spotify: next-URL paging over the real API shape ---------------------------------------

def test_spotify_sync_follows_next_urls_and_skips_unconsented_streams(user, mocked_responses,
                                                                     queued):
    import json
    from pathlib import Path

    fixtures = Path(__file__).resolve().parents[2] / "integrations/providers/spotify/fixtures"
    first = json.loads((fixtures / "top_artists.json").read_text())
    last = json.loads((fixtures / "top_artists_last.json").read_text())
    top = "https://api.spotify.com/v1/me/top/artists"
    from responses import matchers

    mocked_responses.get(top, json=first, match=[matchers.query_param_matcher(
        {"time_range": "medium_term", "limit": "50"})])
    mocked_responses.get(top, json=last, match=[matchers.query_param_matcher(
        {"limit": "2", "offset": "2", "time_range": "medium_term"})])
    connection = make_connection(user, "spotify")
    grant(user, "matching")  # saved tracks serve community recommendations only
    run = run_now(connection)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert (run.pages, run.fetched, run.created) == (2, 3, 3)
    assert run.streams["saved_tracks"]["reason"] == SKIP_NO_CONSENT
    assert not any("/me/tracks" in c.request.url for c in mocked_responses.calls)
    assert set(ExternalItem.objects.values_list("title", flat=True)) == {
        "Radiohead", "David Bowie", "The Beatles"}
    art_rock = UserInterest.objects.filter(interest__slug="music-art-rock")
    assert sorted(art_rock.values_list("purpose", "weight")) == [
        ("community_recommendation", 1.0), ("matching", 1.0)]


# --- incremental passes: cursor, ETag, fallback ---------------------------------------------

def test_incremental_sync_fetches_only_changes_then_gets_a_304(user, sandbox, sandbox_tokens,
                                                               queued):
    sandbox.knobs(track_count=100, artist_count=5)
    connection = sandbox_connection(user, sandbox, sandbox_tokens)
    grant(user)
    first = run_now(connection)
    assert first.streams["tracks"]["mode"] == "full" and first.created == 105

    sandbox.knobs(data_revision=1)  # tracks whose number is a multiple of 7 change
    second = run_now(connection)
    tracks = second.streams["tracks"]
    assert tracks["mode"] == "incremental"
    assert (tracks["fetched"], tracks["updated"], tracks["created"]) == (14, 14, 0)
    assert ExternalItem.objects.filter(title__endswith="(rev 1)").count() == 14

    third = run_now(connection)  # asks for changes after the new cursor: none, and an ETag
    assert (third.streams["tracks"]["fetched"], third.streams["tracks"]["pages"]) == (0, 1)
    fourth = run_now(connection)  # the very same question: answered 304 Not Modified
    assert fourth.streams["tracks"]["not_modified"] is True
    assert fourth.streams["tracks"]["pages"] == 0
    assert ExternalItem.objects.count() == 105


def test_rejected_cursor_falls_back_to_a_full_pass(user, sandbox, sandbox_tokens, queued):
    sandbox.knobs(track_count=60, artist_count=5)
    connection = sandbox_connection(user, sandbox, sandbox_tokens)
    grant(user)
    run_now(connection)
    sandbox.knobs(reject_cursors=True, track_count=50)
    run = run_now(connection)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert run.streams["tracks"]["mode"] == "full"
    assert run.streams["tracks"]["fetched"] == 50
    assert run.streams["tracks"]["deleted"] == 10  # a real full pass, so deletions are seen


def test_periodic_full_pass_replaces_incremental_after_the_interval(user, sandbox,
                                                                    sandbox_tokens, queued,
                                                                    settings):
    sandbox.knobs(track_count=60, artist_count=5)
    connection = sandbox_connection(user, sandbox, sandbox_tokens)
    grant(user)
    run_now(connection)
    settings.THINKALIKE_FULL_SYNC_EVERY_HOURS = 0
    run = run_now(connection)
    assert run.streams["tracks"]["mode"] == "full"


# --- dispatching at scale -------------------------------------------------------------------

def make_due(count: int, offset: int = 0) -> list[int]:
    from django.contrib.auth import get_user_model

    User = get_user_model()
    users = User.objects.bulk_create(
        [User(username=f"due{offset + i}", email=f"due{offset + i}@example.com")
         for i in range(count)])
    return [c.pk for c in Connection.objects.bulk_create(
        [Connection(user=u, provider="sandbox", external_account_id=f"x{u.pk}",
                    next_sync_at=timezone.now()) for u in users])]


def dispatch_queries(capture_on_commit, **kwargs) -> tuple[int, int]:
    from django.db import connection as db_connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(db_connection) as ctx, capture_on_commit(execute=True):
        queued = sync_dispatch_due(**kwargs)
    return queued, len(ctx.captured_queries)


def test_dispatcher_queries_do_not_grow_with_the_number_of_connections(
        db, django_capture_on_commit_callbacks):
    counts = {}
    for size in (1, 10, 100):
        make_due(size, offset=size * 1000)
        queued, counts[size] = dispatch_queries(django_capture_on_commit_callbacks)
        assert queued == size
    # select due, claim, close stale runs, insert the runs, read them back, queue them with
    # one bulk insert into django-q2's queue (plus the transaction's savepoints)
    assert counts[1] == counts[10] == counts[100] <= 8, counts
    assert SyncRun.objects.count() == 111
    from django_q.models import OrmQ

    if not settings_redis():
        assert OrmQ.objects.count() == 111


def test_dispatcher_costs_the_same_queries_per_batch(db, django_capture_on_commit_callbacks):
    make_due(1)
    _, one_batch = dispatch_queries(django_capture_on_commit_callbacks)
    make_due(250, offset=5000)
    queued, three_batches = dispatch_queries(django_capture_on_commit_callbacks,
                                             batch_size=100)
    assert queued == 250
    assert three_batches == 3 * one_batch


def settings_redis() -> bool:
    from django.conf import settings

    return bool(settings.REDIS_URL)


def test_a_run_whose_claim_was_taken_over_stops_and_leaves_the_connection_alone(
        user, sandbox, sandbox_tokens, queued, monkeypatch):
    import uuid

    monkeypatch.setattr("integrations.streams.LEASE_RENEW_SECONDS", 0)
    sandbox.knobs(track_count=200, artist_count=5)
    connection = sandbox_connection(user, sandbox, sandbox_tokens)
    grant(user)
    stale = sync_request(connection=connection, trigger=SyncRun.Trigger.SCHEDULE)
    newer = uuid.uuid4()
    Connection.objects.filter(pk=connection.pk).update(sync_claim_token=newer)  # taken over
    run = sync_execute(run_id=stale.pk)
    assert run.error_code == "lease_lost"
    assert ExternalItem.objects.count() == 0  # it stopped before writing anything
    connection.refresh_from_db()
    assert connection.sync_claim_token == newer and connection.sync_claimed_at is not None
    assert connection.last_sync_status == ""  # health is the newer run's to report


def test_the_lease_is_renewed_while_a_run_pages(user, sandbox, sandbox_tokens, queued,
                                                monkeypatch):
    monkeypatch.setattr("integrations.streams.LEASE_RENEW_SECONDS", 0)
    sandbox.knobs(track_count=200, artist_count=5)
    connection = sandbox_connection(user, sandbox, sandbox_tokens)
    grant(user)
    run = sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL)
    old = timezone.now() - timezone.timedelta(minutes=5)
    Connection.objects.filter(pk=connection.pk).update(sync_claimed_at=old)
    renewals = []
    real_update = Connection.objects.filter

    def spy(*args, **kwargs):
        queryset = real_update(*args, **kwargs)
        if "sync_claim_token" in kwargs:
            renewals.append(kwargs["sync_claim_token"])
        return queryset

    monkeypatch.setattr(Connection.objects, "filter", spy)
    done = sync_execute(run_id=run.pk)
    assert done.status == SyncRun.Status.SUCCEEDED
    assert len(renewals) >= 4  # one per page at least, with the run's own token
    assert set(renewals) == {run.claim_token}


def test_an_id_repeated_on_a_later_page_of_a_first_sync_is_not_inserted_twice(
        user, mocked_responses, queued):
    from responses import matchers

    top = "https://api.spotify.com/v1/me/top/artists"

    def artist(i):
        return {"id": f"a{i}", "name": f"Artist {i}", "genres": ["rock"]}

    mocked_responses.get(top, json={"items": [artist(1), artist(2)], "next": top + "?offset=2"},
                         match=[matchers.query_param_matcher({"time_range": "medium_term",
                                                              "limit": "50"})])
    mocked_responses.get(top, json={"items": [artist(2), artist(3)], "next": None},
                         match=[matchers.query_param_matcher({"offset": "2"})])
    connection = make_connection(user, "spotify")
    grant(user)
    run = run_now(connection)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert (run.fetched, run.created, run.unchanged) == (4, 3, 1)
    assert ExternalItem.objects.filter(connection=connection).count() == 3
