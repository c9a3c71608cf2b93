"""The shared look's layout update (``figure_style._update_layout``): the layout plotly's own
``update_layout`` gives — set whole where the figure has nothing yet, merged where it has — and
every chart of the dashboard the same as drawn with ``update_layout``."""

from __future__ import annotations

import json

import plotly.graph_objects as go
import pytest

from apps.runs import figure_style
from apps.runs.figure_style import LEGEND, _update_layout
from apps.runs.plan_figures import dashboard_figures
from llmplanner.simulation.report import run_plan
from tests.runs.dated_plan import dated_plan


def _figure() -> go.Figure:
    fig = go.Figure(go.Bar(x=["2027-01", "2027-02"], y=[1.0, 2.0], name="A"))
    fig.add_hline(y=1.5, annotation_text="cap")  # a shape and an annotation already there
    return fig


VALUES = [
    {"height": 300, "legend": LEGEND, "paper_bgcolor": "rgba(0,0,0,0)", "barmode": "stack"},
    {"xaxis": {"title": {"text": "Month"}, "type": "category"}, "yaxis": {"range": [0, 3]}},
    # Merged into what the figure has: its annotations, an axis set a moment before.
    {"yaxis": {"title": {"text": "GPUs"}}, "annotations": [{"text": "note", "x": 0, "y": 0}]},
    {"xaxis_title_text": "Month", "xaxis": {"type": "category"}, "height": 200},
]


@pytest.mark.parametrize("values", VALUES)
def test_it_gives_the_layout_plotlys_update_layout_gives(values):
    fig = _figure()
    fig.update_layout(yaxis={"tickformat": ",d"}, xaxis={"tickangle": 0})
    expected = go.Figure(fig).update_layout(**values)
    _update_layout(fig, values)
    assert json.loads(fig.to_json()) == json.loads(expected.to_json())
    # And not by chance: the values are there, what was there before too.
    layout = json.loads(fig.to_json())["layout"]
    assert layout["yaxis"]["tickformat"] == ",d" and layout["shapes"]


def test_every_dashboard_chart_is_the_one_update_layout_draws(monkeypatch):
    report = run_plan(dated_plan(), trials=200, seed=1)
    drawn = {name: json.loads(fig.to_json()) for name, fig in dashboard_figures(report).items()}
    monkeypatch.setattr(
        figure_style, "_update_layout", lambda fig, values: fig.update_layout(**values)
    )
    plain = {name: json.loads(fig.to_json()) for name, fig in dashboard_figures(report).items()}
    assert len(drawn) >= 6 and drawn == plain
