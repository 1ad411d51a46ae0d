"""GitHub (integrations/providers/github): mapping, conditional re-sync, rate limits, revoke."""

from __future__ import annotations

import base64
import copy
import json

import pytest
import requests
from responses import matchers

from consent.purposes import PURPOSES
from consent.services import consent_set
from integrations import ratelimit
from integrations.classify import GITHUB_SECONDARY_WAIT, Classification, Verdict
from integrations.exceptions import ConnectionTestFailed, ProviderDataError
from integrations.http import ApiClient
from integrations.models import ApiCall, Connection, ExternalItem, RateBucket, SyncRun
from integrations.providers.contract import fixture
from integrations.providers.github import contract
from integrations.providers.github.mapping import (
    LANGUAGE_WEIGHT,
    TOPIC_WEIGHT,
    code_interests,
    map_star,
)
from integrations.providers.github.provider import OTHER_ACCOUNT
from integrations.providers.registry import get_provider
from integrations.sync import sync_execute, sync_request
from integrations.tokens import token_revoke
from tests.factories import make_connection, make_user

GITHUB = get_provider("github")
PAGE_1 = fixture(contract.__file__, "starred")
TOKEN = "gho_16C7e42F292c6912E7710c838347Ae178B4a"


def star(**repo_changes) -> dict:
    record = copy.deepcopy(PAGE_1[0])
    record["repo"].update(repo_changes)
    return record


# --- mapping ---------------------------------------------------------------------------------

def test_a_star_keeps_what_matching_uses_keyed_by_the_numeric_repo_id():
    item = map_star(PAGE_1[0], {})
    assert item.external_id == "27574418" and item.title == "pallets/flask"
    assert item.attrs == {
        "full_name": "pallets/flask",
        "description": "The Python micro framework for building web applications.",
        "html_url": "https://github.com/pallets/flask", "language": "Python",
        "topics": ["flask", "python", "wsgi", "web-framework", "jinja", "werkzeug"],
        "stargazers_count": 69800, "starred_at": "2026-11-02T18:22:41Z",
    }


def test_optional_fields_of_the_wrong_type_are_dropped_not_stored():
    item = map_star(star(description=None, language=["Python"], stargazers_count=True,
                         html_url=7, topics=None), {})
    assert item.attrs["description"] is None and item.attrs["language"] is None
    assert item.attrs["stargazers_count"] is None and item.attrs["html_url"] is None
    assert item.attrs["topics"] == []


@pytest.mark.parametrize("record", [
    {"starred_at": "2026-01-01T00:00:00Z"},  # a bare repo list (the wrong media type)
    PAGE_1[0]["repo"],
    star(id="27574418"),  # ids are numbers
    star(id=True),
    star(full_name=""),
    star(topics="python"),
    {"repo": PAGE_1[0]["repo"]},  # no starred_at
], ids=["no-repo", "bare-repo", "string-id", "bool-id", "empty-name", "topics-string",
        "no-starred-at"])
def test_unusable_stars_are_provider_data_errors(record):
    with pytest.raises(ProviderDataError):
        map_star(record, {})


def test_language_and_topics_become_code_interests_once_each():
    found = code_interests(map_star(star(topics=["python", "Web Framework", "  "]), {}).attrs)
    assert [(s.slug, s.label, s.category, s.weight) for s in found] == [
        ("code-python", "Python", "code", LANGUAGE_WEIGHT),  # the topic "python" merged in
        ("code-web-framework", "Web Framework", "code", TOPIC_WEIGHT),
    ]


def test_a_repository_without_a_language_has_only_its_topics():
    found = code_interests(map_star(star(language=None, topics=["dotfiles"]), {}).attrs)
    assert [s.slug for s in found] == ["code-dotfiles"]


# --- sync: headers, Link paging, the ETag re-sync ---------------------------------------------

