"""The data API's features for robust sync: ETags, the enforced rate limit, data revisions,
expired cursors, broken pages and revocation mid-run."""

import json
import time

import pytest
import requests
from django.conf import settings

from integrations.sandbox import data
from integrations.sandbox.api import MALFORMED_BODY
from integrations.sandbox.models import SandboxKnobs, SandboxRequest
from integrations.sandbox.services import max_requests_in_any_window

pytestmark = pytest.mark.django_db


@pytest.fixture
def access_token(oauth):
    return oauth.tokens()["access_token"]


@pytest.fixture
def clock(monkeypatch):
    """The rate limit's clock, moved by hand."""

    class Clock:
        now = 1_800_000_000.25

        def __call__(self):
            return self.now

    fake = Clock()
    monkeypatch.setattr("integrations.sandbox.services.time.time", fake)
    return fake


def set_knobs(**changes):
    SandboxKnobs.objects.update_or_create(pk=1, defaults=changes)


def get(oauth, path, token, *, etag=None, **params):
    extra = {"HTTP_IF_NONE_MATCH": etag} if etag else {}
    return oauth.client.get(f"/sandbox/api/v1/{path}", params,
                            HTTP_AUTHORIZATION=f"Bearer {token}", **extra)


# --- ETag / If-None-Match -------------------------------------------------------------------

@pytest.mark.parametrize("path", ["me/tracks", "me/top-artists"])
def test_matching_if_none_match_is_304_with_an_empty_body(oauth, access_token, path):
    first = get(oauth, path, access_token, limit=10)
    etag = first["ETag"]
    assert first.status_code == 200 and etag.startswith('"') and etag.endswith('"')
    assert get(oauth, path, access_token, limit=10)["ETag"] == etag  # stable
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = get(oauth, path, access_token, etag=header, limit=10)
        assert again.status_code == 304, header
        assert again.content == b"" and again["ETag"] == etag
    assert get(oauth, path, access_token, etag='"stale"', limit=10).status_code == 200


def test_etag_follows_what_determines_the_page(oauth, access_token):
    def etag(**params):
        return get(oauth, "me/tracks", access_token, **params)["ETag"]

    base = etag(limit=10)
    assert etag(limit=10, offset=10) != base
    assert etag(limit=20) != base
    assert etag(limit=10, updated_since="2026-01-02T00:00:00Z") != base
    set_knobs(data_revision=1)
    assert etag(limit=10) != base
    set_knobs(data_revision=0, track_count=121)
    assert etag(limit=10) != base
    set_knobs(track_count=120)
    assert etag(limit=10) == base
    other = oauth.tokens("someone-else")["access_token"]
    assert get(oauth, "me/tracks", other, limit=10)["ETag"] != base


def test_304_still_needs_a_live_token(oauth, access_token):
    etag = get(oauth, "me/tracks", access_token)["ETag"]
    assert get(oauth, "me/tracks", "sbx_at_nope", etag=etag).status_code == 401


def test_a_304_does_not_count_against_the_rate_limit(oauth, access_token, clock):
    set_knobs(rate_limit_requests=2, rate_limit_window_seconds=60)
    first = get(oauth, "me/tracks", access_token)
    assert first["X-RateLimit-Remaining"] == "1"
    for _ in range(5):
        not_modified = get(oauth, "me/tracks", access_token, etag=first["ETag"])
        assert not_modified.status_code == 304
        assert not_modified["X-RateLimit-Remaining"] == "1"
    assert get(oauth, "me/tracks", access_token).status_code == 200
    assert get(oauth, "me/tracks", access_token).status_code == 429
    logged = SandboxRequest.objects.order_by("at", "pk")
    assert [(r.status, r.counted) for r in logged] == (
        [(200, True)] + [(304, False)] * 5 + [(200, True), (429, False)]
    )


# --- Enforced rate limit --------------------------------------------------------------------

