"""The relative-date syntax of widget parameters."""

from datetime import UTC, datetime

import pytest

from dashboard.relative_dates import is_relative, resolve, resolve_params

NOW = datetime(2026, 11, 29, 8, 30, 15, tzinfo=UTC)


def epoch(*args) -> str:
    return str(int(datetime(*args, tzinfo=UTC).timestamp()))


@pytest.mark.parametrize(("value", "resolved"), [
    ("-30d", epoch(2026, 10, 30)), ("-30d:date", "2026-10-30"), ("0d:date", "2026-11-29"),
    ("-2w:date", "2026-11-15"), ("-2w:iso", "2026-11-15T00:00:00Z"),
    ("-12h:iso", "2026-11-28T20:00:00Z"), ("-90m", epoch(2026, 11, 29, 7, 0)),
    ("0m", epoch(2026, 11, 29, 8, 30)), ("-1h", epoch(2026, 11, 29, 7, 0)),
])
def test_relative_values_resolve_from_now_to_the_start_of_their_unit(value, resolved):
    assert is_relative(value) and resolve(value, NOW) == resolved


def test_a_value_stays_the_same_until_its_unit_turns():
    """So the proxy's cache key is stable: a day-based widget hits the cache all day."""
    later = NOW.replace(hour=23, minute=59, second=59)
    assert resolve("-30d", NOW) == resolve("-30d", later)
    assert resolve("-30d", NOW) != resolve("-30d", later.replace(day=30, hour=0, minute=0))
    assert resolve("-1h", NOW) == resolve("-1h", NOW.replace(minute=59))


def test_other_time_zones_resolve_in_utc():
    from datetime import timedelta, timezone

    assert resolve("0d:date", NOW.astimezone(timezone(timedelta(hours=-10)))) == "2026-11-29"


@pytest.mark.parametrize("value", ["30d", "+30d", "-0d", "-30", "-30y", "-30d:epoch", "-10000d",
                                   "- 30d", "-30d ", "2026-11-01", "", "-30d:date:iso", "-01d"])
def test_anything_else_is_sent_as_it_is(value):
    assert not is_relative(value) and resolve(value, NOW) == value


def test_params_keep_their_order_and_names():
    assert resolve_params([["limit", "100"], ["start_date", "-1d:date"]], NOW) == [
        ("limit", "100"), ("start_date", "2026-11-28")]
