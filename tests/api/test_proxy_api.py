"""/api/v1/connections/{id}/proxy/{path}, every answer checked against the schema."""

import pytest
import requests
from responses import matchers

from integrations.models import ApiCall
from tests.integrations.proxy.conftest import fresh_proxy_cache  # noqa: F401  # autouse
from tests.integrations.proxy.helpers import (
    CHARGES,
    CUSTOM_BASE,
    STRIPE_API,
    STRIPE_KEY,
    custom_connection,
    stripe_connection,
)

from .conftest import error_code

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fake_clock")]


@pytest.fixture
def stripe(user):
    return stripe_connection(user)


def url(connection, path="v1/charges") -> str:
    return f"/api/v1/connections/{connection.pk}/proxy/{path}"


def charges(mocked, **kwargs):
    default = {} if {"body", "json"} & set(kwargs) else {"json": CHARGES}
    return mocked.get(STRIPE_API + "charges", **default, **kwargs)


def test_a_miss_then_a_hit_with_its_age(api, stripe, mocked_responses, fake_clock):
    upstream_call = charges(mocked_responses, headers={"Set-Cookie": "s=1", "ETag": '"e1"'})
    first = api.get(url(stripe), {"limit": "3"})
    fake_clock.advance(12)
    second = api.get(url(stripe), {"limit": "3"})
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() == CHARGES
    assert (first["X-Cache"], first["Age"]) == ("MISS", "0")
    assert (second["X-Cache"], second["Age"]) == ("HIT", "12")
    # RFC 9111 4.2: a client's freshness left is max-age less Age, so max-age is the whole
    # TTL (the Age header already says how much of it has gone): 60 - 12 = 48 s left.
    assert first["Cache-Control"] == second["Cache-Control"] == "private, max-age=60"
    assert second["Content-Type"] == "application/json"
    assert second["ETag"] == '"e1"' and "Set-Cookie" not in second
    assert upstream_call.call_count == 1
    assert STRIPE_KEY not in first.content.decode() + str(dict(first.items()))


def test_no_cache_from_the_caller_refreshes(api, stripe, mocked_responses):
    upstream_call = charges(mocked_responses)
    api.get(url(stripe))
    refreshed = api.get(url(stripe), HTTP_CACHE_CONTROL="no-cache")
    assert refreshed["X-Cache"] == "REFRESH"
    assert upstream_call.call_count == 2
    assert list(ApiCall.objects.order_by("pk").values_list("cache_outcome", flat=True)) == [
        "miss", "refresh"]


def test_a_stale_copy_says_so(api, stripe, mocked_responses, fake_clock):
    charges(mocked_responses)
    api.get(url(stripe))
    mocked_responses.replace("GET", STRIPE_API + "charges", body=requests.ConnectionError())
    fake_clock.advance(90)
    stale = api.get(url(stripe))
    assert stale.status_code == 200 and stale.json() == CHARGES
    assert (stale["X-Cache"], stale["X-Proxy-Stale"], stale["Age"]) == ("STALE", "true", "90")
    assert stale["Cache-Control"] == "private, max-age=0"


def test_without_credentials_401(anon, stripe):
    assert anon.get(url(stripe)).status_code == 401


def test_another_persons_connection_is_404(api, other_user, mocked_responses):
    theirs = stripe_connection(other_user)
    response = api.get(url(theirs))
    assert response.status_code == 404 and error_code(response) == "not_found"
    assert not mocked_responses.calls


@pytest.mark.parametrize(("path", "status", "code"), [
    ("v1/refunds", 404, "not_proxied"),
    ("v1/../v1/charges", 400, "bad_path"),
    ("v1/%2e%2e/balance", 400, "bad_path"),
    ("v1//charges", 400, "bad_path"),
    ("v1/charges%252F..", 400, "bad_path"),
])
def test_undeclared_paths_and_traversal(api, stripe, mocked_responses, path, status, code):
    response = api.get(url(stripe, path))
    assert response.status_code == status and error_code(response) == code
    assert not mocked_responses.calls


def test_a_method_not_declared_is_405(api, stripe):
    response = api.post(url(stripe), {"amount": 1}, format="json")
    assert response.status_code == 405 and error_code(response) == "method_not_allowed"


def test_bad_parameters_are_400_with_field_errors(api, stripe, mocked_responses):
    response = api.get(url(stripe) + "?limit=1&limit=2&secret_param=x")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"limit", "secret_param"}
    assert not mocked_responses.calls


def test_the_rate_limit_answers_429_with_retry_after(api, stripe, mocked_responses, settings):
    settings.THINKALIKE_PROXY_RATE_STRIPE = 1
    charges(mocked_responses)
    assert api.get(url(stripe), {"limit": "1"}).status_code == 200
    limited = api.get(url(stripe), {"limit": "2"})
    assert limited.status_code == 429 and error_code(limited) == "rate_limited"
    assert 60 <= int(limited["Retry-After"]) <= 62


@pytest.mark.parametrize(("answer", "status", "code"), [
    ({"status": 401, "json": {}}, 502, "reconnect_required"),
    ({"body": "<html/>", "content_type": "text/html"}, 502, "bad_upstream"),
    ({"status": 503, "json": {}, "headers": {"Retry-After": "9"}}, 503, "upstream_unavailable"),
    ({"status": 429, "json": {}, "headers": {"Retry-After": "9"}}, 503,
     "upstream_rate_limited"),
    ({"body": requests.ReadTimeout()}, 504, "upstream_timeout"),
])
def test_provider_failures_in_the_one_error_shape(api, stripe, mocked_responses, answer, status,
                                                  code):
    charges(mocked_responses, **answer)
    response = api.get(url(stripe))
    assert response.status_code == status and error_code(response) == code
    if code == "upstream_rate_limited":
        assert response["Retry-After"] == "9"


def test_a_custom_api_path_stays_under_its_base(api, user, mocked_responses):
    connection = custom_connection(user)
    mocked_responses.get(CUSTOM_BASE + "stations/st-1", json={"id": "st-1"})
    assert api.get(url(connection, "stations/st-1")).json() == {"id": "st-1"}
    escaped = api.get(url(connection, "stations/../../admin"))
    assert escaped.status_code == 400
    assert mocked_responses.calls[0].request.url == CUSTOM_BASE + "stations/st-1"
    assert len(mocked_responses.calls) == 1


@pytest.mark.parametrize("value", ["csv", "json", "api"])
def test_a_format_parameter_goes_to_the_api_not_to_drf(api, user, mocked_responses, value):
    """DRF reads ?format= to choose its renderer (URL_FORMAT_OVERRIDE): here it is the
    provider's parameter, passed on as it came, and the answer is still JSON."""
    connection = custom_connection(user)
    mocked_responses.get(CUSTOM_BASE + "export", json={"rows": 2},
                         match=[matchers.query_param_matcher({"format": value})])
    response = api.get(url(connection, "export"), {"format": value})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"rows": 2}
    assert len(mocked_responses.calls) == 1


def test_an_empty_answer_is_json_null(api, user, mocked_responses):
    connection = custom_connection(user)
    mocked_responses.get(CUSTOM_BASE + "ping", status=204)
    response = api.get(url(connection, "ping"))
    assert response.status_code == 200 and response.json() is None


def test_without_consent_for_the_dashboard_the_answer_is_403(api, user, stripe,
                                                             mocked_responses):
    from consent.purposes import DASHBOARD
    from consent.services import consent_set

    consent_set(user=user, purpose=DASHBOARD, granted=False)
    response = api.get(url(stripe))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "consent_required"
