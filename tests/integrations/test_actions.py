"""integrations/actions.py: writes to providers, once per idempotency key, never retried unless
declared idempotent; and the page that offers them (views.action_perform)."""

import hashlib
import json
import logging
import re
from datetime import timedelta

import pytest
import requests
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from integrations import txguard
from integrations.actions import (
    ACTION_CRASHED,
    FIELD_INVALID,
    FIELD_REQUIRED,
    FIELD_TOO_LONG,
    KEY_INVALID,
    KEY_REUSED,
    KEY_REUSED_OTHER_INPUT,
    MAY_HAVE_HAPPENED,
    NOT_ACTIVE,
    STOPPED_BEFORE_SENDING,
    STOPPED_WHILE_SENDING,
    SUMMARY_MAX_LENGTH,
    UNKNOWN_ACTION,
    action_runs_close_stale,
    connection_action_perform,
)
from integrations.auth import Bearer
from integrations.credentials import CREDENTIAL_UNREADABLE
from integrations.exceptions import ActionRejected, IdempotencyKeyReused, ProviderDataError
from integrations.models import ActionRun, ApiCall, AuditEvent, Connection
from integrations.providers import registry
from integrations.providers.base import Action, ActionResult, FormField, Provider
from integrations.redaction import REDACTED
from integrations.tasks import close_stale_action_runs
from integrations.transport import REFUSED, UNAVAILABLE, UNREACHABLE
from integrations.views import ACTION_DONE, ACTION_FAILED
from integrations.wire import ApiRequest
from tests.factories import make_connection, make_user

pytestmark = pytest.mark.django_db

API_KEY = "sk-scribe-SECRET-0001"
PASSPHRASE = "pass-SECRET-phrase-42"
NOTES_URL = "https://api.scribe.test/notes"
TAGS_URL = "https://api.scribe.test/notes/n-7/tags"
KEY = "0123456789abcdef0123456789abcdef"


def post_note(client, data):
    payload = client.fetch(ApiRequest("notes", method="POST", json={
        "channel": data["channel"], "text": data["text"]})).payload
    if not payload.get("ok"):
        # Providers echo what they were sent in their errors; the service must redact it.
        raise ProviderDataError(f"Scribe said: {payload.get('description')}")
    return ActionResult(external_id=payload["id"], summary=f"Note {payload['id']} posted.")


def careless_post(client, data):
    """A provider bug: it claims its non-idempotent write may be retried."""
    payload = client.fetch(ApiRequest("notes", method="POST", json={"text": data["text"]}),
                           idempotent=True).payload
    return ActionResult(external_id=payload["id"])


def tag_note(client, data):
    client.fetch(ApiRequest(f"notes/{data['note']}/tags", method="PUT", json=[data["tag"]]))
    return ActionResult(external_id=data["note"], summary="Tagged.")


def crash(client, data):
    raise RuntimeError("a bug in the provider module")


CHANNEL = FormField("channel", "Channel", max_length=32, pattern=r"[a-z0-9-]+")
TEXT = FormField("text", "Message", max_length=500, multiline=True)
POST_NOTE = Action(
    name="post_note", label="Post a note", perform=post_note,
    fields=(CHANNEL, TEXT, FormField("passphrase", "Passphrase", secret=True, required=False)),
)


class Scribe(Provider):
    """Test-only: an API-key provider with writes."""

    slug = "scribe"
    name = "Scribe"
    description = "A test-only provider that posts notes."
    auth = Bearer()
    api_base_url = "https://api.scribe.test/"
    actions = (
        POST_NOTE,
        Action(name="careless_post", label="Post carelessly", perform=careless_post,
               fields=(TEXT,)),
        Action(name="tag_note", label="Tag a note", perform=tag_note, idempotent=True,
               fields=(FormField("note", "Note"), FormField("tag", "Tag"))),
        Action(name="crash", label="Crash", perform=crash, fields=()),
    )


@pytest.fixture(autouse=True)
def scribe(monkeypatch):
    provider = Scribe()
    monkeypatch.setitem(registry.PROVIDERS, provider.slug, provider)
    return provider


@pytest.fixture
def user():
    return make_user()


