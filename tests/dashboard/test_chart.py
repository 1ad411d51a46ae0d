"""The server-drawn line chart: per-day sums from hostile records, a well-formed and escaped
SVG with an accessible title and description, a "no data" state, bounded work."""

import math
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime

import pytest

from dashboard import chart

NS = {"svg": "http://www.w3.org/2000/svg"}
DAY = 86400
T0 = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())


def svg_of(payload, *, time_field="created", value_path="amount", title="Charges",
           records_path="data"):
    series = chart.line_series(payload, records_path=records_path, time_field=time_field,
                               value_path=value_path)
    text = chart.line_svg(series, title=title, what=value_path or "records", dom_id="w-1")
    return series, text, ET.fromstring(text)


def test_records_sharing_a_day_are_summed_and_days_sorted():
    records = [{"created": T0 + DAY + 60, "amount": 500}, {"created": T0, "amount": 1099},
               {"created": T0 + 3600, "amount": 2500}]
    series = chart.line_series({"data": records}, records_path="data", time_field="created",
                               value_path="amount")
    assert series.points == [(date(2026, 11, 1), 3599.0), (date(2026, 11, 2), 500.0)]


@pytest.mark.parametrize(("value", "day"), [
    (T0, date(2026, 11, 1)), (T0 * 1000, date(2026, 11, 1)), ("2026-11-01", date(2026, 11, 1)),
    ("2026-11-01T23:30:00-02:00", date(2026, 11, 2)), ("2026-11-01T10:00:00Z", date(2026, 11, 1)),
    (-1, None), (math.nan, None), (math.inf, None), (True, None), ("yesterday", None),
    ("2026-13-01", None), ("9" * 100, None), (10**30, None), (None, None), ({"t": T0}, None),
    # Past what dates and floats can hold: skipped, never an error that breaks the widget.
    ("0001-01-01T00:00:00+01:00", None), ("9999-12-31T23:59:59-01:00", None), (10**400, None),
])
def test_times_are_epoch_seconds_or_milliseconds_or_iso_strings(value, day):
    assert chart.day_of(value) == day


def test_sendgrid_stats_chart_by_date_at_a_nested_path():
    stats = [{"date": f"2026-11-0{n}", "stats": [{"metrics": {"delivered": n * 10}}]}
             for n in range(1, 4)]
    series = chart.line_series(stats, records_path="", time_field="date",
                               value_path="stats.0.metrics.delivered")
    assert [v for _, v in series.points] == [10, 20, 30]


def test_hostile_records_are_skipped_and_counted():
    records = [{"created": T0, "amount": math.nan}, {"created": T0, "amount": "lots"},
               {"created": "never", "amount": 1}, "a string", None, [1, 2],
               {"created": T0, "amount": {"nested": 1}}, {"created": T0, "amount": 7}]
    series, _, _ = svg_of({"data": records})
    assert series.points == [(date(2026, 11, 1), 7.0)] and series.skipped == 7


def test_huge_values_stay_finite_and_are_drawn():
    records = [{"created": T0 + n, "amount": 1e308} for n in range(10)] + [
        {"created": T0 + DAY, "amount": -(10**400)}]
    series, text, root = svg_of({"data": records})
    assert all(math.isfinite(v) for _, v in series.points)
    assert "nan" not in text.lower() and "inf" not in text.lower()
    assert root.find("svg:polyline", NS) is not None


def test_a_million_records_are_bounded_in_work_and_points():
    records = [{"created": T0 - n * 3600, "amount": 1} for n in range(10**6)]
    series, _, root = svg_of({"data": records})
    assert series.records == 10**6
    assert sum(v for _, v in series.points) <= chart.MAX_RECORDS
    assert len(series.points) <= chart.MAX_POINTS
    assert len(root.findall("svg:circle", NS)) == 0  # too many days for dots


def test_the_points_kept_are_the_latest_days():
    records = [{"created": T0 - n * DAY, "amount": n} for n in range(1000)]
    series, _, _ = svg_of({"data": records})
    assert len(series.points) == chart.MAX_POINTS
    assert series.points[-1] == (date(2026, 11, 1), 0.0)


def test_svg_is_well_formed_and_accessible():
    records = [{"created": T0 + n * DAY, "amount": 100 * n} for n in range(30)]
    _, _, root = svg_of({"data": records})
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "w-1-title w-1-desc"
    assert root.find("svg:title", NS).text == "Charges"
    desc = root.find("svg:desc", NS).text
    assert "2026-11-01 to 2026-11-30" in desc and "highest 2,900" in desc
    labels = [t.text for t in root.findall("svg:text", NS)]
    assert "amount per day" in labels and "1 Nov" in labels and "30 Nov" in labels
    assert len(root.findall("svg:circle", NS)) == 30


def test_all_text_is_escaped():
    evil = '</title><script>alert("x")</script>&amp;\x00'
    records = [{"created": T0, "amount": 1}]
    _, text, root = svg_of({"data": records}, title=evil, value_path="amount")
    assert "<script>" not in text
    assert root.find("svg:title", NS).text == evil.replace("\x00", "")
    assert not root.findall(".//svg:script", NS)


def test_an_evil_value_path_cannot_break_out_of_the_caption():
    series = chart.line_series([], records_path="", time_field="t", value_path="")
    text = chart.line_svg(series, title="t", what='"><script>x</script>', dom_id='x" onload="a')
    root = ET.fromstring(text)
    assert "<script>" not in text and root.get("onload") is None
    assert root.get("aria-labelledby") == "xonloada-title xonloada-desc"


@pytest.mark.parametrize("payload", [None, 5, "text", {"data": "x"}, {"data": []},
                                     {"data": [{"created": "x"}]}])
def test_no_data_is_a_chart_that_says_so(payload):
    _, _, root = svg_of(payload)
    texts = [t.text for t in root.findall("svg:text", NS)]
    assert chart.NO_DATA in texts and root.find("svg:polyline", NS) is None
    assert root.find("svg:desc", NS).text.startswith("No data to chart")


def test_one_day_and_all_zero_and_all_negative_series_draw():
    for amounts in ([5], [0, 0], [-5, -10]):
        records = [{"created": T0 + n * DAY, "amount": a} for n, a in enumerate(amounts)]
        _, _, root = svg_of({"data": records})
        points = root.find("svg:polyline", NS).get("points").split()
        assert len(points) == len(amounts)
        for point in points:
            x, y = map(float, point.split(","))
            assert chart.LEFT <= x <= chart.WIDTH - chart.RIGHT
            assert chart.TOP <= y <= chart.HEIGHT - chart.BOTTOM


def test_count_per_day_when_no_value_path():
    records = [{"created": T0}, {"created": T0 + 10}, {"created": T0 + DAY}]
    series = chart.line_series(records, records_path="", time_field="created", value_path="")
    assert [v for _, v in series.points] == [2, 1]


def test_a_day_without_records_is_zero_not_a_line_across_the_gap():
    records = [{"created": T0, "amount": 5}, {"created": T0 + 3 * DAY, "amount": 7}]
    series = chart.line_series(records, records_path="", time_field="created",
                               value_path="amount")
    assert [v for _, v in series.points] == [5, 0, 0, 7]
    assert series.points[1][0] == date(2026, 11, 2)


def test_a_gap_of_years_keeps_only_the_latest_days():
    records = [{"created": T0 - 5000 * DAY, "amount": 1}, {"created": T0, "amount": 2}]
    series = chart.line_series(records, records_path="", time_field="created",
                               value_path="amount")
    assert len(series.points) == chart.MAX_POINTS and series.points[-1] == (date(2026, 11, 1), 2)
