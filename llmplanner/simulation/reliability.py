"""Reliability Monte Carlo: interruptions, checkpoints, restarts and loss spikes of a training run.

A run needs ``work_hours`` of uninterrupted training. While it runs, interruptions arrive as a
Poisson process whose rate grows with the GPUs in use; each one loses the work since the last
checkpoint and costs a restart. Loss spikes (divergence) roll back one checkpoint further and need
a person to look. Checkpoints cost ``save`` time every ``interval`` of work. Every trial also draws
a "hardware lottery" (seed 003: clusters of the same GPU range from fine to failing every few hours)
that scales its failure rate and its throughput, and a provider delivery delay (seed 003: providers
deliver months late).

The simulation is vectorised over trials: one loop step handles the next event of every unfinished
trial at once. It is deterministic for a given seed.

Default rates (per day) are fitted to the published cluster figures (``data/published_runs.json``):
- Meta RSC (Kokolis et al. 2024): 6.5 failures per 1000 node-days on RSC-1, InfiniBand links the
  largest cause; job MTTF 7.9 h at 1,024 GPUs and 1.8 h projected at 16,384. A job rate of
  ``a + b·nodes`` through both points gives a ≈ 2.35 per day (software, storage, NCCL — not
  proportional to size) and b ≈ 5.4 per 1000 node-days (split below: GPUs 0.3 per 1000 GPU-days ×
  8, host 1.0, network 2.0 per 1000 node-days).
- OPT-175B on 992 A100 (Zhang et al. 2022 and metaseq chronicles): "~2 machines go down every day",
  40+ restarts in two weeks — the same formula gives ≈ 3 per day.
- BLOOM-176B on 384 A100 (BigScience chronicles): a GPU dies "every week or so" — ≈ 0.8 GPU
  failures a week from the GPU share alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ValidationError, require_positive

RELIABILITY_CLASSES = {
    # (multiplier on every interruption rate, default restart minutes)
    # Llama 3 405B on 16,384 H100 (Dubey et al. 2024, §3.3.4): 419 unexpected interruptions in 54
    # days — 0.58× the research-cluster rate below — with automated recovery (> 90% effective time).
    "hyperscaler": (0.58, 10.0),
    # Meta's research clusters (Kokolis et al. 2024), OPT-175B's cloud cluster.
    "standard": (1.0, 20.0),
    # Seed 000: an over-driven A100 server failed twice a day, worse on unstable power; seed 003:
    # some clusters fail every few hours and take long to bring back.
    "unstable": (3.0, 45.0),
}
PROVIDER_CLASSES = {
    # (probability the cluster is late, median delay in days when late)
    "reliable": (0.10, 14.0),
    "standard": (0.30, 30.0),
    "risky": (0.50, 60.0),  # seed 003: providers delivering months late
}


@dataclass(frozen=True)
class FailureRates:
    """Interruption rates of a training job (see the module docstring for the sources)."""

    gpu_per_1000_gpu_days: float = 0.30
    host_per_1000_node_days: float = 1.0
    network_per_1000_node_days: float = 2.0
    software_per_day: float = 2.35

    def per_day(self, gpu_count: int, gpus_per_server: int) -> float:
        nodes = math.ceil(gpu_count / gpus_per_server)
        return (
            self.gpu_per_1000_gpu_days * gpu_count / 1000.0
            + (self.host_per_1000_node_days + self.network_per_1000_node_days) * nodes / 1000.0
            + self.software_per_day
        )

    def hardware_per_day(self, gpu_count: int, gpus_per_server: int) -> float:
        nodes = math.ceil(gpu_count / gpus_per_server)
        return (
            self.gpu_per_1000_gpu_days * gpu_count / 1000.0
            + self.host_per_1000_node_days * nodes / 1000.0
        )


DEFAULT_RATES = FailureRates()


@dataclass(frozen=True)
class GoodputSpec:
    """One training run's reliability inputs. Times in the units their names say."""

    gpu_count: int
    work_hours: float  # uninterrupted training time the run needs
    gpus_per_server: int = 8
    checkpoint_save_s: float = 120.0
    checkpoint_interval_min: float | None = None  # None ⇒ Young/Daly optimum
    # Detect (health checks every 5 min at Meta) + reschedule + reload; None ⇒ the class's default.
    restart_min: float | None = None
    reliability_class: str = "standard"
    provider_class: str = "standard"
    precision: str = "bf16"
    params: float = 7e9
    rates: FailureRates = DEFAULT_RATES
    lottery: bool = True
    trials: int = 2000
    seed: int = 0

    def validate(self) -> GoodputSpec:
        require_positive("gpu_count", self.gpu_count, integer=True, maximum=1_000_000)
        require_positive("work_hours", self.work_hours, maximum=24 * 365 * 20)
        require_positive("gpus_per_server", self.gpus_per_server, integer=True, maximum=256)
        require_positive("checkpoint_save_s", self.checkpoint_save_s, maximum=86_400)
        if self.checkpoint_interval_min is not None:
            require_positive(
                "checkpoint_interval_min", self.checkpoint_interval_min, maximum=60 * 24 * 30
            )
        if self.restart_min is not None:
            require_positive("restart_min", self.restart_min, maximum=60 * 24 * 30)
        require_positive("trials", self.trials, integer=True, maximum=1_000_000)
        require_positive("params", self.params, maximum=1e14)
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ValidationError("seed", "must be a whole number ≥ 0")
        if self.reliability_class not in RELIABILITY_CLASSES:
            raise ValidationError(
                "reliability_class", f"must be one of {', '.join(RELIABILITY_CLASSES)}"
            )
        if self.provider_class not in PROVIDER_CLASSES:
            raise ValidationError("provider_class", f"must be one of {', '.join(PROVIDER_CLASSES)}")
        return self

    @property
    def failures_per_day(self) -> float:
        base = self.rates.per_day(self.gpu_count, self.gpus_per_server)
        return base * RELIABILITY_CLASSES[self.reliability_class][0]

    @property
    def restart_minutes(self) -> float:
        if self.restart_min is not None:
            return self.restart_min
        return RELIABILITY_CLASSES[self.reliability_class][1]

    @property
    def loss_spikes_per_day(self) -> float:
        """Loss spikes needing a rollback (seed 000: common at 100B scale; FP16 far more than BF16).

        A planning assumption, not a published rate: 0.02 a day for a 100B BF16 run, five times that
        in FP16, growing with the square root of model size.
        """
        base = 0.10 if self.precision == "fp16" else 0.02
        return base * min(4.0, math.sqrt(self.params / 100e9))


