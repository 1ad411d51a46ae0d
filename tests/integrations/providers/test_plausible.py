"""Plausible Analytics: an API key and a site ID tested before save (today's visitors of the
site), Plausible's refusals in words for people, hostile answers refused, no streams, and a
proxy declaration whose site_id only the server fills in."""

import json
import re

import pytest
import requests
from responses import matchers

from integrations import ratelimit
from integrations.classify import Verdict
from integrations.exceptions import ConnectionTestFailed, ProviderDataError
from integrations.http import ApiClient
from integrations.models import ApiCall, Connection, SyncRun
from integrations.providers.contract import fixture
from integrations.providers.plausible import contract, errors, proxy, site
from integrations.providers.plausible.provider import QUERY_REFUSED_AT_CONNECT
from integrations.providers.registry import get_provider
from integrations.services import CHECK_FAILED, connection_connect_with_form, connection_test
from integrations.transport import RATE_LIMITED_MESSAGE
from tests.factories import make_user

PLAUSIBLE = get_provider("plausible")
AGGREGATE = contract.API + "api/v1/stats/aggregate"
KEY, SITE = contract.KEY, contract.SITE
TODAY = {"site_id": SITE, "period": "day", "metrics": "visitors"}


@pytest.fixture
def person(db, settings):
    settings.THINKALIKE_RATE_BUDGETS = False
    return make_user("analyst@example.com")


def connect(person, site_id=SITE, key=KEY) -> Connection:
    return connection_connect_with_form(user=person, provider=PLAUSIBLE,
                                        fields={"site_id": site_id, "token": key})


def answer_today(mocked, payload=None, *, status=200, site_id=SITE, **kwargs):
    """Plausible's answer to the connect test (``payload`` as JSON, or a raw ``body=``)."""
    return mocked.get(AGGREGATE, status=status, match=[matchers.query_param_matcher(
        {**TODAY, "site_id": site_id})], **({"json": payload} if payload is not None else {}),
        **kwargs)


# -- connect -------------------------------------------------------------------------------------

def test_connect_reads_todays_visitors_and_names_the_account_by_its_site(person,
                                                                        mocked_responses):
    today = mocked_responses.get(AGGREGATE, json=fixture(contract.__file__, "aggregate_day"),
                                 headers=contract.HEADERS, match=[
                                     matchers.query_param_matcher(TODAY),
                                     matchers.header_matcher({"Authorization": f"Bearer {KEY}"})])
    connection = connect(person)

    assert today.call_count == 1
    assert (connection.external_account_id, connection.account_label) == (SITE, SITE)
    assert connection.config == {"site_id": SITE}
    assert connection.status == Connection.Status.ACTIVE
    # No streams: connected for the dashboard, never due for a sync.
    assert connection.next_sync_at is None and not SyncRun.objects.exists()
    stored = json.dumps([connection.config, connection.account_label,
                         list(ApiCall.objects.values("host", "path", "error"))])
    assert KEY not in stored


def test_a_typed_address_is_kept_as_the_bare_domain(person, mocked_responses):
    answer_today(mocked_responses, fixture(contract.__file__, "aggregate_day"),
                 site_id="shop.example.com")
    connection = connect(person, site_id="  HTTPS://Shop.Example.com/ ")
    assert connection.config == {"site_id": "shop.example.com"}


@pytest.mark.parametrize("typed", ["", "exa mple.com", "_dmarc.example.com", "example.com?x=1",
                                   "example.com#top", "user@example.com", "x" * 254])
def test_a_site_id_plausible_could_not_hold_is_refused_before_any_request(person,
                                                                         mocked_responses, typed):
    with pytest.raises(ConnectionTestFailed) as refused:
        connect(person, site_id=typed)
    assert refused.value.message == site.BAD_SITE_ID
    assert not mocked_responses.calls and not Connection.objects.exists()


