"""integrations/sync.py and streams.py: consent is asked again between pages and streams.

Consent is withdrawn from inside the sandbox's answer to the first page (a ``responses``
callback), so the withdrawal lands exactly between page 1 and page 2.
"""

import pytest

from consent.services import consent_set
from integrations.models import ExternalItem, StreamState, SyncRun, UserInterest
from integrations.sync import SKIP_CONSENT_WITHDRAWN, SKIP_NO_CONSENT
from tests.factories import make_user
from tests.integrations.test_sync import grant, run_now, sandbox_connection
from tests.sandbox_bridge import SandboxBridge

TRACKS = "/sandbox/api/v1/me/tracks"
ARTISTS = "/sandbox/api/v1/me/top-artists"


@pytest.fixture
def user(db):
    return make_user()


@pytest.fixture
def sandbox_tokens(sandbox, client):
    from tests.integrations.sandbox.conftest import OAuthDriver

    return OAuthDriver(client).tokens("demo-listener")


@pytest.fixture
def queued(monkeypatch):
    monkeypatch.setattr("integrations.sync.enqueue_many", lambda func, batch: None)


@pytest.fixture
def after_first(monkeypatch):
    """after_first(path, action): run ``action`` once, right after the first answer for ``path``."""
    hooks = {}
    answer = SandboxBridge.__call__

    def answering(bridge, prepared):
        result = answer(bridge, prepared)
        action = hooks.pop(bridge.calls[-1][1], None)
        if action is not None:
            action()
        return result

    monkeypatch.setattr(SandboxBridge, "__call__", answering)
    return hooks.__setitem__


def test_withdrawal_after_page_one_stops_the_stream_and_the_run(user, sandbox, sandbox_tokens,
                                                                queued, after_first):
    sandbox.knobs(track_count=250, artist_count=30)  # five pages of tracks
    connection = sandbox_connection(user, sandbox, sandbox_tokens)
    grant(user, "matching")
    after_first(TRACKS, lambda: consent_set(user=user, purpose="matching", granted=False))
    sandbox.calls.clear()

    run = run_now(connection)

    assert sandbox.paths().count(TRACKS) == 1  # no second page
    assert ARTISTS not in sandbox.paths()  # and no later stream
    assert run.streams["tracks"]["reason"] == SKIP_CONSENT_WITHDRAWN
    assert run.streams["tracks"]["pages"] == 1
    assert run.streams["top_artists"]["reason"] == SKIP_NO_CONSENT
    assert run.status == SyncRun.Status.SKIPPED
    # What the first page stored stays (deleting it is the person's choice), nothing is
    # soft-deleted, and the checkpoint points at page two for a renewed consent.
    assert ExternalItem.objects.filter(kind="track", deleted_at__isnull=True).count() == 50
    checkpoint = StreamState.objects.get(stream="tracks").cursor["checkpoint"]
    assert "offset=50" in checkpoint["request"]["url"]
    assert UserInterest.objects.filter(connection=connection).exists()


def test_a_per_service_withdrawal_counts_too(user, sandbox, sandbox_tokens, queued, after_first):
    sandbox.knobs(track_count=120, artist_count=30)
    connection = sandbox_connection(user, sandbox, sandbox_tokens)
    grant(user, "matching")  # for all services ...
    after_first(TRACKS, lambda: consent_set(user=user, purpose="matching", granted=False,
                                            provider="sandbox"))  # ... then off for this one
    sandbox.calls.clear()

    run = run_now(connection)

    assert sandbox.paths() == [TRACKS]
    assert run.streams["tracks"]["reason"] == SKIP_CONSENT_WITHDRAWN


def test_a_stream_keeps_going_while_one_of_its_purposes_is_allowed(user, sandbox, sandbox_tokens,
                                                                   queued, after_first):
    sandbox.knobs(track_count=120, artist_count=30)
    connection = sandbox_connection(user, sandbox, sandbox_tokens)
    grant(user, "matching")
    grant(user, "community_recommendation")
    # Tracks serve both purposes; top artists serve matching only.
    after_first(TRACKS, lambda: consent_set(user=user, purpose="matching", granted=False))
    sandbox.calls.clear()

    run = run_now(connection)

    assert sandbox.paths().count(TRACKS) == 3
    assert ARTISTS not in sandbox.paths()
    assert run.streams["tracks"]["status"] == "succeeded"
    assert run.streams["top_artists"]["reason"] == SKIP_NO_CONSENT
    assert run.status == SyncRun.Status.SUCCEEDED


def test_withdrawal_during_a_later_stream_stops_it_and_keeps_the_earlier_one(
        user, sandbox, sandbox_tokens, queued, after_first):
    sandbox.knobs(track_count=60, artist_count=120)
    connection = sandbox_connection(user, sandbox, sandbox_tokens)
    grant(user, "matching")
    after_first(ARTISTS, lambda: consent_set(user=user, purpose="matching", granted=False))
    sandbox.calls.clear()

    run = run_now(connection)

    assert sandbox.paths().count(ARTISTS) == 1
    assert run.streams["tracks"]["status"] == "succeeded"
    assert run.streams["top_artists"]["reason"] == SKIP_CONSENT_WITHDRAWN
    assert run.status == SyncRun.Status.SUCCEEDED
    assert ExternalItem.objects.filter(kind="track").count() == 60
    assert ExternalItem.objects.filter(kind="artist").count() == 50


def test_the_issues_case_end_to_end_top_artists_never_shape_community_recommendations(
        user, sandbox, sandbox_tokens, queued):
    from integrations.selectors import interests_for_purpose

    sandbox.knobs(track_count=60, artist_count=30)
    connection = sandbox_connection(user, sandbox, sandbox_tokens)
    grant(user, "community_recommendation")
    run_now(connection)
    community = interests_for_purpose(user=user, purpose="community_recommendation")
    assert community and not ExternalItem.objects.filter(kind="artist").exists()

    grant(user, "matching")  # now top artists are collected too (for matching only)
    run = run_now(connection, full=True)
    assert run.streams["top_artists"]["created"] == 30
    assert interests_for_purpose(user=user, purpose="community_recommendation") == community
    assert interests_for_purpose(user=user, purpose="matching") != community