@pytest.fixture
def github_connection(db, settings, fake_clock, no_sleep):
    settings.THINKALIKE_RATE_BUDGETS = True
    settings.REDIS_URL = ""  # the budget lives in RateBucket rows the test can read
    user = make_user("octo@example.com")
    for purpose in PURPOSES:
        consent_set(user=user, purpose=purpose, granted=True)
    return make_connection(user, "github", external_id="1", access_token=TOKEN,
                           refresh_token="", expires_in=None)


def run_sync(connection, *, full: bool) -> SyncRun:
    Connection.objects.filter(pk=connection.pk).update(sync_claimed_at=None)
    run = sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL, full=full,
                       enqueue=False)
    return sync_execute(run_id=run.pk)


def mock_sync(mocked_responses):
    for answer in contract.SYNC:
        mocked_responses.get(answer.url, json=answer.json, headers=dict(answer.headers),
                             match=[matchers.query_param_matcher(dict(answer.params))])


def budget_stamps(connection) -> int:
    key = ratelimit.connection_key("github", connection.pk)
    return len(RateBucket.objects.get(key=key).stamps)


def test_every_request_pins_the_api_version_and_asks_for_starred_at(
        github_connection, mocked_responses):
    mock_sync(mocked_responses)
    run = run_sync(github_connection, full=True)
    assert (run.status, run.pages, run.created) == (SyncRun.Status.SUCCEEDED, 2, 3)
    for call in mocked_responses.calls:
        headers = call.request.headers
        assert headers["Accept"] == "application/vnd.github.star+json"
        assert headers["X-GitHub-Api-Version"] == "2022-11-28"
        assert headers["Authorization"] == f"Bearer {TOKEN}"
        assert "If-None-Match" not in headers  # a full pass never asks conditionally
    assert "page=2" in mocked_responses.calls[1].request.url  # followed the Link header


def test_an_incremental_resync_asks_with_the_etag_and_a_304_writes_and_costs_nothing(
        github_connection, mocked_responses):
    mock_sync(mocked_responses)
    assert run_sync(github_connection, full=True).status == SyncRun.Status.SUCCEEDED
    rows = list(ExternalItem.objects.order_by("pk").values_list("pk", "content_hash",
                                                                "last_seen_at"))
    spent = budget_stamps(github_connection)
    assert spent == 2

    mocked_responses.reset()
    not_modified = mocked_responses.get(
        contract.STARRED, status=304, body="",
        headers={"ETag": contract.PAGE_1_ETAG, **contract.limits(4996)},
        match=[matchers.header_matcher({"If-None-Match": contract.PAGE_1_ETAG})])
    again = run_sync(github_connection, full=False)

    assert again.status == SyncRun.Status.SUCCEEDED, again.error_message
    assert again.mode == SyncRun.Mode.INCREMENTAL
    assert not_modified.call_count == 1 and len(mocked_responses.calls) == 1
    assert (again.created, again.updated, again.deleted) == (0, 0, 0)
    assert list(ExternalItem.objects.order_by("pk").values_list(
        "pk", "content_hash", "last_seen_at")) == rows
    assert budget_stamps(github_connection) == spent  # the 304 gave its slot back


def test_a_changed_first_page_is_read_in_full_and_its_new_etag_kept(
        github_connection, mocked_responses):
    mock_sync(mocked_responses)
    run_sync(github_connection, full=True)
    mocked_responses.reset()
    new_star = star(id=99, full_name="astral-sh/ruff", language="Rust", topics=["linter"])
    new_star["starred_at"] = "2026-11-28T09:00:00Z"
    mocked_responses.get(contract.STARRED, json=[new_star, *PAGE_1],
                         headers={"ETag": 'W/"new"', **contract.limits(4995)},
                         match=[matchers.query_param_matcher({"per_page": "100"})])
    again = run_sync(github_connection, full=False)
    assert (again.mode, again.created) == (SyncRun.Mode.INCREMENTAL, 1)
    assert mocked_responses.calls[0].request.headers["If-None-Match"] == contract.PAGE_1_ETAG

    mocked_responses.reset()
    mocked_responses.get(contract.STARRED, status=304, body="",
                         match=[matchers.header_matcher({"If-None-Match": 'W/"new"'})])
    assert run_sync(github_connection, full=False).created == 0