def test_a_refused_key_says_so_and_saves_nothing(person, mocked_responses):
    answer_today(mocked_responses, fixture(contract.__file__, "unauthorized"), status=401)
    with pytest.raises(ConnectionTestFailed) as refused:
        connect(person)
    assert refused.value.message == CHECK_FAILED.format(reason=errors.KEY_OR_SITE_REFUSED)
    assert not Connection.objects.exists()
    assert len(mocked_responses.calls) == 1  # a key is not refreshed and retried


def test_a_400_naming_the_site_is_shown_as_plausible_said_it(person, mocked_responses):
    said = "Site example.com is not ready for Stats API queries yet."
    answer_today(mocked_responses, {"error": said}, status=400)
    with pytest.raises(ConnectionTestFailed) as refused:
        connect(person)
    assert refused.value.message == QUERY_REFUSED_AT_CONNECT.format(
        reason=errors.QUERY_REFUSED.format(message=said))
    assert not Connection.objects.exists()


def test_a_plan_without_the_stats_api_is_named(person, mocked_responses):
    answer_today(mocked_responses, fixture(contract.__file__, "payment_required"), status=402)
    with pytest.raises(ConnectionTestFailed) as refused:
        connect(person)
    assert refused.value.message == CHECK_FAILED.format(reason=errors.NO_STATS_API)


def test_a_refusal_that_echoes_the_key_never_shows_it(person, mocked_responses):
    answer_today(mocked_responses, {"error": f"bad\u0000 query for key {KEY}\n" + "x" * 400},
                 status=400)
    with pytest.raises(ConnectionTestFailed) as refused:
        connect(person)
    message = refused.value.message
    assert KEY not in message and "\u0000" not in message and "\n" not in message
    assert len(message) < errors.MAX_MESSAGE + 80


@pytest.mark.parametrize("body", [
    {"results": {"visitors": {"value": "57"}}},
    {"results": {"visitors": {"value": 57.5}}},
    {"results": {"visitors": {"value": True}}},
    {"results": {"visitors": {"value": -1}}},
    {"results": {"visitors": {"value": None}}},
    {"results": {"visitors": 57}},
    {"results": [{"visitors": 57}]},
    {"results": "57"},
    {"visitors": {"value": 57}},
    [57],
    57,
    "57",
    {"error": 57},  # an error marker of another shape, on a 200
])
def test_an_answer_of_another_shape_saves_nothing(person, mocked_responses, body):
    answer_today(mocked_responses, body)
    with pytest.raises(ConnectionTestFailed):
        connect(person)
    assert not Connection.objects.exists()


@pytest.mark.parametrize("body", [b"<html>Bad Request</html>", b'{"error": ["a", "list"]}',
                                  b"", b'{"error": "' + b"\xff" + b'"}'])
def test_a_400_without_plausibles_error_body_is_bad_data(person, mocked_responses, body):
    answer_today(mocked_responses, status=400, body=body)
    with pytest.raises(ConnectionTestFailed) as refused:
        connect(person)
    assert "Plausible" in refused.value.message and not Connection.objects.exists()


def test_test_connection_reads_the_stored_site(person, mocked_responses):
    answer_today(mocked_responses, fixture(contract.__file__, "aggregate_day"))
    connection = connect(person)
    mocked_responses.reset()
    again = answer_today(mocked_responses, {"results": {"visitors": {"value": 0}}})
    assert connection_test(connection=connection).external_id == SITE
    assert again.call_count == 1


def test_test_connection_names_a_refused_query_without_claiming_nothing_was_saved(
        person, mocked_responses):
    answer_today(mocked_responses, fixture(contract.__file__, "aggregate_day"))
    connection = connect(person)
    mocked_responses.reset()
    said = fixture(contract.__file__, "missing_site")["error"]
    answer_today(mocked_responses, {"error": said}, status=400)
    with pytest.raises(ProviderDataError) as refused:
        connection_test(connection=connection)
    assert refused.value.message == errors.QUERY_REFUSED.format(message=said)
    assert refused.value.code == "query_refused"


# -- limits --------------------------------------------------------------------------------------

