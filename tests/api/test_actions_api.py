"""/api/v1/connections/{id}/actions/ (declared), .../actions/{name}/ (perform, once per key)
and .../action-runs/ (what was done). Telegram's send_message, its API mocked."""

import json

import pytest
from responses import matchers

from integrations.actions import FIELD_INVALID, FIELD_REQUIRED, KEY_REUSED_OTHER_INPUT
from integrations.models import ActionRun, Connection
from integrations.providers.contract import fixture
from integrations.providers.telegram import contract as telegram_contract
from tests.factories import make_connection

from .conftest import error_code
from .queries import queries_of

pytestmark = pytest.mark.django_db

BOT_TOKEN = "987654321:AAH-telegram-SECRET-token-0001xyz"
SEND = f"https://api.telegram.org/bot{BOT_TOKEN}/sendMessage"
KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def connection(user):
    return make_connection(user, "telegram", external_id="123456789", access_token="",
                           refresh_token="", expires_in=None,
                           secret=json.dumps({"bot_token": BOT_TOKEN}))


def perform(api, connection, data, key=KEY, name="send_message"):
    return api.post(f"/api/v1/connections/{connection.pk}/actions/{name}/",
                    {"data": data, "idempotency_key": key}, format="json")


def test_the_declared_actions_list_their_fields(api, connection):
    response = api.get(f"/api/v1/connections/{connection.pk}/actions/")
    assert response.status_code == 200
    (action,) = response.json()["results"]
    assert action["name"] == "send_message" and action["idempotent"] is False
    assert [f["name"] for f in action["fields"]] == ["chat_id", "text"]
    assert action["missing_scopes"] == []


def test_a_write_happens_once_per_idempotency_key(api, connection, mocked_responses):
    sent = mocked_responses.post(SEND, json=fixture(telegram_contract.__file__, "send_message"),
                                 match=[matchers.json_params_matcher(
                                     {"chat_id": -100123, "text": "Hi"})])
    first = perform(api, connection, {"chat_id": "-100123", "text": "Hi"})
    assert first.status_code == 200
    assert first.json()["status"] == "succeeded" and first.json()["external_id"] == "42"

    again = perform(api, connection, {"chat_id": "-100123", "text": "Hi"})

    assert again.status_code == 200 and again.json() == first.json()
    assert sent.call_count == 1
    assert ActionRun.objects.count() == 1
    assert BOT_TOKEN not in first.content.decode()


def test_the_same_key_with_other_data_is_409_and_sends_nothing(api, connection,
                                                              mocked_responses):
    sent = mocked_responses.post(SEND, json=fixture(telegram_contract.__file__, "send_message"))
    assert perform(api, connection, {"chat_id": "-100123", "text": "Hi"}).status_code == 200

    for data in ({"chat_id": "-100123", "text": "Something else"},
                 {"chat_id": "-100999", "text": "Hi"},
                 {"chat_id": "-100123", "text": ""}):  # invalid now, so not the first's data
        again = perform(api, connection, data)
        assert (again.status_code, error_code(again)) == (409, "idempotency_key_reused")
        assert again.json()["error"]["message"] == KEY_REUSED_OTHER_INPUT

    assert sent.call_count == 1 and ActionRun.objects.count() == 1


def test_an_old_run_without_an_input_hash_answers_any_replay(api, connection,
                                                            mocked_responses):
    # Runs recorded before input_hash existed cannot be compared: they answer as before.
    run = connection.action_runs.create(action="send_message", idempotency_key=KEY,
                                        status=ActionRun.Status.SUCCEEDED, external_id="7")
    response = perform(api, connection, {"chat_id": "-100123", "text": "Anything"})
    assert response.status_code == 200 and response.json()["id"] == run.pk
    assert not mocked_responses.calls


def test_a_failure_at_the_provider_is_a_failed_run_not_an_error(api, connection,
                                                                mocked_responses):
    mocked_responses.post(SEND, status=400,
                          json=fixture(telegram_contract.__file__, "chat_not_found"))
    response = perform(api, connection, {"chat_id": "-100123", "text": "Hi"})
    assert response.status_code == 200
    assert response.json()["status"] == "failed" and response.json()["error"]


