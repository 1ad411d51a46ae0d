"""Write bodies are taken literally: a key that is not a writable field is 400 naming it (a
typo or a read-only field must not answer 200 having changed nothing), and a boolean is JSON
true or false, never "no", 0 or "on" (which DRF's BooleanField would read as a choice)."""

import json

import pytest

from consent.models import ConsentEvent
from consent.purposes import MATCHING
from integrations.models import ApiToken, AuditEvent, SyncRun
from tests.factories import make_connection

from .conftest import error_code

pytestmark = pytest.mark.django_db

MATCHING_URL = f"/api/v1/consent/purposes/{MATCHING}/"


@pytest.fixture
def connection(user):
    return make_connection(user, "sandbox")


def fields_of(response) -> dict:
    assert (response.status_code, error_code(response)) == (400, "invalid")
    return response.json()["error"]["fields"]


# -- unknown or read-only keys ------------------------------------------------------------------

def test_patch_with_a_misspelt_and_a_read_only_key_is_400_naming_both(api, connection):
    response = api.patch(f"/api/v1/connections/{connection.pk}/",
                         {"sync_enabld": False, "status": "disabled"}, format="json")
    assert set(fields_of(response)) == {"sync_enabld", "status"}
    connection.refresh_from_db()
    assert connection.sync_enabled is True and connection.status == "active"
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.SETTINGS_CHANGED).exists()


def test_a_valid_patch_with_one_extra_key_changes_nothing(api, connection):
    response = api.patch(f"/api/v1/connections/{connection.pk}/",
                         {"sync_enabled": False, "last_error": ""}, format="json")
    assert list(fields_of(response)) == ["last_error"]
    connection.refresh_from_db()
    assert connection.sync_enabled is True


def test_consent_for_every_provider_refuses_a_provider_key(api, user):
    response = api.put(MATCHING_URL, {"granted": True, "provider": "x"}, format="json")
    assert list(fields_of(response)) == ["provider"]
    assert not ConsentEvent.objects.filter(user=user).exists()


def test_consent_for_one_provider_refuses_extra_keys(api, user):
    response = api.put(f"{MATCHING_URL}providers/sandbox/", {"granted": True, "purpose": "x"},
                       format="json")
    assert list(fields_of(response)) == ["purpose"]
    assert not ConsentEvent.objects.filter(user=user).exists()


def test_sync_refuses_an_unknown_key(api, connection):
    response = api.post(f"/api/v1/connections/{connection.pk}/sync/", {"fll": True},
                        format="json")
    assert list(fields_of(response)) == ["fll"]
    assert not SyncRun.objects.exists()


def test_token_create_refuses_an_unknown_key(api, user):
    before = ApiToken.objects.count()
    response = api.post("/api/v1/tokens/", {"name": "x", "expiry": "2099-01-01"}, format="json")
    assert list(fields_of(response)) == ["expiry"]
    assert ApiToken.objects.count() == before


def test_connect_refuses_an_unknown_key(api, mocked_responses):
    response = api.post("/api/v1/connections/", {"provider": "sandbox", "feilds": {}},
                        format="json")
    assert list(fields_of(response)) == ["feilds"]
    assert not mocked_responses.calls


def test_action_perform_refuses_unknown_keys_and_undeclared_data(api, user, mocked_responses):
    telegram = make_connection(user, "telegram", external_id="1", access_token="",
                               refresh_token="", expires_in=None,
                               secret=json.dumps({"bot_token": "1:AAH-x"}))
    url = f"/api/v1/connections/{telegram.pk}/actions/send_message/"
    data = {"chat_id": "-100123", "text": "Hi"}

    top = api.post(url, {"data": data, "idempotency_key": "k1", "dry_run": True}, format="json")
    assert list(fields_of(top)) == ["dry_run"]
    inner = api.post(url, {"data": {**data, "silent": "yes"}, "idempotency_key": "k2"},
                     format="json")
    assert list(fields_of(inner)) == ["data"]
    assert "silent" in fields_of(inner)["data"][0]
    assert not mocked_responses.calls and not telegram.action_runs.exists()


# -- loose booleans -----------------------------------------------------------------------------

LOOSE = ["no", "false", 0, 1, "on", "true", None]


@pytest.mark.parametrize("value", LOOSE)
@pytest.mark.parametrize("body", [lambda v: {"sync_enabled": v}, lambda v: {"auto_sync": v},
                                  lambda v: {"streams": {"tracks": v}}])
def test_settings_take_only_json_booleans(api, connection, body, value):
    response = api.patch(f"/api/v1/connections/{connection.pk}/", body(value), format="json")
    assert response.status_code == 400
    connection.refresh_from_db()
    assert (connection.sync_enabled, connection.auto_sync, connection.stream_settings) == (
        True, True, {})


@pytest.mark.parametrize("value", LOOSE)
def test_sync_full_takes_only_a_json_boolean(api, connection, value):
    response = api.post(f"/api/v1/connections/{connection.pk}/sync/", {"full": value},
                        format="json")
    assert list(fields_of(response)) == ["full"]
    assert not SyncRun.objects.exists()


@pytest.mark.parametrize("value", LOOSE)
def test_consent_granted_takes_only_a_json_boolean(api, user, value):
    assert api.put(MATCHING_URL, {"granted": value}, format="json").status_code == 400
    assert not ConsentEvent.objects.filter(user=user).exists()


def test_true_and_false_still_work(api, connection):
    response = api.patch(f"/api/v1/connections/{connection.pk}/",
                         {"sync_enabled": False, "streams": {"tracks": True}}, format="json")
    assert response.status_code == 200 and response.json()["sync_enabled"] is False


def test_connect_refuses_a_connect_field_the_provider_does_not_declare(api, mocked_responses):
    response = api.post("/api/v1/connections/", {"provider": "stripe", "fields": {
        "token": "sk_test_0123456789abcdefghijklmn", "account": "acct_1"}}, format="json")
    assert list(fields_of(response)) == ["fields"]
    assert "account" in fields_of(response)["fields"][0]
    assert not mocked_responses.calls
