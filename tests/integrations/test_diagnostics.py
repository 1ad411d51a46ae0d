"""The staff diagnostics page of a connection (integrations/diagnostics.py and its admin view)."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from integrations.admin import DIAGNOSTICS_LINK
from integrations.models import ApiCall, AuditEvent, Connection, Credential, StreamState, SyncRun
from integrations.providers.sandbox.provider import SandboxProvider
from integrations.redaction import REDACTED

pytestmark = pytest.mark.django_db

ACCESS_TOKEN = "AT-diag-secret-0001"
REFRESH_TOKEN = "RT-diag-secret-0002"
API_KEY = "SK-diag-secret-0003"  # held in the credential's secret JSON
CLIENT_SECRET = "CS-diag-config-0004"  # only in config, under a default redact key
SHELF_TOKEN = "ST-diag-cursor-0005"  # only in a cursor, under a provider-declared key
SECRETS = (ACCESS_TOKEN, REFRESH_TOKEN, API_KEY, CLIENT_SECRET, SHELF_TOKEN)
BASE = "https://api.example.test"


def diagnostics_url(connection: Connection) -> str:
    return reverse("admin:integrations_connection_diagnostics", args=[connection.pk])


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user(
        username="alice", email="alice@example.com", password="pw")


def make_connection(user, provider="sandbox") -> Connection:
    connection = Connection.objects.create(
        user=user, provider=provider, external_account_id="acct-1", account_label="Alice",
        scopes=["library.read"], last_error="Sandbox said no",
        config={"base_url": BASE, "client_secret": CLIENT_SECRET,
                "headers": [{"name": "X-Key", "Password": CLIENT_SECRET}]},
        stream_settings={"tracks": True, "top_artists": False},
    )
    Credential.objects.create(
        connection=connection, access_token=ACCESS_TOKEN, refresh_token=REFRESH_TOKEN,
        secret=json.dumps({"api_key": API_KEY}), token_type="Bearer", fingerprint="beef",
        expires_at=timezone.now() + timedelta(hours=1), refreshed_at=timezone.now(),
        refresh_generation=7,
    )
    # A checkpoint holds the whole next request: its URL and params may carry secrets.
    StreamState.objects.create(connection=connection, stream="tracks", cursor={
        "next": {"url": f"{BASE}/tracks?page=3&api_key={API_KEY}",
                 "params": {"key": API_KEY, "shelf_token": SHELF_TOKEN},
                 "headers": {"Authorization": f"Bearer {ACCESS_TOKEN}"}},
    })
    SyncRun.objects.create(connection=connection, trigger=SyncRun.Trigger.MANUAL,
                           status=SyncRun.Status.FAILED, error_code="try_later",
                           error_message="Sandbox answered HTTP 503")
    # A bot token travels in the path; the row should not hold it, but if it did...
    ApiCall.objects.create(connection=connection, provider=provider, method="GET",
                           host="api.example.test", path=f"/bot{ACCESS_TOKEN}/getUpdates",
                           status_code=502, duration_ms=120, retries=2, error="bad gateway")
    AuditEvent.objects.create(user=user, provider=provider, connection_ref=connection.pk,
                              action=AuditEvent.Action.CONNECTED, actor="alice")
    return connection


@pytest.fixture
def shelf_token_declared(monkeypatch):
    monkeypatch.setattr(SandboxProvider, "redact_keys",
                        SandboxProvider.redact_keys | {"shelf_token"})


def test_staff_see_configuration_tokens_metadata_and_recent_activity(
    admin_client, alice, shelf_token_declared
):
    connection = make_connection(alice)

    response = admin_client.get(diagnostics_url(connection))

    assert response.status_code == 200
    html = response.content.decode()
    for shown in ("sandbox", "Sandbox", "oauth2", "library.read", BASE, "Sandbox said no",
                  "beef", "Bearer", "top_artists", "tracks", "page=3",
                  "Sandbox answered HTTP 503", "api.example.test", "/getUpdates", "bad gateway",
                  "alice"):
        assert shown in html, shown
    generation = response.context["diag"].token
    assert (generation.refresh_generation, generation.has_refresh_token) == (7, True)


def test_no_secret_reaches_the_page(admin_client, alice, shelf_token_declared):
    connection = make_connection(alice)

    html = admin_client.get(diagnostics_url(connection)).content.decode()

    for secret in SECRETS:
        assert secret not in html, secret
    assert REDACTED in html


def test_a_provider_key_not_declared_is_left_alone(admin_client, alice):
    """The provider's declaration is what is applied (the fixture above is not a no-op)."""
    connection = make_connection(alice)
    html = admin_client.get(diagnostics_url(connection)).content.decode()
    assert SHELF_TOKEN in html
    assert all(secret not in html for secret in SECRETS if secret != SHELF_TOKEN)