def young_daly_interval_h(save_h: float, mtbf_h: float) -> float:
    """Checkpoint interval (work hours) that minimises expected waste.

    Young 1974: √(2·δ·M); Daly 2006 refines it to √(2·δ·M)·(1 + ⅓√(δ/2M) + (δ/2M)/9) − δ for δ < 2M,
    and M itself beyond that.
    """
    if save_h >= 2 * mtbf_h:
        return mtbf_h
    x = save_h / (2 * mtbf_h)
    return math.sqrt(2 * save_h * mtbf_h) * (1 + math.sqrt(x) / 3 + x / 9) - save_h


@dataclass(frozen=True)
class GoodputResult:
    """Per-trial arrays (length ``trials``) and the inputs that produced them."""

    spec: GoodputSpec
    interval_h: float
    optimal_interval_h: float
    failures_per_day: float
    wall_hours: np.ndarray  # from the start of training to its end, excluding delivery delay
    interruptions: np.ndarray
    loss_spikes: np.ndarray
    lost_work_hours: np.ndarray
    recovery_hours: np.ndarray
    spike_recovery_hours: np.ndarray  # the part of recovery_hours spent on loss spikes
    checkpoint_hours: np.ndarray
    work_hours: np.ndarray  # after the hardware lottery, including work redone after a restart
    useful_hours: np.ndarray  # after the hardware lottery: the training itself
    start_delay_days: np.ndarray
    whole_run_restarts: np.ndarray

    @property
    def effective_training_time(self) -> np.ndarray:
        """Share of wall-clock time spent on training that survives (ETTR, Kokolis et al. 2024)."""
        return np.asarray(self.useful_hours / self.wall_hours)

    def summary(self) -> dict[str, object]:
        def pct(a: np.ndarray) -> dict[str, float]:
            p10, p50, p90 = np.percentile(a, [10, 50, 90])
            return {"p10": float(p10), "p50": float(p50), "p90": float(p90)}

        return {
            "interruptions": pct(self.interruptions),
            "loss_spikes": pct(self.loss_spikes),
            "effective_training_time": pct(self.effective_training_time),
            "wall_clock_days": pct(self.wall_hours / 24.0),
            "start_delay_days": pct(self.start_delay_days),
            "lost_work_hours": pct(self.lost_work_hours),
            "failures_per_day": self.failures_per_day,
            "mean_time_between_failures_h": 24.0 / self.failures_per_day,
            "checkpoint_interval_min": self.interval_h * 60.0,
            "optimal_checkpoint_interval_min": self.optimal_interval_h * 60.0,
        }


