"""The line chart of a widget: records summed per day, drawn as SVG on the server.

No JavaScript library: the SVG is built with ElementTree, which escapes every text and attribute,
so provider data cannot break out of it; characters XML forbids are removed first (render.py).
Work is bounded: at most MAX_RECORDS records are read and MAX_POINTS days drawn.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from .render import as_number, clean_text, compact_number, dig, format_number, records_at

MAX_RECORDS = 20_000
MAX_POINTS = 366  # the latest days are kept
MAX_VALUE = 1e300  # each value is clamped, so a sum of MAX_RECORDS values stays finite
MAX_EPOCH = 253402300799  # 9999-12-31T23:59:59Z
MILLIS_FROM = 10**11  # an epoch this large is in milliseconds (year 5138 in seconds)
MAX_TIME_TEXT = 40
POINT_MARKS_UP_TO = 62  # beyond, the dots would merge into the line

WIDTH, HEIGHT = 480, 230
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 26, 30
Y_TICKS = 5

NO_DATA = "No data"


@dataclass(frozen=True)
class Series:
    points: list[tuple[date, float]]  # one per day, oldest first
    records: int  # records in the answer
    skipped: int  # records read without a usable time or number


def day_of(value: Any) -> date | None:
    """The UTC day of a time: epoch seconds (or milliseconds), or an ISO 8601 date or time."""
    if isinstance(value, str):
        text = value.strip()
        if not 10 <= len(text) <= MAX_TIME_TEXT:
            return None
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            if moment.tzinfo is not None:
                # Year 1 at +01:00 is before the first UTC day: OverflowError.
                moment = moment.astimezone(UTC)
        except (ValueError, OverflowError):
            return None
        return moment.date()
    seconds = as_number(value) if not isinstance(value, str) else None
    if seconds is None or seconds < 0:
        return None
    if seconds >= MILLIS_FROM:
        # Integer division: an int past the float range (10**400) cannot be divided as floats.
        seconds = seconds // 1000 if isinstance(seconds, int) else seconds / 1000
    if seconds > MAX_EPOCH:
        return None
    return datetime.fromtimestamp(seconds, tz=UTC).date()


def _clamped(value: float | int) -> float:
    """``value`` within ±MAX_VALUE, as a float (an int past the float range would overflow)."""
    return float(max(-MAX_VALUE, min(MAX_VALUE, value)))


def line_series(payload: Any, *, records_path: str, time_field: str, value_path: str) -> Series:
    """Per day, the sum of ``value_path`` over the records (their count when no path)."""
    records = records_at(payload, records_path) or []
    sums: dict[date, float] = defaultdict(float)
    skipped = 0
    for record in records[:MAX_RECORDS]:
        day = day_of(dig(record, time_field)) if time_field else None
        value = as_number(dig(record, value_path)) if value_path else 1
        if day is None or value is None:
            skipped += 1
            continue
        sums[day] += _clamped(value)
    if not sums:
        return Series(points=[], records=len(records), skipped=skipped)
    # A day without records sums to 0: drawn as 0, not as a line across the gap.
    last = max(sums)
    first = max(min(sums), last - timedelta(days=MAX_POINTS - 1))
    points = [(first + timedelta(days=n), sums.get(first + timedelta(days=n), 0.0))
              for n in range((last - first).days + 1)]
    return Series(points=points, records=len(records), skipped=skipped)


def nice_ticks(low: float, high: float, count: int = Y_TICKS) -> list[float]:
    """About ``count`` round values (1, 2 or 5 times a power of ten) covering low..high."""
    span = high - low
    if not math.isfinite(span) or span <= 0:
        span = abs(high) or 1.0
    raw = span / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    start = math.floor(low / step) * step
    ticks = [start + n * step for n in range(count * 3)]
    return [t for t in ticks if t <= high + step * 0.999][: count * 2] or [start]


def _text(parent: ET.Element, x: float, y: float, text: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, "text", {"x": f"{x:.1f}", "y": f"{y:.1f}", **attrs})
    element.text = clean_text(text, 80)
    return element


def _label(day: date, with_year: bool) -> str:
    return f"{day.day} {day:%b}" + (f" {day.year}" if with_year else "")


def describe(series: Series, what: str) -> str:
    if not series.points:
        return (f"No data to chart: {series.records} records in the answer, none with both a "
                f"time and a number." if series.records else "No data to chart: no records.")
    values = [v for _, v in series.points]
    first, last = series.points[0][0], series.points[-1][0]
    return (f"{what} per day from {first.isoformat()} to {last.isoformat()}, "
            f"{len(values)} days: lowest {format_number(min(values))}, highest "
            f"{format_number(max(values))}, latest {format_number(values[-1])}.")


def line_svg(series: Series, *, title: str, what: str, dom_id: str) -> str:
    """The SVG of ``series``; ``what`` names the y values ("amount"), ``dom_id`` (letters,
    digits and dashes) ties the <title> and <desc> to the chart for screen readers."""
    dom_id = "".join(c for c in dom_id if c.isascii() and (c.isalnum() or c == "-"))[:40]
    what = clean_text(what or "records", 40)
    svg = ET.Element("svg", {
        "xmlns": "http://www.w3.org/2000/svg", "viewBox": f"0 0 {WIDTH} {HEIGHT}",
        "class": "chart", "role": "img", "aria-labelledby": f"{dom_id}-title {dom_id}-desc",
    })
    ET.SubElement(svg, "title", {"id": f"{dom_id}-title"}).text = clean_text(title, 100)
    ET.SubElement(svg, "desc", {"id": f"{dom_id}-desc"}).text = describe(series, what)
    _text(svg, LEFT, 15, f"{what} per day", **{"class": "chart-caption"})
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    ET.SubElement(svg, "rect", {"x": str(LEFT), "y": str(TOP), "width": str(plot_w),
                                "height": str(plot_h), "class": "chart-frame"})
    if not series.points:
        _text(svg, LEFT + plot_w / 2, TOP + plot_h / 2, NO_DATA,
              **{"class": "chart-empty", "text-anchor": "middle"})
        return ET.tostring(svg, encoding="unicode")

    values = [v for _, v in series.points]
    ticks = nice_ticks(min(0.0, min(values)), max(0.0, max(values)))
    low, high = ticks[0], max(ticks[-1], max(values))
    scale_y = plot_h / ((high - low) or 1.0)

    def y_of(value: float) -> float:
        return TOP + plot_h - (value - low) * scale_y

    first, last = series.points[0][0], series.points[-1][0]
    days = (last - first).days or 1

    def x_of(day: date) -> float:
        if first == last:
            return LEFT + plot_w / 2
        return LEFT + (day - first).days * plot_w / days

    for tick in ticks:
        y = y_of(tick)
        ET.SubElement(svg, "line", {"x1": str(LEFT), "x2": str(LEFT + plot_w),
                                    "y1": f"{y:.1f}", "y2": f"{y:.1f}", "class": "chart-grid"})
        _text(svg, LEFT - 6, y + 4, compact_number(tick),
              **{"class": "chart-tick", "text-anchor": "end"})
    with_year = first.year != last.year
    labelled = [first, last] if first != last else [first]
    if days >= 6:
        labelled.insert(1, first + (last - first) / 2)
    for day, anchor in zip(labelled, ("start", "end") if len(labelled) == 2 else
                           ("middle",) if len(labelled) == 1 else ("start", "middle", "end"),
                           strict=True):
        _text(svg, x_of(day), HEIGHT - BOTTOM + 17, _label(day, with_year),
              **{"class": "chart-tick", "text-anchor": anchor})

    coordinates = [(x_of(day), y_of(value)) for day, value in series.points]
    ET.SubElement(svg, "polyline", {
        "points": " ".join(f"{x:.1f},{y:.1f}" for x, y in coordinates), "class": "chart-line"})
    if len(coordinates) <= POINT_MARKS_UP_TO:
        for (x, y), (day, value) in zip(coordinates, series.points, strict=True):
            dot = ET.SubElement(svg, "circle", {"cx": f"{x:.1f}", "cy": f"{y:.1f}", "r": "3",
                                                "class": "chart-dot"})
            ET.SubElement(dot, "title").text = f"{day.isoformat()}: {format_number(value)}"
    return ET.tostring(svg, encoding="unicode")
