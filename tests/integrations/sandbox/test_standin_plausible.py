"""The Plausible stand-in answers the Stats API v1's shapes (a bare integer, results keyed by
metric, rows keyed by date or by the property's name) with stable numbers that agree across
endpoints, Plausible's refusals and headers on every answer, nothing unless the sandbox is on;
and the provider connects against it and refuses what it refuses."""

from datetime import UTC, datetime, timedelta

import pytest

from integrations import clock
from integrations.exceptions import ConnectionTestFailed
from integrations.providers.contract import fixture
from integrations.providers.plausible import contract, errors, mapping
from integrations.providers.registry import get_provider
from integrations.sandbox.standins import plausible as stand_in
from integrations.services import CHECK_FAILED, connection_connect_with_form
from tests.factories import make_user

BASE = "/sandbox/stand-ins/plausible/api/v1/stats/"
KEY = get_provider("plausible").stand_in_example
AUTH = {"HTTP_AUTHORIZATION": f"Bearer {KEY}"}
SITE = {"site_id": "demo.example.com"}
NOW = datetime(2026, 11, 29, 15, 30, tzinfo=UTC)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def sandbox_on(settings):
    settings.THINKALIKE_SANDBOX = True
    previous = clock.install(clock.FakeClock(start=NOW.timestamp()))
    yield
    clock.install(previous)


def get(client, endpoint, **params):
    return client.get(BASE + endpoint, {**SITE, **params}, **AUTH)


def test_nothing_unless_the_sandbox_is_on(client, settings):
    settings.THINKALIKE_SANDBOX = False
    assert get(client, "aggregate").status_code == 404


def test_realtime_is_a_bare_count(client):
    answer = get(client, "realtime/visitors")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("application/json")
    assert type(answer.json()) is int and answer.json() >= 1


def test_aggregate_has_the_real_shape_and_the_connect_test_reads_it(client):
    real = fixture(contract.__file__, "aggregate")
    answer = get(client, "aggregate", period="30d", metrics=",".join(real["results"])).json()
    assert set(answer) == {"results"} and set(answer["results"]) == set(real["results"])
    assert all(type(v["value"]) is int and v["value"] >= 0 for v in answer["results"].values())
    today = get(client, "aggregate", period="day", metrics="visitors").json()
    assert mapping.visitors_of(today) > 0


def test_the_last_30_days_by_day_agree_with_the_total_and_are_stable(client):
    rows = get(client, "timeseries", period="30d").json()["results"]
    assert [row["date"] for row in rows] == [
        (TODAY - timedelta(days=29 - n)).isoformat() for n in range(30)]
    assert all(set(row) == {"date", "visitors"} for row in rows)  # like the fixture's rows
    total = get(client, "aggregate", period="30d").json()["results"]["visitors"]["value"]
    assert sum(row["visitors"] for row in rows) == total
    assert get(client, "timeseries", period="30d").json()["results"] == rows


def test_a_month_counts_nothing_after_today_and_a_year_comes_by_month(client):
    month = get(client, "timeseries", period="month").json()["results"]
    assert len(month) == 30 and month[-1] == {"date": "2026-11-30", "visitors": 0}
    year = get(client, "timeseries", period="12mo", metrics="visitors,pageviews").json()
    assert [row["date"] for row in year["results"]][:2] == ["2025-12-01", "2026-01-01"]
    assert len(year["results"]) == 12
    day = get(client, "timeseries", period="day").json()["results"]
    assert len(day) == 24 and day[0]["date"] == "2026-11-29 00:00:00"


def test_a_custom_range_and_an_anchor_date(client):
    rows = get(client, "timeseries", period="custom", date="2026-10-30,2026-11-02").json()
    assert [row["date"] for row in rows["results"]] == [
        "2026-10-30", "2026-10-31", "2026-11-01", "2026-11-02"]
    week = get(client, "timeseries", period="7d", date="2026-06-07").json()["results"]
    assert (week[0]["date"], week[-1]["date"]) == ("2026-06-01", "2026-06-07")


def test_breakdown_rows_are_named_by_the_property_largest_first(client):
    real = fixture(contract.__file__, "breakdown")["results"][0]
    rows = get(client, "breakdown", property="visit:source", limit="3").json()["results"]
    assert len(rows) == 3 and all(set(row) == set(real) for row in rows)
    assert [r["visitors"] for r in rows] == sorted((r["visitors"] for r in rows), reverse=True)
    pages = get(client, "breakdown", property="event:page", metrics="visitors,bounce_rate",
                limit="2", page="2").json()["results"]
    assert len(pages) == 2 and set(pages[0]) == {"page", "visitors", "bounce_rate"}


