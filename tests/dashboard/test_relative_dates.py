"""The relative-date syntax of widget parameters."""

from datetime import UTC, datetime

import pytest

from dashboard.relative_dates import is_relative, resolve, resolve_params

NOW = datetime(2026, 11, 29, 8, 30, 15, tzinfo=UTC)


@pytest.mark.parametrize(("value", "resolved"), [
    ("-30d", str(int(datetime(2026, 10, 30, 8, 30, 15, tzinfo=UTC).timestamp()))),
    ("-30d:date", "2026-10-30"), ("0d:date", "2026-11-29"), ("-2w:date", "2026-11-15"),
    ("-12h:iso", "2026-11-28T20:30:15Z"), ("-90m", str(int(NOW.timestamp()) - 5400)),
    ("0m", str(int(NOW.timestamp()))),
])
def test_relative_values_resolve_from_now(value, resolved):
    assert is_relative(value) and resolve(value, NOW) == resolved


@pytest.mark.parametrize("value", ["30d", "+30d", "-0d", "-30", "-30y", "-30d:epoch", "-10000d",
                                   "- 30d", "-30d ", "2026-11-01", "", "-30d:date:iso", "-01d"])
def test_anything_else_is_sent_as_it_is(value):
    assert not is_relative(value) and resolve(value, NOW) == value


def test_params_keep_their_order_and_names():
    assert resolve_params([["limit", "100"], ["start_date", "-1d:date"]], NOW) == [
        ("limit", "100"), ("start_date", "2026-11-28")]
