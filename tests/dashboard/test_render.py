"""Number and table rendering of hostile provider data: bounded, never raising, raw text that
templates escape."""

import math

import pytest

from dashboard import render
from dashboard.render import NumberView, number_view, table_view


@pytest.mark.parametrize(("value", "text"), [
    (0, "0"), (1234567, "1,234,567"), (-42, "-42"), (12.345, "12.35"), (2.0, "2"),
    (0.000123456, "0.0001235"), (10**15, "1e+15"), (-(10**21), "-1e+21"),
    (10**400, "1e+308 or more"), (-(10**400), "-1e+308 or less"), (1.7e308, "1.7e+308"),
])
def test_numbers_are_formatted_within_bounds(value, text):
    assert render.format_number(value) == text
    assert len(render.format_number(value)) <= render.MAX_NUMBER_TEXT


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, True, False, None, "12abc",
                                   "nan", "inf", "1" * 50, {"a": 1}, [1], "", " "])
def test_non_numbers_are_not_numbers(value):
    assert render.as_number(value) is None


def test_numeric_strings_count_as_numbers():
    assert render.as_number(" 12.5 ") == 12.5 and render.as_number("-3e2") == -300


def test_dig_follows_keys_and_list_indexes_and_reports_missing():
    payload = {"available": [{"amount": 666670}], "x": None}
    assert render.dig(payload, "available.0.amount") == 666670
    for path in ("available.1.amount", "available.-1.amount", "available.a", "nope.deeper",
                 "x.y", "available.0.amount.more", "available.99999999999"):
        assert render.dig(payload, path) is render.MISSING, path


def test_number_view_at_a_path():
    view = number_view({"available": [{"amount": 666670}]}, value_path="available.0.amount")
    assert view == NumberView(text="666,670", caption="available.0.amount")


def test_number_view_counts_the_records_when_no_path_is_given():
    assert number_view({"data": [1, 2, 3]}, value_path="", records_path="data").text == "3"
    assert number_view([{}], value_path="").caption == "record"
    assert number_view({"data": {}}, value_path="", records_path="data").problem == \
        render.NOT_COUNTABLE


@pytest.mark.parametrize("payload", [{"v": math.nan}, {"v": "abc"}, {"v": {"n": 1}}, {"v": True},
                                     {"v": [1]}])
def test_number_view_says_when_the_value_is_not_a_number(payload):
    assert number_view(payload, value_path="v") == NumberView(
        problem=render.NOT_A_NUMBER.format(path="v"))


def test_number_view_says_when_there_is_no_value():
    assert number_view({}, value_path="a.b").problem == render.NO_VALUE.format(path="a.b")
    assert number_view("not json object", value_path="a").problem
    assert number_view(None, value_path="a").problem


def test_table_keeps_the_first_rows_and_keys_and_cuts_cells():
    records = [{f"k{n}": "x" * 500 for n in range(50)} for _ in range(1000)]
    view = table_view({"data": records}, records_path="data")
    assert view.total == 1000 and len(view.rows) == render.TABLE_ROWS
    assert view.columns == [f"k{n}" for n in range(render.TABLE_COLUMNS)]
    assert all(len(cell) <= render.CELL_CHARS for row in view.rows for cell in row)
    assert view.rows[0][0].endswith("…")


def test_table_cells_of_any_type_are_short_single_line_text():
    nested = {"a": {"b": {"c": {"d": [1] * 10**5}}}}
    view = table_view([{"n": None, "b": True, "f": math.nan, "o": nested, "s": "two\nlines"},
                       "plain", 7], records_path="")
    assert view.columns == ["n", "b", "f", "o", "s"]
    assert view.rows[0][:3] == ["", "true", "nan"]
    assert view.rows[0][3].startswith("{a: {b: {…}") and "\n" not in view.rows[0][4]
    assert view.rows[1] == ["plain", "", "", "", ""] and view.rows[2][0] == "7"


def test_table_of_one_object_is_one_row_and_of_plain_values_one_column():
    assert table_view({"object": "balance", "livemode": False}).rows == [["balance", "false"]]
    assert table_view(["a", "b"]).columns == ["value"]
    assert table_view("text").problem == render.NOT_A_LIST
    assert table_view({"data": 5}, records_path="data").problem == render.NOT_A_LIST


def test_text_loses_characters_xml_forbids_and_keeps_markup_for_the_template_to_escape():
    view = table_view([{"<b>": "<script>alert(1)</script>\x00\x1b\ud800"}])
    assert view.columns == ["<b>"] and view.rows[0][0] == "<script>alert(1)</script>"