@pytest.mark.parametrize(("endpoint", "params", "message"), [
    ("aggregate", {"period": "1y"}, stand_in.BAD_PERIOD.format("1y")),
    ("aggregate", {"date": "2026-13-01"}, stand_in.BAD_DATE),
    ("aggregate", {"period": "custom"}, stand_in.BAD_RANGE),
    ("aggregate", {"period": "custom", "date": "2026-11-01"}, stand_in.BAD_RANGE),
    ("aggregate", {"metrics": "visitors,visitors"}, stand_in.REPEATED_METRIC),
    ("aggregate", {"metrics": "password"}, stand_in.UNKNOWN_METRIC.format("password")),
    ("timeseries", {"interval": "week"}, stand_in.BAD_INTERVAL.format("week")),
    ("timeseries", {"period": "12mo", "date": "0001-03-01"}, stand_in.BAD_DATE),
    ("timeseries", {"period": "7d", "date": "0001-01-03"}, stand_in.BAD_DATE),
    ("timeseries", {"period": "custom", "date": "0001-01-01,9999-12-31"},
     f"This stand-in answers ranges of up to {stand_in.MAX_DAYS} days."),
    ("breakdown", {}, stand_in.MISSING_PROPERTY),
    ("breakdown", {"property": "visit:shoe_size"},
     stand_in.BAD_PROPERTY.format("visit:shoe_size")),
    ("breakdown", {"property": "visit:source", "limit": "1001"}, stand_in.BAD_LIMIT),
    ("breakdown", {"property": "visit:source", "limit": "-1"}, stand_in.BAD_LIMIT),
    ("breakdown", {"property": "visit:source", "page": "0"}, stand_in.BAD_PAGE),
    ("breakdown", {"property": "visit:source", "metrics": "views_per_visit"},
     stand_in.NO_BREAKDOWN_METRIC.format("views_per_visit")),
])
def test_bad_parameters_get_plausibles_400(client, endpoint, params, message):
    answer = get(client, endpoint, **params)
    assert (answer.status_code, answer.json()) == (400, {"error": message})


def test_a_missing_site_is_400_and_a_key_or_site_it_cannot_read_is_401(client):
    missing = client.get(BASE + "aggregate", **AUTH)
    assert (missing.status_code, missing.json()) == (400, {"error": stand_in.MISSING_SITE})
    for answer in (client.get(BASE + "aggregate", SITE),
                   client.get(BASE + "aggregate", SITE, HTTP_AUTHORIZATION="Bearer short"),
                   get(client, "aggregate", site_id="gone.invalid")):
        assert (answer.status_code, answer.json()) == (401, {"error": stand_in.INVALID_KEY})


def test_every_answer_carries_phoenixs_headers(client):
    for answer in (get(client, "aggregate"), client.get(BASE + "aggregate", SITE),
                   get(client, "breakdown")):
        assert answer["Cache-Control"] == "max-age=0, private, must-revalidate"
        assert answer["X-Request-Id"] and answer["Content-Type"] == stand_in.JSON


def test_only_get_is_answered(client):
    assert client.post(BASE + "aggregate", SITE, **AUTH).status_code == 405


# -- the provider against it ---------------------------------------------------------------------

@pytest.fixture
def demo(sandbox, settings, db):
    settings.THINKALIKE_STAND_INS = True
    settings.THINKALIKE_RATE_BUDGETS = False
    return make_user("plausible-demo@example.com")


def test_the_provider_connects_to_the_stand_in(demo, sandbox):
    connection = connection_connect_with_form(user=demo, provider=get_provider("plausible"),
                                              fields={"site_id": "demo.example.com",
                                                      "token": KEY})
    assert connection.external_account_id == "demo.example.com"
    assert sandbox.paths() == [BASE + "aggregate"]


def test_a_site_the_key_cannot_read_is_refused_at_connect(demo, sandbox):
    with pytest.raises(ConnectionTestFailed) as refused:
        connection_connect_with_form(user=demo, provider=get_provider("plausible"),
                                     fields={"site_id": "gone.invalid", "token": KEY})
    assert refused.value.message == CHECK_FAILED.format(reason=errors.KEY_OR_SITE_REFUSED)

