"""The portfolio's rows: the program's baseline scenario, its latest successful run, the figures
read from that run's report, the status of the latest run, organization scoping and sorting."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import pytest

from apps.api.portfolio_views import portfolio_budget_table, portfolio_table
from apps.portfolio.months import gpu_months, spend_months
from apps.portfolio.selectors import (
    DONE,
    FAILED,
    NO_RUN,
    RUNNING,
    portfolio_currency,
    portfolio_rows,
    portfolio_sort,
)
from apps.programs.models import Program, Scenario
from apps.programs.services import program_archive, program_update, scenario_clone
from apps.runs.models import PlanRun, RunStatus
from apps.runs.services import plan_run_create
from llmplanner.simulation.program import CATEGORIES
from tests.portfolio.conftest import FOREIGN_NAME

pytestmark = pytest.mark.django_db


def by_program(rows):
    return {row.program.pk: row for row in rows}


def test_a_row_shows_the_figures_of_its_runs_report(owner, cpt):
    program, run = cpt
    [row] = portfolio_rows(user=owner)
    report = run.result
    totals = report["totals"]
    assert row.program == program and row.run == run and row.status == DONE
    assert row.scenario.is_baseline and row.scenario.pk == run.scenario_id
    assert report["plan"]["currency"] == program.currency == "CNY"
    assert row.cost_p50 == totals["cost"]["p50"] and row.cost_p90 == totals["cost"]["p90"]
    assert row.cost_p50 < row.cost_p90
    assert row.finish_date_p50 == dt.date.fromisoformat(totals["finish_date_p50"])
    assert row.finish_date_p90 == dt.date.fromisoformat(totals["finish_date_p90"])
    assert row.finish_days_p90 == totals["finish_days"]["p90"]
    assert row.p_over_budget == totals["p_over_budget"]
    assert row.p_miss_deadline == totals["p_miss_deadline"]
    assert row.top_risk["title"] == report["risks"][0]["title"]
    # A title for people, not the register's code.
    assert row.top_risk["title"] != report["risks"][0]["code"] and " " in row.top_risk["title"]
    assert row.budget_cap == program.budget_cap and row.deadline == program.deadline
    assert row.over_cap is (row.cost_p90 > float(program.budget_cap))
    assert row.late is (row.finish_date_p90 > program.deadline)


ROW_FIGURES = (
    "status",
    "cost_p50",
    "cost_p90",
    "over_cap",
    "finish_date_p50",
    "finish_date_p90",
    "finish_days_p50",
    "finish_days_p90",
    "late",
    "p_over_budget",
    "p_miss_deadline",
    "top_risk",
    "strategy_label",
)


def test_the_parts_of_a_report_it_reads_give_what_the_whole_report_gives(
    owner, cpt, sft, unsimulated
):
    rows = portfolio_rows(user=owner)
    # The same rows with each run's whole stored report (loaded now: the rows' runs come
    # without it).
    whole = [replace(row, report=row.run.result) if row.run else row for row in rows]
    simulated = [(part, full) for part, full in zip(rows, whole, strict=True) if full.report]
    assert len(simulated) == 2 and all(part.report for part, _full in simulated)
    for part, full in zip(rows, whole, strict=True):
        assert {n: getattr(part, n) for n in ROW_FIGURES} == {
            n: getattr(full, n) for n in ROW_FIGURES
        }
    for part, full in simulated:  # a part indeed: the stored reports are several times larger
        assert 2 * len(json.dumps(part.report)) < len(json.dumps(full.report))
    assert gpu_months(rows) == gpu_months(whole) and gpu_months(rows).clashes
    for currency in ("CNY", "USD"):
        assert spend_months(rows, currency) == spend_months(whole, currency)
        assert portfolio_table(rows, currency) == portfolio_table(whole, currency)
        budgets = [
            portfolio_budget_table(
                rs, currency=currency, month_from=None, month_to=None, categories=CATEGORIES
            )
            for rs in (rows, whole)
        ]
        assert budgets[0] == budgets[1] and len(budgets[0]["programs"]) == 2


def test_a_program_without_a_run_is_listed_without_figures(owner, unsimulated):
    [row] = portfolio_rows(user=owner)
    assert row.program == unsimulated and row.scenario is not None
    assert row.status == NO_RUN and row.status_label == "not simulated yet"
    assert row.run is None and row.report is None
    assert row.cost_p50 is None and row.finish_date_p50 is None and row.top_risk is None


def test_the_baseline_scenario_speaks_for_the_program_not_the_latest_run(owner, cpt):
    program, run = cpt
    baseline = program.scenarios.get(is_baseline=True)
    other = scenario_clone(user=owner, scenario=baseline, name="B: a later try")
    simulate_other = plan_run_create(user=owner, scenario=other, trials=50, dispatch=False)
    assert simulate_other.created_at >= run.created_at
    [row] = portfolio_rows(user=owner)
    assert row.scenario == baseline and row.run == run


def test_without_a_baseline_the_first_scenario_in_order_is_used(owner, cpt):
    program, run = cpt
    baseline = program.scenarios.get(is_baseline=True)
    scenario_clone(user=owner, scenario=baseline, name="0: first by name")
    Scenario.objects.filter(pk=baseline.pk).update(is_baseline=False)
    [row] = portfolio_rows(user=owner)
    assert row.scenario.name == "0: first by name"
    assert row.status == NO_RUN and row.run is None


def test_the_status_is_the_latest_runs_while_the_figures_stay_the_last_successful_ones(owner, cpt):
    program, run = cpt
    newer = plan_run_create(
        user=owner, scenario=run.scenario, trials=77, seed=3, dispatch=False
    )  # queued: a worker has not taken it yet
    [row] = portfolio_rows(user=owner)
    assert row.status == RUNNING and row.latest == newer and row.run == run
    assert row.cost_p50 == run.result["totals"]["cost"]["p50"]
    PlanRun.objects.filter(pk=newer.pk).update(status=RunStatus.FAILED, error="worker lost")
    [row] = portfolio_rows(user=owner)
    assert row.status == FAILED and row.latest == newer and row.run == run


def test_another_organizations_programs_never_appear(owner, outsider, cpt, foreign):
    mine = portfolio_rows(user=owner)
    theirs = portfolio_rows(user=outsider)
    assert [r.program for r in mine] == [cpt[0]]
    assert [r.program.name for r in theirs] == [FOREIGN_NAME]
    assert all(r.run is None or r.run.organization_id == r.program.organization_id for r in mine)


def test_an_api_tokens_organizations_narrow_the_users(
    owner, organization, cpt, second_organization_member
):
    other_org, other_program = second_organization_member
    everything = {r.program for r in portfolio_rows(user=owner)}
    assert everything == {cpt[0], other_program}
    narrowed = portfolio_rows(
        user=owner, organizations=type(organization).objects.filter(pk=other_org.pk)
    )
    assert [r.program for r in narrowed] == [other_program]


def test_archived_programs_are_left_out(owner, cpt, unsimulated):
    program_archive(user=owner, program=unsimulated)
    assert [r.program for r in portfolio_rows(user=owner)] == [cpt[0]]


def test_a_program_switched_to_another_currency_shows_the_run_converted_at_its_rate(owner, cpt):
    program, run = cpt
    program_update(user=owner, program=program, currency="USD")
    [row] = portfolio_rows(user=owner)
    rate = run.result["plan"]["usd_to_cny"]
    assert row.currency == "USD" and run.result["plan"]["currency"] == "CNY"
    assert row.cost_p50 == pytest.approx(run.result["totals"]["cost"]["p50"] / rate)
    assert row.cost("p50", "CNY") == run.result["totals"]["cost"]["p50"]
    program.refresh_from_db()
    assert row.cap("USD") == pytest.approx(float(program.budget_cap))


def test_the_portfolio_currency_is_the_one_asked_else_the_shared_one_else_cny(owner, cpt, sft):
    rows = portfolio_rows(user=owner)
    assert portfolio_currency(rows, "USD") == "USD"
    assert portfolio_currency(rows, "EUR") == "CNY"  # not ours: ignored
    program_update(user=owner, program=cpt[0], currency="USD")
    program_update(user=owner, program=sft[0], currency="USD")
    assert portfolio_currency(portfolio_rows(user=owner)) == "USD"
    program_update(user=owner, program=sft[0], currency="CNY")
    assert portfolio_currency(portfolio_rows(user=owner)) == "CNY"  # mixed


def test_it_sorts_by_a_column_either_way_with_empty_values_last(owner, cpt, sft, unsimulated):
    rows = portfolio_rows(user=owner)
    costs = {r.program.pk: r.cost_p50 for r in rows}
    assert costs[cpt[0].pk] > costs[sft[0].pk]  # the data the order below depends on
    ascending, applied = portfolio_sort(rows, "cost_p50", currency="CNY")
    assert applied == "cost_p50"
    assert [r.program for r in ascending] == [sft[0], cpt[0], unsimulated]
    descending, applied = portfolio_sort(rows, "-cost_p50", currency="CNY")
    assert applied == "-cost_p50"
    assert [r.program for r in descending] == [cpt[0], sft[0], unsimulated]


@pytest.mark.parametrize("sort", ["nonsense", "-", "--cost_p50", "", None, "cost_p50;drop"])
def test_an_unknown_sort_is_ignored(owner, cpt, sft, unsimulated, sort):
    rows = portfolio_rows(user=owner)
    ordered, applied = portfolio_sort(rows, sort, currency="CNY")
    assert applied == "program"
    names = [r.program.name for r in ordered]
    assert names == sorted(names, key=str.casefold) and len(names) == 3


def test_every_column_sorts(owner, cpt, sft, unsimulated):
    from apps.portfolio.selectors import SORTS

    rows = portfolio_rows(user=owner)
    for column in SORTS:
        up, _ = portfolio_sort(rows, column, currency="CNY")
        down, _ = portfolio_sort(rows, f"-{column}", currency="CNY")
        assert (
            {r.program.pk for r in up}
            == {r.program.pk for r in down}
            == {p.pk for p in Program.objects.all()}
        )
        # The unsimulated program has no figures: last both ways for a figure's column.
        if column not in ("program", "strategy", "status"):
            assert up[-1].program == down[-1].program == unsimulated, column
    by_status, _ = portfolio_sort(rows, "status", currency="CNY")
    assert by_status[0].status == NO_RUN and by_status[-1].status == DONE
