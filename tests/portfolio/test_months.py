"""The programs on one calendar: GPUs in use and booked per month, clashes of GPU types, and
spend per month with the cumulative total — checked against the runs' reports day by day."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.portfolio.months import gpu_months, month_start, next_month, spend_months
from apps.portfolio.selectors import portfolio_rows
from apps.runs.models import PlanRun, RunStatus
from llmplanner.simulation.report import run_plan
from tests.runs.dated_plan import dated_plan, undated

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


def _span(start: str, end: str) -> tuple[dt.date, dt.date]:
    a, b = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    return a, max(b, a + DAY)


def work(report, gpu_type=None):
    """(start, end, GPUs) of the stages the report's pools say they carry (P50 dates)."""
    carried = {key for pool in report["pools"] for key in pool["stages"]}
    return [
        (*_span(s["start_date_p50"], s["finish_date_p50"]), s["gpu_count"])
        for s in report["stages"]
        if s["key"] in carried and (gpu_type is None or s["gpu_type"] == gpu_type)
    ]


def pools(report, gpu_type=None):
    return [
        (*_span(p["delivered_date_p50"], p["window_end_date_p50"]), p["gpu_count"])
        for p in report["pools"]
        if gpu_type is None or p["gpu_type"] == gpu_type
    ]


def day_by_day(spans, month: str) -> int:
    """The most GPUs held on any day of the month, trying every day."""
    day, end, best = month_start(month), next_month(month_start(month)), 0
    while day < end:
        best = max(best, sum(n for a, b, n in spans if a <= day < b))
        day += DAY
    return best


def test_gpus_in_use_and_booked_are_each_months_peak_of_the_reports_schedule(owner, cpt, sft):
    data = gpu_months(portfolio_rows(user=owner))
    reports = {program.name: run.result for program, run in (cpt, sft)}
    assert data.months[0] == "2027-01" and data.undated == []
    assert {s.name for s in data.programs} == set(reports)
    for series in data.programs:
        expected = [day_by_day(work(reports[series.name]), m) for m in data.months]
        assert series.values == expected, series.name
    booked = [sum(day_by_day(pools(r), m) for r in reports.values()) for m in data.months]
    assert data.booked == booked and any(booked)
    # The CPT run's main stage is in its month at its full GPU count.
    main = next(s for s in reports[cpt[0].name]["stages"] if s["key"] == "main")
    month = main["start_date_p50"][:7]
    cpt_series = next(s for s in data.programs if s.name == cpt[0].name)
    assert cpt_series.values[data.months.index(month)] >= main["gpu_count"] > 0


def test_pool_windows_are_not_counted_as_work(owner, cpt):
    data = gpu_months(portfolio_rows(user=owner))
    report = cpt[1].result
    windows = [s for s in report["stages"] if s["key"] in ("cluster", "pool_2")]
    assert windows and all(s["gpu_count"] for s in windows)
    [series] = data.programs
    # Booked time beyond the work (a pool held after its stages finished) is not "in use".
    assert sum(series.values) < sum(data.booked)
    assert all(used <= held for used, held in zip(series.values, data.booked, strict=True))


def test_a_month_in_which_two_programs_hold_the_same_gpu_type_is_a_clash(owner, cpt, sft):
    data = gpu_months(portfolio_rows(user=owner))
    gpu_type = cpt[1].result["pools"][0]["gpu_type"]
    assert gpu_type == sft[1].result["pools"][0]["gpu_type"]  # both on A800s

    def holds(report, month):
        return max(
            day_by_day(work(report, gpu_type), month), day_by_day(pools(report, gpu_type), month)
        )

    both = [m for m in data.months if holds(cpt[1].result, m) and holds(sft[1].result, m)]
    one = [m for m in data.months if bool(holds(cpt[1].result, m)) != bool(holds(sft[1].result, m))]
    assert both and one  # the data has both kinds of month
    assert [(c.month, c.gpu_type) for c in data.clashes] == [(m, gpu_type) for m in both]
    for clash in data.clashes:
        assert dict(clash.programs) == {
            cpt[0].name: holds(cpt[1].result, clash.month),
            sft[0].name: holds(sft[1].result, clash.month),
        }


def test_a_program_alone_has_no_clash(owner, cpt):
    assert gpu_months(portfolio_rows(user=owner)).clashes == []


def test_a_plan_without_dates_is_listed_off_the_calendar(owner, organization, cpt, unsimulated):
    report = run_plan(undated(dated_plan()), trials=50, seed=1)
    assert report["monthly"]["labels"][0] == "M1"  # the premise
    PlanRun.objects.create(
        organization=organization,
        scenario=unsimulated.scenarios.get(),
        scenario_version=1,
        inputs={},
        input_hash="0" * 64,
        core_version=report["core_version"],
        status=RunStatus.SUCCEEDED,
        result=report,
    )
    rows = portfolio_rows(user=owner)
    gpus, spend = gpu_months(rows), spend_months(rows, "CNY")
    assert gpus.undated == spend.undated == [unsimulated.name]
    assert [s.name for s in spend.programs] == [cpt[0].name]
    assert all(not m.startswith("M") for m in spend.months)


def test_nothing_simulated_means_no_months(owner, unsimulated):
    rows = portfolio_rows(user=owner)
    gpus, spend = gpu_months(rows), spend_months(rows, "CNY")
    assert gpus.months == spend.months == [] and gpus.programs == spend.programs == []


def test_spend_is_each_programs_monthly_p50_and_the_cumulative_ends_at_the_total(owner, cpt, sft):
    data = spend_months(portfolio_rows(user=owner), "CNY")
    reports = {program.name: run.result for program, run in (cpt, sft)}
    assert {s.name for s in data.programs} == set(reports)
    for series in data.programs:
        monthly = reports[series.name]["monthly"]
        by_label = dict(zip(monthly["labels"], monthly["total_p50"], strict=True))
        assert series.values == [by_label.get(m, 0.0) for m in data.months], series.name
    total = sum(r["totals"]["cost"]["p50"] for r in reports.values())
    assert data.cumulative_p50[-1] == pytest.approx(total, abs=0.05)
    # Before the later-ending program's last month, only what has been spent so far counts.
    assert data.cumulative_p50 == sorted(data.cumulative_p50)
    first = data.months[0]
    assert data.cumulative_p50[0] == pytest.approx(
        sum(
            r["monthly"]["cumulative_p50"][0]
            for r in reports.values()
            if r["monthly"]["labels"][0] == first
        )
    )


def test_spend_converts_to_the_currency_asked_at_each_runs_rate(owner, cpt):
    cny = spend_months(portfolio_rows(user=owner), "CNY")
    usd = spend_months(portfolio_rows(user=owner), "USD")
    rate = cpt[1].result["plan"]["usd_to_cny"]
    assert usd.currency == "USD" and rate > 1
    assert usd.programs[0].values == pytest.approx([v / rate for v in cny.programs[0].values])
    assert usd.cumulative_p50[-1] == pytest.approx(cny.cumulative_p50[-1] / rate)


def test_the_charts_keep_their_order_whatever_the_tables_order(owner, cpt, sft):
    from apps.portfolio.selectors import portfolio_sort

    rows = portfolio_rows(user=owner)
    reversed_rows, _ = portfolio_sort(rows, "-program", currency="CNY")
    assert [r.program for r in reversed_rows] != [r.program for r in rows]
    for build in (gpu_months, lambda r: spend_months(r, "CNY")):
        a, b = build(rows), build(reversed_rows)
        assert [(s.name, s.index) for s in a.programs] == [(s.name, s.index) for s in b.programs]
        assert a == b
