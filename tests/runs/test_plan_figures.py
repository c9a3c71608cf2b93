"""Dashboard figures built from real core reports (no database needed)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from apps.runs import plan_figures
from llmplanner.simulation.report import run_plan
from tests.runs.dated_plan import dated_plan, stored_before_cumulative, undated

EXAMPLES = Path(__file__).resolve().parents[2] / "llmplanner" / "simulation" / "examples"


@pytest.fixture(scope="module")
def gpt3_report():
    return run_plan(json.loads((EXAMPLES / "plan-gpt3-175b.json").read_text()), trials=200, seed=1)


@pytest.fixture(scope="module")
def dated_report():
    return run_plan(dated_plan(), trials=300, seed=1)


@pytest.fixture(scope="module")
def undated_report():
    return run_plan(undated(dated_plan()), trials=300, seed=1)


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


def test_cost_bars_are_the_p50_of_each_category_and_the_total(gpt3_report):
    fig = plan_figures.cost_breakdown(gpt3_report)
    cats = gpt3_report["totals"]["cost_by_category"]
    bar, total = fig.data[0], fig.data[1]
    assert bar.orientation == "h"
    assert list(bar.x) == [cats[k]["p50"] for k in cats if cats[k]["p90"] > 0]
    assert list(bar.y)[0] == "GPU compute"
    assert list(total.x) == [gpt3_report["totals"]["cost"]["p50"]]
    assert list(total.error_x.array) == [
        gpt3_report["totals"]["cost"]["p90"] - gpt3_report["totals"]["cost"]["p50"]
    ]


def test_monthly_spend_stacks_categories_and_names_a_cap_far_above_it(gpt3_report):
    # 150M cap, ~23M spend: drawn on the axis it would flatten the chart, so the legend names it.
    fig = plan_figures.monthly_spend(gpt3_report)
    names = [t.name for t in fig.data]
    assert "Cumulative P90" in names
    cap = next(t for t in fig.data if t.name.startswith("Cap "))
    assert cap.name == "Cap 150M CNY (off the scale)" and list(cap.x) == [None]
    assert fig.layout.yaxis2.range[1] < gpt3_report["plan"]["budget_cap"]
    cum50 = next(t for t in fig.data if t.name == "Cumulative P50")
    assert list(cum50.y) == gpt3_report["monthly"]["cumulative_p50"]
    assert cum50.y[-1] == gpt3_report["totals"]["cost"]["p50"]


def test_gantt_has_a_bar_per_stage_and_a_gate_per_milestone(gpt3_report):
    fig = plan_figures.gantt(gpt3_report)
    stages = [s for s in gpt3_report["stages"] if s["key"] not in ("team", "storage")]
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


def running_sum(values):
    out, total = [], 0.0
    for v in values:
        total += v
        out.append(total)
    return out


def trace(fig, name):
    return next(t for t in fig.data if t.name == name)


def test_the_cumulative_lines_are_the_reports_percentiles_not_sums_of_monthly_ones(dated_report):
    monthly = dated_report["monthly"]
    summed_p90 = running_sum(monthly["total_p90"])
    # The bug this guards against: the sum of monthly P90s runs far above the P90 of the sum.
    assert summed_p90[-1] > monthly["cumulative_p90"][-1] * 1.05
    fig = plan_figures.monthly_spend(dated_report)
    cum90 = trace(fig, "Cumulative P90")
    assert list(cum90.y) == monthly["cumulative_p90"]
    assert list(cum90.y) != pytest.approx(summed_p90)
    assert cum90.y[-1] == dated_report["totals"]["cost"]["p90"]
    assert list(trace(fig, "Cumulative P50").y) == monthly["cumulative_p50"]


def test_monthly_bars_are_each_months_p50_on_the_reports_months(dated_report):
    fig = plan_figures.monthly_spend(dated_report)
    monthly = dated_report["monthly"]
    bars = [t for t in fig.data if t.type == "bar"]
    assert bars
    for bar in bars:
        assert list(bar.x) == monthly["labels"]
        assert "P50 of the month" in bar.hovertemplate
    gpu = trace(fig, "GPU compute")
    column = monthly["categories"].index("gpu_compute")
    assert list(gpu.y) == [row[column] for row in monthly["p50"]]
    assert fig.layout.xaxis.type == "category"
    assert fig.layout.yaxis.title.text == "Per month (USD)"


def test_monthly_spend_draws_a_cap_within_reach_as_a_line_on_the_cumulative_axis(dated_report):
    cap = dated_report["plan"]["budget_cap"]  # 1.3M over a ~1.2M plan
    fig = plan_figures.monthly_spend(dated_report)
    line = next(s for s in fig.layout.shapes if s.yref == "y2")
    assert line.y0 == line.y1 == cap and (line.x0, line.x1) == (0, 1)
    note = next(a for a in fig.layout.annotations if a.yref == "y2")
    assert note.text == "Budget cap 1.3M USD" and note.y == cap
    assert fig.layout.yaxis2.range[1] >= cap


def test_an_old_report_draws_the_p50_running_sum_and_no_p90(dated_report):
    old = stored_before_cumulative(dated_report)
    fig = plan_figures.monthly_spend(old)
    names = [t.name for t in fig.data]
    assert "Cumulative P90" not in names and "Cumulative P50" not in names
    line = trace(fig, "Cumulative (sum of monthly P50s)")
    assert list(line.y) == pytest.approx(running_sum(old["monthly"]["total_p50"]))


def test_a_dated_gantt_runs_on_calendar_dates(dated_report):
    fig = plan_figures.gantt(dated_report)
    assert fig.layout.xaxis.type == "date"
    stages = [s for s in dated_report["stages"] if s["key"] not in ("team", "storage")]
    assert {"cluster", "pool_2"} <= {s["key"] for s in stages}
    bars = [t for t in fig.data if t.type == "bar"]
    assert len(bars) == 2 * len(stages)
    day_ms = 86_400_000
    for stage, p50_bar, p90_band in zip(stages, bars[::2], bars[1::2], strict=True):
        start = dt.date.fromisoformat(stage["start_date_p50"])
        finish = dt.date.fromisoformat(stage["finish_date_p50"])
        assert p50_bar.y[0] == stage["name"]
        assert p50_bar.base[0] == stage["start_date_p50"]
        if finish > start:
            assert p50_bar.x[0] == (finish - start).days * day_ms
        assert p90_band.base[0] == stage["finish_date_p50"]
        assert stage["finish_date_p50"] in p50_bar.customdata[0]
        assert stage["finish_date_p90"] in p90_band.customdata[0]
    names = {t.y[0] for t in bars}
    assert "Team" not in names and "Storage" not in names
    gates = next(t for t in fig.data if t.type == "scatter")
    assert list(gates.x) == [m["p50_date"] for m in dated_report["milestones"]]
    deadline = dt.date(2027, 3, 1) + dt.timedelta(days=dated_report["plan"]["deadline_days"])
    assert fig.layout.shapes[0].x0 == deadline.isoformat()


def test_an_undated_gantt_stays_in_days(undated_report):
    fig = plan_figures.gantt(undated_report)
    assert fig.layout.xaxis.type != "date"
    first = next(t for t in fig.data if t.type == "bar")
    stage = undated_report["stages"][0]
    assert first.base[0] == stage["start_days"]["p50"]
    gates = next(t for t in fig.data if t.type == "scatter")
    assert list(gates.x) == [m["p50_day"] for m in undated_report["milestones"]]


def test_the_finish_distribution_is_in_dates_with_a_start_date(dated_report, undated_report):
    fig = plan_figures.finish_distribution(dated_report)
    assert fig.layout.xaxis.type == "date"
    edges = dated_report["histograms"]["finish_days"]["edges"]
    first = dt.datetime(2027, 3, 1) + dt.timedelta(days=(edges[0] + edges[1]) / 2)
    assert fig.data[0].x[0] == first.isoformat(sep=" ", timespec="minutes")
    assert list(fig.data[0].y) == dated_report["histograms"]["finish_days"]["counts"]
    days = plan_figures.finish_distribution(undated_report)
    centre = sum(undated_report["histograms"]["finish_days"]["edges"][:2]) / 2
    assert days.data[0].x[0] == pytest.approx(centre)