@pytest.fixture
def connection(user):
    return make_connection(user, "scribe", access_token="", refresh_token="", expires_in=None,
                           secret=json.dumps({"token": API_KEY}))


@pytest.fixture
def forgive_violations():
    """For the test that makes a violation on purpose: the suite-wide check must not fail it."""
    yield txguard.violations
    txguard.violations.clear()


NOTE = {"channel": "general", "text": "Hello there"}


def perform(connection, action="post_note", data=NOTE, key=KEY):
    return connection_action_perform(connection=connection, action=action, data=data,
                                     idempotency_key=key, actor="user:1")


# --- one write per key --------------------------------------------------------------------

def test_a_write_succeeds_and_is_recorded_without_any_consent(connection, mocked_responses):
    # No consent was ever given: consent governs reading, never the person's own writes.
    mocked_responses.post(NOTES_URL, json={"ok": True, "id": "n-1"})

    run = perform(connection)

    assert (run.status, run.external_id, run.summary) == ("succeeded", "n-1", "Note n-1 posted.")
    assert run.finished_at is not None and run.actor == "user:1"
    sent = mocked_responses.calls[0].request
    assert sent.headers["Authorization"] == f"Bearer {API_KEY}"
    assert json.loads(sent.body) == NOTE  # undeclared and empty optional fields not sent
    audit = AuditEvent.objects.get(action=AuditEvent.Action.ACTION_SUCCEEDED)
    assert (audit.connection_ref, audit.message) == (connection.pk, "Post a note: n-1")


def test_the_same_key_twice_writes_once_and_returns_the_first_result(connection,
                                                                    mocked_responses):
    mocked_responses.post(NOTES_URL, json={"ok": True, "id": "n-1"})
    mocked_responses.post(NOTES_URL, json={"ok": True, "id": "n-2"})  # a second write's answer

    first = perform(connection)
    second = perform(connection, data={"channel": " general ", "text": "Hello there"})

    assert len(mocked_responses.calls) == 1
    assert second.pk == first.pk and second.external_id == "n-1"
    assert ActionRun.objects.count() == 1


def test_the_same_key_with_other_input_is_refused_and_sends_nothing(connection,
                                                                   mocked_responses):
    mocked_responses.post(NOTES_URL, json={"ok": True, "id": "n-1"})
    first = perform(connection)

    with pytest.raises(ActionRejected) as caught:
        perform(connection, data={"channel": "general", "text": "Hello again"})

    assert caught.value.message == KEY_REUSED_OTHER_INPUT
    assert isinstance(caught.value, IdempotencyKeyReused)
    assert len(mocked_responses.calls) == 1
    assert list(ActionRun.objects.values_list("pk", flat=True)) == [first.pk]


def test_the_input_hash_keeps_no_secret_in_clear(connection, mocked_responses):
    mocked_responses.post(NOTES_URL, json={"ok": True, "id": "n-1"})
    run = perform(connection, data={**NOTE, "passphrase": PASSPHRASE})
    assert len(run.input_hash) == 64 and PASSPHRASE not in run.input_hash
    # A bare digest of the input would let a guess be checked offline: it is keyed.
    assert run.input_hash != hashlib.sha256(PASSPHRASE.encode()).hexdigest()


def test_a_second_submission_while_the_first_is_running_sends_nothing(connection,
                                                                      mocked_responses):
    during: list[ActionRun] = []

    def answer(request):
        # The first write is in flight: the same form is sent again.
        during.append(perform(connection))
        return 200, {}, json.dumps({"ok": True, "id": "n-1"})

    mocked_responses.add_callback("POST", NOTES_URL, callback=answer)

    first = perform(connection)

    assert len(mocked_responses.calls) == 1
    assert during[0].pk == first.pk and during[0].status == ActionRun.Status.RUNNING
    assert first.status == ActionRun.Status.SUCCEEDED


def test_a_key_used_for_another_action_is_refused(connection, mocked_responses):
    mocked_responses.post(NOTES_URL, json={"ok": True, "id": "n-1"})
    perform(connection)

    with pytest.raises(ActionRejected) as caught:
        perform(connection, "tag_note", {"note": "n-1", "tag": "x"})

    assert caught.value.message == KEY_REUSED
    assert len(mocked_responses.calls) == 1