def test_each_connection_spends_its_own_keys_hourly_budget(person, mocked_responses):
    answer_today(mocked_responses, fixture(contract.__file__, "aggregate_day"))
    connection = connect(person)
    budget = ApiClient(PLAUSIBLE, connection=connection).budget
    assert budget.key == ratelimit.connection_key("plausible", connection.pk)
    assert (budget.limit, budget.window) == (600, 3600.0)


def test_a_key_over_its_hourly_limit_saves_nothing_and_says_try_later(person, mocked_responses,
                                                                       no_sleep):
    limited = answer_today(mocked_responses, fixture(contract.__file__, "too_many_requests"),
                           status=429)
    with pytest.raises(ConnectionTestFailed) as refused:
        connect(person)
    assert refused.value.message == CHECK_FAILED.format(
        reason=RATE_LIMITED_MESSAGE.format(name=PLAUSIBLE.name))
    assert 1 < limited.call_count <= 4 and not Connection.objects.exists()  # bounded retries


def test_a_429_is_a_rate_limit_and_a_refused_query_is_not():
    def verdict(status, body):
        response = requests.Response()
        response.status_code, response._content = status, json.dumps(body).encode()
        return PLAUSIBLE.classify_response(response).verdict

    assert verdict(429, fixture(contract.__file__, "too_many_requests")) == Verdict.RATE_LIMITED
    assert verdict(400, fixture(contract.__file__, "bad_period")) == Verdict.OK
    assert verdict(400, ["not", "plausible's"]) == Verdict.BAD_DATA


# -- the proxy's declaration ---------------------------------------------------------------------

def test_the_proxy_reaches_the_four_reads_with_the_issues_cache_and_rate():
    spec = PLAUSIBLE.proxy
    assert [e.path for e in spec.endpoints] == [
        "/api/v1/stats/aggregate", "/api/v1/stats/timeseries", "/api/v1/stats/breakdown",
        "/api/v1/stats/realtime/visitors"]
    assert (spec.ttl_seconds, spec.requests_per_minute, spec.any_path) == (600, 10, False)
    assert all(e.methods == ("GET",) for e in spec.endpoints)
    timeseries = spec.endpoints[1]
    assert (timeseries.records_path, timeseries.time_field) == ("results", "date")


def test_no_caller_can_choose_the_site_the_server_adds_it():
    declared = {p.name for e in PLAUSIBLE.proxy.endpoints for p in e.params}
    assert "site_id" not in declared
    assert declared == {"period", "date", "metrics", "filters", "interval", "property", "limit",
                        "page"}
    connection = Connection(provider="plausible", config={"site_id": SITE})
    assert PLAUSIBLE.proxy_params(connection) == {"site_id": SITE}
    assert PLAUSIBLE.proxy_params(Connection(provider="plausible", config={})) == {
        "site_id": ""}
    assert get_provider("stripe").proxy_params(connection) == {}


def test_the_period_choices_are_plausibles():
    assert [value for value, _ in proxy.PERIOD.choices] == [
        "12mo", "6mo", "month", "30d", "7d", "day", "custom"]


@pytest.mark.parametrize(("field", "value", "valid"), [
    (proxy.METRICS, "visitors,pageviews,bounce_rate,visit_duration", True),
    (proxy.METRICS, "visitors,password", False),
    (proxy.METRICS, "visitors,", False),
    (proxy.DATE, "2026-11-01", True),
    (proxy.DATE, "2026-11-01,2026-11-29", True),
    (proxy.DATE, "2026-11-01;2026-11-29", False),
    (proxy.LIMIT, "1000", True),
    (proxy.LIMIT, "1001", False),
    (proxy.LIMIT, "0", False),
    (proxy.PROPERTY, "visit:source", True),
    (proxy.PROPERTY, "event:props:plan", True),
    (proxy.PROPERTY, "source", False),
    (proxy.FILTERS, "visit:country==FR;event:page==/blog/**", True),
    (proxy.FILTERS, "visit:country==FR\r\nX-Injected: 1", False),
])
def test_declared_params_accept_plausibles_syntax_only(field, value, valid):
    assert bool(re.fullmatch(field.pattern, value)) is valid
