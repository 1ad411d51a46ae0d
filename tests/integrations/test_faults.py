"""Fault injection: the sandbox misbehaves, the engine ends in the right outcome and no stored
row is lost or duplicated.

Every scenario syncs the same sandbox account that a clean run synced first; afterwards the
rows must be a subset of the clean run's rows (nothing wrong or duplicated), and once the fault
is gone one more run must leave exactly the clean run's rows.
"""

import random

import pytest

from consent.services import consent_set
from integrations.models import Connection, Credential, ExternalItem, SyncRun
from integrations.sync import sync_execute, sync_request
from tests.factories import make_connection, make_user
from tests.integrations.sandbox.conftest import OAuthDriver

TRACKS, ARTISTS = 300, 30  # 6 + 1 pages of 50


@pytest.fixture(autouse=True)
def _seeded():
    random.seed(20261122)  # the sandbox's faults and the client's jitter both draw from it


@pytest.fixture
def world(db, sandbox, client, monkeypatch):
    monkeypatch.setattr("integrations.sync.enqueue_many", lambda func, batch: None)
    sandbox.knobs(track_count=TRACKS, artist_count=ARTISTS)
    return sandbox, OAuthDriver(client)


def connect(driver, email, *, account="fault-listener"):
    user = make_user(email)
    consent_set(user=user, purpose="matching", granted=True)
    tokens = driver.tokens(account)
    return make_connection(user, "sandbox", external_id=account,
                           access_token=tokens["access_token"],
                           refresh_token=tokens["refresh_token"],
                           expires_in=tokens["expires_in"])


def sync(connection, *, full=False) -> SyncRun:
    Connection.objects.filter(pk=connection.pk).update(sync_claimed_at=None)
    run = sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL, full=full)
    assert run is not None
    return sync_execute(run_id=run.pk)


def rows(connection) -> list[tuple]:
    return sorted(ExternalItem.objects.filter(connection=connection).values_list(
        "kind", "external_id", "content_hash", "deleted_at"))


@pytest.fixture
def clean_rows(world):
    _, driver = world
    reference = connect(driver, "clean@example.com")
    run = sync(reference)
    assert run.status == SyncRun.Status.SUCCEEDED
    expected = rows(reference)
    assert len(expected) == TRACKS + ARTISTS
    return expected


def assert_consistent(connection, clean, *, complete: bool):
    found = rows(connection)
    assert len(found) == len(set((k, e) for k, e, _, _ in found)), "duplicated rows"
    if complete:
        assert found == clean
    else:
        assert set(found) <= set(clean), "rows that a clean run would not have written"


def test_thirty_percent_5xx_still_succeeds(world, clean_rows, no_sleep):
    sandbox, driver = world
    connection = connect(driver, "flaky@example.com")
    sandbox.knobs(error_rate=0.3)
    run = sync(connection)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert len(no_sleep) > 0  # it did back off
    assert_consistent(connection, clean_rows, complete=True)


def test_random_429_with_retry_after_is_waited_out(world, clean_rows, no_sleep):
    sandbox, driver = world
    connection = connect(driver, "limited@example.com")
    sandbox.knobs(rate_limit_rate=0.3, retry_after_seconds=2)
    run = sync(connection)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert 2.0 in no_sleep
    assert_consistent(connection, clean_rows, complete=True)


def test_added_latency_changes_nothing(world, clean_rows):
    sandbox, driver = world
    connection = connect(driver, "slow@example.com")
    sandbox.knobs(latency_ms=15)
    run = sync(connection)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert_consistent(connection, clean_rows, complete=True)


def test_token_expiring_mid_run_is_refreshed(world, clean_rows, settings):
    sandbox, driver = world
    settings.THINKALIKE_REFRESH_MARGIN_SECONDS = 0
    sandbox.knobs(token_lifetime_seconds=1, latency_ms=150)
    connection = connect(driver, "expiring@example.com")
    run = sync(connection)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert ("POST", "/sandbox/oauth/token") in sandbox.calls[-40:]
    assert Credential.objects.get(connection=connection).refreshed_at is not None
    assert_consistent(connection, clean_rows, complete=True)


def test_token_revoked_mid_run_needs_reauth_and_keeps_rows(world, clean_rows):
    sandbox, driver = world
    connection = connect(driver, "revoked@example.com")
    sandbox.knobs(revoke_after_requests=3)
    run = sync(connection)
    assert (run.status, run.error_code) == (SyncRun.Status.FAILED, "reauth_required")
    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_REAUTH
    kept = rows(connection)
    assert 0 < len(kept) < len(clean_rows)
    assert_consistent(connection, clean_rows, complete=False)


