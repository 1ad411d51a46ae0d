import random

import pytest

from integrations.sandbox.models import SandboxKnobs

pytestmark = pytest.mark.django_db


@pytest.fixture
def access_token(oauth):
    return oauth.tokens()["access_token"]


def set_knobs(**changes):
    SandboxKnobs.objects.update_or_create(pk=1, defaults=changes)


@pytest.mark.parametrize("authorization", [None, "Bearer sbx_at_nope", "Basic abc", "Bearer "])
def test_missing_or_unknown_token_is_401(client, settings, authorization):
    settings.THINKALIKE_SANDBOX = True
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = client.get("/sandbox/api/v1/me/tracks", **extra)
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_token"}
    assert response["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_paging_follows_next_to_the_end(oauth, access_token):
    set_knobs(track_count=123)
    seen, url, pages = [], "/sandbox/api/v1/me/tracks?limit=50", 0
    while url:
        response = oauth.client.get(url, HTTP_AUTHORIZATION=f"Bearer {access_token}")
        assert response.status_code == 200
        body = response.json()
        assert body["total"] == 123
        seen += [item["id"] for item in body["items"]]
        url, pages = body["next"], pages + 1
        if url:
            assert url.startswith("http://testserver/sandbox/api/v1/me/tracks?")
    assert pages == 3
    assert seen == [f"trk_{n:05d}" for n in range(1, 124)]


def test_items_have_the_promised_shape(oauth, access_token):
    track = oauth.api("me/tracks", access_token, limit=1).json()["items"][0]
    assert set(track) == {"id", "title", "artist", "genres", "updated_at"}
    assert 1 <= len(track["genres"]) <= 3
    assert track["updated_at"] == "2026-01-01T01:00:00Z"
    artists = oauth.api("me/top-artists", access_token, limit=100).json()
    assert artists["total"] == 30 and artists["next"] is None
    assert set(artists["items"][0]) == {"id", "name", "genres"}
    assert [a["id"] for a in artists["items"]] == [f"art_{n:05d}" for n in range(1, 31)]


def test_updated_since_keeps_only_later_items(oauth, access_token):
    since = "2026-01-05T00:00:00Z"
    body = oauth.api("me/tracks", access_token, updated_since=since, limit=10).json()
    # 120 tracks, track n updated at base + n hours; 96 hours = 4 days are not later.
    assert body["total"] == 120 - 96
    assert body["items"][0]["id"] == "trk_00097"
    assert all(item["updated_at"] > since for item in body["items"])
    assert "updated_since=2026-01-05T00%3A00%3A00Z" in body["next"]
    after_the_end = oauth.api("me/tracks", access_token, updated_since="2027-01-01T00:00:00+00:00")
    assert after_the_end.json()["total"] == 0


@pytest.mark.parametrize("params", [
    {"updated_since": "yesterday"}, {"updated_since": "2026-13-01T00:00:00Z"},
    {"limit": "0"}, {"limit": "101"}, {"limit": "x"}, {"offset": "-1"},
])
def test_bad_parameters_are_400(oauth, access_token, params):
    response = oauth.api("me/tracks", access_token, **params)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_rate_limit_knob_returns_retry_after(oauth, access_token):
    set_knobs(rate_limit_rate=1.0, retry_after_seconds=7)
    response = oauth.api("me/tracks", access_token)
    assert response.status_code == 429
    assert response["Retry-After"] == "7"
    assert response.json() == {"error": "rate_limited"}


def test_error_knob_returns_503(oauth, access_token):
    set_knobs(error_rate=1.0)
    assert oauth.api("me/top-artists", access_token).status_code == 503
    # OAuth endpoints are not subject to faults.
    assert oauth.tokens()["access_token"]


def test_fault_rates_use_random_random(oauth, access_token, monkeypatch):
    set_knobs(error_rate=0.5)
    monkeypatch.setattr(random, "random", lambda: 0.7)
    assert oauth.api("me", access_token).status_code == 200
    monkeypatch.setattr(random, "random", lambda: 0.2)
    assert oauth.api("me", access_token).status_code == 503


def test_latency_knob_sleeps(oauth, access_token, monkeypatch):
    slept = []
    monkeypatch.setattr("integrations.sandbox.api.time.sleep", slept.append)
    set_knobs(latency_ms=250)
    assert oauth.api("me", access_token).status_code == 200
    assert slept == [0.25]


@pytest.mark.parametrize("path", [
    "/sandbox/oauth/authorize", "/sandbox/api/v1/me", "/sandbox/api/v1/me/tracks",
    "/sandbox/knobs/",
])
def test_sandbox_off_is_404(client, settings, path):
    settings.THINKALIKE_SANDBOX = False
    assert client.get(path).status_code == 404
    assert client.post("/sandbox/oauth/token", {"grant_type": "x"}).status_code == 404


def test_missing_scope_is_403(oauth):
    verifier = "v" * 50
    token = oauth.exchange(oauth.code(verifier=verifier, scope="profile.read"), verifier).json()
    assert oauth.api("me", token["access_token"]).status_code == 200
    response = oauth.api("me/tracks", token["access_token"])
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
