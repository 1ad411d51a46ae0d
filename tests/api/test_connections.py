"""/api/v1/connections/: connect (credential kinds), read, change settings, test, disconnect."""

import json

import pytest
from django.utils import timezone

from integrations.api.connections import ALREADY_CONNECTED, UNKNOWN_PROVIDER
from integrations.models import AuditEvent, Connection, Credential, ExternalItem
from integrations.providers.contract import fixture
from integrations.providers.registry import PROVIDERS
from integrations.providers.stripe import contract as stripe_contract
from integrations.providers.stripe import errors as stripe_errors
from integrations.providers.telegram import contract as telegram_contract
from tests.factories import make_connection, make_user

from .conftest import error_code
from .queries import queries_of

pytestmark = pytest.mark.django_db

STRIPE_KEY = stripe_contract.KEY
BALANCE = "https://api.stripe.com/v1/balance"
BOT_TOKEN = "987654321:AAH-telegram-SECRET-token-0001xyz"
GET_ME = f"https://api.telegram.org/bot{BOT_TOKEN}/getMe"


def telegram_connection(user, **kwargs):
    return make_connection(user, "telegram", external_id="123456789", access_token="",
                           refresh_token="", expires_in=None,
                           secret=json.dumps({"bot_token": BOT_TOKEN}), **kwargs)


def mock_balance(mocked_responses, status=200):
    body = (fixture(stripe_contract.__file__, "balance") if status == 200
            else {"error": {"message": "Invalid API Key provided",
                            "type": "invalid_request_error"}})
    return mocked_responses.get(BALANCE, json=body, status=status)


# -- connect (credential kinds) ---------------------------------------------------------------

def test_connecting_a_key_tests_it_then_saves_it(api, user, mocked_responses):
    checked = mock_balance(mocked_responses)
    response = api.post("/api/v1/connections/",
                        {"provider": "stripe", "fields": {"token": STRIPE_KEY}})
    assert response.status_code == 201
    data = response.json()
    connection = Connection.objects.get(user=user, provider="stripe")
    assert data["id"] == connection.pk and data["status"] == "connected"
    assert checked.call_count == 1
    assert STRIPE_KEY not in response.content.decode()
    assert json.loads(Credential.objects.get(connection=connection).secret) == {
        "token": STRIPE_KEY}


def test_a_refused_key_is_400_with_the_reason_and_saves_nothing(api, mocked_responses):
    mock_balance(mocked_responses, status=401)
    response = api.post("/api/v1/connections/",
                        {"provider": "stripe", "fields": {"token": STRIPE_KEY}})
    assert response.status_code == 400
    assert error_code(response) == "test_failed"
    assert response.json()["error"]["fields"] == {"non_field_errors": [stripe_errors.INVALID_KEY]}
    assert not Connection.objects.exists()


@pytest.mark.parametrize("fields", [{}, {"token": ""}, {"token": "has spaces in it"}])
def test_bad_fields_are_400_per_field_before_anything_is_sent(api, mocked_responses, fields):
    response = api.post("/api/v1/connections/", {"provider": "stripe", "fields": fields})
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["token"]
    assert len(mocked_responses.calls) == 0
    assert not Connection.objects.exists()


@pytest.mark.parametrize("body", [{"provider": "stripe", "fields": ["token"]},
                                  {"provider": "stripe", "fields": {"token": {"a": 1}}},
                                  {"fields": {}}, {"provider": ""}, "just a string"])
def test_a_malformed_body_is_400(api, body):
    response = api.post("/api/v1/connections/", body, format="json")
    assert response.status_code == 400
    assert error_code(response) == "invalid"


def test_an_unknown_provider_is_400_on_the_provider_field(api):
    response = api.post("/api/v1/connections/", {"provider": "myspace", "fields": {}})
    assert response.status_code == 400
    assert error_code(response) == "unknown_provider"
    assert response.json()["error"]["fields"] == {
        "provider": [UNKNOWN_PROVIDER.format(slug="myspace")]}


