"""User text in figures is shown as typed, never rendered as plotly markup (issue 16, item 8).

Plotly renders ``<a href>``, ``<span style>``, ``<b>``, ``<br>`` in every text of a figure. Each
builder is fed a report whose user-supplied strings (scenario, stage, gate and risk names, sweep
variants) are markup; every displayed string of the resulting figure must hold it escaped
exactly once, and no hover template may carry it (``%{…}`` there would be substituted too).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from apps.reports.svg import figure_to_svg
from apps.runs import plan_figures
from apps.runs.figure_style import escape_figure_text, plain_text, plot_text
from llmplanner.simulation.report import run_plan
from tests.runs.dated_plan import dated_plan

EXAMPLES = Path(__file__).resolve().parents[2] / "llmplanner" / "simulation" / "examples"
LINK = '<a href="https://evil.example/phish">Click</a>'
STYLED = '<span style="font-size:40px;color:red">BIG</span>'
ESCAPED_LINK = '&lt;a href="https://evil.example/phish"&gt;Click&lt;/a&gt;'


def _hostile(report: dict) -> dict:
    """The report with markup in every user-named thing the figures show."""
    report = copy.deepcopy(report)
    for i, stage in enumerate(report["stages"]):
        stage["name"] = f"{LINK} stage {i}"
    for gate in report["milestones"]:
        gate["name"] = f"{STYLED} gate"
    for risk in report["risks"]:
        risk["title"] = f"{LINK} risk %{{y}}"
    return report


@pytest.fixture(scope="module")
def gpt3_report():
    plan = json.loads((EXAMPLES / "plan-gpt3-175b.json").read_text())
    return _hostile(run_plan(plan, trials=100, seed=1))


@pytest.fixture(scope="module")
def dated_report():
    return _hostile(run_plan(dated_plan(), trials=100, seed=1))


def _strings(node, key=""):
    """(key, string) of every string in a figure's JSON."""
    if isinstance(node, str):
        yield key, node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _strings(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v, key)


def _assert_safe(fig) -> list[str]:
    shown = []
    for key, text in _strings(json.loads(fig.to_json())):
        if key == "hovertemplate":
            assert "evil" not in text and "BIG" not in text, text
            continue
        assert "<a" not in text and "<span" not in text, (key, text)
        assert "&amp;lt;" not in text, ("escaped twice", key, text)
        shown.append(text)
    return shown


@pytest.mark.parametrize("which", ["gpt3_report", "dated_report"])
def test_every_dashboard_figure_shows_user_markup_as_text(which, request):
    report = request.getfixturevalue(which)
    figures = plan_figures.dashboard_figures(report)
    seen = {name: _assert_safe(fig) for name, fig in figures.items()}
    # The user's text is there — escaped, not dropped.
    assert any(ESCAPED_LINK in t for t in seen["gantt"])
    assert any("&lt;span style=" in t for t in seen["gantt"])
    assert any(ESCAPED_LINK in t for t in seen["risk_heatmap"])


def test_the_compare_chart_escapes_scenario_names(gpt3_report):
    fig = plan_figures.compare_headlines([(LINK, gpt3_report), (STYLED, gpt3_report)])
    shown = _assert_safe(fig)
    assert ESCAPED_LINK in shown
    assert list(fig.data[0].x) == [plot_text(LINK), plot_text(STYLED)]


def test_the_sweep_chart_escapes_variant_labels():
    points = [
        {
            "ok": True,
            "variant": {"gpu_type": LINK},
            "cost_p50": 1.0,
            "cost_p90": 2.0,
            "finish_days_p50": 3.0,
            "finish_days_p90": 4.0,
        }
    ]
    shown = _assert_safe(plan_figures.sweep_chart(points, "USD"))
    assert ESCAPED_LINK in shown


def test_a_gantt_hover_carries_the_stage_name_as_data_not_template(gpt3_report):
    fig = plan_figures.gantt(gpt3_report)
    bars = [t for t in fig.data if t.type == "bar"]
    assert bars
    for bar in bars:
        assert bar.hovertemplate == "%{customdata}<extra></extra>"
        assert ESCAPED_LINK in bar.customdata[0]


def test_layout_titles_ticks_and_annotations_are_escaped():
    import plotly.graph_objects as go

    fig = go.Figure(go.Bar(x=[LINK], y=[1], name=STYLED, text=[LINK], hovertext=[LINK]))
    fig.update_layout(
        title_text=LINK,
        xaxis={"title": {"text": LINK}, "ticktext": [LINK], "tickvals": [0]},
        yaxis={"title": {"text": STYLED}},
        legend={"title": {"text": LINK}},
    )
    fig.add_annotation(text=LINK, x=0, y=1)
    escape_figure_text(fig)
    shown = _assert_safe(fig)
    assert shown.count(ESCAPED_LINK) >= 7


def test_plain_text_is_what_plotly_displays():
    assert plain_text(plot_text(LINK)) == LINK
    assert plain_text("a<br>b <b>bold</b> &amp; &lt;i&gt;") == "a\nb bold & <i>"
    # Our own line breaks (wrapped labels) are written as \n and reach plotly as <br>.
    assert plot_text("TP4 PP8\n<b>") == "TP4 PP8<br>&lt;b&gt;"
    assert plot_text(["<", 1, ("&",)]) == ["&lt;", 1, ("&amp;",)]


def test_the_pdf_draws_the_user_text_literally(gpt3_report):
    svg = figure_to_svg(plan_figures.compare_headlines([(LINK, gpt3_report), ("B", gpt3_report)]))
    # Drawn as text (XML-escaped once), never as an element, never with plotly's escaping.
    assert "<a " not in svg
    assert "&amp;lt;" not in svg
    assert "&lt;a href=" in svg or "&lt;a" in svg