def test_keys_are_per_connection(connection, mocked_responses):
    mocked_responses.post(NOTES_URL, json={"ok": True, "id": "n-1"})
    other = make_connection(make_user("bob@example.com"), "scribe", external_id="bob",
                            secret=json.dumps({"token": API_KEY}))

    assert perform(connection).pk != perform(other).pk
    assert len(mocked_responses.calls) == 2


# --- retries --------------------------------------------------------------------------------

def test_a_5xx_on_a_non_idempotent_write_is_sent_once_and_fails(connection, mocked_responses,
                                                                no_sleep):
    mocked_responses.post(NOTES_URL, status=503)
    mocked_responses.post(NOTES_URL, json={"ok": True, "id": "n-1"})  # what a retry would get

    run = perform(connection)

    assert len(mocked_responses.calls) == 1 and no_sleep == []
    assert run.status == ActionRun.Status.FAILED
    assert run.error == (UNAVAILABLE.format(name="Scribe", status=503) + " "
                         + MAY_HAVE_HAPPENED.format(name="Scribe"))
    assert ApiCall.objects.get().retries == 0
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ACTION_FAILED).count() == 1


def test_a_lost_connection_on_a_non_idempotent_write_is_not_retried(connection,
                                                                   mocked_responses, no_sleep):
    mocked_responses.post(NOTES_URL, body=requests.ConnectionError("reset by peer"))
    mocked_responses.post(NOTES_URL, json={"ok": True, "id": "n-1"})

    run = perform(connection)

    assert len(mocked_responses.calls) == 1
    assert run.error.startswith(UNREACHABLE.format(name="Scribe"))


def test_perform_cannot_ask_to_retry_a_write_declared_non_idempotent(connection,
                                                                    mocked_responses, no_sleep):
    mocked_responses.post(NOTES_URL, status=502)
    mocked_responses.post(NOTES_URL, json={"ok": True, "id": "n-1"})

    run = perform(connection, "careless_post", {"text": "hi"})

    assert len(mocked_responses.calls) == 1
    assert run.status == ActionRun.Status.FAILED


def test_an_idempotent_action_is_retried_on_503(connection, mocked_responses, no_sleep):
    mocked_responses.put(TAGS_URL, status=503)
    mocked_responses.put(TAGS_URL, json={"ok": True})

    run = perform(connection, "tag_note", {"note": "n-7", "tag": "books"})

    assert len(mocked_responses.calls) == 2 and len(no_sleep) == 1
    assert (run.status, run.external_id) == (ActionRun.Status.SUCCEEDED, "n-7")
    assert ApiCall.objects.get().retries == 1


def test_an_idempotent_action_failing_has_no_may_have_happened_note(connection,
                                                                    mocked_responses, no_sleep,
                                                                    settings):
    settings.THINKALIKE_HTTP_MAX_RETRIES = 1
    mocked_responses.put(TAGS_URL, status=503)

    run = perform(connection, "tag_note", {"note": "n-7", "tag": "books"})

    assert len(mocked_responses.calls) == 2
    assert run.error == UNAVAILABLE.format(name="Scribe", status=503)  # trying again is safe


# --- refusals before anything is sent -------------------------------------------------------

@pytest.mark.parametrize(("data", "field", "message"), [
    ({"text": "hi"}, "channel", FIELD_REQUIRED.format(label="Channel")),
    ({"channel": "   ", "text": "hi"}, "channel", FIELD_REQUIRED.format(label="Channel")),
    ({"channel": "general", "text": "\n \n"}, "text", FIELD_REQUIRED.format(label="Message")),
    ({"channel": "x" * 33, "text": "hi"}, "channel",
     FIELD_TOO_LONG.format(label="Channel", max_length=32)),
    ({"channel": "general", "text": "y" * 501}, "text",
     FIELD_TOO_LONG.format(label="Message", max_length=500)),
    ({"channel": "General!", "text": "hi"}, "channel", FIELD_INVALID.format(label="Channel")),
    ({"channel": "general\nsecond", "text": "hi"}, "channel",
     FIELD_INVALID.format(label="Channel")),
    ({"channel": ["general"], "text": "hi"}, "channel", FIELD_INVALID.format(label="Channel")),
])
def test_invalid_input_is_refused_before_anything_is_recorded(connection, mocked_responses,
                                                              data, field, message):
    with pytest.raises(ActionRejected) as caught:
        perform(connection, data=data)

    assert caught.value.errors == {field: message}
    assert caught.value.message == message
    assert len(mocked_responses.calls) == 0
    assert not ActionRun.objects.exists()