def _gamma_sum(rng: np.random.Generator, count: np.ndarray, mean: Any, var: Any) -> np.ndarray:
    """Sum of ``count`` iid draws with the given mean and variance, as a moment-matched gamma."""
    count = np.asarray(count, dtype=np.float64)
    mean = np.broadcast_to(np.asarray(mean, dtype=np.float64), count.shape)
    var = np.broadcast_to(np.asarray(var, dtype=np.float64), count.shape)
    out = np.zeros(count.shape)
    some = count > 0
    shape = count[some] * mean[some] ** 2 / np.maximum(var[some], 1e-300)
    out[some] = rng.gamma(shape, var[some] / mean[some])
    return out


def _truncated_exponential_moments(rate: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of an exponential(rate) conditioned on falling below ``width``."""
    x = rate * width
    tail = np.exp(-x) / -np.expm1(-x)  # e^{-x} / (1 − e^{-x})
    mean = 1.0 / rate - width * tail
    second = 2.0 / rate**2 - (width**2 + 2.0 * width / rate) * tail
    return mean, np.maximum(second - mean**2, 0.0)


def _lognormal_moments(median: float, sigma: float) -> tuple[float, float]:
    mean = median * math.exp(sigma**2 / 2)
    return mean, (math.exp(sigma**2) - 1.0) * mean**2


@dataclass(frozen=True)
class _Draws:
    """Per-trial draws shared by the vectorised simulation and the plain-Python loop."""

    work: np.ndarray
    useful: np.ndarray
    failure_rate_h: np.ndarray
    restarts: np.ndarray
    delay_days: np.ndarray


def _draw_trials(spec: GoodputSpec, rng: np.random.Generator) -> _Draws:
    n = spec.trials
    if spec.lottery:
        fail_mult = rng.lognormal(0.0, 0.5, n)
        speed = np.clip(rng.lognormal(0.0, 0.08, n), 0.7, 1.15)
    else:
        fail_mult, speed = np.ones(n), np.ones(n)
    useful = spec.work_hours / speed
    work = useful
    # Whole-run restarts: a divergence no rollback fixes (seed 000: GPT-3 reportedly trained four
    # times). A planning assumption: 2% per run in BF16, 8% in FP16, redoing 5–30% of the work.
    p_restart = 0.08 if spec.precision == "fp16" else 0.02
    restarts = rng.random(n) < p_restart
    work = work * (1.0 + np.where(restarts, rng.uniform(0.05, 0.30, n), 0.0))
    p_late, median_late = PROVIDER_CLASSES[spec.provider_class]
    late = rng.random(n) < p_late
    delay = np.where(late, rng.lognormal(math.log(median_late), 0.6, n), 0.0)
    return _Draws(work, useful, spec.failures_per_day / 24.0 * fail_mult, restarts, delay)


RESTART_SIGMA = 0.5
SPIKE_RECOVERY_H = {"fp16": 6.0}  # a person must look (seed 000: FP16 needed a "crash watcher")
SPIKE_RECOVERY_DEFAULT_H = 2.0


def simulate_goodput(spec: GoodputSpec) -> GoodputResult:
    """Run the Monte Carlo, vectorised over trials with no loop over events.

    Between checkpoints the run is a sequence of intervals of ``τ`` work hours. An interval survives
    with probability p = e^{−a·τ} (a = failures per work hour, including checkpoint time), so the
    failures before the run completes its ⌈W/τ⌉ intervals are negative-binomial — one draw per
    trial. Each failure loses the work since the last checkpoint, an exponential conditioned on
    being shorter than τ; its sum over the failures, and the sum of the lognormal restart times,
    are drawn as moment-matched gammas. Loss spikes are a Poisson process in training time; each
    rolls back a further interval and needs hours of a person's attention.
    ``simulate_goodput_loop`` plays the same model event by event and agrees in distribution.
    """
    spec.validate()
    rng = np.random.default_rng(spec.seed)
    save_h = spec.checkpoint_save_s / 3600.0
    fail_h = spec.failures_per_day / 24.0
    optimal = young_daly_interval_h(save_h, 1.0 / fail_h)
    interval = (
        optimal if spec.checkpoint_interval_min is None else spec.checkpoint_interval_min / 60.0
    )
    overhead = 1.0 + save_h / interval
    d = _draw_trials(spec, rng)

    a = d.failure_rate_h * overhead  # failures per hour of work
    # Beyond ~20 expected failures per interval an interval almost never completes: the run would
    # not finish (and the negative binomial's p underflows). Say so instead of computing forever.
    if float(np.max(a)) * interval > 20.0:
        raise ValidationError(
            "checkpoint_interval_min",
            f"{interval * 60:.0f} min between checkpoints never completes on this cluster: "
            f"a failure is expected every {1.0 / fail_h:.1f} h; "
            f"use the optimum ({optimal * 60:.0f} min)",
        )
    full_intervals = np.floor(d.work / interval)
    last = d.work - full_intervals * interval
    survive = np.exp(-a * interval)
    failures = np.zeros(spec.trials, dtype=np.int64)
    has_full = full_intervals > 0
    failures[has_full] = rng.negative_binomial(full_intervals[has_full], survive[has_full])
    has_last = last > 0
    failures[has_last] += rng.negative_binomial(1, np.exp(-a[has_last] * last[has_last]))

    lost_mean, lost_var = _truncated_exponential_moments(a, interval)
    lost = _gamma_sum(rng, failures, lost_mean * overhead, lost_var * overhead**2)
    r_mean, r_var = _lognormal_moments(spec.restart_minutes / 60.0, RESTART_SIGMA)
    recovery = _gamma_sum(rng, failures, r_mean, r_var)

    spike_h = spec.loss_spikes_per_day / 24.0
    spikes = rng.poisson(spike_h * d.work)
    # Each spike loses the work since the last checkpoint (≈ uniform) plus one more interval.
    spike_lost = _gamma_sum(
        rng, spikes, 1.5 * interval * overhead, (interval * overhead) ** 2 / 12.0
    )
    s_mean, s_var = _lognormal_moments(
        SPIKE_RECOVERY_H.get(spec.precision, SPIKE_RECOVERY_DEFAULT_H), 0.5
    )
    spike_recovery = _gamma_sum(rng, spikes, s_mean, s_var)

    wall = d.work * overhead + lost + recovery + spike_lost + spike_recovery
    return GoodputResult(
        spec=spec,
        interval_h=interval,
        optimal_interval_h=optimal,
        failures_per_day=spec.failures_per_day,
        wall_hours=wall,
        interruptions=failures,
        loss_spikes=spikes,
        lost_work_hours=lost + spike_lost,
        recovery_hours=recovery + spike_recovery,
        spike_recovery_hours=spike_recovery + spike_lost,
        checkpoint_hours=d.work * (overhead - 1.0),
        work_hours=d.work,
        useful_hours=d.useful,
        start_delay_days=d.delay_days,
        whole_run_restarts=d.restarts.astype(np.int64),
    )


def simulate_goodput_loop(spec: GoodputSpec, trials: int | None = None) -> np.ndarray:
    """The same model played event by event, one trial at a time in plain Python.

    Returns wall hours per trial. It is the benchmark's baseline and the vectorised version's check.
    """
    import random

    spec.validate()
    rng = np.random.default_rng(spec.seed)
    d = _draw_trials(spec, rng)
    py = random.Random(spec.seed)
    save_h = spec.checkpoint_save_s / 3600.0
    optimal = young_daly_interval_h(save_h, 24.0 / spec.failures_per_day)
    interval = (
        optimal if spec.checkpoint_interval_min is None else spec.checkpoint_interval_min / 60.0
    )
    overhead = 1.0 + save_h / interval
    spike_h = spec.loss_spikes_per_day / 24.0
    restart_mu = math.log(spec.restart_minutes / 60.0)
    spike_mu = math.log(SPIKE_RECOVERY_H.get(spec.precision, SPIKE_RECOVERY_DEFAULT_H))
    count = spec.trials if trials is None else min(trials, spec.trials)
    walls = np.empty(count)
    for i in range(count):
        work, rate = float(d.work[i]), float(d.failure_rate_h[i])
        done = wall = 0.0
        while True:
            t = py.expovariate(rate + spike_h)
            need = (work - done) * overhead
            if t >= need:
                wall += need
                break
            progress = t / overhead
            spike = py.random() < spike_h / (rate + spike_h)
            lost = min(progress % interval + (interval if spike else 0.0), done + progress)
            done += progress - lost
            mu = spike_mu if spike else restart_mu
            wall += t + py.lognormvariate(mu, RESTART_SIGMA)
        walls[i] = wall
    return walls