def test_a_provider_not_configured_here_is_400(api, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {**settings.SOCIALACCOUNT_PROVIDERS, "spotify": {}}
    response = api.post("/api/v1/connections/", {"provider": "spotify"})
    assert response.status_code == 400
    assert error_code(response) == "provider_unavailable"


def test_connecting_again_while_connected_is_409(api, user, mocked_responses):
    make_connection(user, "stripe")
    response = api.post("/api/v1/connections/",
                        {"provider": "stripe", "fields": {"token": STRIPE_KEY}})
    assert response.status_code == 409
    assert error_code(response) == "already_connected"
    assert response.json()["error"]["message"] == ALREADY_CONNECTED.format(name="Stripe")
    assert len(mocked_responses.calls) == 0


def test_a_connection_that_needs_reauth_is_reconnected_with_200(api, user, mocked_responses):
    old = make_connection(user, "stripe", status=Connection.Status.NEEDS_REAUTH)
    mock_balance(mocked_responses)
    response = api.post("/api/v1/connections/",
                        {"provider": "stripe", "fields": {"token": STRIPE_KEY}})
    assert response.status_code == 200
    assert response.json()["id"] == old.pk and response.json()["status"] == "connected"
    assert AuditEvent.objects.filter(action=AuditEvent.Action.RECONNECTED).count() == 1


def test_connecting_needs_credentials(anon):
    assert anon.post("/api/v1/connections/", {"provider": "stripe"}).status_code == 401


# -- read -------------------------------------------------------------------------------------

def test_a_connection_shows_its_settings_and_never_a_secret(api, user):
    connection = make_connection(user, "sandbox", access_token="AT-SECRET-0001",
                                 refresh_token="RT-SECRET-0001")
    Connection.objects.filter(pk=connection.pk).update(
        stream_settings={"tracks": False}, config={"base_url": "https://x.example"})
    response = api.get(f"/api/v1/connections/{connection.pk}/")
    assert response.status_code == 200
    data = response.json()
    body = response.content.decode()
    assert "SECRET" not in body and "config" not in data
    assert data["provider"] == "sandbox" and data["provider_name"] == "Sandbox"
    streams = {s["name"]: s for s in data["streams"]}
    assert set(streams) == {s.name for s in PROVIDERS["sandbox"].streams}
    assert streams["tracks"]["enabled"] is False
    assert all(s["enabled"] for name, s in streams.items() if name != "tracks")
    assert data["next_sync_at"] is not None


def test_the_list_holds_only_the_callers_connections(api, user, other_user):
    mine = make_connection(user, "spotify")
    make_connection(other_user, "github")
    response = api.get("/api/v1/connections/")
    assert response.status_code == 200
    assert [c["id"] for c in response.json()["results"]] == [mine.pk]


def test_another_persons_connection_is_404_for_every_method(api, other_user, mocked_responses):
    theirs = make_connection(other_user, "stripe")
    url = f"/api/v1/connections/{theirs.pk}/"
    assert api.get(url).status_code == 404
    assert api.patch(url, {"sync_enabled": False}).status_code == 404
    assert api.delete(url).status_code == 404
    assert api.post(url + "test/").status_code == 404
    assert api.post(url + "sync/", {"full": True}).status_code == 404
    assert len(mocked_responses.calls) == 0
    theirs.refresh_from_db()
    assert theirs.sync_enabled is True


@pytest.mark.parametrize("url", ["/api/v1/connections/", "/api/v1/connections/1/"])
def test_reading_connections_needs_credentials(anon, url):
    assert anon.get(url).status_code == 401


def test_the_list_costs_the_same_queries_at_1_and_20_connections(api, user):
    make_connection(user, "spotify")
    one = queries_of(api, "/api/v1/connections/")
    # Providers no longer installed count as connections too (one per provider per person).
    for n in range(19):
        make_connection(user, f"retired{n}", external_id=f"r-{n}")
    assert queries_of(api, "/api/v1/connections/") == one


# -- settings ---------------------------------------------------------------------------------

def test_patch_changes_the_settings_and_writes_one_audit_line(api, user):
    connection = make_connection(user, "sandbox")
    response = api.patch(f"/api/v1/connections/{connection.pk}/",
                         {"auto_sync": False, "streams": {"tracks": False}})
    assert response.status_code == 200
    data = response.json()
    assert (data["sync_enabled"], data["auto_sync"]) == (True, False)
    assert data["next_sync_at"] is None
    assert {s["name"]: s["enabled"] for s in data["streams"]}["tracks"] is False
    connection.refresh_from_db()
    assert connection.auto_sync is False and connection.stream_settings == {"tracks": False}
    event = AuditEvent.objects.get(action=AuditEvent.Action.SETTINGS_CHANGED)
    assert event.connection_ref == connection.pk and event.actor == f"api:{user.pk}"


def test_patch_with_an_unknown_stream_changes_nothing(api, user):
    connection = make_connection(user, "sandbox")
    response = api.patch(f"/api/v1/connections/{connection.pk}/",
                         {"sync_enabled": False, "streams": {"nope": False}})
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["streams"]
    connection.refresh_from_db()
    assert connection.sync_enabled is True and connection.stream_settings == {}
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.SETTINGS_CHANGED).exists()


