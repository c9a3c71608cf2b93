"""The organization's own efficiency factors (issue 19): recovered from synthetic actuals within
their stated uncertainty, and used by a plan that opts in."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pytest

from llmplanner.simulation.errors import ValidationError
from llmplanner.simulation.forecast import DAILY_SIGMA, Actuals, goodput, main_prior
from llmplanner.simulation.own_calibration import (
    BETWEEN_RUNS_SIGMA,
    fit,
    observe,
    plan_calibration,
)
from llmplanner.simulation.planspec import parse_plan
from llmplanner.simulation.program import MAX_HFU, simulate_program
from llmplanner.simulation.report import report

from .conftest import EXAMPLES

TRUE_THROUGHPUT, TRUE_FAILURES = 0.82, 1.6


def plan(**calibration) -> dict:
    data = json.loads((EXAMPLES / "plan-from-scratch-7b.json").read_text())
    if calibration:
        data["calibration"] = calibration
    return data


@pytest.fixture(scope="module")
def prior():
    return main_prior(simulate_program(parse_plan(plan()), 300, 0))


def synthetic_runs(prior, rng: np.random.Generator, runs: int = 6) -> list[Actuals]:
    """Completed runs of an organization whose clusters train at 0.82× the model's rate and
    fail 1.6× as often: each run's own rate off by the between-runs spread, each day's by the
    daily noise, interruptions Poisson."""
    out = []
    for _ in range(runs):
        days = float(rng.integers(20, 60))
        run_log = math.log(TRUE_THROUGHPUT) + rng.normal(0, BETWEEN_RUNS_SIGMA)
        daily = np.exp(run_log + rng.normal(0, DAILY_SIGMA, int(days)))
        fails = int(rng.poisson(TRUE_FAILURES * prior.failures_per_day * days))
        seen = goodput(prior, fails / days, 0.0)
        tokens = float(prior.raw_rate * seen * np.exp(np.mean(np.log(daily))) * days)
        out.append(Actuals(dt.date(2027, 6, 1), tokens, days, interruptions=fails))
    return out


def test_the_fit_recovers_known_factors_within_its_stated_interval(prior):
    rng = np.random.default_rng(11)
    fitted = fit(observe(prior, a) for a in synthetic_runs(prior, rng))
    low, high = fitted["throughput_interval"]
    assert low < TRUE_THROUGHPUT < high and fitted["throughput_factor"] == pytest.approx(
        TRUE_THROUGHPUT, rel=0.15
    )
    low, high = fitted["failure_interval"]
    assert low < TRUE_FAILURES < high
    assert fitted["runs"] == 6


def test_the_stated_90_percent_intervals_cover_the_truth_about_90_percent_of_the_time(prior):
    rng = np.random.default_rng(5)
    hits = {"throughput": 0, "failure": 0}
    repeats = 300
    for _ in range(repeats):
        fitted = fit(observe(prior, a) for a in synthetic_runs(prior, rng, runs=4))
        low, high = fitted["throughput_interval"]
        hits["throughput"] += low < TRUE_THROUGHPUT < high
        low, high = fitted["failure_interval"]
        hits["failure"] += low < TRUE_FAILURES < high
    for name, count in hits.items():
        assert 0.84 <= count / repeats <= 0.96, (name, count / repeats)


def test_without_runs_the_factors_are_the_published_ones():
    fitted = fit([])
    assert (fitted["runs"], fitted["throughput_factor"], fitted["failure_factor"]) == (0, 1.0, 1.0)


def test_a_run_observed_for_less_than_a_day_is_refused(prior):
    with pytest.raises(ValidationError) as err:
        observe(prior, Actuals(dt.date(2027, 6, 1), 1e9, 0.5))
    assert err.value.field == "elapsed_days"


def test_a_plan_that_opts_in_trains_slower_fails_more_and_says_so():
    published = simulate_program(parse_plan(plan()), 300, 0)
    own_cal = plan_calibration(
        {"throughput_factor": 0.8, "failure_factor": 2.0, "runs": 3, "days": 90.0}
    )
    own = simulate_program(parse_plan(plan(**own_cal)), 300, 0)
    assert own.main_run.wall_clock_hours == pytest.approx(published.main_run.wall_clock_hours / 0.8)
    assert own.main_run.layout.mfu == pytest.approx(published.main_run.layout.mfu * 0.8)
    assert own.goodput.failures_per_day == pytest.approx(2 * published.goodput.failures_per_day)
    assert report(own)["plan"]["calibration"] == {
        "source": "organization",
        "throughput_factor": 0.8,
        "failure_factor": 2.0,
        "runs": 3,
    }
    assert report(published)["plan"]["calibration"]["source"] == "published"


def test_a_faster_organization_is_capped_at_the_hardwares_reach_and_its_alternatives_follow():
    published = simulate_program(parse_plan(plan()), 50, 0)
    own_cal = plan_calibration(
        {"throughput_factor": 2.0, "failure_factor": 1.0, "runs": 3, "days": 90.0}
    )
    own = simulate_program(parse_plan(plan(**own_cal)), 50, 0)
    base, fast = published.main_run.layout, own.main_run.layout
    # Twice the predicted rate would put this layout past 100% of the dense peak: capped at 90%.
    assert base.hfu * 2 > 1
    assert fast.hfu == pytest.approx(MAX_HFU)
    factor = MAX_HFU / base.hfu
    assert fast.mfu == pytest.approx(base.mfu * factor)
    assert own.main_run.wall_clock_hours == pytest.approx(
        published.main_run.wall_clock_hours / factor
    )
    for mine, theirs in zip(
        own.main_run.alternatives, published.main_run.alternatives, strict=True
    ):
        assert mine.mfu == pytest.approx(theirs.mfu * factor)


@pytest.mark.parametrize(
    ("calibration", "field"),
    [
        ({"source": "mine"}, "calibration.source"),
        ({"throughput_factor": 3}, "calibration.throughput_factor"),
        ({"throughput_factor": 0.01}, "calibration.throughput_factor"),
        ({"failure_factor": 0}, "calibration.failure_factor"),
        ({"factor": 1}, "calibration.factor"),
    ],
)
def test_bad_calibration_sections_are_refused_naming_the_field(calibration, field):
    with pytest.raises(ValidationError) as err:
        parse_plan(plan(**calibration))
    assert err.value.field == field


def test_the_factors_by_hand_for_two_runs():
    # Worked numbers: log-ratios ln 0.8 and ln 0.9, within-run variances 0.25/30 and 0.25/20,
    # between runs 0.15² → weights 1/(0.00833+0.0225)=32.43 and 1/(0.0125+0.0225)=28.57;
    # mean = (32.43 ln 0.8 + 28.57 ln 0.9)/61.0 = −0.1680 → ×0.845. Interruptions 0 of 0.3
    # expected: (0 + 1)/(0.3 + 1) = 0.769 — a quiet week does not make a cluster 1.67× as bad
    # (the Jeffreys prior's answer) or perfect.
    from llmplanner.simulation.own_calibration import RunObservation

    runs = [
        RunObservation(math.log(0.8), 0.25 / 30, 0, 0.2, 30.0),
        RunObservation(math.log(0.9), 0.25 / 20, 0, 0.1, 20.0),
    ]
    fitted = fit(runs)
    assert fitted["throughput_factor"] == pytest.approx(0.845, abs=0.001)
    assert fitted["failure_factor"] == pytest.approx(1 / 1.3, abs=0.001)
    low, high = fitted["failure_interval"]
    assert low < fitted["failure_factor"] < high
