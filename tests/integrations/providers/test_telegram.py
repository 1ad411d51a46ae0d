"""integrations/providers/telegram: connect with a bot token (getMe), the send_message action,
Telegram's error envelope, and the token kept out of every ApiCall row."""

import json

import pytest
import requests
from django.urls import reverse
from responses import matchers

from integrations.actions import MAY_HAVE_HAPPENED, connection_action_perform
from integrations.classify import Verdict
from integrations.diagnostics import connection_diagnostics
from integrations.exceptions import ActionRejected, ConnectionTestFailed, ProviderDataError
from integrations.models import ActionRun, ApiCall, AuditEvent, Connection, Credential
from integrations.providers.contract import fixture
from integrations.providers.registry import get_provider
from integrations.providers.telegram import contract, mapping
from integrations.providers.telegram.actions import SENT
from integrations.providers.telegram.provider import TOKEN_REFUSED
from integrations.redaction import REDACTED
from integrations.services import connection_connect_with_form
from tests.factories import make_connection, make_user

pytestmark = pytest.mark.django_db

TOKEN = "987654321:AAH-telegram-SECRET-token-0001xyz"
API = f"https://api.telegram.org/bot{TOKEN}/"
FIXTURES = contract.__file__
KEY = "0123456789abcdef0123456789abcdef"


def answer(name):
    return fixture(FIXTURES, name)


@pytest.fixture
def telegram():
    return get_provider("telegram")


@pytest.fixture
def connection():
    return make_connection(make_user(), "telegram", external_id="123456789", access_token="",
                           refresh_token="", expires_in=None,
                           secret=json.dumps({"bot_token": TOKEN}))


def send(connection, data, key=KEY):
    return connection_action_perform(connection=connection, action="send_message", data=data,
                                     idempotency_key=key, actor="user:1")


def assert_token_nowhere():
    paths = list(ApiCall.objects.values_list("path", flat=True))
    assert paths and all(TOKEN not in p and "AAH-telegram" not in p for p in paths), paths
    assert all(p.startswith(f"/bot{REDACTED}/") for p in paths), paths


def response_of(status, body=None, headers=None):
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers or {})
    response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return response


# --- connect --------------------------------------------------------------------------------

def test_connect_names_the_bot_and_keeps_the_token_out_of_api_calls(telegram, mocked_responses):
    mocked_responses.get(API + "getMe", json=answer("get_me"))

    connection = connection_connect_with_form(user=make_user(), provider=telegram,
                                              fields={"bot_token": TOKEN})

    assert (connection.external_account_id, connection.account_label) == ("123456789", "hub_bot")
    assert json.loads(Credential.objects.get(connection=connection).secret) == {
        "bot_token": TOKEN}
    assert_token_nowhere()


def test_a_refused_token_says_so_and_saves_nothing(telegram, mocked_responses):
    mocked_responses.get(API + "getMe", json=answer("unauthorized"), status=401)

    with pytest.raises(ConnectionTestFailed) as failed:
        connection_connect_with_form(user=make_user(), provider=telegram,
                                     fields={"bot_token": TOKEN})

    assert failed.value.message == TOKEN_REFUSED
    assert TOKEN not in failed.value.message
    assert not Connection.objects.exists()
    assert_token_nowhere()


@pytest.mark.parametrize("result", [
    {"id": "123", "is_bot": True, "username": "hub_bot"},  # id not an integer
    {"id": True, "is_bot": True, "username": "hub_bot"},  # a bool is not an id
    {"id": 123, "is_bot": True},  # no username
    [],
])
def test_a_malformed_get_me_is_bad_data(result):
    with pytest.raises(ProviderDataError):
        mapping.bot_account({"ok": True, "result": result})


def test_stand_in_base_url_in_the_demo(telegram, settings):
    settings.THINKALIKE_STAND_INS = True
    settings.THINKALIKE_SANDBOX_URL = "http://127.0.0.1:8000/sandbox"
    assert telegram.get_api_base_url() == "http://127.0.0.1:8000/sandbox/stand-ins/telegram/"
    settings.THINKALIKE_STAND_INS = False
    assert telegram.get_api_base_url() == "https://api.telegram.org/"