def test_every_bad_field_is_reported_at_once(connection):
    with pytest.raises(ActionRejected) as caught:
        perform(connection, data={"channel": "", "text": ""})
    assert set(caught.value.errors) == {"channel", "text"}


@pytest.mark.parametrize("key", ["", "x" * 65, "has space", "ключ", None])
def test_a_missing_or_malformed_key_is_refused(connection, mocked_responses, key):
    with pytest.raises(ActionRejected) as caught:
        perform(connection, key=key)
    assert caught.value.message == KEY_INVALID
    assert len(mocked_responses.calls) == 0


def test_an_unknown_action_is_refused(connection):
    with pytest.raises(ActionRejected) as caught:
        perform(connection, "delete_everything")
    assert caught.value.message == UNKNOWN_ACTION.format(name="Scribe", action="delete_everything")


@pytest.mark.parametrize("status", [Connection.Status.NEEDS_REAUTH, Connection.Status.DISABLED,
                                    Connection.Status.ERROR])
def test_an_inactive_connection_is_refused(connection, mocked_responses, status):
    Connection.objects.filter(pk=connection.pk).update(status=status)
    connection.refresh_from_db()

    with pytest.raises(ActionRejected) as caught:
        perform(connection)

    assert caught.value.message == NOT_ACTIVE.format(name="Scribe")
    assert len(mocked_responses.calls) == 0 and not ActionRun.objects.exists()


def test_a_finished_run_is_still_returned_after_the_connection_went_inactive(connection,
                                                                            mocked_responses):
    mocked_responses.post(NOTES_URL, json={"ok": True, "id": "n-1"})
    first = perform(connection)
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.NEEDS_REAUTH)
    connection.refresh_from_db()

    assert perform(connection).pk == first.pk  # the answer to a resubmission, not an error


# --- failures -------------------------------------------------------------------------------

def test_401_fails_the_run_and_asks_for_a_reconnect(connection, mocked_responses):
    mocked_responses.post(NOTES_URL, status=401)

    run = perform(connection)

    connection.refresh_from_db()
    assert run.status == ActionRun.Status.FAILED
    assert run.error == REFUSED.format(name="Scribe", status=401)
    assert connection.status == Connection.Status.NEEDS_REAUTH
    assert connection.last_error == run.error
    assert AuditEvent.objects.filter(action=AuditEvent.Action.MARKED_REAUTH).count() == 1
    assert len(mocked_responses.calls) == 1


def test_an_unreadable_credential_fails_before_sending_and_asks_for_a_reconnect(
        user, mocked_responses, fernet_keys):
    fernet_keys(["key-old"])
    connection = make_connection(user, "scribe", secret=json.dumps({"token": API_KEY}))
    fernet_keys(["key-new"])  # the old key removed before the rows were re-encrypted

    run = perform(connection)

    connection.refresh_from_db()
    assert run.status == ActionRun.Status.FAILED and run.error == CREDENTIAL_UNREADABLE
    assert connection.status == Connection.Status.NEEDS_REAUTH
    assert len(mocked_responses.calls) == 0


def test_a_bug_in_perform_finishes_the_run_as_failed(connection, caplog):
    caplog.set_level(logging.ERROR)

    run = perform(connection, "crash", {})

    assert run.status == ActionRun.Status.FAILED
    assert run.error == ACTION_CRASHED.format(label="Crash")
    assert ActionRun.objects.get().status == ActionRun.Status.FAILED  # not left running
    assert "crashed" in caplog.text


# --- secrets ------------------------------------------------------------------------------

