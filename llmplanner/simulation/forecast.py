"""Re-forecast of an approved plan from what its main run has done so far.

A baseline plan is simulated again with its own seed (trial ``i`` is the same world as in the
approved report), then the main run is conditioned on the actuals and everything after it —
stages, pools, people — follows as in any simulation (``simulate_program(main_span=…)``):

- **Throughput.** The plan's raw rate (tokens per day of uninterrupted training; the trials'
  median) is the prior, log-normal with ``PRIOR_SIGMA`` — the calibration's leave-one-source-out
  error (11–13%, README) — widened by the hardware lottery's spread over the trials. The observed
  raw rate is the tokens per day of training divided by the observed goodput, or, when the job
  reports its MFU, the plan's rate × observed ÷ planned MFU. Its noise shrinks with the days
  observed: ``DAILY_SIGMA`` per day from tokens (restarts, stragglers and data stalls move a day's
  rate a lot), ``DAILY_SIGMA_MFU`` from a reported MFU. The normal-normal update (Gelman et al.,
  *Bayesian Data Analysis*, 3rd ed., §2.5) gives the posterior multiplier: three days of data
  carry about a fifth of the weight, a month about three quarters.
- **Failures and loss spikes.** Rates per day of the main run, gamma priors with the plan's rates
  as means and ``PRIOR_DAYS`` days of pseudo-observation; posterior gamma(α + count, β + days)
  (the Poisson-gamma conjugate pair, ibid. §2.6). Each interruption or spike costs the hours the
  plan's reliability model lost per event (restart, re-done work; Kokolis et al. 2024 for the
  rates), checkpoints their planned share of the time.
- **Remaining work.** Per trial, the tokens not yet trained at the sampled raw rate × the
  goodput of the sampled rates; the main run ends then, and the program is re-simulated after it.
- **Money.** What was spent is fact: the forecast cost of a trial is the spend reported to date
  plus what the trial's charges (``Charge``) book after the report's day — never a distribution
  over the past. A category the report leaves out is taken as the plan spent it by that day
  (``spent_from_plan`` names them) — but contingency, a reserve, counts as drawn only when
  reported. An observed rate below ``MIN_OBSERVED_SHARE`` of the plan's (a stalled run) is taken
  at that floor, so the forecast stays finite.

``spread=False`` uses the posterior means in every trial: no randomness in the main run (the
tests derive such a forecast by hand).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import ValidationError
from .planspec import PlanSpec, parse_plan
from .program import CATEGORIES, DAYS_PER_MONTH, ProgramResult, simulate_program
from .report import _date as report_date
from .text import T, Text, percent

PRIOR_SIGMA = 0.15  # log-normal spread of the model's throughput (calibration LOSO MAPE ~12%)
DAILY_SIGMA = 0.5  # one day's observed log throughput around the run's own rate
DAILY_SIGMA_MFU = 0.1  # one day's reported MFU around the run's own
PRIOR_DAYS = 14.0  # pseudo-days of observation behind the planned failure and spike rates
MIN_GOODPUT = 0.05  # floor of the goodput a sampled failure rate may leave
# The slowest observed rate the update takes, as a share of the plan's: a run reported stalled
# (no tokens after days) would otherwise forecast a finish millions of days out. At 2% the
# remaining work takes at most ~50× its planned time, which the drivers then show.
MIN_OBSERVED_SHARE = 0.02
BURNUP_POINTS = 60  # dates on the burn-up chart


@dataclass(frozen=True)
class Actuals:
    """The main run's state on ``date``, cumulative since the program started (spend) or since
    the main run started (the rest). Spend is in the plan's currency, by cost category."""

    date: dt.date
    tokens_trained: float
    elapsed_days: float
    gpu_hours: float = 0.0
    interruptions: int = 0
    loss_spikes: int = 0
    observed_mfu: float | None = None
    spend: dict[str, float] = field(default_factory=dict)

    def validate(self, spec: PlanSpec) -> Actuals:
        if spec.start_date is None:
            raise ValidationError("start_date", "a forecast needs the plan's start date")
        if self.date < spec.start_date:
            raise ValidationError("date", "before the plan's start date")
        for name in ("tokens_trained", "elapsed_days", "gpu_hours"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ValidationError(name, "must be a number ≥ 0")
        if self.elapsed_days > (self.date - spec.start_date).days:
            raise ValidationError("elapsed_days", "the main run cannot start before the plan")
        for name in ("interruptions", "loss_spikes"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValidationError(name, "must be a whole number ≥ 0")
        if self.observed_mfu is not None and not 0 < self.observed_mfu <= 1:
            raise ValidationError("observed_mfu", "must be between 0 and 1")
        if self.tokens_trained > 0 and self.elapsed_days <= 0:
            raise ValidationError("elapsed_days", "tokens were trained, so the run has started")
        for category, amount in self.spend.items():
            if category not in CATEGORIES:
                raise ValidationError(f"spend.{category}", f"one of {', '.join(CATEGORIES)}")
            if not math.isfinite(amount) or amount < 0:
                raise ValidationError(f"spend.{category}", "must be an amount ≥ 0")
        return self


@dataclass(frozen=True)
class Prior:
    """The plan's own expectation of its main run, from the baseline simulation's trials."""

    tokens: float  # the main run's tokens (all its full runs)
    raw_rate: float  # tokens per day of uninterrupted training, median over trials
    raw_log_sigma: float  # prior spread of log raw_rate: model error and hardware lottery
    failures_per_day: float
    spikes_per_day: float
    hours_per_failure: float  # training time an interruption costs (restart + re-done work)
    hours_per_spike: float
    checkpoint_share: float  # of the main run's wall time
    mfu: float
    net_rate: float  # tokens per wall-clock day, median over trials


@dataclass(frozen=True)
class Posterior:
    raw_multiplier: float  # posterior mean of actual ÷ planned raw rate
    raw_log_mean: float
    raw_log_sigma: float
    data_weight: float  # share of the posterior log mean the data carries (0..1)
    failures_alpha: float
    failures_beta: float
    spikes_alpha: float
    spikes_beta: float

    @property
    def failures_per_day(self) -> float:
        return self.failures_alpha / self.failures_beta

    @property
    def spikes_per_day(self) -> float:
        return self.spikes_alpha / self.spikes_beta


def goodput(prior: Prior, failures_per_day: Any, spikes_per_day: Any) -> Any:
    """Share of wall time that trains: what checkpoints, interruptions and spikes leave."""
    lost = (
        failures_per_day * prior.hours_per_failure + spikes_per_day * prior.hours_per_spike
    ) / 24
    return np.maximum(1.0 - prior.checkpoint_share - lost, MIN_GOODPUT)


def main_prior(result: ProgramResult) -> Prior:
    """The main run as the baseline simulation planned it (per-trial arrays summed over the
    plan's full runs)."""
    spec, g, est = result.spec, result.goodput, result.main_run
    if g is None or est is None:
        raise ValidationError("strategy", "only a plan with a main training run can be tracked")
    runs, n = spec.full_runs, result.trials

    def per_trial(a: np.ndarray) -> np.ndarray:
        return np.asarray(a, dtype=float).reshape(runs, n).sum(axis=0)

    wall_h, useful_h = per_trial(g.wall_hours), per_trial(g.useful_hours)
    fails, spikes = per_trial(g.interruptions), per_trial(g.loss_spikes)
    spike_h = per_trial(g.spike_recovery_hours)
    fail_h = per_trial(g.lost_work_hours) + per_trial(g.recovery_hours) - spike_h
    tokens = spec.tokens * runs
    raw = tokens / (useful_h / 24.0)
    wall_days = wall_h / 24.0
    return Prior(
        tokens=tokens,
        raw_rate=float(np.median(raw)),
        raw_log_sigma=math.hypot(PRIOR_SIGMA, float(np.std(np.log(raw)))),
        failures_per_day=float(fails.sum() / wall_days.sum()),
        spikes_per_day=float(spikes.sum() / wall_days.sum()),
        hours_per_failure=float(fail_h.sum() / fails.sum()) if fails.sum() else 0.0,
        hours_per_spike=float(spike_h.sum() / spikes.sum()) if spikes.sum() else 0.0,
        checkpoint_share=float(per_trial(g.checkpoint_hours).sum() / wall_h.sum()),
        mfu=float(est.layout.mfu),
        net_rate=float(np.median(tokens / wall_days)),
    )


def observed_ratio(prior: Prior, actuals: Actuals) -> tuple[float, float]:
    """The observed ÷ planned raw training rate and its noise per day observed: from a reported
    MFU when there is one, else from tokens per day of training (the tokens per day ÷ the
    goodput the reported interruptions and spikes leave). ``elapsed_days`` must be > 0."""
    days = actuals.elapsed_days
    if actuals.observed_mfu is not None:
        return actuals.observed_mfu / prior.mfu, DAILY_SIGMA_MFU
    seen = goodput(prior, actuals.interruptions / days, actuals.loss_spikes / days)
    return actuals.tokens_trained / days / seen / prior.raw_rate, DAILY_SIGMA


def update(prior: Prior, actuals: Actuals) -> Posterior:
    """The conjugate updates of the module docstring."""
    days = actuals.elapsed_days
    fa, fb = prior.failures_per_day * PRIOR_DAYS + actuals.interruptions, PRIOR_DAYS + days
    sa, sb = prior.spikes_per_day * PRIOR_DAYS + actuals.loss_spikes, PRIOR_DAYS + days
    prior_precision = 1.0 / prior.raw_log_sigma**2
    if days <= 0:
        return Posterior(1.0, 0.0, prior.raw_log_sigma, 0.0, fa, fb, sa, sb)
    ratio, noise = observed_ratio(prior, actuals)
    ratio = max(ratio, MIN_OBSERVED_SHARE)
    data_precision = days / noise**2
    weight = data_precision / (prior_precision + data_precision)
    log_mean = weight * math.log(ratio)
    log_sigma = 1.0 / math.sqrt(prior_precision + data_precision)
    return Posterior(math.exp(log_mean), log_mean, log_sigma, weight, fa, fb, sa, sb)


def _after(result: ProgramResult, day: float) -> dict[str, np.ndarray]:
    """Per trial and category, the money the simulation books from ``day`` on: an amount in
    proportion to the part of its span after the day, a monthly rate for the days after it
    (average months: within a percent of the calendar months the report bills)."""
    n = result.trials
    out = {c: np.zeros(n) for c in CATEGORIES}
    for charge in result.charges:
        span = charge.finish - charge.start
        after = np.clip(charge.finish - np.maximum(charge.start, day), 0.0, None)
        if charge.amount is not None:
            share = np.where(span > 0, after / np.where(span > 0, span, 1.0), charge.start >= day)
            out[charge.category] += charge.amount * share
        else:
            assert charge.rate is not None
            out[charge.category] += charge.rate * after / DAYS_PER_MONTH
    others = sum((out[c] for c in CATEGORIES if c != "contingency"), np.zeros(n))
    out["contingency"] = out["contingency"] + result.spec.contingency * others
    return out


def _pct(values: np.ndarray) -> dict[str, float]:
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    return {"p10": float(p10), "p50": float(p50), "p90": float(p90), "mean": float(values.mean())}


def _burnup(
    spec: PlanSpec, days: np.ndarray, starts: np.ndarray, finishes: np.ndarray, done: float
) -> dict[str, list[float]]:
    """Tokens trained by each day: P10/P50/P90 over trials of a linear run from ``done`` tokens
    at ``starts`` to all of them at ``finishes``."""
    span = np.maximum(finishes - starts, 1e-9)
    share = np.clip((days[:, None] - starts[None, :]) / span[None, :], 0.0, 1.0)
    tokens = done + (spec.tokens * spec.full_runs - done) * share
    p10, p50, p90 = np.percentile(tokens, [10, 50, 90], axis=1)
    return {"p10": p10.tolist(), "p50": p50.tolist(), "p90": p90.tolist()}


def _drivers(
    spec: PlanSpec, prior: Prior, post: Posterior, actuals: Actuals, main_start: dt.date
) -> list[Text]:
    """What moved the forecast, as sentences (templates with parameters, ``text``)."""
    out: list[Text] = []
    days = actuals.elapsed_days
    if days > 0:
        rate = actuals.tokens_trained / days
        out.append(
            T(
                "Throughput %(share)s of plan since %(date)s (%(days)s days observed, weighing "
                "%(weight)s against the model's prior)",
                share=percent(rate / prior.net_rate),
                date=main_start.isoformat(),
                days=f"{days:g}",
                weight=percent(post.data_weight),
            )
        )
        out.append(
            T(
                "Interruptions: %(seen)s a day observed, %(plan)s planned; forecast %(post)s",
                seen=f"{actuals.interruptions / days:.2f}",
                plan=f"{prior.failures_per_day:.2f}",
                post=f"{post.failures_per_day:.2f}",
            )
        )
        if actuals.loss_spikes:
            out.append(
                T(
                    "Loss spikes: %(seen)s observed, forecast %(post)s a day",
                    seen=str(actuals.loss_spikes),
                    post=f"{post.spikes_per_day:.3f}",
                )
            )
        if actuals.observed_mfu is not None:
            out.append(
                T(
                    "Reported MFU %(seen)s against %(plan)s planned",
                    seen=percent(actuals.observed_mfu),
                    plan=percent(prior.mfu),
                )
            )
    else:
        out.append(T("The main run has not started: its dates are the plan's"))
    return out


def forecast(
    plan: Any,
    actuals: Actuals,
    *,
    trials: int = 2000,
    seed: int = 0,
    spread: bool = True,
) -> dict[str, Any]:
    """The re-forecast of ``plan`` (the approved inputs, as the core's JSON) given ``actuals``.

    Simulate with the approved run's ``trials`` and ``seed`` so the trials are the approved
    report's. Returns plain JSON: days from the plan's start and ISO dates, money in the plan's
    currency.
    """
    spec = parse_plan(plan)
    actuals.validate(spec)
    assert spec.start_date is not None
    base = simulate_program(spec, trials=trials, seed=seed)
    prior = main_prior(base)
    post = update(prior, actuals)
    n = trials
    today = float((actuals.date - spec.start_date).days)
    main = next(s for s in base.stages if s.key == "main")
    remaining = max(prior.tokens - actuals.tokens_trained, 0.0)
    rng = np.random.default_rng(seed + 7)
    if spread:
        multiplier = np.exp(rng.normal(post.raw_log_mean, post.raw_log_sigma, n))
        fails = rng.gamma(post.failures_alpha, 1.0 / post.failures_beta, n)
        spikes = rng.gamma(post.spikes_alpha, 1.0 / post.spikes_beta, n)
    else:
        multiplier = np.full(n, post.raw_multiplier)
        fails = np.full(n, post.failures_per_day)
        spikes = np.full(n, post.spikes_per_day)
    net = prior.raw_rate * multiplier * goodput(prior, fails, spikes)
    started = actuals.elapsed_days > 0
    if started:
        start = np.full(n, today - actuals.elapsed_days)
        finish = today + remaining / net
    else:
        # Not started: the plan's dates, never in the past.
        start = np.maximum(main.start_days, today)
        finish = start + (main.finish_days - main.start_days)
    result = simulate_program(spec, trials=n, seed=seed, main_span=(start, finish))

    after = _after(result, today)
    planned_all, planned_after = _after(base, 0.0), _after(base, today)
    planned = {c: planned_all[c] - planned_after[c] for c in CATEGORIES}
    # A category the report leaves out was spent as planned (per trial); one it gives is fact.
    # Contingency is a reserve, not spend: only what a report says was drawn from it is past.
    spent = {
        c: np.full(n, float(actuals.spend[c]))
        if c in actuals.spend
        else (np.zeros(n) if c == "contingency" else planned[c])
        for c in CATEGORIES
    }
    by_category = {c: spent[c] + after[c] for c in CATEGORIES}
    to_complete = sum((after[c] for c in CATEGORIES), np.zeros(n))
    spent_total = sum((spent[c] for c in CATEGORIES), np.zeros(n))
    total = spent_total + to_complete
    planned_to_date = sum((planned[c] for c in CATEGORIES), np.zeros(n))
    finish_days = result.finish_days

    def date(days: float) -> str:
        return report_date(spec, days) or ""

    horizon = max(float(np.percentile(finish, 95)), float(np.percentile(main.finish_days, 95)))
    first = float(min(np.percentile(main.start_days, 5), start.min()))
    grid = np.linspace(first, max(horizon, first + 1.0), BURNUP_POINTS)
    main_start_date = spec.start_date + dt.timedelta(days=int(round(float(start[0]))))
    days = actuals.elapsed_days
    return {
        "as_of": actuals.date.isoformat(),
        "as_of_day": today,
        "trials": n,
        "seed": seed,
        "spread": spread,
        "currency": spec.currency,
        "finish_days": _pct(finish_days),
        "finish_date_p50": date(float(np.median(finish_days))),
        "finish_date_p90": date(float(np.percentile(finish_days, 90))),
        "main": {
            "tokens": prior.tokens,
            "tokens_trained": actuals.tokens_trained,
            "remaining_tokens": remaining,
            "started": started,
            "start_date": main_start_date.isoformat() if started else None,
            "finish_days": _pct(finish),
            "finish_date_p50": date(float(np.median(finish))),
            "finish_date_p90": date(float(np.percentile(finish, 90))),
            "planned_finish_date_p50": date(float(np.median(main.finish_days))),
            "planned_start_date_p50": date(float(np.median(main.start_days))),
        },
        "cost": _pct(total),
        "cost_by_category": {c: _pct(v) for c, v in by_category.items()},
        "cost_to_complete": _pct(to_complete),
        "spent": {c: float(np.median(spent[c])) for c in CATEGORIES},
        "spent_total": float(np.median(spent_total)),
        "spent_from_plan": [c for c in CATEGORIES if c not in actuals.spend],
        "planned_spend_to_date": _pct(planned_to_date),
        "p_miss_deadline": None
        if spec.deadline_days is None
        else float(np.mean(finish_days > spec.deadline_days)),
        "p_over_budget": None
        if spec.budget_cap is None
        else float(np.mean(total > spec.budget_cap)),
        "observed": {
            "throughput_tokens_per_day": actuals.tokens_trained / days if days > 0 else None,
            "effective_training_time": float(
                goodput(prior, actuals.interruptions / days, actuals.loss_spikes / days)
            )
            if days > 0
            else None,
            "interruptions_per_day": actuals.interruptions / days if days > 0 else None,
            "loss_spikes_per_day": actuals.loss_spikes / days if days > 0 else None,
            "observed_mfu": actuals.observed_mfu,
        },
        "prior": {
            "raw_tokens_per_day": prior.raw_rate,
            "net_tokens_per_day": prior.net_rate,
            "raw_log_sigma": prior.raw_log_sigma,
            "failures_per_day": prior.failures_per_day,
            "spikes_per_day": prior.spikes_per_day,
            "hours_per_failure": prior.hours_per_failure,
            "hours_per_spike": prior.hours_per_spike,
            "checkpoint_share": prior.checkpoint_share,
            "mfu": prior.mfu,
        },
        "posterior": {
            "raw_multiplier": post.raw_multiplier,
            "raw_log_sigma": post.raw_log_sigma,
            "data_weight": post.data_weight,
            "failures_per_day": post.failures_per_day,
            "spikes_per_day": post.spikes_per_day,
            "net_tokens_per_day": _pct(net),
        },
        "burnup": {
            "days": grid.tolist(),
            "dates": [date(float(d)) for d in grid],
            "planned": _burnup(spec, grid, main.start_days, main.finish_days, 0.0),
            # From the report's day on; the days before it are the actuals'.
            "forecast": {
                band: [v if d >= today else None for d, v in zip(grid, values, strict=True)]
                for band, values in _burnup(
                    spec, grid, np.maximum(start, today), finish, actuals.tokens_trained
                ).items()
            },
        },
        "drivers": [
            d.fields("text") for d in _drivers(spec, prior, post, actuals, main_start_date)
        ],
    }