@pytest.mark.parametrize("body", [{"sync_enabled": None}, {"auto_sync": "maybe"},
                                  {"streams": ["tracks"]}, {"streams": {"tracks": "x"}}])
def test_patch_with_bad_values_is_400(api, user, body):
    connection = make_connection(user, "sandbox")
    response = api.patch(f"/api/v1/connections/{connection.pk}/", body, format="json")
    assert response.status_code == 400


def test_put_is_not_offered(api, user):
    connection = make_connection(user, "sandbox")
    assert api.put(f"/api/v1/connections/{connection.pk}/", {}).status_code == 405


# -- disconnect -------------------------------------------------------------------------------

def test_delete_disconnects_and_purges(api, user):
    connection = telegram_connection(user)
    ExternalItem.objects.create(connection=connection, kind="x", external_id="1", title="t",
                                content_hash="h")
    response = api.delete(f"/api/v1/connections/{connection.pk}/")
    assert response.status_code == 200
    assert response.json()["revoked"] is False and response.json()["revoke_note"]
    assert not Connection.objects.filter(pk=connection.pk).exists()
    assert not ExternalItem.objects.exists() and not Credential.objects.exists()
    assert api.get(f"/api/v1/connections/{connection.pk}/").status_code == 404


# -- test -------------------------------------------------------------------------------------

def test_a_working_credential_tests_ok_with_the_account(api, user, mocked_responses):
    connection = telegram_connection(user)
    mocked_responses.get(GET_ME, json=fixture(telegram_contract.__file__, "get_me"))
    response = api.post(f"/api/v1/connections/{connection.pk}/test/")
    assert response.status_code == 200
    data = response.json()
    assert data["ok"] is True and data["outcome"] is None
    assert data["account"]["external_id"] == "123456789"
    assert BOT_TOKEN not in response.content.decode()


def test_a_refused_credential_tests_not_ok_asking_to_reconnect(api, user, mocked_responses):
    connection = telegram_connection(user)
    mocked_responses.get(GET_ME, status=401,
                         json=fixture(telegram_contract.__file__, "unauthorized"))
    response = api.post(f"/api/v1/connections/{connection.pk}/test/")
    assert response.status_code == 200
    data = response.json()
    assert (data["ok"], data["outcome"], data["account"]) == (False, "reconnect", None)
    assert data["message"] and BOT_TOKEN not in response.content.decode()


def test_a_provider_down_tests_not_ok_asking_to_retry(api, user, mocked_responses, no_sleep):
    connection = telegram_connection(user)
    mocked_responses.get(GET_ME, status=503, body="down")
    data = api.post(f"/api/v1/connections/{connection.pk}/test/").json()
    assert (data["ok"], data["outcome"]) == (False, "retry")


def test_connections_of_another_person_stay_theirs(api, other_user):
    # The other person's data is reachable through none of the list endpoints either.
    theirs = make_connection(other_user, "sandbox")
    theirs.sync_runs.create(trigger="manual")
    for suffix in ("runs/", "items/", "actions/", "action-runs/",
                   f"runs/{theirs.sync_runs.get().pk}/"):
        assert api.get(f"/api/v1/connections/{theirs.pk}/{suffix}").status_code == 404


def test_created_at_is_given(api, user):
    connection = make_connection(user, "sandbox")
    data = api.get(f"/api/v1/connections/{connection.pk}/").json()
    assert data["created_at"][:10] == timezone.now().date().isoformat()


def test_a_user_without_connections_gets_an_empty_page(api):
    make_user("nobody@example.com")
    assert api.get("/api/v1/connections/").json()["results"] == []


def test_a_connection_gives_its_health_state_and_reason(api, user):
    connection = make_connection(user, "sandbox")
    Connection.objects.filter(pk=connection.pk).update(
        consecutive_failures=3, last_error="Sandbox said 503 access_token=AT-LEAKED-1")
    data = api.get(f"/api/v1/connections/{connection.pk}/").json()
    assert data["health"] == {
        "state": "failing", "reason": "The last 3 syncs failed: Sandbox said 503 "
        "access_token=[redacted]"}
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.NEEDS_REAUTH)
    listed = api.get("/api/v1/connections/").json()["results"]
    assert [c["health"]["state"] for c in listed] == ["needs_reconnect"]
