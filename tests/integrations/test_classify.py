"""integrations/classify.py: what a response means, with real-shaped GitHub and Google bodies
(shared/PROVIDERS.md), directly and through a provider that uses the helpers."""

import json
import time

import pytest
import requests

from integrations import classify
from integrations.auth import Bearer
from integrations.classify import Classification, Verdict
from integrations.exceptions import RateLimited, ReauthRequired
from integrations.http import ApiClient
from integrations.models import RateBucket
from integrations.providers.base import Provider

# GitHub REST: primary limit (docs: rate-limits-for-the-rest-api).
GITHUB_PRIMARY = {
    "message": "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for "
               "help, please include the request ID 8E64:1A2B:3C4D:5E6F:7A8B.",
    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
    "status": "403",
}
GITHUB_SECONDARY = {
    "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you "
               "try again. If you reach out to GitHub Support for help, please include the "
               "request ID 8E64:1A2B:3C4D:5E6F:7A8B.",
    "documentation_url": "https://docs.github.com/free-pro-team@latest/rest/overview/"
                         "rate-limits-for-the-rest-api#about-secondary-rate-limits",
    "status": "403",
}
GITHUB_FORBIDDEN = {"message": "Resource not accessible by integration",
                    "documentation_url": "https://docs.github.com/rest", "status": "403"}
# Google APIs, the v1 error shape (Calendar, Drive, Gmail) and the newer one.
GOOGLE_USER_RATE = {"error": {
    "errors": [{"domain": "usageLimits", "reason": "userRateLimitExceeded",
                "message": "User Rate Limit Exceeded"}],
    "code": 403, "message": "User Rate Limit Exceeded"}}
GOOGLE_RATE = {"error": {
    "errors": [{"domain": "usageLimits", "reason": "rateLimitExceeded",
                "message": "Rate Limit Exceeded"}],
    "code": 403, "message": "Rate Limit Exceeded"}}