# --- classification -------------------------------------------------------------------------

def test_429_waits_what_the_body_asks_without_a_retry_after_header(telegram):
    verdict = telegram.classify_response(response_of(429, answer("flood")))
    assert (verdict.verdict, verdict.wait) == (Verdict.RATE_LIMITED, 35.0)


def test_429_falls_back_to_the_header_when_the_body_has_no_usable_wait(telegram):
    body = {"ok": False, "error_code": 429, "parameters": {"retry_after": "soon"}}
    verdict = telegram.classify_response(response_of(429, body, {"Retry-After": "7"}))
    assert (verdict.verdict, verdict.wait) == (Verdict.RATE_LIMITED, 7.0)


@pytest.mark.parametrize("huge", [10**400, -(10**400), 10**309])
def test_429_with_a_wait_too_large_for_a_float_falls_back_to_the_header(telegram, huge):
    body = {"ok": False, "error_code": 429, "parameters": {"retry_after": huge}}
    verdict = telegram.classify_response(response_of(429, body, {"Retry-After": "7"}))
    assert (verdict.verdict, verdict.wait) == (Verdict.RATE_LIMITED, 7.0)


@pytest.mark.parametrize(("status", "body", "expected"), [
    (401, {"ok": False, "error_code": 401, "description": "Unauthorized"}, Verdict.RECONNECT),
    (404, {"ok": False, "error_code": 404, "description": "Not Found"}, Verdict.BAD_DATA),
    (403, b"<html>Forbidden</html>", Verdict.RECONNECT),  # no envelope: not Telegram's answer
    (400, b"not json", Verdict.BAD_DATA),
    (403, {"ok": False, "error_code": 403, "description": "Forbidden"}, Verdict.OK),
])
def test_statuses(telegram, status, body, expected):
    assert telegram.classify_response(response_of(status, body)).verdict == expected


def test_ok_false_is_an_error_whatever_the_status(telegram):
    with pytest.raises(mapping.TelegramRefused) as refused:
        telegram.check_payload({"ok": False, "description": "Bad Request: chat not found"})
    assert refused.value.message == mapping.REFUSED.format(
        description="Bad Request: chat not found")
    telegram.check_payload(answer("get_me"))  # ok: true passes


# --- send_message ---------------------------------------------------------------------------

def test_send_message_posts_once_and_records_the_message(connection, mocked_responses):
    text = "See you on Thursday\n  at 7"
    sent = mocked_responses.post(API + "sendMessage", json=answer("send_message"), match=[
        matchers.json_params_matcher({"chat_id": -100123, "text": text})])

    run = send(connection, {"chat_id": "-100123", "text": text})

    assert run.status == ActionRun.Status.SUCCEEDED
    assert (run.external_id, run.summary) == (
        "42", SENT.format(message_id="42", chat_id="-100123"))
    assert sent.call_count == 1
    assert_token_nowhere()


def test_line_breaks_from_a_browser_are_sent_as_telegram_writes_them(connection,
                                                                     mocked_responses):
    mocked_responses.post(API + "sendMessage", json=answer("send_message"), match=[
        matchers.json_params_matcher({"chat_id": 42, "text": "One\ntwo"})])
    assert send(connection, {"chat_id": "42", "text": "One\r\ntwo"}).status == "succeeded"


def test_no_token_in_diagnostics_runs_or_audit_after_a_refusal_echoing_it(connection,
                                                                         mocked_responses):
    mocked_responses.post(API + "sendMessage", status=400, json={
        "ok": False, "error_code": 400, "description": f"Bad Request: bot{TOKEN} is odd"})

    send(connection, {"chat_id": "-100123", "text": "Hi"})

    shown = repr(connection_diagnostics(connection=connection))
    shown += repr(list(ActionRun.objects.values())) + repr(list(AuditEvent.objects.values()))
    assert "Bad Request" in shown and TOKEN not in shown and "AAH-telegram" not in shown