def test_invalid_data_is_400_per_field_and_sends_nothing(api, connection, mocked_responses):
    response = perform(api, connection, {"chat_id": "book club", "text": "  "})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "chat_id": [FIELD_INVALID.format(label="Chat")],
        "text": [FIELD_REQUIRED.format(label="Message")],
    }
    assert not mocked_responses.calls and not ActionRun.objects.exists()


@pytest.mark.parametrize("data", [{"chat_id": 5, "text": "Hi"},
                                  {"chat_id": ["-1"], "text": "Hi"}])
def test_data_that_is_not_text_is_400_on_its_field(api, connection, mocked_responses, data):
    response = perform(api, connection, data)
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["chat_id"]


@pytest.mark.parametrize("key", ["", "has spaces", "x" * 65, None])
def test_a_missing_or_malformed_key_is_400(api, connection, mocked_responses, key):
    body = {"data": {"chat_id": "-100123", "text": "Hi"}}
    if key is not None:
        body["idempotency_key"] = key
    response = api.post(f"/api/v1/connections/{connection.pk}/actions/send_message/", body,
                        format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["idempotency_key"]
    assert not mocked_responses.calls


def test_an_unknown_action_is_404(api, connection):
    response = perform(api, connection, {}, name="launch_rockets")
    assert response.status_code == 404


def test_a_key_used_for_another_action_is_409(api, connection):
    connection.action_runs.create(action="other_action", idempotency_key=KEY,
                                  status=ActionRun.Status.SUCCEEDED)
    response = perform(api, connection, {"chat_id": "-100123", "text": "Hi"})
    assert (response.status_code, error_code(response)) == (409, "idempotency_key_reused")


def test_a_connection_that_needs_reconnecting_is_409(api, connection, mocked_responses):
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.NEEDS_REAUTH)
    response = perform(api, connection, {"chat_id": "-100123", "text": "Hi"})
    assert (response.status_code, error_code(response)) == (409, "needs_reconnect")
    assert not mocked_responses.calls


def test_another_persons_connection_is_404(api, other_user, mocked_responses):
    theirs = make_connection(other_user, "telegram", secret=json.dumps({"bot_token": BOT_TOKEN}))
    assert perform(api, theirs, {"chat_id": "-100123", "text": "Hi"}).status_code == 404
    assert api.get(f"/api/v1/connections/{theirs.pk}/actions/").status_code == 404
    run = theirs.action_runs.create(action="send_message", idempotency_key=KEY)
    assert api.get(f"/api/v1/connections/{theirs.pk}/action-runs/{run.pk}/").status_code == 404
    assert not mocked_responses.calls


def test_actions_need_credentials(anon, connection):
    assert anon.get(f"/api/v1/connections/{connection.pk}/actions/").status_code == 401
    assert perform(anon, connection, {}).status_code == 401


def test_action_runs_are_listed_newest_first(api, connection):
    old = connection.action_runs.create(action="send_message", idempotency_key="a")
    new = connection.action_runs.create(action="send_message", idempotency_key="b")
    response = api.get(f"/api/v1/connections/{connection.pk}/action-runs/")
    assert [r["id"] for r in response.json()["results"]] == [new.pk, old.pk]
    one = api.get(f"/api/v1/connections/{connection.pk}/action-runs/{old.pk}/")
    assert one.json()["idempotency_key"] == "a"


def test_action_lists_cost_the_same_queries_at_1_and_20(api, connection):
    connection.action_runs.create(action="send_message", idempotency_key="k0")
    runs = f"/api/v1/connections/{connection.pk}/action-runs/"
    declared = f"/api/v1/connections/{connection.pk}/actions/"
    one, one_declared = queries_of(api, runs), queries_of(api, declared)
    for n in range(1, 20):
        connection.action_runs.create(action="send_message", idempotency_key=f"k{n}")
    assert (queries_of(api, runs), queries_of(api, declared)) == (one, one_declared)
