"""An organization's own efficiency factors, fitted from its completed main runs' actuals.

Two factors, each with its uncertainty:

- **Throughput** — measured ÷ predicted raw training rate. Each run gives a log-ratio ``y``
  (the observed raw rate as ``forecast.update`` reads it: tokens per day of training, or the
  reported MFU) whose variance is the day-to-day noise over the days observed plus the spread
  of the model's error between runs (``BETWEEN_RUNS_SIGMA``, the calibration's error from one
  published source to the next). The factor is the inverse-variance weighted mean of ``y``
  (a fixed-τ random-effects mean; DerSimonian & Laird 1986), exponentiated; its 90% interval is
  ±1.645 standard errors in log space.
- **Interruptions** — observed ÷ expected interruptions, the expected being the plan's failure
  rate over the days each run was observed. The counts are Poisson, so with a gamma prior
  centred on the published rates (factor 1, the weight of ``FAILURE_PRIOR`` expected
  interruptions) the posterior is gamma(ΣN + a, Σexpected + a) (Gelman et al., *Bayesian Data
  Analysis*, §2.6): a few quiet days do not claim a reliable cluster; the interval uses the
  Wilson–Hilferty cube-root normal approximation of its quantiles.

A plan uses them as ``{"calibration": {"source": "organization", "throughput_factor": …,
"failure_factor": …, "runs": …}}`` (``planspec``); every report says which it used.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .errors import ValidationError
from .forecast import PRIOR_SIGMA, Actuals, Prior, main_prior, observed_ratio
from .planspec import parse_plan
from .program import simulate_program

BETWEEN_RUNS_SIGMA = PRIOR_SIGMA  # the model's error from one source to the next (forecast)
FAILURE_PRIOR = 1.0  # expected interruptions' worth of belief in the published rates
Z90 = 1.6448536269514722  # the normal's 95th percentile: a two-sided 90% interval
MIN_DAYS = 1.0  # a run observed for less than a day says nothing


@dataclass(frozen=True)
class RunObservation:
    """One completed main run: what the plan predicted and what was measured."""

    log_ratio: float  # log(observed ÷ predicted raw rate)
    log_variance: float  # of that log-ratio, within the run
    interruptions: int
    expected_interruptions: float  # the plan's rate × days observed
    days: float


def observe(prior: Prior, actuals: Actuals) -> RunObservation:
    """A run's observation from the plan's prior (``forecast.main_prior``) and its last report."""
    days = actuals.elapsed_days
    if days < MIN_DAYS or actuals.tokens_trained <= 0:
        raise ValidationError("elapsed_days", "a run observed for less than a day")
    ratio, noise = observed_ratio(prior, actuals)  # as the forecast reads a report
    return RunObservation(
        log_ratio=math.log(ratio),
        log_variance=noise**2 / days,
        interruptions=actuals.interruptions,
        expected_interruptions=prior.failures_per_day * days,
        days=days,
    )


def observe_plan(
    plan: Any, actuals: Actuals, *, trials: int = 500, seed: int = 0
) -> RunObservation:
    """``observe`` with the prior simulated from the approved plan's JSON."""
    spec = parse_plan(plan)
    return observe(main_prior(simulate_program(spec, trials=trials, seed=seed)), actuals)


def _gamma_quantile(shape: float, rate: float, z: float) -> float:
    """Wilson–Hilferty: the gamma(shape, rate) quantile at the normal's ``z``."""
    c = 1.0 / (9.0 * shape)
    return shape / rate * max(1.0 - c + z * math.sqrt(c), 0.0) ** 3


def fit(observations: Iterable[RunObservation]) -> dict[str, Any]:
    """The two factors with their 90% intervals; ``runs`` 0 (and factors 1) without data."""
    runs = list(observations)
    if not runs:
        return {
            "runs": 0,
            "days": 0.0,
            "throughput_factor": 1.0,
            "throughput_interval": [1.0, 1.0],
            "failure_factor": 1.0,
            "failure_interval": [1.0, 1.0],
        }
    weights = [1.0 / (r.log_variance + BETWEEN_RUNS_SIGMA**2) for r in runs]
    mean = sum(w * r.log_ratio for w, r in zip(weights, runs, strict=True)) / sum(weights)
    se = 1.0 / math.sqrt(sum(weights))
    shape = sum(r.interruptions for r in runs) + FAILURE_PRIOR
    rate = sum(r.expected_interruptions for r in runs) + FAILURE_PRIOR
    failure = shape / rate
    low, high = _gamma_quantile(shape, rate, -Z90), _gamma_quantile(shape, rate, Z90)
    return {
        "runs": len(runs),
        "days": sum(r.days for r in runs),
        "throughput_factor": math.exp(mean),
        "throughput_interval": [math.exp(mean - Z90 * se), math.exp(mean + Z90 * se)],
        "failure_factor": failure,
        "failure_interval": [low, high],
    }


def plan_calibration(fitted: dict[str, Any]) -> dict[str, Any]:
    """The plan's ``calibration`` section for a fit (the factors clipped to what plans accept)."""
    return {
        "source": "organization",
        "throughput_factor": min(max(fitted["throughput_factor"], 0.1), 2.0),
        "failure_factor": min(max(fitted["failure_factor"], 0.05), 20.0),
        "runs": int(fitted["runs"]),
    }
