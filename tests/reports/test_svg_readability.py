"""The PDF draws what the dashboard's readable charts carry (issue 18): the figures' own round
ticks and their 万/亿 labels, numbered risks with a list of their names, labels on several
lines, limits placed as plotly.js places them — and no text runs off a chart."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import plotly.graph_objects as go
import pytest
from django.conf import settings
from django.utils import translation

from apps.reports.document import render_html
from apps.reports.svg import figure_to_svg
from apps.reports.svg.axes import text_width
from apps.runs import plan_figures
from llmplanner.simulation.report import run_plan
from tests.reports.conftest import unsaved_run

EXAMPLES = Path(settings.BASE_DIR) / "llmplanner/simulation/examples"
SVG = "{http://www.w3.org/2000/svg}"


def texts(svg: str) -> list[ET.Element]:
    return list(ET.fromstring(svg).iter(f"{SVG}text"))


def shown(svg: str) -> list[str]:
    return [t.text or "" for t in texts(svg)]


@pytest.fixture(scope="module", params=["gpt3-175b", "cpt-7b-domain", "rag"])
def report(request):
    return run_plan(json.loads((EXAMPLES / f"plan-{request.param}.json").read_text()), 100, 0)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_no_text_of_any_chart_runs_off_it(report, language):
    with translation.override(language):
        figures = plan_figures.dashboard_figures(report)
    assert figures
    for name, fig in figures.items():
        svg = figure_to_svg(fig, width=700, element_id=name)
        root = ET.fromstring(svg)
        width, height = float(root.get("width")), float(root.get("height"))
        for text in texts(svg):
            x, y = float(text.get("x")), float(text.get("y"))
            size = float(text.get("font-size"))
            assert 0 <= y <= height + 1, (name, text.text, y)
            if text.get("transform"):  # turned axis titles: their middle is on the chart
                assert 0 <= x <= width, (name, text.text)
                continue
            w = text_width(text.text or "", size)
            left = {"start": x, "middle": x - w / 2, "end": x - w}[text.get("text-anchor")]
            assert left >= -1 and left + w <= width + 1, (name, text.text, left, w)


def test_the_svg_ticks_are_the_figures_own_round_ticks_in_wan_and_yi(report):
    with translation.override("zh-hans"):
        fig = plan_figures.monthly_spend(report)
    labels = shown(figure_to_svg(fig))
    for axis in (fig.layout.yaxis, fig.layout.yaxis2):
        assert set(axis.ticktext) <= set(labels)
    assert any(re.fullmatch(r"\d+(\.\d+)?(万|亿)", label) for label in labels)
    assert not any(re.fullmatch(r"[\d.]+[kMB]", label) for label in labels)


def test_the_risk_map_draws_numbers_and_a_list_of_names_one_a_row(report):
    fig = plan_figures.risk_heatmap(report)
    svg = figure_to_svg(fig)
    labels = shown(svg)
    names = [r["title"] for r in report["risks"]]
    numbers = [t.text[0] for t in fig.data if t.text[0]]
    assert numbers and all(n in labels for n in numbers)
    legend = [t for t in texts(svg) if (t.text or "").split("  ")[0].isdigit() and "  " in t.text]
    assert len(legend) == len(names)
    # One entry a row, in the register's order, each starting at the same x.
    ys = [float(t.get("y")) for t in legend]
    assert ys == sorted(ys) and len(set(ys)) == len(ys)
    assert len({t.get("x") for t in legend}) == 1
    drawn = " ".join(labels)
    for name in names:
        assert all(word in drawn for word in name.split()), name


def test_labels_with_line_breaks_are_drawn_on_several_lines():
    fig = go.Figure(go.Bar(y=["a"], x=[1], orientation="h", name="first line\nsecond line"))
    fig.add_trace(go.Bar(y=["a"], x=[2], orientation="h", name="other"))
    fig.update_layout(
        yaxis={"tickmode": "array", "tickvals": ["a"], "ticktext": ["top half\nbottom half"]},
        annotations=[{"xref": "paper", "yref": "paper", "x": 0, "y": 1, "text": "one\ntwo"}],
        legend={"orientation": "v"},
    )
    elements = {t.text: t for t in texts(figure_to_svg(fig))}
    for top, bottom in (("top half", "bottom half"), ("first line", "second line"), ("one", "two")):
        assert float(elements[bottom].get("y")) > float(elements[top].get("y")), top
        assert elements[bottom].get("x") == elements[top].get("x")


def test_limits_land_where_plotly_js_puts_them():
    fig = go.Figure(go.Bar(x=["2027-01", "2027-02", "2027-03"], y=[1, 2, 3]))
    # A number on a category axis is a category index: the deadline inside February.
    fig.add_shape(type="line", xref="x", x0=1.25, x1=1.25, yref="paper", y0=0, y1=1)
    fig.update_layout(xaxis={"type": "category", "range": [-0.5, 3.5]})
    svg = figure_to_svg(fig)
    plot = re.search(
        r'<clipPath id="chart-plot"><rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', svg
    )
    left, width = float(plot.group(1)), float(plot.group(2))
    line = next(e for e in ET.fromstring(svg).iter(f"{SVG}line") if e.get("y1") != e.get("y2"))
    assert float(line.get("x1")) == pytest.approx(left + width * (1.25 + 0.5) / 4, abs=0.2)
    # On a log axis a shape is in data units, an annotation in log10 units.
    log = go.Figure(go.Scatter(x=[256, 4096], y=[1, 2]))
    log.add_shape(type="line", xref="x", x0=1024, x1=1024, yref="paper", y0=0, y1=1)
    log.add_annotation(xref="x", x=3.0103, yref="paper", y=1, text="here", showarrow=False)
    log.update_layout(xaxis={"type": "log", "range": [2.4, 3.6]})
    drawn = figure_to_svg(log)
    line = next(e for e in ET.fromstring(drawn).iter(f"{SVG}line") if e.get("stroke") == "#444")
    note = next(t for t in texts(drawn) if t.text == "here")
    assert float(note.get("x")) == pytest.approx(float(line.get("x1")), abs=1)


def test_a_number_beside_its_marker_sits_right_of_it():
    fig = go.Figure(
        go.Scatter(
            x=[0.5], y=[1], mode="markers+text", text=["2, 5"], textposition="middle right",
            marker={"size": 20}, textfont={"color": "#123456"},
        )
    )  # fmt: skip
    svg = figure_to_svg(fig)
    circle = next(ET.fromstring(svg).iter(f"{SVG}circle"))
    label = next(t for t in texts(svg) if t.text == "2, 5")
    assert float(label.get("x")) > float(circle.get("cx")) + 10
    assert label.get("fill") == "#123456"


def test_the_chinese_document_draws_wan_yi_ticks_and_the_numbered_risk_map(gpt3_report, gpt3_plan):
    html = render_html(unsaved_run(gpt3_report, gpt3_plan), paper="a4", language="zh-hans")
    cost = html[html.index('id="cost_breakdown-plot"') :]
    cost = cost[: cost.index("</svg>")]
    assert re.search(r">\d+万<", cost)
    risk = html[html.index('id="risk_heatmap-plot"') :]
    risk = risk[: risk.index("</svg>")]
    assert re.search(r">1  ", risk) and ">1<" in risk
