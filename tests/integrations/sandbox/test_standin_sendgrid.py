"""The SendGrid stand-in answers SendGrid's shapes: scopes, a list of days for any date range
up to today, SendGrid's errors, X-RateLimit headers on every answer, nothing unless the sandbox
is on; and the provider connects and syncs against it."""

from datetime import UTC, datetime

import pytest

from integrations import clock
from integrations.models import ExternalItem
from integrations.providers.sendgrid import mapping
from tests.integrations.sandbox.standin_sync import connect_and_sync

BASE = "/sandbox/stand-ins/sendgrid/"
AUTH = {"HTTP_AUTHORIZATION": "Bearer SG.ngeVfQFYQlKU0ufo8x5d1A.StandInSecretPart00000000"}
NOW = datetime(2026, 5, 31, 12, 0, tzinfo=UTC).timestamp()


@pytest.fixture(autouse=True)
def sandbox_on(settings):
    settings.THINKALIKE_SANDBOX = True
    previous = clock.install(clock.FakeClock(start=NOW))
    yield
    clock.install(previous)


def test_nothing_unless_the_sandbox_is_on(client, settings):
    settings.THINKALIKE_SANDBOX = False
    assert client.get(BASE + "v3/scopes", **AUTH).status_code == 404


def test_scopes_include_stats_read(client):
    assert "stats.read" in client.get(BASE + "v3/scopes", **AUTH).json()["scopes"]


def test_stats_give_one_mappable_day_each_up_to_today(client):
    answer = client.get(BASE + "v3/stats", {"start_date": "2026-05-28", "end_date": "2026-06-30",
                                            "aggregated_by": "day"}, **AUTH)
    days = answer.json()
    assert [d["date"] for d in days] == ["2026-05-28", "2026-05-29", "2026-05-30", "2026-05-31"]
    assert all(mapping.map_daily_stats(d, {}).attrs["delivered"] > 0 for d in days)
    again = client.get(BASE + "v3/stats", {"start_date": "2026-05-28"}, **AUTH).json()
    assert again == days  # stable, and end_date defaults to today


def test_every_answer_carries_rate_headers(client):
    for answer in (client.get(BASE + "v3/scopes", **AUTH), client.get(BASE + "v3/scopes")):
        assert answer["X-RateLimit-Limit"] == "600"
        assert int(answer["X-RateLimit-Reset"]) > NOW and int(answer["X-RateLimit-Remaining"]) >= 0


@pytest.mark.parametrize(("params", "field"), [
    ({}, "start_date"), ({"start_date": "2026-5-1"}, "start_date"),
    ({"start_date": "2026-05-10", "end_date": "2026-05-01"}, "end_date"),
    ({"start_date": "2026-05-10", "aggregated_by": "year"}, "aggregated_by"),
])
def test_bad_ranges_get_sendgrid_errors(client, params, field):
    answer = client.get(BASE + "v3/stats", params, **AUTH)
    assert answer.status_code == 400 and answer.json()["errors"][0]["field"] == field


def test_a_missing_key_is_401_in_sendgrid_shape(client):
    answer = client.get(BASE + "v3/stats", {"start_date": "2026-05-01"})
    assert answer.status_code == 401
    assert answer.json() == {"errors": [{"field": None, "message": "authorization required"}]}


def test_the_provider_connects_and_syncs_against_the_stand_in(sandbox, settings, db,
                                                              django_capture_on_commit_callbacks):
    connection, run = connect_and_sync(settings, "sendgrid", AUTH["HTTP_AUTHORIZATION"][7:])
    assert run.pages == 3
    days = ExternalItem.objects.filter(connection=connection, kind="daily_stats")
    assert days.count() == 90
    assert days.order_by("external_id").last().external_id == "2026-05-31"