def test_no_secret_in_the_run_the_audit_the_page_or_the_logs(client, user, connection,
                                                             mocked_responses, caplog):
    caplog.set_level(logging.DEBUG)
    mocked_responses.post(NOTES_URL, json={
        "ok": False, "description": f"key {API_KEY} may not post {PASSPHRASE}"})

    run = perform(connection, data={**NOTE, "passphrase": PASSPHRASE})
    client.force_login(user)
    page = client.get(reverse("integrations:connection_detail", args=[connection.pk]))

    assert run.status == ActionRun.Status.FAILED and REDACTED in run.error
    assert run.input_summary["passphrase"] == REDACTED
    stored = "\n".join(repr(list(row)) for model in (ActionRun, AuditEvent, ApiCall)
                       for row in model.objects.values_list())
    for secret in (API_KEY, PASSPHRASE):
        assert secret not in stored
        assert secret not in page.content.decode()
        assert secret not in caplog.text
    assert "may not post" in page.content.decode()  # the error itself is shown


def test_long_input_is_cut_in_the_summary(connection, mocked_responses):
    mocked_responses.post(NOTES_URL, json={"ok": True, "id": "n-1"})
    text = "z" * 499

    run = perform(connection, data={"channel": "general", "text": text})

    assert run.input_summary["text"] == "z" * SUMMARY_MAX_LENGTH + "…"
    assert json.loads(mocked_responses.calls[0].request.body)["text"] == text  # sent whole


# --- no network inside a transaction --------------------------------------------------------

def test_the_claim_is_committed_and_no_transaction_is_open_when_the_write_is_sent(
        connection, mocked_responses):
    seen = []

    def answer(request):
        seen.append((txguard.open_transaction(),
                     ActionRun.objects.values_list("status", flat=True).get()))
        return 200, {}, json.dumps({"ok": True, "id": "n-1"})

    mocked_responses.add_callback("POST", NOTES_URL, callback=answer)

    perform(connection)

    assert seen == [(None, ActionRun.Status.RUNNING)]


def test_called_inside_a_transaction_it_refuses_before_claiming(connection, mocked_responses,
                                                                forgive_violations):
    with pytest.raises(txguard.NetworkInTransaction), transaction.atomic():
        perform(connection)

    assert len(mocked_responses.calls) == 0
    assert not ActionRun.objects.exists()
    assert len(forgive_violations) == 1


# --- the page -------------------------------------------------------------------------------

def action_url(connection, action="post_note"):
    return reverse("integrations:action_perform", args=[connection.pk, action])


def form_key(html: str, action: str = "post_note") -> str:
    return re.search(rf'name="{action}-idempotency_key" value="([0-9a-f]{{32}})"', html)[1]


@pytest.fixture
def client_in(client, user):
    client.force_login(user)
    return client


def test_the_page_offers_each_action_with_a_fresh_key(client_in, connection):
    url = reverse("integrations:connection_detail", args=[connection.pk])
    first, second = client_in.get(url).content.decode(), client_in.get(url).content.decode()

    assert form_key(first) != form_key(second)
    assert form_key(first, "tag_note")
    assert f'action="{action_url(connection)}"' in first
    assert '<textarea name="post_note-text"' in first
    assert 'type="password" name="post_note-passphrase"' in first


def test_posting_the_form_twice_writes_once(client_in, connection, mocked_responses):
    mocked_responses.post(NOTES_URL, json={"ok": True, "id": "n-1"})
    page = client_in.get(reverse("integrations:connection_detail", args=[connection.pk]))
    post = {"post_note-channel": "general", "post_note-text": "Hi",
            "post_note-idempotency_key": form_key(page.content.decode())}

    first = client_in.post(action_url(connection), post, follow=True)
    second = client_in.post(action_url(connection), post, follow=True)

    assert len(mocked_responses.calls) == 1
    done = f"{ACTION_DONE.format(label='Post a note')} Note n-1 posted."
    for response in (first, second):
        assert [str(m) for m in response.context["messages"]] == [done]
    assert first.redirect_chain[-1][0].endswith("#actions")
    body = second.content.decode()
    assert "Recent actions" in body and "n-1" in body


