"""The portfolio's two charts: the data they draw, every axis titled with its unit, and program
names (user text) shown as typed — never as plotly markup, never inside a hover template."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from django.utils import translation

from apps.portfolio import figures
from apps.portfolio.months import gpu_months, spend_months
from apps.portfolio.selectors import portfolio_rows
from apps.programs.models import Program
from apps.runs.figure_style import plot_text

pytestmark = pytest.mark.django_db

LINK = '<a href="https://evil.example/phish">Click</a> %{y}'
ESCAPED = plot_text(LINK)


@pytest.fixture
def charts(owner, cpt, sft):
    rows = portfolio_rows(user=owner)
    return gpu_months(rows), spend_months(rows, "CNY")


def _axes(fig) -> dict[str, str]:
    spec = json.loads(fig.to_json())["layout"]
    return {
        k: (v.get("title") or {}).get("text", "")
        for k, v in spec.items()
        if k[:5] in ("xaxis", "yaxis")
    }


def _strings(node, key=""):
    if isinstance(node, str):
        yield key, node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _strings(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v, key)


def test_the_gpu_chart_stacks_programs_and_draws_the_booked_line(charts):
    gpus, _spend = charts
    fig = figures.gpu_demand(gpus)
    bars = [t for t in fig.data if t.type == "bar"]
    assert [b.name for b in bars] == [s.name for s in gpus.programs] and len(bars) == 2
    for bar, series in zip(bars, gpus.programs, strict=True):
        assert list(bar.x) == gpus.months and list(bar.y) == series.values
    [line] = [t for t in fig.data if t.type == "scatter"]
    assert list(line.y) == gpus.booked and "booked" in line.name
    assert fig.layout.barmode == "stack"


def test_the_spend_chart_stacks_programs_and_draws_the_cumulative_total(charts):
    _gpus, spend = charts
    fig = figures.portfolio_spend(spend)
    bars = [t for t in fig.data if t.type == "bar"]
    assert [list(b.y) for b in bars] == [s.values for s in spend.programs]
    [line] = [t for t in fig.data if t.type == "scatter"]
    assert list(line.y) == spend.cumulative_p50 and line.yaxis == "y2"


@pytest.mark.parametrize("currency", ["CNY", "USD"])
def test_every_axis_is_titled_with_its_unit(owner, cpt, sft, currency):
    rows = portfolio_rows(user=owner)
    gpu_axes = _axes(figures.gpu_demand(gpu_months(rows)))
    spend_axes = _axes(figures.portfolio_spend(spend_months(rows, currency)))
    assert set(gpu_axes) == {"xaxis", "yaxis"} and set(spend_axes) == {"xaxis", "yaxis", "yaxis2"}
    assert all(gpu_axes.values()) and all(spend_axes.values())
    assert gpu_axes["xaxis"] == spend_axes["xaxis"] == "Month (year-month)"
    assert gpu_axes["yaxis"].endswith("(GPUs)")
    assert spend_axes["yaxis"].endswith(f"({currency})") and "month" in spend_axes["yaxis"]
    assert spend_axes["yaxis2"].endswith(f"({currency})")


def test_a_program_keeps_its_colour_from_chart_to_chart(charts):
    gpus, spend = charts
    gpu_colours = {t.name: t.marker.color for t in figures.gpu_demand(gpus).data if t.type == "bar"}
    spend_colours = {
        t.name: t.marker.color for t in figures.portfolio_spend(spend).data if t.type == "bar"
    }
    assert gpu_colours and len(set(gpu_colours.values())) == len(gpu_colours)
    assert all(spend_colours[name] == colour for name, colour in gpu_colours.items())


def test_program_names_are_shown_as_typed_in_both_charts(owner, cpt, sft):
    Program.objects.filter(pk=cpt[0].pk).update(name=LINK)
    rows = portfolio_rows(user=owner)
    for fig in (
        figures.gpu_demand(gpu_months(rows)),
        figures.portfolio_spend(spend_months(rows, "CNY")),
    ):
        shown = []
        for key, text in _strings(json.loads(fig.to_json())):
            if key == "hovertemplate":
                assert "evil" not in text and "Click" not in text, text
                continue
            assert "<a" not in text, (key, text)
            assert "&amp;lt;" not in text, ("escaped twice", key, text)
            shown.append(text)
        assert ESCAPED in shown  # the name is there, escaped once, not dropped
        assert all("%{fullData.name}" in t.hovertemplate for t in fig.data if t.type == "bar")


def test_a_remembered_chart_is_the_one_a_build_gives_for_the_same_data_and_language(charts):
    gpus, spend = charts
    for build, data in ((figures.gpu_demand, gpus), (figures.portfolio_spend, spend)):
        drawn = figures.chart_json(build, data)
        assert drawn == build(data).to_json() == figures.chart_json(build, data)
        # Another program name, other figures or another language: drawn anew.
        renamed = replace(data, programs=[replace(data.programs[0], name="Renamed")])
        assert figures.chart_json(build, renamed) == build(renamed).to_json() != drawn
        halved = replace(
            data, programs=[replace(s, values=[v / 2 for v in s.values]) for s in data.programs]
        )
        assert figures.chart_json(build, halved) == build(halved).to_json() != drawn
        with translation.override("zh-hans"):
            chinese = figures.chart_json(build, data)
            assert chinese == build(data).to_json() != drawn
    assert figures.chart_json(figures.gpu_demand, gpus) != figures.chart_json(
        figures.portfolio_spend, spend
    )
