import pytest

from integrations.sandbox.models import SandboxGrant, SandboxKnobs

pytestmark = pytest.mark.django_db


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
    })
    assert response.status_code == 302
    knobs = SandboxKnobs.get()
    assert knobs.error_rate == 0.25 and knobs.track_count == 10_000
    assert knobs.rotate_refresh_tokens is False  # an unticked checkbox
    invalid = admin_client.post("/sandbox/knobs/", {
        "latency_ms": 0, "error_rate": 2, "rate_limit_rate": 0, "retry_after_seconds": 1,
        "token_lifetime_seconds": 60, "track_count": 1, "artist_count": 1,
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
