"""In a real browser, plotly.js shows a scenario named like a link as text, not as a link.

The control case draws the same chart without escaping and finds the link: the check can fail.
"""

from __future__ import annotations

import json
from pathlib import Path

import plotly.graph_objects as go
import pytest

from apps.runs import plan_figures
from llmplanner.simulation.report import run_plan

ROOT = Path(__file__).resolve().parents[2]
PLOTLY = ROOT / "static" / "vendor" / "plotly.min.js"
LINK = '<a href="https://evil.example/phish">Click</a>'
STYLED = '<span style="font-size:40px">BIG</span>'


@pytest.fixture(scope="module")
def report():
    plan = json.loads((ROOT / "llmplanner/simulation/examples/plan-rag.json").read_text())
    return run_plan(plan, trials=50, seed=1)


def _draw(browser, figure_json: str):
    page = browser.new_page()
    page.set_content('<div id="chart" style="width:900px;height:400px"></div>')
    page.add_script_tag(path=str(PLOTLY))
    page.evaluate(
        "fig => Plotly.newPlot('chart', fig.data, fig.layout, {staticPlot: true})",
        json.loads(figure_json),
    )
    page.wait_for_selector("#chart .xtick text")
    return page


def test_plotly_renders_unescaped_markup_as_a_link(browser):
    fig = go.Figure(go.Bar(x=[LINK, STYLED], y=[1, 2]))
    page = _draw(browser, fig.to_json())
    assert page.locator("#chart svg a").count() >= 1
    page.close()


def test_scenario_names_in_the_compare_chart_are_text(browser, report):
    fig = plan_figures.compare_headlines([(LINK, report), (STYLED, report)])
    page = _draw(browser, fig.to_json())
    assert page.locator("#chart svg a").count() == 0
    assert page.locator("#chart svg [style*='font-size:40px']").count() == 0
    ticks = page.locator("#chart .xtick text").all_text_contents()
    assert LINK in ticks and STYLED in ticks
    page.close()