def test_a_retired_providers_connection_still_renders(admin_client, alice):
    connection = make_connection(alice, provider="lastfm")

    response = admin_client.get(diagnostics_url(connection))

    assert response.status_code == 200
    html = response.content.decode()
    assert "no longer installed here" in html
    for secret in (ACCESS_TOKEN, REFRESH_TOKEN, API_KEY, CLIENT_SECRET):
        assert secret not in html, secret


def test_linked_from_the_change_page_and_the_list(admin_client, alice):
    connection = make_connection(alice)
    url = diagnostics_url(connection)
    change = admin_client.get(reverse("admin:integrations_connection_change",
                                      args=[connection.pk]))
    listing = admin_client.get(reverse("admin:integrations_connection_changelist"))
    assert f'href="{url}">{DIAGNOSTICS_LINK}<' in change.content.decode()
    assert f'href="{url}">{DIAGNOSTICS_LINK}<' in listing.content.decode()


def test_people_who_are_not_staff_are_sent_to_the_login_page(client, alice):
    connection = make_connection(alice)
    client.force_login(alice)

    response = client.get(diagnostics_url(connection))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_staff_without_the_view_permission_are_refused(client, django_user_model, alice):
    connection = make_connection(alice)
    staff = django_user_model.objects.create_user(username="s", email="s@example.com",
                                                  is_staff=True)
    client.force_login(staff)
    assert client.get(diagnostics_url(connection)).status_code == 403

    staff.user_permissions.add(Permission.objects.get(codename="view_connection"))
    assert client.get(diagnostics_url(connection)).status_code == 200


def test_an_unknown_connection_is_404(admin_client):
    response = admin_client.get(reverse("admin:integrations_connection_diagnostics", args=[999]))
    assert response.status_code == 404


def test_an_unreadable_credential_renders_as_unreadable(admin_client, alice):
    from tests.integrations.test_credentials import encrypt_with_unrelated_key

    connection = make_connection(alice)
    encrypt_with_unrelated_key(connection)

    response = admin_client.get(diagnostics_url(connection))

    assert response.status_code == 200
    token = response.context["diag"].token
    assert token.readable is False and token.fingerprint == "beef"
    html = response.content.decode()
    assert "AT-theirs" not in html and "RT-theirs" not in html
    assert CLIENT_SECRET not in html  # key redaction needs no readable secret


def test_a_custom_api_shows_the_base_url_the_person_gave(admin_client, alice):
    connection = make_connection(alice, provider="custom_api")
    connection.config = {"base_url": "https://api.example-custom.test/v2/", "auth_kind": "bearer"}
    connection.save()

    html = admin_client.get(diagnostics_url(connection)).content.decode()

    assert ('<th scope="row">API base URL</th><td>https://api.example-custom.test/v2/</td>'
            in html)


@pytest.mark.parametrize(("slug", "key"), [("stripe", "token"), ("telegram", "bot_token"),
                                           ("custom_api", "api_key")])
def test_every_secret_field_of_a_providers_form_is_redacted(admin_client, alice, slug, key):
    connection = make_connection(alice, provider=slug)
    value = f"held-under-{key}-0123456789"
    connection.config = {key: value}
    connection.save()
    StreamState.objects.create(connection=connection, stream="any", cursor={"params": {key: value}})

    html = admin_client.get(diagnostics_url(connection)).content.decode()

    assert value not in html