# --- rate limits -----------------------------------------------------------------------------

def answer(status: int, headers: dict[str, str], body: dict | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers)  # a CaseInsensitiveDict, as requests builds it
    response._content = json.dumps(body or {}).encode()
    return response


def test_primary_limit_waits_until_the_lowercase_reset_header(fake_clock):
    reset = int(fake_clock.time()) + 1234
    limited = answer(403, {**contract.limits(0), "x-ratelimit-reset": str(reset)},
                     {"message": "API rate limit exceeded for user ID 1."})
    wait = reset - fake_clock.time()
    assert 1233 < wait <= 1234
    assert GITHUB.classify_response(limited) == Classification(Verdict.RATE_LIMITED, wait)


@pytest.mark.parametrize("status", [403, 429])
def test_secondary_limit_without_retry_after_waits_a_minute(status):
    limited = answer(status, contract.limits(4000),
                     {"message": "You have exceeded a secondary rate limit."})
    assert GITHUB.classify_response(limited) == Classification(Verdict.RATE_LIMITED,
                                                               GITHUB_SECONDARY_WAIT)


def test_secondary_limit_waits_as_long_as_retry_after_says():
    limited = answer(403, {"retry-after": "17"},
                     {"message": "You have exceeded a secondary rate limit."})
    assert GITHUB.classify_response(limited) == Classification(Verdict.RATE_LIMITED, 17)


def test_a_forbidden_repository_is_not_a_rate_limit():
    refused = answer(403, contract.limits(4000), {"message": "Must have admin rights."})
    assert GITHUB.classify_response(refused).verdict == Verdict.RECONNECT


def test_an_answer_spending_the_last_request_blocks_the_connection_until_reset(
        github_connection, mocked_responses, fake_clock):
    reset = int(fake_clock.time()) + 600
    mocked_responses.get("https://api.github.com/user", json={"id": 1, "login": "octocat"},
                         headers={**contract.limits(0), "x-ratelimit-reset": str(reset)})
    ApiClient(GITHUB, connection=github_connection).get_json("user")
    key = ratelimit.connection_key("github", github_connection.pk)
    assert RateBucket.objects.get(key=key).blocked_until == reset


# --- test connection and revoke --------------------------------------------------------------

def test_test_connection_compares_the_numeric_id(github_connection, mocked_responses):
    mocked_responses.get("https://api.github.com/user", json={"id": 1, "login": "octocat"})
    info = GITHUB.test_connection(ApiClient(GITHUB, connection=github_connection),
                                  github_connection)
    assert (info.external_id, info.label) == ("1", "octocat")
    mocked_responses.replace("GET", "https://api.github.com/user",
                             json={"id": 2, "login": "hubot"})
    with pytest.raises(ConnectionTestFailed, match=OTHER_ACCOUNT):
        GITHUB.test_connection(ApiClient(GITHUB, connection=github_connection),
                               github_connection)


def test_disconnect_deletes_the_token_with_the_apps_basic_auth(github_connection,
                                                               mocked_responses, settings):
    app = settings.SOCIALACCOUNT_PROVIDERS["github"]["APPS"][0]
    url = f"https://api.github.com/applications/{app['client_id']}/token"
    mocked_responses.delete(url, status=204, body="")
    assert token_revoke(connection=github_connection) is True

    request = mocked_responses.calls[0].request
    expected = base64.b64encode(f"{app['client_id']}:{app['secret']}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert json.loads(request.body) == {"access_token": TOKEN}
    assert request.headers["X-GitHub-Api-Version"] == "2022-11-28"
    recorded = ApiCall.objects.get(method="DELETE")
    assert TOKEN not in recorded.path and app["secret"] not in recorded.path
