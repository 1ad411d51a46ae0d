"""DateRangePaginator: consecutive date windows up to today (integrations.clock), starting at
an incremental cursor when one is given, ending at today whatever the provider answers."""

from datetime import UTC, datetime

import pytest

from integrations import clock
from integrations.exceptions import ProviderDataError
from integrations.pagination import DateRangePaginator
from integrations.wire import ApiRequest, ApiResponse

TODAY = datetime(2026, 5, 31, 23, 30, tzinfo=UTC).timestamp()
DAY = {"date": "2026-05-01", "stats": [{"metrics": {"delivered": 1}}]}


def windows(paginator, start, answer=(DAY,)):
    request, asked = paginator.first(start), []
    while request is not None:
        asked.append((request.params["start_date"], request.params["end_date"], request.number))
        request = paginator.parse(ApiResponse(200, {}, list(answer)), request, base_url="").next
        assert len(asked) < 50, "the pass never ended"
    return asked


@pytest.fixture
def today():
    previous = clock.install(clock.FakeClock(start=TODAY))
    yield
    clock.install(previous)


def test_walks_windows_forward_from_n_windows_back_to_today(today):
    paginator = DateRangePaginator(window_days=30, windows=3)
    assert windows(paginator, ApiRequest("v3/stats", params={"aggregated_by": "day"})) == [
        ("2026-03-03", "2026-04-01", 1),
        ("2026-04-02", "2026-05-01", 2),
        ("2026-05-02", "2026-05-31", 3),
    ]


def test_keeps_the_other_parameters(today):
    first = DateRangePaginator().first(ApiRequest("v3/stats", params={"aggregated_by": "day"}))
    assert first.params["aggregated_by"] == "day"


def test_an_incremental_start_is_kept_and_the_last_window_is_cut_at_today(today):
    paginator = DateRangePaginator(window_days=7)
    asked = windows(paginator, ApiRequest("s", params={"start_date": "2026-05-20"}))
    assert asked == [("2026-05-20", "2026-05-26", 1), ("2026-05-27", "2026-05-31", 2)]


@pytest.mark.parametrize("start", ["2099-01-01", "2026-05-31"])
def test_a_start_in_the_future_or_today_asks_for_today_only(today, start):
    asked = windows(DateRangePaginator(), ApiRequest("s", params={"start_date": start}))
    assert asked == [("2026-05-31", "2026-05-31", 1)]


@pytest.mark.parametrize("start", ["2026-13-01", "2026-05-01T10:00:00Z", 20260501, ""])
def test_an_unusable_start_falls_back_to_the_default_reach(today, start):
    asked = windows(DateRangePaginator(window_days=10, windows=2),
                    ApiRequest("s", params={"start_date": start}))
    assert asked[0][:2] == ("2026-05-12", "2026-05-21")


def test_the_provider_cannot_stretch_the_pass(today):
    # Empty answers and answers for other dates change nothing: the client owns the windows.
    asked = windows(DateRangePaginator(window_days=30, windows=2), ApiRequest("s"), answer=())
    assert len(asked) == 2


@pytest.mark.parametrize("payload", [{"date": "x"}, [1, 2], "stats", None, [[]]])
def test_a_body_that_is_not_a_list_of_days_is_bad_data(today, payload):
    paginator = DateRangePaginator()
    if payload is None:  # an empty body is no records, not an error
        assert paginator.parse(ApiResponse(200, {}, None), paginator.first(ApiRequest("s")),
                               base_url="").records == []
        return
    with pytest.raises(ProviderDataError):
        paginator.parse(ApiResponse(200, {}, payload), paginator.first(ApiRequest("s")),
                        base_url="")