def test_rate_limit_refuses_with_retry_after_and_rate_headers(oauth, access_token, clock):
    set_knobs(rate_limit_requests=3, rate_limit_window_seconds=2.0)
    started = clock.now
    answers = []
    for _ in range(3):
        answers.append(get(oauth, "me", access_token))
        clock.now += 0.1
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0"]
    assert {a["X-RateLimit-Limit"] for a in answers} == {"3"}
    assert answers[0]["X-RateLimit-Reset"] == f"{started + 2.0:.3f}"  # when the first slot frees

    refused = get(oauth, "me/tracks", access_token)  # 0.3 s after the first of the window
    assert refused.status_code == 429
    assert refused.json() == {"error": "rate_limited"}
    assert refused["Retry-After"] == "2"  # the first slot frees 1.7 s from now, rounded up
    assert refused["X-RateLimit-Remaining"] == "0"
    assert refused["X-RateLimit-Reset"] == f"{started + 2.0:.3f}"

    clock.now = started + 2.0  # the first request has left [now - 2 s, now)
    assert get(oauth, "me", access_token).status_code == 200
    assert get(oauth, "me", access_token).status_code == 429
    assert max_requests_in_any_window(2.0) == 3


def test_retry_after_is_at_least_one_second(oauth, access_token, clock):
    set_knobs(rate_limit_requests=1, rate_limit_window_seconds=0.5)
    assert get(oauth, "me", access_token).status_code == 200
    clock.now += 0.4
    assert get(oauth, "me", access_token)["Retry-After"] == "1"


def test_every_token_of_the_client_shares_the_limit(oauth, clock):
    ana, bo = oauth.tokens("ana")["access_token"], oauth.tokens("bo")["access_token"]
    set_knobs(rate_limit_requests=2, rate_limit_window_seconds=10)
    assert get(oauth, "me", ana).status_code == 200
    assert get(oauth, "me", bo).status_code == 200
    assert get(oauth, "me", ana).status_code == 429
    assert get(oauth, "me", bo).status_code == 429


def test_the_rate_limit_comes_before_authentication(oauth, clock):
    set_knobs(rate_limit_requests=1, rate_limit_window_seconds=10)
    assert get(oauth, "me", "sbx_at_nope").status_code == 401
    refused = get(oauth, "me", "sbx_at_nope")
    assert refused.status_code == 429 and refused["X-RateLimit-Remaining"] == "0"


def test_a_burst_never_exceeds_the_limit(sandbox, oauth, access_token, clock):
    """A second of traffic through requests and the bridge, one request every 40 ms of the
    limiter's clock: exact, however long each request really takes."""
    set_knobs(rate_limit_requests=5, rate_limit_window_seconds=0.3)
    url = f"{settings.THINKALIKE_SANDBOX_URL}/api/v1/me/tracks"
    statuses = []
    for _ in range(25):
        response = requests.get(url, params={"limit": 5},
                                headers={"Authorization": f"Bearer {access_token}"}, timeout=5)
        statuses.append(response.status_code)
        assert response.headers["X-RateLimit-Limit"] == "5"
        if response.status_code == 429:
            assert int(response.headers["Retry-After"]) >= 1
        clock.now += 0.04
    assert set(statuses) == {200, 429}
    assert statuses.count(200) >= 10  # the window slid at least twice
    assert max_requests_in_any_window(0.3) == 5
    assert SandboxRequest.objects.filter(counted=True).count() == statuses.count(200)


def test_requests_are_logged_only_when_asked(oauth, access_token):
    get(oauth, "me", access_token)
    assert not SandboxRequest.objects.exists()
    set_knobs(log_requests=True)
    response = get(oauth, "me/tracks", access_token)
    assert "X-RateLimit-Limit" not in response  # the limit is still off
    logged = SandboxRequest.objects.get()
    assert (logged.account, logged.path, logged.status, logged.counted) == (
        "demo-listener", "/sandbox/api/v1/me/tracks", 200, True
    )
    assert logged.client_id == settings.THINKALIKE_SANDBOX_CLIENT_ID
    assert abs(logged.at - time.time()) < 60


# --- Data revisions and cursors -------------------------------------------------------------

def all_tracks(oauth, token, **params) -> list[dict]:
    items, url = [], "/sandbox/api/v1/me/tracks"
    response = oauth.client.get(url, {"limit": 100, **params},
                                HTTP_AUTHORIZATION=f"Bearer {token}")
    while True:
        body = response.json()
        items += body["items"]
        if not body["next"]:
            return items
        response = oauth.client.get(body["next"], HTTP_AUTHORIZATION=f"Bearer {token}")


