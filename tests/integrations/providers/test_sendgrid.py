"""SendGrid: dashboard-only daily statistics, a key tested for stats.read before save, the
stats read in 30-day windows up to today (a fixed clock), and waits until X-RateLimit-Reset."""

import json
from datetime import UTC, datetime

import pytest
from responses import matchers

from consent.purposes import DASHBOARD, PURPOSES
from consent.services import consent_set
from integrations import clock
from integrations.exceptions import ConnectionTestFailed, ProviderDataError, ReauthRequired
from integrations.http import ApiClient
from integrations.models import ApiCall, Connection, ExternalItem, SyncRun
from integrations.providers.contract import fixture
from integrations.providers.registry import get_provider
from integrations.providers.sendgrid import contract, mapping
from integrations.providers.sendgrid.provider import MISSING_SCOPE
from integrations.services import connection_connect_with_form
from integrations.sync import sync_execute, sync_request
from tests.factories import make_user

API = contract.API
KEY = contract.KEY
KEY_ID, SECRET_PART = KEY.split(".")[1:]
SENDGRID = get_provider("sendgrid")
DAYS = fixture(contract.__file__, "stats")
NOW = datetime(2026, 5, 31, 12, 0, tzinfo=UTC).timestamp()


@pytest.fixture
def fixed_clock():
    fake = clock.FakeClock(start=NOW)
    previous = clock.install(fake)
    yield fake
    clock.install(previous)


# -- mapping ---------------------------------------------------------------------------------

def test_a_day_becomes_one_item_keyed_by_its_date():
    item = mapping.map_daily_stats(DAYS[0], {})
    assert item.external_id == "2026-03-01"
    assert item.title == "2026-03-01: 120 delivered"
    assert item.attrs["delivered"] == 120 and item.attrs["bounces"] == 2
    assert set(item.attrs) == {"date", *mapping.METRICS}


def test_several_entries_of_a_day_add_up_and_odd_counts_count_as_zero():
    record = {"date": "2026-05-01", "stats": [
        {"metrics": {"delivered": 3, "opens": True, "clicks": -4}},
        {"metrics": {"delivered": 2, "opens": "9", "unknown_metric": 7}},
    ]}
    attrs = mapping.map_daily_stats(record, {}).attrs
    assert (attrs["delivered"], attrs["opens"], attrs["clicks"]) == (5, 0, 0)
    assert "unknown_metric" not in attrs


@pytest.mark.parametrize("record", [
    {"date": "2026-13-01", "stats": []},
    {"date": "\uff12\uff10\uff12\uff16-05-01", "stats": []},  # full-width digits
    {"date": "2026-05-01T00:00:00Z", "stats": []},
    {"date": "2026-05-01", "stats": {"metrics": {}}},
    {"date": "2026-05-01", "stats": [{"metrics": [1]}]},
    {"date": "2026-05-01", "stats": ["x"]},
    {"stats": []},
])
def test_a_day_of_another_shape_is_bad_data(record):
    with pytest.raises(ProviderDataError):
        mapping.map_daily_stats(record, {})


def test_the_stream_serves_the_dashboard_only_and_gives_no_interests():
    (stream,) = SENDGRID.streams
    assert stream.purposes == (DASHBOARD,)
    assert list(stream.interests(mapping.map_daily_stats(DAYS[0], {}).attrs)) == []


# -- connect -------------------------------------------------------------------------------------

@pytest.fixture
def person(db):
    user = make_user("mailer@example.com")
    for purpose in PURPOSES:
        consent_set(user=user, purpose=purpose, granted=True)
    return user


def test_connect_names_the_account_by_key_id_never_the_secret(person, mocked_responses):
    mocked_responses.get(API + "scopes", json=fixture(contract.__file__, "scopes"),
                         headers=contract.RATE, match=[matchers.header_matcher(
                             {"Authorization": f"Bearer {KEY}"})])
    connection = connection_connect_with_form(user=person, provider=SENDGRID,
                                              fields={"token": KEY})
    assert connection.external_account_id == KEY_ID
    assert connection.account_label == f"API key {KEY_ID[:8]}..."
    assert SECRET_PART not in json.dumps(list(ApiCall.objects.values("host", "path", "error")))


def test_a_key_without_stats_read_is_refused_naming_it(person, mocked_responses):
    mocked_responses.get(API + "scopes", json={"scopes": ["mail.send", "stats.global.read"]})
    with pytest.raises(ConnectionTestFailed) as refused:
        connection_connect_with_form(user=person, provider=SENDGRID, fields={"token": KEY})
    assert refused.value.message == MISSING_SCOPE.format(scope="stats.read")
    assert not Connection.objects.exists()


@pytest.mark.parametrize("body", [{"scopes": "stats.read"}, ["stats.read"], {}])
def test_a_scopes_answer_of_another_shape_saves_nothing(person, mocked_responses, body):
    mocked_responses.get(API + "scopes", json=body)
    with pytest.raises(ConnectionTestFailed):
        connection_connect_with_form(user=person, provider=SENDGRID, fields={"token": KEY})
    assert not Connection.objects.exists()