@pytest.mark.parametrize("knob", ["malformed_page", "truncated_page"])
def test_broken_page_fails_the_stream_and_the_next_run_resumes(world, clean_rows, knob):
    sandbox, driver = world
    connection = connect(driver, f"{knob}@example.com")
    sandbox.knobs(**{knob: 3})
    run = sync(connection, full=True)
    assert run.status == SyncRun.Status.PARTIAL  # tracks failed on page 3, artists succeeded
    assert run.streams["tracks"]["status"] == "failed"
    assert run.streams["top_artists"]["status"] == "succeeded"
    assert run.deleted == 0
    assert_consistent(connection, clean_rows, complete=False)
    assert ExternalItem.objects.filter(connection=connection, kind="track").count() == 100

    sandbox.knobs(**{knob: 0})
    sandbox.calls.clear()
    again = sync(connection)
    assert again.status == SyncRun.Status.SUCCEEDED
    # resumed from the checkpoint: page 3 onwards, not from the first page again
    track_pages = [p for _, p in sandbox.calls if p.endswith("/me/tracks")]
    assert len(track_pages) == 4
    assert_consistent(connection, clean_rows, complete=True)


def test_a_failed_run_in_the_middle_of_a_full_pass_deletes_nothing(world, clean_rows, no_sleep):
    sandbox, driver = world
    connection = connect(driver, "partial@example.com")
    sync(connection, full=True)
    sandbox.knobs(track_count=120, error_rate=1.0)
    run = sync(connection, full=True)
    assert run.status == SyncRun.Status.FAILED
    assert not ExternalItem.objects.filter(deleted_at__isnull=False).exists()


def test_rate_limit_past_the_cap_ends_the_run_partial_and_the_next_resumes(world, clean_rows,
                                                                           no_sleep):
    sandbox, driver = world
    connection = connect(driver, "capped@example.com")
    sandbox.knobs(rate_limit_requests=3, rate_limit_window_seconds=3600)
    run = sync(connection, full=True)
    assert (run.status, run.error_code) == (SyncRun.Status.PARTIAL, "rate_limited")
    assert run.fetched == 150 and "top_artists" not in run.streams  # it stopped early
    assert no_sleep == []  # an hour's Retry-After is not waited for
    connection.refresh_from_db()
    assert connection.next_sync_at is not None and connection.sync_claimed_at is None

    sandbox.knobs(rate_limit_requests=0)
    sandbox.calls.clear()
    again = sync(connection)
    assert again.status == SyncRun.Status.SUCCEEDED
    assert len([p for _, p in sandbox.calls if p.endswith("/me/tracks")]) == 3  # pages 4-6
    assert_consistent(connection, clean_rows, complete=True)


def test_consecutive_failures_back_off_exponentially_and_never_disable(world, no_sleep):
    from django.utils import timezone

    sandbox, driver = world
    connection = connect(driver, "down@example.com")
    sandbox.knobs(error_rate=1.0)
    delays = []
    for _ in range(4):
        before = timezone.now()
        sync(connection)
        connection.refresh_from_db()
        delays.append(round((connection.next_sync_at - before).total_seconds() / 60))
    assert delays == [5, 10, 20, 40]
    assert connection.consecutive_failures == 4
    assert connection.status == Connection.Status.ACTIVE and connection.sync_enabled
    assert "try again later" in connection.last_error


def test_a_checkpoint_off_the_apis_origin_is_dropped_not_resumed(world, clean_rows,
                                                                mocked_responses):
    """A checkpoint saved before next URLs were checked (or before the API base moved) would
    otherwise fail every run until it expired; the pass starts from its first page instead."""
    from django.utils import timezone

    from integrations.models import StreamState

    _, driver = world
    connection = connect(driver, "moved@example.com")
    foreign = "http://elsewhere.example/sandbox/api/v1/me/tracks?offset=100&limit=50"
    StreamState.objects.create(connection=connection, stream="tracks", cursor={
        "checkpoint": {"mode": "full", "segment": 0,
                       "request": {"url": foreign, "params": {}, "number": 3},
                       "at": timezone.now().isoformat()}})

    run = sync(connection)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert not [c for c in mocked_responses.calls if "elsewhere" in c.request.url]
    assert_consistent(connection, clean_rows, complete=True)
