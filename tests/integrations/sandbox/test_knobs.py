import pytest

from integrations.sandbox.models import SandboxGrant, SandboxKnobs, SandboxRequest

pytestmark = pytest.mark.django_db

NEW_KNOBS = {
    "rate_limit_requests": 0, "rate_limit_window_seconds": 1.0, "data_revision": 0,
    "malformed_page": 0, "truncated_page": 0, "revoke_after_requests": 0,
}


def test_knobs_page_needs_staff(client, django_user_model, settings):
    settings.THINKALIKE_SANDBOX = True
    assert client.get("/sandbox/knobs/").status_code == 302  # to the login page
    user = django_user_model.objects.create_user("plain", "plain@example.com", "pw")
    client.force_login(user)
    assert client.get("/sandbox/knobs/").status_code == 403


def test_staff_edit_knobs(admin_client, settings):
    settings.THINKALIKE_SANDBOX = True
    assert admin_client.get("/sandbox/knobs/").status_code == 200
    response = admin_client.post("/sandbox/knobs/", {
        "latency_ms": 0, "error_rate": 0.25, "rate_limit_rate": 0.1, "retry_after_seconds": 2,
        "token_lifetime_seconds": 60, "track_count": 10_000, "artist_count": 5,
        **NEW_KNOBS, "rate_limit_requests": 20, "data_revision": 3, "reject_cursors": "on",
    })
    assert response.status_code == 302
    knobs = SandboxKnobs.get()
    assert knobs.error_rate == 0.25 and knobs.track_count == 10_000
    assert knobs.rotate_refresh_tokens is False  # an unticked checkbox
    assert knobs.rate_limit_requests == 20 and knobs.data_revision == 3
    assert knobs.reject_cursors is True and knobs.log_requests is False
    invalid = admin_client.post("/sandbox/knobs/", {
        "latency_ms": 0, "error_rate": 2, "rate_limit_rate": 0, "retry_after_seconds": 1,
        "token_lifetime_seconds": 60, "track_count": 1, "artist_count": 1, **NEW_KNOBS,
    })
    assert invalid.status_code == 200
    assert SandboxKnobs.get().error_rate == 0.25


def test_revoke_every_token(admin_client, oauth):
    first, second = oauth.tokens("ana"), oauth.tokens("bo")
    response = admin_client.post("/sandbox/knobs/revoke-all/")
    assert response.status_code == 302
    assert SandboxGrant.objects.filter(revoked=False).count() == 0
    for tokens in (first, second):
        assert oauth.api("me", tokens["access_token"]).status_code == 401


def test_knobs_page_shows_the_new_knobs(admin_client, settings):
    settings.THINKALIKE_SANDBOX = True
    page = admin_client.get("/sandbox/knobs/").content.decode()
    for name in NEW_KNOBS | {"log_requests": 0, "reject_cursors": 0}:
        assert f'name="{name}"' in page
    assert "Clear request log" in page


def test_clear_request_log(admin_client, settings):
    settings.THINKALIKE_SANDBOX = True
    SandboxRequest.objects.create(at=1.0, path="/x", status=200, counted=True)
    response = admin_client.post("/sandbox/knobs/clear-request-log/")
    assert response.status_code == 302
    assert not SandboxRequest.objects.exists()