def test_a_401_asks_to_reconnect_without_a_refresh(db, mocked_responses):
    mocked_responses.get(API + "stats", status=401, json=contract.error("authorization required"))
    with pytest.raises(ReauthRequired):
        ApiClient(SENDGRID, secrets={"token": KEY}).get_json("v3/stats")
    assert len(mocked_responses.calls) == 1


# -- rate limits -----------------------------------------------------------------------------

def test_a_429_waits_until_the_reset(db, mocked_responses, no_sleep, fixed_clock, settings):
    settings.THINKALIKE_RATE_BUDGETS = False
    limited = {**contract.RATE, "X-RateLimit-Remaining": "0",
               "X-RateLimit-Reset": str(int(NOW) + 42)}
    mocked_responses.get(API + "scopes", status=429, headers=limited,
                         json=contract.error("too many requests"))
    mocked_responses.get(API + "scopes", json=fixture(contract.__file__, "scopes"),
                         headers=contract.RATE)
    ApiClient(SENDGRID, secrets={"token": KEY}).get_json("v3/scopes")
    assert no_sleep == [42.0]


# -- the stats windows -----------------------------------------------------------------------

def run_sync(connection, *, full: bool) -> SyncRun:
    Connection.objects.filter(pk=connection.pk).update(sync_claimed_at=None)
    run = sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL, full=full)
    return sync_execute(run_id=run.pk)


def window(start: str, end: str) -> list:
    return [matchers.query_param_matcher({"start_date": start, "end_date": end,
                                          "aggregated_by": "day"})]


def test_a_full_sync_reads_90_days_in_windows_then_resumes_from_the_newest_day(
        person, mocked_responses, fixed_clock, settings, django_capture_on_commit_callbacks):
    settings.THINKALIKE_RATE_BUDGETS = False
    mocked_responses.get(API + "scopes", json=fixture(contract.__file__, "scopes"))
    connection = connection_connect_with_form(user=person, provider=SENDGRID,
                                              fields={"token": KEY})
    pages = [
        mocked_responses.get(API + "stats", json=DAYS, headers=contract.RATE,
                             match=window("2026-03-03", "2026-04-01")),
        mocked_responses.get(API + "stats", json=fixture(contract.__file__, "stats_more"),
                             headers=contract.RATE, match=window("2026-04-02", "2026-05-01")),
        mocked_responses.get(API + "stats", json=[{"date": "2026-05-31", "stats": [
            {"metrics": {"delivered": 7}}]}], headers=contract.RATE,
            match=window("2026-05-02", "2026-05-31")),
    ]
    run = run_sync(connection, full=True)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert [p.call_count for p in pages] == [1, 1, 1]
    assert ExternalItem.objects.filter(connection=connection, kind="daily_stats").count() == 5

    # The next day, an incremental pass starts at the newest day held: it was still counting.
    fixed_clock.advance(86400)
    mocked_responses.reset()
    again = mocked_responses.get(API + "stats", headers=contract.RATE, json=[
        {"date": "2026-05-31", "stats": [{"metrics": {"delivered": 9}}]},
        {"date": "2026-06-01", "stats": [{"metrics": {"delivered": 1}}]},
    ], match=window("2026-05-31", "2026-06-01"))
    run = run_sync(connection, full=False)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert again.call_count == 1
    assert (run.created, run.updated) == (1, 1)
    day = ExternalItem.objects.get(connection=connection, external_id="2026-05-31")
    assert day.attrs["delivered"] == 9


def test_a_later_full_pass_keeps_the_days_that_left_its_window(
        person, mocked_responses, fixed_clock, settings, django_capture_on_commit_callbacks):
    """A full pass reads the last 90 days only; older days are still at SendGrid, so they are
    not taken for deleted."""
    settings.THINKALIKE_RATE_BUDGETS = False
    mocked_responses.get(API + "scopes", json=fixture(contract.__file__, "scopes"))
    connection = connection_connect_with_form(user=person, provider=SENDGRID,
                                              fields={"token": KEY})
    mocked_responses.get(API + "stats", json=DAYS, headers=contract.RATE,
                         match=window("2026-03-03", "2026-04-01"))
    mocked_responses.get(API + "stats", json=[], headers=contract.RATE)  # the later windows
    first = run_sync(connection, full=True)
    assert first.status == SyncRun.Status.SUCCEEDED, (first.error_message, first.streams)
    kept = ExternalItem.objects.filter(connection=connection, deleted_at__isnull=True).count()

    fixed_clock.advance(200 * 86400)  # every stored day is now older than the window
    mocked_responses.reset()
    mocked_responses.get(API + "stats", json=[], headers=contract.RATE)
    run = run_sync(connection, full=True)

    assert run.status == SyncRun.Status.SUCCEEDED, (run.error_message, run.streams)
    assert run.deleted == 0
    assert ExternalItem.objects.filter(connection=connection,
                                       deleted_at__isnull=True).count() == kept > 0
