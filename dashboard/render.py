"""What a widget shows, from a proxied answer: pure functions, no I/O, no Django.

Provider data is hostile: any value may be missing, of another type, NaN, infinite, huge, deeply
nested or a million items long. Every function here is bounded in the work it does and the text
it returns, and never raises on the shape of the data. Text is returned raw: templates escape
it (and chart.py builds its SVG with ElementTree, which escapes too).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

MAX_PATH_SEGMENTS = 20
MAX_NUMBER_TEXT = 24
MAX_NUMERIC_STRING = 40
TABLE_ROWS = 20
TABLE_COLUMNS = 6
CELL_CHARS = 80
PREVIEW_ITEMS = 8  # items of a nested list or object shown in a cell

PATH = re.compile(r"[A-Za-z0-9_$@-]+(\.[A-Za-z0-9_$@-]+){0,19}")
NUMERIC_STRING = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
# Characters XML 1.0 forbids (and that no page needs): C0 controls but tab and newlines,
# lone surrogates, and the two non-characters.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
MISSING = object()

# Messages people see; tests import them.
NO_VALUE = "No value at {path}."
NOT_A_NUMBER = "The value at {path} is not a number."
NOT_A_LIST = "The answer holds no list of records here."
NOT_COUNTABLE = "The answer is not a list: give a value path to pick a number."


def clean_text(value: str, limit: int) -> str:
    """``value`` without characters XML forbids, cut to ``limit`` characters with "…"."""
    value = NOT_XML.sub("", value[: limit * 2])
    return value if len(value) <= limit else value[: limit - 1] + "…"


def dig(value: Any, path: str) -> Any:
    """The value at a dotted path ("available.0.amount"): object keys, or list indexes for
    lists. MISSING when any step is absent. The whole answer for an empty path."""
    if not path:
        return value
    for step in path.split(".")[:MAX_PATH_SEGMENTS]:
        if isinstance(value, dict):
            value = value.get(step, MISSING)
        elif isinstance(value, list) and step.isdigit() and len(step) < 10:
            index = int(step)
            value = value[index] if index < len(value) else MISSING
        else:
            return MISSING
        if value is MISSING:
            return MISSING
    return value


def records_at(payload: Any, records_path: str) -> list | None:
    """The list of records of an answer (at the endpoint's records_path), or None."""
    records = dig(payload, records_path)
    return records if isinstance(records, list) else None


def as_number(value: Any) -> float | int | None:
    """A finite number from a JSON value (a number, or a string that is only a number); None
    for anything else, booleans, NaN and infinities included."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if len(value) > MAX_NUMERIC_STRING or not NUMERIC_STRING.fullmatch(value):
            return None
        value = float(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    return None


def format_number(value: float | int) -> str:
    """At most MAX_NUMBER_TEXT characters: 1,234,567 / 12.35 / 0.001235 / 1.23e+21."""
    if abs(value) >= 10**15:
        try:
            return f"{float(value):.3g}"
        except OverflowError:  # an int past the float range
            return "-1e+308 or less" if value < 0 else "1e+308 or more"
    if isinstance(value, int) or value == int(value):
        return f"{int(value):,}"
    text = f"{value:,.2f}" if abs(value) >= 1 else f"{value:.4g}"
    return text[:MAX_NUMBER_TEXT]


def compact_number(value: float) -> str:
    """A short axis label: 950, 1.2k, 3.4M, 5.6B, 7.8T, 1.2e+15."""
    magnitude = abs(value)
    if magnitude >= 10**15:
        return f"{value:.2g}"
    for size, suffix in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "k")):
        if magnitude >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


@dataclass(frozen=True)
class NumberView:
    text: str = ""  # the formatted number; "" when there is none
    caption: str = ""  # what it counts ("records") or the path it came from
    problem: str = ""  # why there is no number, for people


def number_view(payload: Any, *, value_path: str, records_path: str = "") -> NumberView:
    """The number at ``value_path``; with no path, how many records the answer holds."""
    if not value_path:
        records = records_at(payload, records_path)
        if records is None:
            return NumberView(problem=NOT_COUNTABLE)
        return NumberView(text=format_number(len(records)),
                          caption="record" if len(records) == 1 else "records")
    path_text = clean_text(value_path, 60)
    value = dig(payload, value_path)
    if value is MISSING or value is None:
        return NumberView(problem=NO_VALUE.format(path=path_text))
    number = as_number(value)
    if number is None:
        return NumberView(problem=NOT_A_NUMBER.format(path=path_text))
    return NumberView(text=format_number(number), caption=path_text)


@dataclass(frozen=True)
class TableView:
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    total: int = 0  # records in the answer; more than len(rows) when cut
    problem: str = ""


def cell_text(value: Any, limit: int = CELL_CHARS) -> str:
    """A short, single-line text for any JSON value."""
    return clean_text(_preview(value, depth=2).replace("\n", " "), limit)


def _preview(value: Any, depth: int) -> str:
    """A bounded JSON-like preview: a few items of each list or object, two levels deep."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        number = as_number(value)
        return format_number(number) if number is not None else str(value)
    if isinstance(value, str):
        return value[: CELL_CHARS * 2]
    if isinstance(value, list | dict):
        if depth == 0:
            return "[…]" if isinstance(value, list) else "{…}"
        items = (value.items() if isinstance(value, dict) else enumerate(value))
        parts = []
        for n, (key, item) in enumerate(items):
            if n == PREVIEW_ITEMS:
                parts.append("…")
                break
            text = _preview(item, depth - 1)
            parts.append(f"{str(key)[:40]}: {text}" if isinstance(value, dict) else text)
        return ("[{}]" if isinstance(value, list) else "{{{}}}").format(", ".join(parts))
    return type(value).__name__


def table_view(payload: Any, *, records_path: str = "", max_rows: int = TABLE_ROWS,
               max_columns: int = TABLE_COLUMNS) -> TableView:
    """The first records of the answer as rows; columns are the first keys seen in them."""
    found = dig(payload, records_path)
    if isinstance(found, dict):
        records = [found]  # one object: one row
    elif isinstance(found, list):
        records = found
    else:
        return TableView(problem=NOT_A_LIST)
    shown = records[:max_rows]
    keys: list[str] = []
    for record in shown:
        if not isinstance(record, dict):
            continue
        for key in record:
            if len(keys) == max_columns:
                break
            if key not in keys:
                keys.append(key)
    if not keys:  # a list of plain values
        return TableView(columns=["value"], rows=[[cell_text(r)] for r in shown],
                         total=len(records))
    rows = [[cell_text(record.get(key)) for key in keys] if isinstance(record, dict)
            else [cell_text(record)] + [""] * (len(keys) - 1) for record in shown]
    return TableView(columns=[clean_text(str(k), 40) for k in keys], rows=rows,
                     total=len(records))
