"""Dashboard figures built from real core reports (no database needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from apps.runs import plan_figures
from llmplanner.simulation.report import run_plan

EXAMPLES = Path(__file__).resolve().parents[2] / "llmplanner" / "simulation" / "examples"


@pytest.fixture(scope="module")
def gpt3_report():
    return run_plan(json.loads((EXAMPLES / "plan-gpt3-175b.json").read_text()), trials=200, seed=1)


@pytest.fixture(scope="module")
def rag_report():
    return run_plan(json.loads((EXAMPLES / "plan-rag.json").read_text()), trials=200, seed=1)


def test_a_training_plan_gets_every_chart(gpt3_report):
    figures = plan_figures.dashboard_figures(gpt3_report)
    assert set(figures) == {
        "cost_breakdown", "monthly_spend", "gantt", "finish_distribution", "memory_breakdown",
        "layouts_compared", "scaling", "risk_heatmap",
    }  # fmt: skip
    for fig in figures.values():
        json.loads(fig.to_json())  # serialisable for plotly.js


def test_a_rag_plan_has_no_layout_charts(rag_report):
    figures = plan_figures.dashboard_figures(rag_report)
    assert (
        "memory_breakdown" not in figures
        and "layouts_compared" not in figures
        and "scaling" not in figures
    )
    assert "monthly_spend" in figures


def test_cost_bars_are_the_p50_of_each_category(gpt3_report):
    fig = plan_figures.cost_breakdown(gpt3_report)
    cats = gpt3_report["totals"]["cost_by_category"]
    bar = fig.data[0]
    assert list(bar.y) == [cats[k]["p50"] for k in cats if cats[k]["p90"] > 0]


def test_monthly_spend_stacks_categories_and_draws_the_budget_cap(gpt3_report):
    fig = plan_figures.monthly_spend(gpt3_report)
    names = [t.name for t in fig.data]
    assert "Budget cap" in names and "Cumulative P90" in names
    cap = next(t for t in fig.data if t.name == "Budget cap")
    assert list(cap.y) == [gpt3_report["plan"]["budget_cap"]] * 2
    cum50 = next(t for t in fig.data if t.name == "Cumulative P50")
    assert cum50.y[-1] == pytest.approx(sum(gpt3_report["monthly"]["total_p50"]))


def test_gantt_has_a_bar_per_stage_and_a_gate_per_milestone(gpt3_report):
    fig = plan_figures.gantt(gpt3_report)
    stages = [s for s in gpt3_report["stages"] if s["key"] != "team"]
    bars = [t for t in fig.data if t.type == "bar"]
    assert len(bars) == 2 * len(stages)  # P50 bar and P90 band
    gates = next(t for t in fig.data if t.type == "scatter")
    assert len(gates.x) == len(gpt3_report["milestones"])


def test_memory_chart_stacks_to_the_layouts_memory(gpt3_report):
    fig = plan_figures.memory_breakdown(gpt3_report)
    total = sum(t.y[0] for t in fig.data)
    assert total == pytest.approx(gpt3_report["main_run"]["memory_gib"], rel=1e-6)


def test_compare_puts_scenarios_side_by_side(gpt3_report, rag_report):
    fig = plan_figures.compare_headlines([("A", gpt3_report), ("B", rag_report)])
    assert list(fig.data[0].x) == ["A", "B"]
    assert fig.data[0].y[0] == gpt3_report["totals"]["cost"]["p50"]
