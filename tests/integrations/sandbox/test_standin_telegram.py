"""integrations/sandbox/standins/telegram.py: the Bot API's shapes and refusals, and the
provider connected and sending through it (the sandbox bridge answers its requests here)."""

import json

import pytest

from integrations.actions import connection_action_perform
from integrations.exceptions import ConnectionTestFailed
from integrations.models import ActionRun, ApiCall
from integrations.providers.registry import get_provider
from integrations.providers.telegram import mapping
from integrations.providers.telegram.provider import TOKEN_REFUSED
from integrations.redaction import REDACTED
from integrations.sandbox.standins import telegram as standin
from integrations.services import connection_connect_with_form
from tests.factories import make_user

pytestmark = pytest.mark.django_db

TOKEN = "5550001:AAG-stand-in-test-token-0123456789"
BASE = f"/sandbox/stand-ins/telegram/bot{TOKEN}/"


@pytest.fixture(autouse=True)
def fresh_messages(settings):
    settings.THINKALIKE_SANDBOX = True
    standin.forget_messages()
    yield
    standin.forget_messages()


def post(client, method, body, token=TOKEN):
    return client.post(f"/sandbox/stand-ins/telegram/bot{token}/{method}", json.dumps(body),
                       content_type="application/json")


def test_get_me_answers_the_real_shape(client):
    body = client.get(BASE + "getMe").json()
    assert body["ok"] is True
    assert body["result"] | {"id": 5550001, "is_bot": True,
                             "username": "standin_5550001_bot"} == body["result"]
    assert client.get(BASE + "GETME").status_code == 200  # method names ignore case
    assert client.get(BASE + "getUpdatez").json()["description"] == "Not Found"


@pytest.mark.parametrize(("token", "status", "description"), [
    (standin.REVOKED_TOKEN, 401, "Unauthorized"),
    ("not-a-token", 404, "Not Found"),
])
def test_refused_tokens(client, token, status, description):
    response = client.get(f"/sandbox/stand-ins/telegram/bot{token}/getMe")
    assert response.status_code == status
    assert response.json() == {"ok": False, "error_code": status, "description": description}


def test_off_without_the_sandbox(client, settings):
    settings.THINKALIKE_SANDBOX = False
    assert client.get(BASE + "getMe").status_code == 404
    assert post(client, "sendMessage", {"chat_id": "1", "text": "Hi"}).status_code == 404
    assert standin.sent_messages(5550001) == []


def test_send_message_keeps_what_was_sent(client):
    first = post(client, "sendMessage", {"chat_id": -100123, "text": "Hello\nthere"}).json()
    second = client.post(BASE + "sendMessage", {"chat_id": "@book_club", "text": "Again"}).json()

    assert first["result"]["message_id"] == 1 and second["result"]["message_id"] == 2
    assert first["result"]["chat"] == {"id": -100123, "type": "supergroup",
                                       "title": "Stand-in group"}
    assert second["result"]["chat"]["type"] == "channel"
    assert standin.sent_messages(5550001) == [
        {"message_id": 1, "chat_id": "-100123", "text": "Hello\nthere"},
        {"message_id": 2, "chat_id": "@book_club", "text": "Again"},
    ]


@pytest.mark.parametrize(("body", "status", "description"), [
    ({"text": "Hi"}, 400, "Bad Request: chat_id is empty"),
    ({"chat_id": standin.CHAT_NOT_FOUND, "text": "Hi"}, 400, "Bad Request: chat not found"),
    ({"chat_id": standin.BLOCKED_CHAT, "text": "Hi"}, 403,
     "Forbidden: bot was blocked by the user"),
    ({"chat_id": "1", "text": " "}, 400, "Bad Request: message text is empty"),
    ({"chat_id": "1", "text": "x" * 4097}, 400, "Bad Request: message is too long"),
])
def test_send_message_refusals_send_nothing(client, body, status, description):
    response = post(client, "sendMessage", body)
    assert response.status_code == status
    assert response.json()["description"] == description
    assert standin.sent_messages(5550001) == []


@pytest.mark.parametrize("body", ["[" * 100_000 + "]" * 100_000, b'{"text": "\xff"}', "{"])
def test_a_json_body_it_cannot_read_sends_nothing(client, body):
    response = client.post(BASE + "sendMessage", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["description"] == "Bad Request: chat_id is empty"
    assert standin.sent_messages(5550001) == []


def test_the_provider_connects_and_sends_through_the_stand_in(sandbox, settings):
    settings.THINKALIKE_STAND_INS = True
    connection = connection_connect_with_form(user=make_user(), provider=get_provider("telegram"),
                                              fields={"bot_token": TOKEN})
    assert connection.account_label == "standin_5550001_bot"

    def send(chat_id, key):
        return connection_action_perform(connection=connection, action="send_message",
                                         data={"chat_id": chat_id, "text": "Book club at 7"},
                                         idempotency_key=key)

    assert send("-100123", "k-1").status == ActionRun.Status.SUCCEEDED
    blocked = send(standin.BLOCKED_CHAT, "k-2")
    assert blocked.error == mapping.REFUSED.format(
        description="Forbidden: bot was blocked by the user")
    assert standin.sent_messages(5550001) == [
        {"message_id": 1, "chat_id": "-100123", "text": "Book club at 7"}]
    paths = set(ApiCall.objects.values_list("path", flat=True))
    assert paths == {f"/sandbox/stand-ins/telegram/bot{REDACTED}/getMe",
                     f"/sandbox/stand-ins/telegram/bot{REDACTED}/sendMessage"}


def test_a_revoked_token_is_refused_at_connect(sandbox, settings):
    settings.THINKALIKE_STAND_INS = True
    with pytest.raises(ConnectionTestFailed, match=TOKEN_REFUSED[:30]):
        connection_connect_with_form(user=make_user(), provider=get_provider("telegram"),
                                     fields={"bot_token": standin.REVOKED_TOKEN})