def test_a_channel_username_is_sent_as_a_string(connection, mocked_responses):
    mocked_responses.post(API + "sendMessage", json=answer("send_message"), match=[
        matchers.json_params_matcher({"chat_id": "@book_club", "text": "Hi"})])
    assert send(connection, {"chat_id": "@book_club", "text": "Hi"}).status == "succeeded"


@pytest.mark.parametrize("data", [
    {"chat_id": "book club", "text": "Hi"},
    {"chat_id": "@abc", "text": "Hi"},  # channel usernames have 5 or more characters
    {"chat_id": "-100123", "text": "x" * 4097},
    {"chat_id": "-100123", "text": "   "},
])
def test_bad_input_sends_nothing(connection, mocked_responses, data):
    with pytest.raises(ActionRejected):
        send(connection, data)
    assert not mocked_responses.calls and not ActionRun.objects.exists()


@pytest.mark.parametrize(("status", "name"), [(400, "chat_not_found"), (403, "bot_blocked")])
def test_a_chat_refusal_fails_the_run_with_telegrams_reason(connection, mocked_responses,
                                                            status, name):
    mocked_responses.post(API + "sendMessage", json=answer(name), status=status)

    run = send(connection, {"chat_id": "-100123", "text": "Hi"})

    assert run.status == ActionRun.Status.FAILED
    assert run.error == mapping.REFUSED.format(description=answer(name)["description"])
    assert MAY_HAVE_HAPPENED.format(name="Telegram") not in run.error  # refused: not sent
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE  # a blocked bot is not a bad token
    assert_token_nowhere()


def test_a_group_upgraded_to_a_supergroup_names_the_new_chat(connection, mocked_responses):
    mocked_responses.post(API + "sendMessage", status=400, json={
        "ok": False, "error_code": 400,
        "description": "Bad Request: group chat was upgraded to a supergroup chat",
        "parameters": {"migrate_to_chat_id": -1001234567890}})

    run = send(connection, {"chat_id": "-4567", "text": "Hi"})

    assert run.error.endswith(mapping.MIGRATED.format(chat_id=-1001234567890))


def test_a_revoked_token_fails_the_run_and_asks_to_reconnect(connection, mocked_responses):
    mocked_responses.post(API + "sendMessage", json=answer("unauthorized"), status=401)

    run = send(connection, {"chat_id": "-100123", "text": "Hi"})

    assert run.status == ActionRun.Status.FAILED
    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_REAUTH


def test_a_flood_wait_is_never_retried(connection, mocked_responses, no_sleep):
    flood = dict(answer("flood"), parameters={"retry_after": 1})
    sent = mocked_responses.post(API + "sendMessage", json=flood, status=429)

    run = send(connection, {"chat_id": "-100123", "text": "Hi"})

    assert run.status == ActionRun.Status.FAILED and sent.call_count == 1 and not no_sleep


def test_a_lost_answer_may_have_sent_the_message(connection, mocked_responses, no_sleep):
    sent = mocked_responses.post(API + "sendMessage", body="Bad Gateway", status=502)

    run = send(connection, {"chat_id": "-100123", "text": "Hi"})

    assert sent.call_count == 1
    assert run.error.endswith(MAY_HAVE_HAPPENED.format(name="Telegram"))


def test_a_hostile_description_is_bounded_redacted_and_escaped(connection, mocked_responses,
                                                                client):
    hostile = f"<script>alert(1)</script>\x1b[31m\u202e token {TOKEN} " + "y" * 500
    mocked_responses.post(API + "sendMessage", status=400,
                          json={"ok": False, "error_code": 400, "description": hostile})
    client.force_login(connection.user)

    page = client.post(reverse("integrations:action_perform",
                               args=[connection.pk, "send_message"]),
                       {"send_message-chat_id": "-100123", "send_message-text": "Hi",
                        "send_message-idempotency_key": KEY},
                       follow=True)

    run = ActionRun.objects.get()
    assert run.status == ActionRun.Status.FAILED
    assert len(run.error) <= len(mapping.REFUSED) + mapping.MAX_DESCRIPTION
    assert TOKEN not in run.error and "\x1b" not in run.error and "\u202e" not in run.error
    html = page.content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert TOKEN not in html
