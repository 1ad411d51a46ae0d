"""Small server-side SVG charts: a horizontal bar chart and a multi-series line chart.

The approach of dashboard/chart.py: the SVG is built with ElementTree, which escapes every
text and attribute, after characters XML forbids are removed (dashboard.render.clean_text), so
a label from a provider or a person cannot break out of it. No JavaScript, no CDN, no CSS
needed: colours are presentation attributes, so a chart looks the same on the person's pages
and in the admin.

Accessible: ``role="img"`` with an ``aria-label``, a ``<title>`` and a ``<desc>`` that says
what the figures are in words; series differ by colour *and* dash pattern (colour-blind safe
colours, each at least 3:1 against white), with a legend; every chart also carries its
figures as rows for a table fallback (templates/charts/_chart.html shows them).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.utils.safestring import SafeString, mark_safe

from dashboard.chart import nice_ticks
from dashboard.render import clean_text, compact_number, format_number

NO_DATA = "No data"
# Okabe-Ito hues, darkened where needed for 3:1 contrast on white; with dash patterns.
COLOURS = ("#0072B2", "#B84A00", "#00795A", "#9E3F7D", "#6B6100")
DASHES = ("", "7 4", "2 3", "9 3 2 3", "4 2")
TEXT = "#4a5060"
GRID = "#e3e6ee"
FRAME = "#c9ceda"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"

LINE_WIDTH, LINE_HEIGHT = 640, 250
LEFT, RIGHT, TOP, BOTTOM = 52, 14, 40, 30
BAR_WIDTH, BAR_ROW, BAR_LABEL_WIDTH, BAR_VALUE_WIDTH = 640, 24, 190, 56
MAX_BARS = 50
MAX_POINTS = 400
MAX_SERIES = len(COLOURS)
LABEL_CHARS = 28


@dataclass(frozen=True)
class Chart:
    """An SVG chart and its figures: ``columns`` and ``rows`` make the table fallback."""

    markup: str
    title: str
    description: str
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)

    @property
    def svg(self) -> SafeString:
        # Built by ElementTree from cleaned text: everything in it is escaped.
        return mark_safe(self.markup)

    @property
    def empty(self) -> bool:
        return not self.rows

    def __str__(self) -> str:
        return self.markup


def _dom_id(value: str) -> str:
    return "".join(c for c in value if c.isascii() and (c.isalnum() or c == "-"))[:40] or "chart"


def _root(width: float, height: float, title: str, description: str, dom_id: str) -> ET.Element:
    dom_id = _dom_id(dom_id)
    title = clean_text(title, 120)
    svg = ET.Element("svg", {
        "xmlns": "http://www.w3.org/2000/svg", "viewBox": f"0 0 {width:.0f} {height:.0f}",
        "width": f"{width:.0f}", "height": f"{height:.0f}", "class": "svg-chart",
        "role": "img", "aria-label": title, "aria-describedby": f"{dom_id}-desc",
        "font-family": FONT, "style": "max-width: 100%; height: auto",
    })
    ET.SubElement(svg, "title", {"id": f"{dom_id}-title"}).text = title
    ET.SubElement(svg, "desc", {"id": f"{dom_id}-desc"}).text = clean_text(description, 600)
    return svg


def _text(parent: ET.Element, x: float, y: float, text: str, *, limit: int = 60,
          size: int = 12, anchor: str = "start", colour: str = TEXT,
          **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, "text", {
        "x": f"{x:.1f}", "y": f"{y:.1f}", "font-size": str(size), "fill": colour,
        "text-anchor": anchor, **attrs})
    element.text = clean_text(text, limit)
    return element


def _empty(svg: ET.Element, width: float, height: float) -> None:
    ET.SubElement(svg, "rect", {"x": "0.5", "y": "0.5", "width": f"{width - 1:.0f}",
                                "height": f"{height - 1:.0f}", "fill": "#fbfcfe",
                                "stroke": FRAME})
    _text(svg, width / 2, height / 2 + 5, NO_DATA, size=15, anchor="middle",
          **{"class": "chart-empty"})


def _number(value: float) -> float:
    return float(value) if value == value and abs(value) < 1e300 else 0.0


def bar_chart(bars: Sequence[tuple[str, float]], *, title: str, what: str,
              dom_id: str, value_format=format_number) -> Chart:
    """Horizontal bars, one per (label, value), in the given order (at most MAX_BARS).

    ``what`` names the values ("weight", "waits"); negative values are drawn as 0.
    """
    bars = [(clean_text(str(label), 200), max(0.0, _number(value)))
            for label, value in list(bars)[:MAX_BARS]]
    what = clean_text(what or "value", 40)
    columns = ["", what]
    rows = [[label, value_format(value)] for label, value in bars]
    if not bars:
        svg = _root(BAR_WIDTH, 80, title, f"{NO_DATA}: nothing to chart.", dom_id)
        _empty(svg, BAR_WIDTH, 80)
        return Chart(ET.tostring(svg, encoding="unicode"), title, NO_DATA, columns, rows)
    top = max(value for _, value in bars)
    highest = max(bars, key=lambda bar: bar[1])
    description = (f"{len(bars)} bars of {what}: highest {highest[0]} "
                   f"({value_format(highest[1])}), lowest {value_format(min(v for _, v in bars))}.")
    height = 12 + len(bars) * BAR_ROW + 8
    svg = _root(BAR_WIDTH, height, title, description, dom_id)
    plot = BAR_WIDTH - BAR_LABEL_WIDTH - BAR_VALUE_WIDTH
    for index, (label, value) in enumerate(bars):
        y = 12 + index * BAR_ROW
        _text(svg, BAR_LABEL_WIDTH - 8, y + 15, label, limit=LABEL_CHARS, anchor="end",
              **{"class": "chart-label"})
        width = plot * value / top if top else 0.0
        bar = ET.SubElement(svg, "rect", {
            "x": str(BAR_LABEL_WIDTH), "y": f"{y + 3:.1f}", "width": f"{max(width, 1.0):.1f}",
            "height": str(BAR_ROW - 6), "fill": COLOURS[0], "class": "chart-bar"})
        ET.SubElement(bar, "title").text = f"{label}: {value_format(value)}"
        _text(svg, BAR_LABEL_WIDTH + max(width, 1.0) + 6, y + 15, value_format(value),
              **{"class": "chart-value"})
    return Chart(ET.tostring(svg, encoding="unicode"), title, description, columns, rows)


def day_labels(first: date, last: date) -> list[date]:
    """Every day from ``first`` to ``last``, both included (at most MAX_POINTS, the latest)."""
    first = max(first, last - timedelta(days=MAX_POINTS - 1))
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def line_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *,
               title: str, what: str, dom_id: str) -> Chart:
    """One line per (name, values); ``labels`` name the x positions (days, runs), oldest first.

    Each series has one value per label. ``what`` names the values ("requests a day").
    Nothing but zeros, or no label, is "No data". Negative values extend the axis below 0.
    """
    labels = [clean_text(str(label), 40) for label in list(labels)[-MAX_POINTS:]]
    count = len(labels)
    series = [(clean_text(str(name), 40), [_number(v) for v in list(values)[-count:]])
              for name, values in list(series)[:MAX_SERIES]] if count else []
    what = clean_text(what or "value", 60)
    columns = ["", *(name for name, _ in series)]
    rows = [[label, *(format_number(values[i]) for _, values in series)]
            for i, label in enumerate(labels)]
    values = [v for _, vs in series for v in vs]
    if not values or not any(values):
        svg = _root(LINE_WIDTH, 90, title, f"{NO_DATA}: nothing to chart.", dom_id)
        _empty(svg, LINE_WIDTH, 90)
        return Chart(ET.tostring(svg, encoding="unicode"), title, NO_DATA, columns, [])
    totals = "; ".join(
        f"{name}: total {format_number(sum(vs))}, highest {format_number(max(vs))}"
        for name, vs in series)
    description = f"{what} from {labels[0]} to {labels[-1]}, {count} points. {totals}."
    svg = _root(LINE_WIDTH, LINE_HEIGHT, title, description, dom_id)
    plot_w, plot_h = LINE_WIDTH - LEFT - RIGHT, LINE_HEIGHT - TOP - BOTTOM
    # Legend: a line sample in each series' colour and dash, then its name.
    x = LEFT
    for index, (name, _) in enumerate(series):
        ET.SubElement(svg, "line", {
            "x1": f"{x:.1f}", "x2": f"{x + 22:.1f}", "y1": "14", "y2": "14",
            "stroke": COLOURS[index], "stroke-width": "3",
            **({"stroke-dasharray": DASHES[index]} if DASHES[index] else {})})
        _text(svg, x + 27, 18, name, limit=30, **{"class": "chart-legend"})
        x += 27 + 7.5 * min(len(name), 30) + 18
    ET.SubElement(svg, "rect", {"x": str(LEFT), "y": str(TOP), "width": str(plot_w),
                                "height": str(plot_h), "fill": "#fbfcfe", "stroke": FRAME})
    # The axis runs from 0, or from below the lowest value when one is negative, so every
    # point stays inside the plot area.
    ticks = nice_ticks(min(0.0, min(values)), max(0.0, max(values)))
    low = min(ticks[0], min(values), 0.0)
    high = max(ticks[-1], max(values))
    if high <= low:
        high = low + 1.0
    scale = plot_h / (high - low)

    def y_of(value: float) -> float:
        return TOP + plot_h - (value - low) * scale

    def x_of(index: int) -> float:
        return LEFT + plot_w / 2 if count == 1 else LEFT + index * plot_w / (count - 1)

    for tick in ticks:
        y = y_of(tick)
        ET.SubElement(svg, "line", {"x1": str(LEFT), "x2": str(LEFT + plot_w), "y1": f"{y:.1f}",
                                    "y2": f"{y:.1f}", "stroke": GRID})
        _text(svg, LEFT - 6, y + 4, compact_number(tick), anchor="end",
              **{"class": "chart-tick"})
    marks = sorted({0, count // 2, count - 1}) if count > 2 else list(range(count))
    for index in marks:
        anchor = ("middle" if count == 1 else "start" if index == 0
                  else "end" if index == count - 1 else "middle")
        _text(svg, x_of(index), LINE_HEIGHT - BOTTOM + 18, labels[index], anchor=anchor,
              **{"class": "chart-tick"})
    for index, (name, values_of) in enumerate(series):
        group = ET.SubElement(svg, "g", {"class": "chart-series"})
        ET.SubElement(group, "title").text = name
        points = " ".join(f"{x_of(i):.1f},{y_of(v):.1f}" for i, v in enumerate(values_of))
        ET.SubElement(group, "polyline", {
            "points": points, "fill": "none", "stroke": COLOURS[index], "stroke-width": "2",
            "stroke-linejoin": "round", "class": "chart-line",
            **({"stroke-dasharray": DASHES[index]} if DASHES[index] else {})})
        if count <= 62:
            for i, value in enumerate(values_of):
                dot = ET.SubElement(group, "circle", {
                    "cx": f"{x_of(i):.1f}", "cy": f"{y_of(value):.1f}", "r": "2.5",
                    "fill": COLOURS[index]})
                ET.SubElement(dot, "title").text = f"{name}, {labels[i]}: {format_number(value)}"
    return Chart(ET.tostring(svg, encoding="unicode"), title, description, columns, rows)