def test_a_revision_changes_exactly_the_multiples_of_seven(oauth, access_token):
    before = all_tracks(oauth, access_token)
    cursor = max(track["updated_at"] for track in before)
    set_knobs(data_revision=1)
    after = all_tracks(oauth, access_token)
    changed = [b["id"] for a, b in zip(before, after, strict=True) if a != b]
    assert changed == [f"trk_{n:05d}" for n in range(7, 121, 7)]
    assert all(t["title"].endswith(" (rev 1)") and t["updated_at"] > cursor
               for t in after if t["id"] in changed)

    incremental = all_tracks(oauth, access_token, updated_since=cursor)
    assert [t["id"] for t in incremental] == changed
    assert incremental == [t for t in after if t["id"] in changed]

    cursor = max(t["updated_at"] for t in incremental)
    assert all_tracks(oauth, access_token, updated_since=cursor) == []  # nothing new
    set_knobs(data_revision=2)
    again = all_tracks(oauth, access_token, updated_since=cursor)
    assert [t["id"] for t in again] == changed
    assert all(t["title"].endswith(" (rev 2)") for t in again)


def test_reject_cursors_is_410_for_any_updated_since(oauth, access_token):
    set_knobs(reject_cursors=True)
    for since in ("2026-01-02T00:00:00Z", "not even a date"):
        response = get(oauth, "me/tracks", access_token, updated_since=since)
        assert response.status_code == 410
        assert response.json() == {"error": "cursor_expired"}
    assert get(oauth, "me/tracks", access_token).status_code == 200  # a full sync still works


# --- Broken pages ---------------------------------------------------------------------------

def test_malformed_page_is_invalid_json(oauth, access_token):
    set_knobs(malformed_page=2)
    assert get(oauth, "me/tracks", access_token, limit=50).json()["total"] == 120
    broken = get(oauth, "me/tracks", access_token, limit=50, offset=50)
    assert broken.status_code == 200 and broken["Content-Type"] == "application/json"
    assert broken.content == MALFORMED_BODY and "ETag" not in broken
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken.content)
    assert get(oauth, "me/tracks", access_token, limit=50, offset=100).status_code == 200
    assert get(oauth, "me/top-artists", access_token, limit=5, offset=5).json()["total"] == 30


def test_truncated_page_is_the_real_body_cut_in_half(oauth, access_token):
    whole = get(oauth, "me/tracks", access_token, limit=20, offset=40).content
    set_knobs(truncated_page=3)
    broken = get(oauth, "me/tracks", access_token, limit=20, offset=40)
    assert broken.status_code == 200 and broken["Content-Type"] == "application/json"
    assert broken.content == whole[:len(whole) // 2] and "ETag" not in broken
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken.content)
    assert get(oauth, "me/tracks", access_token, limit=20, offset=20).status_code == 200


# --- Revocation mid-run ---------------------------------------------------------------------

def test_every_grant_is_revoked_after_n_requests(oauth):
    ana, bo = oauth.tokens("ana"), oauth.tokens("bo")
    set_knobs(revoke_after_requests=3)
    assert get(oauth, "me", ana["access_token"]).status_code == 200
    assert get(oauth, "me/tracks", bo["access_token"]).status_code == 200
    assert get(oauth, "me", "sbx_at_nope").status_code == 401  # answered, so counted
    for tokens in (ana, bo):
        assert get(oauth, "me", tokens["access_token"]).status_code == 401
        refresh = oauth.token_request(grant_type="refresh_token",
                                      refresh_token=tokens["refresh_token"])
        assert refresh.json()["error"] == "invalid_grant"
    # One revocation per run: a grant made afterwards keeps working.
    fresh = oauth.tokens("ana")["access_token"]
    assert all(get(oauth, "me", fresh).status_code == 200 for _ in range(4))


def test_saving_the_knobs_restarts_the_count(oauth, access_token, sandbox):
    sandbox.knobs(revoke_after_requests=3)
    for _ in range(2):
        assert get(oauth, "me", access_token).status_code == 200
    sandbox.knobs(revoke_after_requests=3)  # e.g. the knobs page saved again
    for _ in range(3):
        assert get(oauth, "me", access_token).status_code == 200
    assert get(oauth, "me", access_token).status_code == 401


def test_revisions_keep_the_data_module_cheap(monkeypatch):
    from tests.integrations.sandbox.test_data import counting_builds

    built = counting_builds(monkeypatch)
    library = data.tracks("ana", 10_000, revision=3)
    page = library[9_900:10_000]
    assert len(built) == 100  # counted, not timed: the slice builds its own items only
    assert sum(t["title"].endswith(" (rev 3)") for t in page) == len(range(9_905, 10_001, 7))