GOOGLE_EXHAUSTED = {"error": {
    "code": 429, "message": "Quota exceeded for quota metric 'Queries' and limit 'Queries per "
                            "minute per user' of service 'calendar-json.googleapis.com'.",
    "status": "RESOURCE_EXHAUSTED",
    "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                 "reason": "RATE_LIMIT_EXCEEDED", "domain": "googleapis.com"}]}}
GOOGLE_FORBIDDEN = {"error": {
    "errors": [{"domain": "global", "reason": "insufficientPermissions",
                "message": "Insufficient Permission"}],
    "code": 403, "message": "Insufficient Permission"}}


def response(status: int, body=None, headers: dict | None = None) -> requests.Response:
    made = requests.Response()
    made.status_code = status
    made._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    made.headers.update(headers or {})
    return made


@pytest.mark.parametrize(("status", "verdict"), [
    (200, Verdict.OK), (304, Verdict.OK), (401, Verdict.REFRESH_THEN_RETRY),
    (403, Verdict.RECONNECT), (429, Verdict.RATE_LIMITED), (500, Verdict.TRY_LATER),
    (503, Verdict.TRY_LATER), (410, Verdict.CURSOR_REJECTED), (404, Verdict.BAD_DATA),
    (400, Verdict.BAD_DATA),
])
def test_default_is_the_behaviour_every_provider_had(status, verdict):
    assert classify.default(response(status, {})).verdict == verdict


def test_default_429_waits_for_retry_after_or_the_reset():
    assert classify.default(response(429, {}, {"Retry-After": "7"})).wait == 7.0
    reset = response(429, {}, {"X-RateLimit-Remaining": "0",
                               "X-RateLimit-Reset": str(int(time.time()) + 100)})
    assert 95 <= classify.default(reset).wait <= 100
    assert classify.default(response(429, {})).wait is None  # the client backs off


def test_github_primary_limit_waits_for_the_reset():
    reset = int(time.time()) + 1200
    found = classify.github_rate_limit(response(403, GITHUB_PRIMARY, {
        "X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0",
        "X-RateLimit-Used": "5000", "X-RateLimit-Reset": str(reset),
        "X-RateLimit-Resource": "core"}))
    assert found.verdict == Verdict.RATE_LIMITED and 1195 <= found.wait <= 1200


def test_github_secondary_limit_honours_retry_after_else_a_minute():
    with_header = response(403, GITHUB_SECONDARY, {"Retry-After": "30",
                                                   "X-RateLimit-Remaining": "4990"})
    assert classify.github_rate_limit(with_header) == Classification(Verdict.RATE_LIMITED, 30.0)
    without = response(403, GITHUB_SECONDARY, {"X-RateLimit-Remaining": "4990"})
    assert classify.github_rate_limit(without) == Classification(
        Verdict.RATE_LIMITED, classify.GITHUB_SECONDARY_WAIT)


def test_github_403_that_is_not_a_limit_is_left_to_the_default():
    forbidden = response(403, GITHUB_FORBIDDEN, {"X-RateLimit-Remaining": "4999"})
    assert classify.github_rate_limit(forbidden) is None
    assert classify.github_rate_limit(response(200, {}, {"X-RateLimit-Remaining": "0"})) is None


@pytest.mark.parametrize("body", [GOOGLE_USER_RATE, GOOGLE_RATE, GOOGLE_EXHAUSTED],
                         ids=["userRateLimitExceeded", "rateLimitExceeded",
                              "RESOURCE_EXHAUSTED"])
@pytest.mark.parametrize("status", [403, 429])
def test_google_quota_answers_are_rate_limits(body, status):
    found = classify.google_rate_limit(response(status, body))
    assert found == Classification(Verdict.RATE_LIMITED, None)  # no Retry-After: back off


@pytest.mark.parametrize("body", [
    GOOGLE_FORBIDDEN, {"error": "rateLimitExceeded"}, {"error": {"errors": "x"}},
    {"error": {"errors": [{"reason": ["rateLimitExceeded"]}]}}, [], b"\xff", b"[" * 50_000,
])
def test_google_helper_ignores_other_and_malformed_bodies(body):
    assert classify.google_rate_limit(response(403, body)) is None


# --- through a provider -------------------------------------------------------------------

class GitHubLike(Provider):
    """Test-only: a provider that answers rate limits with a 403, like GitHub."""

    slug = "githublike"
    name = "GitHub-like"
    description = "A test-only provider whose rate limits come as 403 answers."
    auth = Bearer()
    api_base_url = "https://api.githublike.test/"
    rate_limit = (100, 1.0)
    rate_limit_per_connection = True

    def classify_response(self, response):
        return classify.github_rate_limit(response) or super().classify_response(response)


URL = "https://api.githublike.test/user/repos"


@pytest.fixture
def budgets(settings, db, no_sleep):
    settings.THINKALIKE_RATE_BUDGETS = True
    settings.REDIS_URL = ""


def test_a_provider_hook_turns_a_github_403_into_a_capped_rate_limit(budgets, mocked_responses,
                                                                    settings):
    settings.THINKALIKE_MAX_PROVIDER_BLOCK_SECONDS = 600
    mocked_responses.get(URL, status=403, json=GITHUB_PRIMARY, headers={
        "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + 86400)})
    client = ApiClient(GitHubLike(), secrets={"token": "ghp_fake"})
    before = time.time()
    with pytest.raises(RateLimited) as caught:
        client.get_json("user/repos")
    assert caught.value.retry_after == 600  # a day asked for, the cap given
    assert caught.value.message == "GitHub-like is limiting requests right now. Please try " \
                                   "again later."
    assert RateBucket.objects.get().blocked_until <= before + 600 + 5
    assert len(mocked_responses.calls) == 1  # a wait past the retry cap is not waited for


def test_the_same_403_without_the_hook_means_reconnect(budgets, mocked_responses):
    mocked_responses.get(URL, status=403, json=GITHUB_PRIMARY,
                         headers={"X-RateLimit-Remaining": "0"})
    plain = type("PlainGitHubLike", (GitHubLike,), {
        "classify_response": Provider.classify_response})
    with pytest.raises(ReauthRequired):
        ApiClient(plain(), secrets={"token": "ghp_fake"}).get_json("user/repos")


def test_a_short_secondary_limit_is_waited_out(budgets, mocked_responses, no_sleep):
    mocked_responses.get(URL, status=403, json=GITHUB_SECONDARY, headers={"Retry-After": "2"})
    mocked_responses.get(URL, json=[])  # responses answers the first, then the second
    client = ApiClient(GitHubLike(), secrets={"token": "ghp_fake"})
    assert client.get_json("user/repos") == []
    assert no_sleep == [2.0]
    # the block was the connection-less key of a per-user provider: scoped, and already over
    assert RateBucket.objects.get().key == "provider:githublike"
