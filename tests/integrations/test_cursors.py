"""Incremental cursors: ISO times compared as instants, epochs as whole seconds, opaque tokens
not compared at all; odd values never move a cursor and never raise."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.cursors import (
    MAX_CURSOR_LENGTH,
    MAX_EPOCH,
    EpochCursor,
    IsoTimeCursor,
    OpaqueCursor,
)

# -- ISO 8601 times ---------------------------------------------------------------------------


def test_iso_newest_compares_instants_not_text():
    cursor = IsoTimeCursor("updated_at")
    records = [{"updated_at": "2026-01-01T10:00:00+02:00"},  # 08:00Z, sorts last as text
               {"updated_at": "2026-01-01T09:00:00Z"}]
    assert cursor.newest(records, None) == "2026-01-01T09:00:00Z"


def test_iso_newest_keeps_current_when_records_are_older():
    cursor = IsoTimeCursor("updated_at")
    assert cursor.newest([{"updated_at": "2025-12-31T23:59:59Z"}], "2026-01-01T00:00:00Z") \
        == "2026-01-01T00:00:00Z"


def test_iso_same_instant_in_another_spelling_does_not_move_the_cursor():
    cursor = IsoTimeCursor("updated_at")
    assert cursor.newest([{"updated_at": "2026-01-01T01:00:00+01:00"}],
                         "2026-01-01T00:00:00Z") == "2026-01-01T00:00:00Z"


def test_iso_naive_times_are_utc():
    cursor = IsoTimeCursor("updated_at")
    assert cursor.newest([{"updated_at": "2026-01-01T00:30:00"}],
                         "2026-01-01T00:00:00Z") == "2026-01-01T00:30:00"
    assert cursor.newest([{"updated_at": "2026-01-01T00:30:00"}],
                         "2026-01-01T01:00:00+00:00") == "2026-01-01T01:00:00+00:00"


def test_iso_nested_field_and_missing_values():
    cursor = IsoTimeCursor("repo.updated_at")
    records = [{"repo": {"updated_at": "2026-02-01T00:00:00Z"}}, {"repo": None}, {},
               {"repo": "x"}]
    assert cursor.newest(records, None) == "2026-02-01T00:00:00Z"


@pytest.mark.parametrize("bad", [
    None, "", "yesterday", 1714550400, True, ["2026-01-01"], {"t": "2026-01-01"},
    "2026-13-01T00:00:00Z", "2026-01-01T00:00:00Z" + " " * MAX_CURSOR_LENGTH,
    "\uff12\uff10\uff12\uff16-01-01T00:00:00Z",  # full-width digits
])
def test_iso_invalid_values_are_ignored(bad):
    cursor = IsoTimeCursor("t")
    assert not cursor.valid(bad)
    assert cursor.newest([{"t": bad}, {"t": "2026-01-01T00:00:00Z"}], bad) \
        == "2026-01-01T00:00:00Z"
    assert cursor.newest([{"t": bad}], None) is None
    with pytest.raises(ValueError):
        cursor.param(bad)


def test_iso_invalid_current_is_replaced():
    assert IsoTimeCursor("t").newest([{"t": "2026-01-01"}], "garbage") == "2026-01-01"


def test_iso_param_sends_the_providers_own_string():
    assert IsoTimeCursor("t").param("2026-01-01T10:00:00.123+02:00") \
        == "2026-01-01T10:00:00.123+02:00"


# -- epoch seconds ----------------------------------------------------------------------------


def test_epoch_newest_is_the_largest_whole_second():
    cursor = EpochCursor("updatedAt")
    records = [{"updatedAt": 1714550400}, {"updatedAt": 1714550500}, {"updatedAt": 1714550300}]
    assert cursor.newest(records, 1714550000) == 1714550500
    assert cursor.newest(records, 1800000000) == 1800000000
    assert cursor.param(1714550500) == "1714550500"


@pytest.mark.parametrize("bad", [None, True, False, -1, MAX_EPOCH + 1, 1714550400123,
                                 1714550400.0, "1714550400", [1714550400]])
def test_epoch_invalid_values_are_ignored(bad):
    cursor = EpochCursor("t")
    assert not cursor.valid(bad)
    assert cursor.newest([{"t": bad}, {"t": 5}], bad) == 5
    with pytest.raises(ValueError):
        cursor.param(bad)


def test_epoch_bounds_are_valid():
    cursor = EpochCursor("t")
    assert cursor.valid(0) and cursor.valid(MAX_EPOCH)


# -- opaque tokens ----------------------------------------------------------------------------


def test_opaque_latest_token_wins_without_comparison():
    cursor = OpaqueCursor()
    assert cursor.newest([], "zzz-old", token="aaa-new") == "aaa-new"
    assert cursor.newest([{"nextSyncToken": "from-a-record"}], "kept") == "kept"
    assert cursor.newest([], None) is None
    assert cursor.param("CPDAlvWDx70CEPDAlvWDx70CGAU=") == "CPDAlvWDx70CEPDAlvWDx70CGAU="


@pytest.mark.parametrize("bad", [None, "", 7, True, "t" * (MAX_CURSOR_LENGTH + 1), "a\nb",
                                 {"t": 1}])
def test_opaque_invalid_tokens_are_ignored(bad):
    cursor = OpaqueCursor()
    assert not cursor.valid(bad)
    assert cursor.newest([], "kept", token=bad) == "kept"
    assert cursor.newest([], bad, token=bad) is None
    with pytest.raises(ValueError):
        cursor.param(bad)


def test_time_cursors_ignore_the_token():
    assert IsoTimeCursor("t").newest([], None, token="2026-01-01") is None
    assert EpochCursor("t").newest([], 5, token=9) == 5


# -- properties -------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
)
times = st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())
CURSORS = [IsoTimeCursor("t"), EpochCursor("t"), OpaqueCursor()]


@pytest.mark.parametrize("cursor", CURSORS, ids=lambda c: type(c).__name__)
@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.one_of(json_values, times, st.integers(0, MAX_EPOCH)), max_size=6),
       current=st.one_of(json_values, times), token=json_values)
def test_newest_never_raises_and_returns_a_storable_valid_value(cursor, values, current, token):
    result = cursor.newest([{"t": v} for v in values], current, token=token)
    assert result is None or cursor.valid(result)
    assert json.loads(json.dumps(result)) == result  # StreamState.cursor is JSON
    if result is not None:
        assert isinstance(cursor.param(result), str)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(times, min_size=1, max_size=6))
def test_iso_newest_is_the_latest_instant(values):
    from datetime import UTC, datetime

    def instant(v):
        parsed = datetime.fromisoformat(v)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    result = IsoTimeCursor("t").newest([{"t": v} for v in values], None)
    assert instant(result) == max(instant(v) for v in values)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.integers(0, MAX_EPOCH), min_size=1, max_size=6),
       current=st.integers(0, MAX_EPOCH))
def test_epoch_newest_is_the_maximum(values, current):
    assert EpochCursor("t").newest([{"t": v} for v in values], current) == max([*values, current])
