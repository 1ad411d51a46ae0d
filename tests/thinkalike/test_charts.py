"""thinkalike/charts.py: the SVG parses back, says what it shows, and escapes every label."""

import xml.etree.ElementTree as ET

from django.template.loader import render_to_string

from thinkalike.charts import COLOURS, NO_DATA, bar_chart, line_chart

NS = {"svg": "http://www.w3.org/2000/svg"}
HOSTILE = '<script>alert("x")</script> & "quotes" \x00\x1b'


def parse(chart):
    return ET.fromstring(chart.markup)


def texts(root):
    return [el.text or "" for el in root.iter() if el.tag.endswith("text")]


def test_bar_chart_has_one_bar_per_value_in_order_with_labels_and_values():
    chart = bar_chart([("rock", 100), ("jazz", 40), ("folk", 5)], title="Top interests",
                      what="strength", dom_id="bars")
    root = parse(chart)
    bars = root.findall("svg:rect[@class='chart-bar']", NS)
    assert len(bars) == 3
    widths = [float(bar.get("width")) for bar in bars]
    assert widths[0] > widths[1] > widths[2] > 0
    assert widths[0] / widths[1] == 2.5
    assert [bar.find("svg:title", NS).text for bar in bars] == ["rock: 100", "jazz: 40",
                                                                 "folk: 5"]
    assert {"rock", "jazz", "folk", "100", "40", "5"} <= set(texts(root))
    assert chart.rows == [["rock", "100"], ["jazz", "40"], ["folk", "5"]]


def test_chart_is_labelled_for_screen_readers():
    root = parse(bar_chart([("a", 1)], title="Waits per provider", what="waits",
                           dom_id="w-1"))
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Waits per provider"
    assert root.find("svg:title", NS).text == "Waits per provider"
    desc = root.find("svg:desc", NS)
    assert root.get("aria-describedby") == desc.get("id") == "w-1-desc"
    assert "highest a" in desc.text


def test_labels_are_escaped_and_forbidden_characters_removed():
    chart = bar_chart([(HOSTILE, 3)], title=HOSTILE, what=HOSTILE, dom_id='x" onload="y')
    assert "<script>" not in chart.markup
    assert "&lt;script&gt;" in chart.markup
    assert "\x00" not in chart.markup and "\x1b" not in chart.markup
    assert 'onload="' not in chart.markup
    root = parse(chart)  # still well-formed XML
    assert root.find("svg:title", NS).text.startswith('<script>alert("x")</script>')
    line = line_chart([HOSTILE], [(HOSTILE, [1])], title="t", what=HOSTILE, dom_id="l")
    assert "<script>" not in line.markup
    parse(line)


def test_empty_data_says_no_data():
    for chart in (bar_chart([], title="Nothing", what="v", dom_id="e"),
                  line_chart([], [], title="Nothing", what="v", dom_id="e2"),
                  line_chart(["d1", "d2"], [("Requests", [0, 0])], title="Zeros", what="v",
                             dom_id="e3")):
        root = parse(chart)
        assert NO_DATA in texts(root)
        assert chart.empty and chart.rows == []
        assert root.find("svg:desc", NS).text.startswith(NO_DATA)


def test_line_chart_draws_each_series_with_its_own_colour_and_a_legend():
    chart = line_chart(["2026-11-01", "2026-11-02", "2026-11-03"],
                       [("Requests", [10, 20, 5]), ("Errors", [0, 2, 1]),
                        ("Waits", [1, 0, 0])], title="Usage", what="Usage a day", dom_id="u")
    root = parse(chart)
    lines = root.findall(".//svg:polyline", NS)
    assert len(lines) == 3
    assert [line.get("stroke") for line in lines] == list(COLOURS[:3])
    assert len({line.get("stroke-dasharray", "") for line in lines}) == 3  # not colour alone
    assert all(len(line.get("points").split()) == 3 for line in lines)
    assert {"Requests", "Errors", "Waits", "2026-11-01", "2026-11-03"} <= set(texts(root))
    assert "Requests: total 35, highest 20" in root.find("svg:desc", NS).text
    assert chart.columns == ["", "Requests", "Errors", "Waits"]
    assert chart.rows[1] == ["2026-11-02", "20", "2", "0"]


def test_the_higher_value_is_drawn_higher():
    root = parse(line_chart(["a", "b"], [("S", [1, 9])], title="t", what="v", dom_id="h"))
    (first, second) = [pair.split(",") for pair in
                       root.find(".//svg:polyline", NS).get("points").split()]
    assert float(second[1]) < float(first[1])  # SVG y grows downwards


def test_negative_values_stay_inside_the_plot_area():
    from thinkalike.charts import LINE_HEIGHT, TOP

    root = parse(line_chart(["a", "b", "c"], [("Change", [-40, 5, 20])], title="t",
                            what="v", dom_id="n"))
    points = [tuple(map(float, pair.split(","))) for pair in
              root.find(".//svg:polyline", NS).get("points").split()]
    frame = root.find("svg:rect", NS)
    bottom = float(frame.get("y")) + float(frame.get("height"))
    assert all(TOP <= y <= bottom <= LINE_HEIGHT for _, y in points)
    assert points[0][1] > points[1][1] > points[2][1]  # still in order
    assert "-40" in texts(root) or any(t.startswith("-") for t in texts(root))  # a tick below 0


def test_the_include_renders_the_svg_and_a_table_fallback():
    chart = bar_chart([("rock & roll", 3)], title="Top", what="strength", dom_id="t")
    html = render_to_string("charts/_chart.html", {"chart": chart})
    assert html.count("<svg") == 1
    assert "<table>" in html and "rock &amp; roll" in html
    empty = render_to_string("charts/_chart.html", {
        "chart": bar_chart([], title="Top", what="strength", dom_id="t")})
    assert "<table>" not in empty and "no data yet" in empty
