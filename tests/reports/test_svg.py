"""The plotly → SVG renderer: every dashboard figure of every example plan, and the pieces."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import plotly.graph_objects as go
import pytest
from django.conf import settings

from apps.reports.svg import UnsupportedFigure, figure_to_svg
from apps.reports.svg.axes import date_ms, date_ticks, format_tick, log_ticks, wrap_label
from apps.runs import plan_figures
from apps.runs.figure_style import plot_text
from llmplanner.simulation.report import run_plan

EXAMPLES = sorted((Path(settings.BASE_DIR) / "llmplanner/simulation/examples").glob("plan-*.json"))
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module", params=[p.name for p in EXAMPLES])
def report(request):
    plan = json.loads((EXAMPLES[0].parent / request.param).read_text())
    return run_plan(plan, trials=100, seed=0)


def rects(svg: str) -> list[dict[str, float]]:
    root = ET.fromstring(svg)
    return [
        {k: float(v) for k, v in r.attrib.items() if k in ("x", "y", "width", "height")}
        for r in root.iter(f"{SVG}rect")
        if r.get("fill") not in (None, "none")
    ]


def test_every_dashboard_figure_of_every_example_plan_renders(report):
    figures = plan_figures.dashboard_figures(report)
    assert figures
    for name, fig in figures.items():
        svg = figure_to_svg(fig, element_id=name)
        root = ET.fromstring(svg)  # well-formed
        assert root.tag == f"{SVG}svg" and root.get("viewBox") == f"0 0 680 {root.get('height')}"
        kinds = {f"{SVG}{kind}" for kind in ("rect", "polyline", "circle", "polygon")}
        marks = [e for e in root.iter() if e.tag in kinds]
        assert len(marks) >= 2, name
        for element in root.iter():
            for value in element.attrib.values():
                assert "nan" not in value.lower() and "inf" not in value.lower(), (name, value)


def test_a_trace_type_it_cannot_draw_is_refused():
    with pytest.raises(UnsupportedFigure):
        figure_to_svg(go.Figure(go.Pie(values=[1, 2])))


def test_stacked_bars_sit_on_each_other():
    fig = go.Figure([go.Bar(x=["a"], y=[1.0]), go.Bar(x=["a"], y=[3.0])])
    fig.update_layout(barmode="stack", showlegend=False)
    lower, upper = rects(figure_to_svg(fig))[-2:]
    assert upper["y"] + upper["height"] == pytest.approx(lower["y"], abs=0.02)
    assert upper["height"] == pytest.approx(3 * lower["height"], rel=0.01)


def test_horizontal_bars_start_at_their_base():
    fig = go.Figure([go.Bar(y=["s"], x=[10.0], base=[20.0], orientation="h")])
    fig.update_layout(xaxis={"range": [0, 40]})
    svg = figure_to_svg(fig)
    bar = rects(svg)[-1]
    plot = re.search(
        r'<clipPath id="chart-plot"><rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', svg
    )
    left, width = float(plot.group(1)), float(plot.group(2))
    assert bar["x"] == pytest.approx(left + width * 0.5, abs=0.1)
    assert bar["width"] == pytest.approx(width * 0.25, abs=0.1)


def test_a_date_axis_places_bars_from_their_base_date():
    day = 86_400_000
    fig = go.Figure(
        [
            go.Bar(y=["a"], x=[31 * day], base=["2027-03-01"], orientation="h"),
            go.Bar(y=["b"], x=[61 * day], base=["2027-04-01"], orientation="h"),
        ]
    )
    fig.update_layout(xaxis={"type": "date"}, barmode="overlay", showlegend=False)
    svg = figure_to_svg(fig)
    march, april_may = rects(svg)[-2:]
    # April 1 is where March's bar ends; 61 days are about twice 31.
    assert april_may["x"] == pytest.approx(march["x"] + march["width"], abs=0.05)
    assert april_may["width"] == pytest.approx(march["width"] * 61 / 31, rel=1e-3)
    labels = re.findall(r">(\d{4}-\d{2})<", svg)
    assert labels and labels == sorted(labels) and "2027-04" in labels


def test_date_ticks_are_whole_months_or_days_in_iso_form():
    months = date_ticks(date_ms("2027-03-01"), date_ms("2027-07-01"), 5)
    assert [label for _, label in months] == ["2027-03", "2027-04", "2027-05", "2027-06", "2027-07"]
    assert months[1][0] == date_ms("2027-04-01")
    days = date_ticks(date_ms("2027-03-01 06:00"), date_ms("2027-03-05"), 5)
    assert [label for _, label in days] == ["2027-03-02", "2027-03-03", "2027-03-04", "2027-03-05"]
    years = date_ticks(date_ms("2027-01-01"), date_ms("2031-06-01"), 3)
    assert [label for _, label in years] == ["2028", "2030"]


def test_labels_are_drawn_as_plotly_displays_them_and_escaped_for_xml():
    # Plotly's own markup shows as its text (bold dropped); text escaped for plotly by the
    # figure builders shows as typed. Either way the SVG holds it XML-escaped, never as markup.
    raw = go.Figure(go.Bar(x=["<b>R&amp;D</b>"], y=[1]))
    assert ">R&amp;D</text>" in figure_to_svg(raw)
    escaped = go.Figure(go.Bar(x=[plot_text("<b>R&D</b>")], y=[1]))
    assert "&lt;b&gt;R&amp;D&lt;/b&gt;" in figure_to_svg(escaped)


@pytest.mark.parametrize(
    ("value", "step", "fmt", "label"),
    [
        (2_500_000, 2_500_000, "", "2.5M"),
        (10_000_000, 2_500_000, "", "10M"),
        (500_000, 100_000, "", "500k"),
        (0.4, 0.2, ".0%", "40%"),
        (0, 5, "", "0"),
        (1.2e9, 2e8, "", "1.2B"),
        (17.5, 2.5, "", "17.5"),
    ],
)
def test_ticks_read_like_plotly(value, step, fmt, label):
    assert format_tick(value, step, fmt) == label


def test_a_log_axis_ticks_at_1_2_5():
    assert [label for _, label in log_ticks(2.3, 3.7, "")] == ["200", "500", "1k", "2k", "5k"]


def test_long_category_labels_wrap_at_spaces():
    assert wrap_label("TP4 PP8 VP6 DP32 MB2", 60, 11) == ["TP4 PP8", "VP6 DP32", "MB2"]
    assert wrap_label("unbreakablelonglabel", 30, 11) is None
