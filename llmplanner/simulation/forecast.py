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
  over the past. A category last reported before the forecast's day (a later report gave no
  money) adds what the trial books between its report and that day. A category no report gives
  is taken as the plan spent it by that day (``spent_from_plan`` names them) — but
  contingency, a reserve, counts as drawn only when reported. An observed rate below
  ``MIN_OBSERVED_SHARE`` of the plan's (a stalled run) is taken at that floor, so the forecast
  stays finite.
- **Other stages** (data preparation, burn-in, SFT, preference tuning, evaluation, a RAG
  corpus ingest …) are reported by the share of their work done (``progress``; for SFT and DPO
  also from tokens, ``stage_tokens``) after ``elapsed_days``. Per trial the planned length ``D``
  is the prior; the report's pace, ``elapsed ÷ progress``, is the observation, weighing its share
  done: ``log D' = (1 − p)·log D + p·log(elapsed ÷ p)`` — the normal-normal update whose
  observation variance is the prior's × (1 − p) ÷ p, so half-way the two weigh the same and a
  finished stage is its observed dates. A stage reported started is dated from its report (and
  runs at least to that day); one reported not started starts no earlier than that day. A
  started stage means what it depends on had finished by its start: a stage before it not
  reported done is cut to it (not before its own report's day). Interruptions, spikes and MFU
  are read from the main run's reports only.

``spread=False`` uses the posterior means in every trial: no randomness in the main run (the
tests derive such a forecast by hand).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import ValidationError
from .planspec import PlanSpec, parse_plan
from .program import CATEGORIES, DAYS_PER_MONTH, ProgramResult, Stage, simulate_program, stage_text
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
# Stages a report cannot speak of: the people and storage run all along, serving after release;
# "cluster" and "pool_<n>" are the GPU bookings (``program._bill_pools``), not work.
UNTRACKED = ("team", "storage", "serving", "cluster")


def tracked(key: str) -> bool:
    """Whether a report may speak of the stage ``key``."""
    return key not in UNTRACKED and not key.startswith("pool_")


@dataclass(frozen=True)
class Actuals:
    """A stage's state on ``date`` (the main run's unless ``stage`` says another), cumulative
    since the program started (spend) or since the stage started (the rest). Spend is in the
    plan's currency, by cost category. ``progress`` is the share of the stage's work done (for
    the main run the tokens say it)."""

    date: dt.date
    tokens_trained: float
    elapsed_days: float
    gpu_hours: float = 0.0
    interruptions: int = 0
    loss_spikes: int = 0
    observed_mfu: float | None = None
    spend: dict[str, float] = field(default_factory=dict)
    stage: str = "main"
    progress: float | None = None

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
        if self.progress is not None:
            if not math.isfinite(self.progress) or not 0 <= self.progress <= 1:
                raise ValidationError("progress", "must be a share between 0 and 1")
            if self.progress > 0 and self.elapsed_days <= 0:
                raise ValidationError("elapsed_days", "work was done, so the stage has started")
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


def stage_tokens(spec: PlanSpec, key: str) -> float | None:
    """The tokens a training stage other than the main run trains (all its runs), for reading
    its progress from ``tokens_trained``; None for a stage that is not token-counted."""
    if key == "sft" and spec.sft:
        sft = spec.sft
        return float(sft["samples"] * sft["tokens_per_sample"] * sft["epochs"] * sft["runs"])
    if key == "rlhf" and spec.rlhf_method == "dpo" and spec.sft:
        return float(spec.rlhf_pairs * spec.sft["tokens_per_sample"] * 2.7)  # as ``program``
    return None


def _progress(spec: PlanSpec, report: Actuals) -> float | None:
    if report.progress is not None:
        return report.progress
    tokens = stage_tokens(spec, report.stage)
    if tokens and report.tokens_trained > 0:
        return min(report.tokens_trained / tokens, 1.0)
    return None


def _stage_span(
    stage: Stage, report: Actuals, progress: float | None, report_day: float
) -> tuple[np.ndarray, np.ndarray]:
    """A started stage's dates per trial from its report (the update of the module docstring)."""
    days = report.elapsed_days
    start = np.full(stage.start_days.shape, report_day - days)
    if progress is not None and progress >= 1:
        return start, np.full(start.shape, report_day)
    planned = np.maximum(stage.finish_days - stage.start_days, 1e-9)
    if progress:
        length = np.exp((1 - progress) * np.log(planned) + progress * math.log(days / progress))
    else:
        length = planned
    # Not reported finished: it runs at least until its report's day.
    return start, start + np.maximum(length, days)


def _upstream(stages: dict[str, Stage], key: str) -> set[str]:
    out: set[str] = set()
    todo = list(stages[key].depends_on)
    while todo:
        dep = todo.pop()
        if dep in stages and dep not in out:
            out.add(dep)
            todo.extend(stages[dep].depends_on)
    return out


def _stage_rows(
    spec: PlanSpec,
    base: ProgramResult,
    result: ProgramResult,
    reports: dict[str, Actuals],
    progress: dict[str, float | None],
    today: float,
) -> list[dict[str, Any]]:
    """Each tracked stage: planned and forecast dates (P50/P90), and what its report said. A
    stage reported running whose forecast end (P90) is already past on the forecast's day is
    ``likely_done``: nobody has reported it finished yet."""
    planned = {s.key: s for s in base.stages}

    def date(days: float) -> str:
        return report_date(spec, days) or ""

    rows = []
    for stage in result.stages:
        if not tracked(stage.key):
            continue
        plan, report = planned[stage.key], reports.get(stage.key)
        done = progress.get(stage.key)
        if stage.key == "main" and report is not None and report.elapsed_days > 0:
            tokens = plan_tokens = spec.tokens * spec.full_runs
            done = min(report.tokens_trained / plan_tokens, 1.0) if tokens else None
        if report is None:
            status = "planned"
        elif report.elapsed_days <= 0:
            status = "not_started"
        elif done is not None and done >= 1:
            status = "done"
        elif float(np.percentile(stage.finish_days, 90)) <= today:
            status = "likely_done"
        else:
            status = "running"
        rows.append(
            {
                "key": stage.key,
                **stage_text(stage).fields("name"),
                "status": status,
                "progress": done,
                "reported_on": report.date.isoformat() if report is not None else None,
                "planned_start_date_p50": date(float(np.median(plan.start_days))),
                "planned_finish_date_p50": date(float(np.median(plan.finish_days))),
                "start_date_p50": date(float(np.median(stage.start_days))),
                "finish_date_p50": date(float(np.median(stage.finish_days))),
                "finish_date_p90": date(float(np.percentile(stage.finish_days, 90))),
                "finish_days_p50": float(np.median(stage.finish_days)),
                "planned_finish_days_p50": float(np.median(plan.finish_days)),
            }
        )
    return rows


def _stage_drivers(
    spec: PlanSpec, base: ProgramResult, reports: dict[str, Actuals], progress: dict[str, Any]
) -> list[Text]:
    out: list[Text] = []
    stages = {s.key: s for s in base.stages}
    for key, report in reports.items():
        if key == "main":
            continue
        name = stage_text(stages[key])
        planned = float(np.median(stages[key].finish_days - stages[key].start_days))
        done = progress.get(key)
        if report.elapsed_days <= 0:
            out.append(T("%(stage)s: not started on %(date)s", stage=name, date=str(report.date)))
        elif done is not None and done >= 1:
            out.append(
                T(
                    "%(stage)s: done in %(days)s days (planned %(planned)s)",
                    stage=name,
                    days=f"{report.elapsed_days:g}",
                    planned=f"{planned:.0f}",
                )
            )
        elif done:
            out.append(
                T(
                    "%(stage)s: %(share)s done after %(days)s days (planned %(planned)s days "
                    "in all)",
                    stage=name,
                    share=percent(done),
                    days=f"{report.elapsed_days:g}",
                    planned=f"{planned:.0f}",
                )
            )
        else:
            out.append(
                T(
                    "%(stage)s: started %(days)s days ago, no progress reported",
                    stage=name,
                    days=f"{report.elapsed_days:g}",
                )
            )
    return out


def _spend(reports: Sequence[Actuals]) -> dict[str, tuple[float, dt.date]]:
    """Spend by category: each category's amount and date from the latest report that gives it
    (spend is cumulative for the whole program, whichever stage the report speaks of)."""
    out: dict[str, tuple[float, dt.date]] = {}
    for report in sorted(reports, key=lambda r: r.date):  # stable: same-day reports in order
        out.update({c: (amount, report.date) for c, amount in report.spend.items()})
    return out


def forecast(
    plan: Any,
    actuals: Actuals | Sequence[Actuals],
    *,
    trials: int = 2000,
    seed: int = 0,
    spread: bool = True,
    as_of: dt.date | None = None,
) -> dict[str, Any]:
    """The re-forecast of ``plan`` (the approved inputs, as the core's JSON) given ``actuals``:
    one report, or the latest report of each stage (oldest first when two share a date), as of
    the latest report's date or ``as_of`` when later (no report: the plan as of that day).

    Simulate with the approved run's ``trials`` and ``seed`` so the trials are the approved
    report's. Returns plain JSON: days from the plan's start and ISO dates, money in the plan's
    currency.
    """
    spec = parse_plan(plan)
    reports = [actuals] if isinstance(actuals, Actuals) else list(actuals)
    if not reports and as_of is None:
        raise ValidationError("actuals", "a forecast needs a report or a date")
    if as_of is not None:
        Actuals(as_of, 0.0, 0.0).validate(spec)  # on or after the plan's start
    for report in reports:
        report.validate(spec)
    assert spec.start_date is not None
    base = simulate_program(spec, trials=trials, seed=seed)
    planned = {s.key: s for s in base.stages}
    by_stage: dict[str, Actuals] = {}
    for report in reports:
        if report.stage not in planned or not tracked(report.stage):
            keys = ", ".join(k for k in planned if tracked(k))
            raise ValidationError("stage", f"not a stage of this plan: one of {keys}")
        if report.stage in by_stage:
            raise ValidationError("stage", f"one report per stage ({report.stage} twice)")
        by_stage[report.stage] = report
    as_of_date = max([r.date for r in reports] + ([as_of] if as_of is not None else []))
    spend = _spend(reports)
    n = trials

    def day_of(report: Actuals) -> float:
        assert spec.start_date is not None
        return float((report.date - spec.start_date).days)

    today = float((as_of_date - spec.start_date).days)
    has_main = base.goodput is not None and "main" in planned
    rm = by_stage.get("main")
    # Without a main report the main run is read as not observed: the prior alone.
    main_report = rm if rm is not None else Actuals(as_of_date, 0.0, 0.0)
    if rm is not None and not has_main:
        raise ValidationError("stage", "this plan has no main training run: report its stages")
    spans: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    earliest: dict[str, float] = {}
    progress = {k: _progress(spec, r) for k, r in by_stage.items() if k != "main"}
    for key, report in by_stage.items():
        if key == "main":
            continue
        if report.elapsed_days <= 0:
            earliest[key] = day_of(report)  # not started on that day: not before it
        else:
            spans[key] = _stage_span(planned[key], report, progress[key], day_of(report))

    prior = post = None
    multiplier = net = start = finish = None
    started = False
    remaining = 0.0
    if has_main:
        prior = main_prior(base)
        post = update(prior, main_report)
        main_day = day_of(main_report)
        remaining = max(prior.tokens - main_report.tokens_trained, 0.0)
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
        started = main_report.elapsed_days > 0
        if started:
            start = np.full(n, main_day - main_report.elapsed_days)
            finish = main_day + remaining / net
            spans["main"] = (start, finish)
        elif rm is not None:
            earliest["main"] = main_day  # reported not started: not before the report's day
    # A started stage means what it depends on had finished when it started: a stage before it
    # that was not reported done is cut to its start — but not before its own report's day (a
    # report of it running then is a fact: the work overlapped).
    for key, (begin, _end) in list(spans.items()):
        for dep in _upstream(planned, key):
            seen = by_stage.get(dep)
            if not tracked(dep) or (seen is not None and seen.elapsed_days <= 0):
                continue
            if seen is not None and (
                (progress.get(dep) or 0) >= 1 or (dep == "main" and remaining <= 0)
            ):
                continue  # reported done: its dates are facts
            d_start, d_finish = spans.get(dep, (planned[dep].start_days, planned[dep].finish_days))
            d_finish = np.minimum(d_finish, begin)
            if seen is not None:
                d_finish = np.maximum(d_finish, day_of(seen))
            spans[dep] = (np.minimum(d_start, d_finish), d_finish)
    if has_main and "main" in spans:  # observed, or cut to a later stage's start
        start, finish = spans["main"]
    result = simulate_program(spec, trials=n, seed=seed, spans=spans, earliest=earliest)
    main = next((s for s in result.stages if s.key == "main"), None)
    if has_main and not started:
        assert main is not None
        start, finish = main.start_days, main.finish_days

    after = _after(result, today)
    planned_all, planned_after = _after(base, 0.0), _after(base, today)
    planned_spend = {c: planned_all[c] - planned_after[c] for c in CATEGORIES}
    # A category no report gives was spent as planned (per trial); one given is fact on its
    # report's day, and what the trial books from that day to today is added (a later report
    # without money must not drop the days between).
    since = {day: _after(result, float((day - spec.start_date).days)) for _, day in spend.values()}
    spent: dict[str, np.ndarray] = {}
    for c in CATEGORIES:
        if c in spend:
            amount, day = spend[c]
            spent[c] = float(amount) + (since[day][c] - after[c])
        else:
            # Contingency is a reserve, not spend: only what a report says was drawn is past.
            spent[c] = np.zeros(n) if c == "contingency" else planned_spend[c]
    by_category = {c: spent[c] + after[c] for c in CATEGORIES}
    to_complete = sum((after[c] for c in CATEGORIES), np.zeros(n))
    spent_total = sum((spent[c] for c in CATEGORIES), np.zeros(n))
    total = spent_total + to_complete
    planned_to_date = sum((planned_spend[c] for c in CATEGORIES), np.zeros(n))
    finish_days = result.finish_days

    def date(days: float) -> str:
        return report_date(spec, days) or ""

    days = main_report.elapsed_days
    out: dict[str, Any] = {
        "as_of": as_of_date.isoformat(),
        "as_of_day": today,
        "trials": n,
        "seed": seed,
        "spread": spread,
        "currency": spec.currency,
        "finish_days": _pct(finish_days),
        "finish_date_p50": date(float(np.median(finish_days))),
        "finish_date_p90": date(float(np.percentile(finish_days, 90))),
        "main": None,
        "stages": _stage_rows(spec, base, result, by_stage, progress, today),
        "cost": _pct(total),
        "cost_by_category": {c: _pct(v) for c, v in by_category.items()},
        "cost_to_complete": _pct(to_complete),
        "spent": {c: float(np.median(spent[c])) for c in CATEGORIES},
        "spend_reported_on": {c: day.isoformat() for c, (_, day) in spend.items()},
        "spent_total": float(np.median(spent_total)),
        "spent_from_plan": [c for c in CATEGORIES if c not in spend],
        "planned_spend_to_date": _pct(planned_to_date),
        "p_miss_deadline": None
        if spec.deadline_days is None
        else float(np.mean(finish_days > spec.deadline_days)),
        "p_over_budget": None
        if spec.budget_cap is None
        else float(np.mean(total > spec.budget_cap)),
        "observed": {
            "throughput_tokens_per_day": None,
            "effective_training_time": None,
            "interruptions_per_day": None,
            "loss_spikes_per_day": None,
            "observed_mfu": main_report.observed_mfu,
        },
        "prior": None,
        "posterior": None,
        "burnup": None,
        "drivers": [],
    }
    drivers: list[Text] = []
    if has_main:
        assert prior is not None and post is not None and main is not None
        assert start is not None and finish is not None and net is not None
        base_main = planned["main"]
        main_start_date = spec.start_date + dt.timedelta(days=int(round(float(start[0]))))
        horizon = max(
            float(np.percentile(finish, 95)), float(np.percentile(base_main.finish_days, 95))
        )
        first = float(min(np.percentile(base_main.start_days, 5), start.min()))
        main_day = day_of(main_report)
        grid = np.linspace(first, max(horizon, first + 1.0), BURNUP_POINTS)
        if first < main_day < grid[-1]:  # the forecast line starts at the reported point
            grid = np.unique(np.append(grid, main_day))
        if days > 0:
            out["observed"] = {
                "throughput_tokens_per_day": main_report.tokens_trained / days,
                "effective_training_time": float(
                    goodput(prior, main_report.interruptions / days, main_report.loss_spikes / days)
                ),
                "interruptions_per_day": main_report.interruptions / days,
                "loss_spikes_per_day": main_report.loss_spikes / days,
                "observed_mfu": main_report.observed_mfu,
            }
        out["main"] = {
            "tokens": prior.tokens,
            "tokens_trained": main_report.tokens_trained,
            "remaining_tokens": remaining,
            "started": started,
            "start_date": main_start_date.isoformat() if started else None,
            "reported_on": rm.date.isoformat() if rm is not None else None,
            "finish_days": _pct(finish),
            "finish_date_p50": date(float(np.median(finish))),
            "finish_date_p90": date(float(np.percentile(finish, 90))),
            "planned_finish_date_p50": date(float(np.median(base_main.finish_days))),
            "planned_start_date_p50": date(float(np.median(base_main.start_days))),
        }
        out["prior"] = {
            "raw_tokens_per_day": prior.raw_rate,
            "net_tokens_per_day": prior.net_rate,
            "raw_log_sigma": prior.raw_log_sigma,
            "failures_per_day": prior.failures_per_day,
            "spikes_per_day": prior.spikes_per_day,
            "hours_per_failure": prior.hours_per_failure,
            "hours_per_spike": prior.hours_per_spike,
            "checkpoint_share": prior.checkpoint_share,
            "mfu": prior.mfu,
        }
        out["posterior"] = {
            "raw_multiplier": post.raw_multiplier,
            "raw_log_sigma": post.raw_log_sigma,
            "data_weight": post.data_weight,
            "failures_per_day": post.failures_per_day,
            "spikes_per_day": post.spikes_per_day,
            "net_tokens_per_day": _pct(net),
        }
        out["burnup"] = {
            "days": grid.tolist(),
            "dates": [date(float(d)) for d in grid],
            "planned": _burnup(spec, grid, base_main.start_days, base_main.finish_days, 0.0),
            # From the main report's day on; the days before it are the actuals'.
            "forecast": {
                band: [v if d >= main_day else None for d, v in zip(grid, values, strict=True)]
                for band, values in _burnup(
                    spec, grid, np.maximum(start, main_day), finish, main_report.tokens_trained
                ).items()
            },
        }
        if rm is None and "main" in spans:  # not reported, but a stage after it started
            drivers.append(
                T(
                    "The main run has not been reported; a stage after it has started, so it "
                    "is taken as finished by then"
                )
            )
        else:
            drivers += _drivers(spec, prior, post, main_report, main_start_date)
    drivers += _stage_drivers(spec, base, by_stage, progress)
    out["drivers"] = [d.fields("text") for d in drivers]
    return out
