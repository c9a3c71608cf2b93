"""The program's Monte Carlo in bounded memory (issue 15): the money per month is cut a block of
months at a time, so memory grows with the trials and not with the horizon, and the block size
changes no number."""

from __future__ import annotations

import copy
import json
import tracemalloc

import numpy as np
import pytest

from llmplanner.simulation.planspec import parse_plan
from llmplanner.simulation.program import (
    CATEGORIES,
    MONTH_BLOCK_BYTES,
    Charge,
    _block_months,
    _month_block,
    _spans,
    simulate_program,
)
from llmplanner.simulation.report import report, run_plan

from .conftest import EXAMPLES

MIB = 2**20


def gpt3_plan() -> dict:
    return json.loads((EXAMPLES / "plan-gpt3-175b.json").read_text())


def long_plan() -> dict:
    """The GPT-3 program on one server: two runs of about eight years each, some 300+ months."""
    plan = gpt3_plan()
    plan["cluster"]["gpu_count"] = 8
    return plan


def traced_peak_mib(fn) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / MIB
    finally:
        tracemalloc.stop()


def test_a_long_horizon_stays_within_a_memory_bound_that_the_whole_matrix_would_break():
    spec = parse_plan(long_plan())
    small = traced_peak_mib(lambda: report(simulate_program(spec, trials=50, seed=0)))
    out: dict = {}

    def run() -> None:
        out["report"] = report(simulate_program(spec, trials=5000, seed=0))

    big = traced_peak_mib(run)
    months = len(out["report"]["monthly"]["labels"])
    assert months >= 250
    # The whole trials × months × categories matrix alone: 5,000 × 250 × 6 × 8 bytes = 57 MiB.
    # Measured before issue 15 (the matrix, its temporaries and np.percentile's copy): 189 MiB at
    # 5,000 trials over 338 months against 26 MiB at 50 trials, 163 MiB more. Now: about 20 MiB.
    assert big - small < 50.0, (big, small, months)


def test_the_block_size_changes_no_number():
    spec = parse_plan(gpt3_plan())
    reports = [
        report(simulate_program(spec, trials=300, seed=4, month_block_bytes=budget))
        for budget in (1, 300 * 6 * 8 * 3, MONTH_BLOCK_BYTES, 2**40)  # 1 month, 3, all, all
    ]
    assert all(r == reports[0] for r in reports[1:])


def test_the_block_size_changes_no_stage_cost_nor_category_total():
    spec = parse_plan(long_plan())
    one = simulate_program(spec, trials=200, seed=2, month_block_bytes=1)
    whole = simulate_program(spec, trials=200, seed=2, month_block_bytes=2**40)
    for cat in CATEGORIES:
        assert np.array_equal(one.cost_by_category[cat], whole.cost_by_category[cat])
    for a, b in zip(one.stages, whole.stages, strict=True):
        for cat in CATEGORIES:
            assert np.array_equal(a.costs[cat], b.costs[cat]), (a.key, cat)


def test_streamed_percentiles_are_those_of_the_whole_matrix():
    result = simulate_program(parse_plan(gpt3_plan()), trials=400, seed=1, month_block_bytes=1)
    monthly = result.monthly  # trials × months × categories, rebuilt in one block
    cumulative = result.cumulative
    s = result.monthly_summary
    assert monthly.shape == (400, len(result.month_labels), len(CATEGORIES))
    assert np.array_equal(s.p50, np.percentile(monthly, 50, axis=0))
    assert np.array_equal(s.p90, np.percentile(monthly, 90, axis=0))
    assert np.array_equal(s.total_p90, np.percentile(monthly.sum(axis=2), 90, axis=0))
    assert np.array_equal(s.cumulative_p50, np.percentile(cumulative, 50, axis=0))
    assert np.array_equal(s.cumulative_p90, np.percentile(cumulative, 90, axis=0))
    for c, cat in enumerate(CATEGORIES):
        assert np.allclose(monthly[:, :, c].sum(axis=1), result.cost_by_category[cat])


def test_the_same_seed_gives_the_same_report_and_another_seed_another():
    a = run_plan(gpt3_plan(), trials=300, seed=9)
    b = run_plan(copy.deepcopy(gpt3_plan()), trials=300, seed=9)
    c = run_plan(gpt3_plan(), trials=300, seed=10)
    assert a == b
    assert a["totals"]["cost"] != c["totals"]["cost"]


@pytest.mark.parametrize(
    "trials, months",
    [(20_000, 17), (2_000, 174), (200_000, 1), (10**9, 1)],
)
def test_a_block_of_months_fits_the_budget(trials, months):
    # 16 MiB ÷ (trials × 6 categories × 8 bytes), at least one month.
    assert _block_months(trials, MONTH_BLOCK_BYTES) == months


def test_a_one_off_charge_lands_in_its_month_whatever_the_block():
    # Two trials: 100 paid at day 45 (month 2 of 30-day months), 50 at day 10 (month 1).
    at = np.array([45.0, 10.0])
    charge = Charge("data", "data", at, at, amount=np.array([100.0, 50.0]))
    edges = np.array([0.0, 30.0, 60.0, 90.0])
    lengths = np.diff(edges)
    spans = _spans((charge,), edges)
    whole = _month_block((charge,), spans, 2, edges, lengths, 0.1, 0, 3)
    data, cont = CATEGORIES.index("data"), CATEGORIES.index("contingency")
    assert whole[data, :, 0].tolist() == [0.0, 100.0, 0.0]
    assert whole[data, :, 1].tolist() == [50.0, 0.0, 0.0]
    assert whole[cont, 1, 0] == pytest.approx(10.0)  # 10% contingency on the month's spend
    blocks = [_month_block((charge,), spans, 2, edges, lengths, 0.1, m, m + 1) for m in range(3)]
    assert np.array_equal(np.concatenate(blocks, axis=1), whole)


def test_a_rate_is_paid_pro_rata_for_the_days_held_in_each_month():
    # 3,000 a month held from day 15 to day 75 of 30-day months: half, all, half.
    charge = Charge("team", "people", np.array([15.0]), np.array([75.0]), rate=np.array([3000.0]))
    edges = np.array([0.0, 30.0, 60.0, 90.0])
    spans = _spans((charge,), edges)
    paid = {0: np.zeros(1)}
    out = _month_block((charge,), spans, 1, edges, np.diff(edges), 0.0, 0, 3, rate_paid=paid)
    assert out[CATEGORIES.index("people"), :, 0].tolist() == [1500.0, 3000.0, 1500.0]
    assert paid[0].tolist() == [6000.0]