def test_the_form_sent_again_with_other_input_says_so_and_sends_nothing(client_in, connection,
                                                                        mocked_responses):
    mocked_responses.post(NOTES_URL, json={"ok": True, "id": "n-1"})
    post = {"post_note-channel": "general", "post_note-text": "Hi",
            "post_note-idempotency_key": KEY}
    client_in.post(action_url(connection), post, follow=True)

    response = client_in.post(action_url(connection), {**post, "post_note-text": "Changed"},
                              follow=True)

    assert [str(m) for m in response.context["messages"]] == [KEY_REUSED_OTHER_INPUT]
    assert len(mocked_responses.calls) == 1 and ActionRun.objects.count() == 1


def test_a_failed_action_is_reported_on_the_page(client_in, connection, mocked_responses):
    mocked_responses.post(NOTES_URL, status=401)
    response = client_in.post(action_url(connection), {
        "post_note-channel": "general", "post_note-text": "Hi",
        "post_note-idempotency_key": KEY}, follow=True)

    messages = [str(m) for m in response.context["messages"]]
    assert messages == [ACTION_FAILED.format(
        label="Post a note", error=REFUSED.format(name="Scribe", status=401))]


def test_invalid_input_from_the_page_is_reported(client_in, connection, mocked_responses):
    response = client_in.post(action_url(connection), {
        "post_note-channel": "", "post_note-text": "Hi", "post_note-idempotency_key": KEY},
        follow=True)

    assert [str(m) for m in response.context["messages"]] == [
        FIELD_REQUIRED.format(label="Channel")]
    assert len(mocked_responses.calls) == 0


def test_another_users_connection_is_404_and_sends_nothing(client, connection,
                                                            mocked_responses):
    client.force_login(make_user("mallory@example.com"))

    response = client.post(action_url(connection), {
        "post_note-channel": "general", "post_note-text": "Hi",
        "post_note-idempotency_key": KEY})

    assert response.status_code == 404
    assert len(mocked_responses.calls) == 0 and not ActionRun.objects.exists()


def test_an_unknown_action_is_404(client_in, connection):
    assert client_in.post(action_url(connection, "delete_everything")).status_code == 404


def test_the_action_url_takes_posts_from_signed_in_people_only(client, client_in, connection):
    assert client_in.get(action_url(connection)).status_code == 405
    client.logout()
    response = client.post(action_url(connection))
    assert response.status_code == 302 and "login" in response["Location"]


def test_a_connection_needing_a_reconnect_shows_no_action_form(client_in, connection):
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.NEEDS_REAUTH)

    body = client_in.get(reverse("integrations:connection_detail",
                                 args=[connection.pk])).content.decode()

    assert "Reconnect Scribe to use these." in body
    assert "post_note-idempotency_key" not in body


# --- runs a dead worker left behind ----------------------------------------------------------

def left_behind(connection, status, key, minutes_ago):
    run = ActionRun.objects.create(connection=connection, action="post_note", status=status,
                                   idempotency_key=key, actor="user:1")
    ActionRun.objects.filter(pk=run.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes_ago))
    return run


def test_runs_a_dead_worker_left_are_closed_never_retried(connection, mocked_responses,
                                                          settings):
    settings.THINKALIKE_ACTION_STALE_SECONDS = 600
    sending = left_behind(connection, ActionRun.Status.RUNNING, "a" * 32, 11)
    waiting = left_behind(connection, ActionRun.Status.PENDING, "b" * 32, 11)
    recent = left_behind(connection, ActionRun.Status.RUNNING, "c" * 32, 2)

    assert close_stale_action_runs() == 2  # the scheduled task
    assert action_runs_close_stale() == 0

    sending.refresh_from_db(), waiting.refresh_from_db(), recent.refresh_from_db()
    assert sending.status == waiting.status == ActionRun.Status.FAILED
    assert sending.error == STOPPED_WHILE_SENDING.format(name="Scribe")
    assert waiting.error == STOPPED_BEFORE_SENDING
    assert recent.status == ActionRun.Status.RUNNING  # a slow worker may still finish it
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ACTION_FAILED).count() == 2
    # The key still answers with the closed run: nothing is sent again.
    assert perform(connection, key="a" * 32).pk == sending.pk
    assert not mocked_responses.calls
