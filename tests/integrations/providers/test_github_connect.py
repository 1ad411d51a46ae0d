"""Connecting GitHub through allauth (integrations/providers/github/allauth): PKCE, the declared
scope, GitHub's HTTP 200 error answers to the code exchange, and a checked numeric account id."""

import logging
from urllib.parse import parse_qs

import pytest
from allauth.socialaccount.models import SocialAccount
from django.urls import reverse

from integrations.allauth.adapter import CONNECT_FAILED
from integrations.allauth.oauth2 import BAD_PROFILE_ANSWER, BAD_TOKEN_ANSWER
from integrations.allauth.receivers import CONNECTED as RECEIVER_CONNECTED
from integrations.models import Connection, Credential
from tests.integrations.test_connect_oauth import CONNECTED, callback, messages_of, start

TOKEN_URL = "https://github.com/login/oauth/access_token"
USER_URL = "https://api.github.com/user"
TOKEN = "gho_16C7e42F292c6912E7710c838347Ae178B4a"
PROFILE = {"login": "octocat", "id": 1, "name": "monalisa octocat", "type": "User",
           "html_url": "https://github.com/octocat", "email": "octocat@github.com"}


@pytest.fixture
def auth_client(client, db, django_user_model):
    client.force_login(django_user_model.objects.create_user(username="mona"))
    return client


@pytest.fixture
def quiet_queue(monkeypatch):
    monkeypatch.setattr("integrations.sync.enqueue_many", lambda func, batch: None)


def connect(auth_client, mocked_responses, *, token_answer, profile=PROFILE):
    location, query = start(auth_client, "github_login")
    mocked_responses.post(TOKEN_URL, json=token_answer)
    mocked_responses.get(USER_URL, json=profile)
    return location, query, callback(auth_client, query["state"], name="github_callback")


def test_connect_asks_for_read_user_with_pkce_and_stores_the_numeric_id(
        auth_client, mocked_responses, quiet_queue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        location, query, response = connect(
            auth_client, mocked_responses,
            token_answer={"access_token": TOKEN, "scope": "read:user", "token_type": "bearer"})
    assert (location.netloc, location.path) == ("github.com", "/login/oauth/authorize")
    assert query["scope"] == "read:user" and query["code_challenge_method"] == "S256"

    token_request = mocked_responses.calls[0].request
    assert token_request.headers["Accept"] == "application/json"  # else form-encoded
    assert "code_verifier" in parse_qs(token_request.body)
    assert mocked_responses.calls[1].request.headers["Authorization"] == f"Bearer {TOKEN}"

    assert response["Location"] == CONNECTED
    assert messages_of(response) == [RECEIVER_CONNECTED.format(provider="GitHub",
                                                               label="octocat")]
    connection = Connection.objects.get()
    assert (connection.provider, connection.external_account_id, connection.account_label) == (
        "github", "1", "octocat")
    assert Credential.objects.get(connection=connection).access_token == TOKEN
    assert "email" not in SocialAccount.objects.get().extra_data  # only what is shown is kept


@pytest.mark.parametrize("error", ["bad_verification_code", "incorrect_client_credentials",
                                   "redirect_uri_mismatch", "unverified_user_email"])
def test_an_error_answered_with_http_200_saves_nothing(auth_client, mocked_responses, caplog,
                                                       error):
    caplog.set_level(logging.INFO)
    _, _, response = connect(auth_client, mocked_responses, token_answer={
        "error": error, "error_description": "The code passed is incorrect or expired.",
        "error_uri": "https://docs.github.com/apps/troubleshooting"})
    assert response["Location"] == CONNECTED
    assert messages_of(response) == [
        CONNECT_FAILED.format(provider="GitHub", reason=BAD_TOKEN_ANSWER)]
    assert len(mocked_responses.calls) == 1  # no profile call without a token
    assert not Connection.objects.exists() and not SocialAccount.objects.exists()
    assert "incorrect or expired" not in caplog.text  # the answer is never logged


def test_an_error_beside_an_access_token_is_still_refused(auth_client, mocked_responses):
    _, _, response = connect(auth_client, mocked_responses, token_answer={
        "access_token": TOKEN, "error": "bad_verification_code"})
    assert messages_of(response) == [
        CONNECT_FAILED.format(provider="GitHub", reason=BAD_TOKEN_ANSWER)]
    assert not Connection.objects.exists()


@pytest.mark.parametrize("account_id", ["1", True, [1], None, 1.5])
def test_a_profile_without_a_numeric_id_saves_nothing(auth_client, mocked_responses,
                                                      account_id):
    _, _, response = connect(auth_client, mocked_responses,
                             token_answer={"access_token": TOKEN, "scope": "read:user"},
                             profile={**PROFILE, "id": account_id})
    assert messages_of(response) == [
        CONNECT_FAILED.format(provider="GitHub", reason=BAD_PROFILE_ANSWER)]
    assert not Connection.objects.exists() and not SocialAccount.objects.exists()


def test_the_callback_reads_answers_safely():
    from django.urls import resolve

    assert resolve(reverse("github_callback")).func.reads_answers_safely
