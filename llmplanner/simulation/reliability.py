"""Reliability Monte Carlo: interruptions, checkpoints, restarts and loss spikes of a training run.

A run needs ``work_hours`` of uninterrupted training. While it runs, interruptions arrive as a
Poisson process whose rate is proportional to the GPUs and servers in use; each one loses the work
since the last durable checkpoint and costs a restart. Loss spikes (divergence) roll back one
checkpoint further and need a person to look. Checkpoints block training for their save time
(``sync``) or only for a copy to host memory (``async``) every ``interval`` of work. Every trial
also draws a "hardware lottery" (seed 003: clusters of the same GPU range from fine to failing
every few hours) that scales its failure rate and its throughput, and a provider delivery delay
(seed 003: providers deliver months late).

The simulation is vectorised over trials: one loop step handles the next event of every unfinished
trial at once. It is deterministic for a given seed.

Failure rates (``FailureRates``: the ``standard`` class; † = a figure ``data/published_runs.json``
carries in its ``reliability``/``checkpoint`` rows). Every term is proportional to the job's size
but one small per-job term, so a one-server job is rarely interrupted and a 16k-GPU job often:

- GPU 0.40 per 1000 GPU-days. BLOOM-176B on 384 A100: "every week or so ... one of the gpus dies"
  (BigScience tr11 chronicles †) = 1/7 a day over 384 GPUs = 0.37 per 1000 GPU-days.
- Host 1.3 and network 2.0 per 1000 node-days. With the GPUs' 3.2 per 1000 node-days (8 a server)
  the hardware adds up to Meta RSC-1's 6.50 failures per 1000 node-days (Kokolis et al. 2024 †,
  InfiniBand links the largest cause, hence network above host); over 2,048 servers that is 13.3
  a day, the paper's projected job MTTF of 1.8 h at 16,384 GPUs †.
- Software and infrastructure 1.8 per 1000 node-days. Llama 3's unexpected interruptions were 78%
  hardware (Dubey et al. 2024, §3.3.4, Table 5: faulty GPUs 30.1%, HBM3 17.2%, …, network, host);
  the rest were software bugs, NCCL watchdog timeouts, dependencies: 6.5 × 22/78 ≈ 1.8. More
  ranks mean more processes to crash and collectives to hang, so it grows with size too.
- Per job 0.012 a day whatever the size (scheduler, file-system and control-plane outages; a
  planning assumption): one server then fails every ~49 days (Kokolis et al. report 47.7 days for
  8-GPU jobs — read in a secondary summary, not in the data set). An 8-GPU job of a week expects
  0.14 interruptions.

Standard totals: 8.3 per 1000 node-days + 0.012 a day — 1.07 a day at 1,024 GPUs (22 h between
failures), 17.0 a day at 16,384 (1.41 h; 1.80 h from the hardware alone). The classes scale it:

- ``hyperscaler`` × 0.46: Llama 3 405B, 16,384 H100 (Dubey et al. 2024, §3.3.4): 419 unexpected
  interruptions in a 54-day snapshot = 7.8 a day = 3.8 per 1000 node-days; automated recovery
  (about three manual interventions), hence a 10-minute restart; > 90% effective training time.
- ``standard`` × 1: Meta's research clusters (RSC-1 above), BLOOM (above), and OPT-175B on 992
  A100 (124 servers): 1.04 a day, ≈ 40 interruptions over the ~40 days its 33 days of training
  take here, against ≥ 35 manual restarts for hardware over ~2 months and ~90 restarts of every
  kind in the 12.xx lineage (Zhang et al. 2022 §2.5, metaseq chronicles †).
- ``unstable`` × 3: 25 per 1000 node-days. RSC's measured MTTF of 1,024-GPU jobs, 7.9 h † (3.0 a
  day on 128 servers = 24 per 1000 node-days, three times its fitted node rate); OPT's worst
  fortnight, 40+ restarts from Nov 17 to Dec 3, 2021 on 124 servers (≈ 20 per 1000 node-days †;
  "~2 machines go down every day"); seed 000: an over-driven server failing twice a day.

Checkpoints (``CHECKPOINT_CLASSES`` gives each class's default strategy and storage bandwidth):

- ``sync`` blocks training for the whole write: checkpoint bytes / storage bandwidth.
- ``async`` blocks it only while each GPU copies its shard (the checkpoint over the GPUs, saved
  fully sharded as PyTorch DCP and Megatron-Core's parallel save do) to pinned host memory over
  PCIe, ``HOST_COPY_GBPS`` (25 GB/s of PCIe 4.0 x16's 32), plus ``ASYNC_SAVE_OVERHEAD_S`` of
  coordination (1 s; a planning assumption); the write to storage runs in the background (PyTorch
  DCP ``async_save``; Megatron-Core async save; Azure Nebula; CheckFreq, Mohan et al. FAST 2021:
  snapshot, then persist). A checkpoint counts once written: a failure during the write of the
  newest one rolls back one interval further, and the interval cannot be shorter than the write.
- Storage: ``hyperscaler`` 2,000 GB/s and async — Llama 3's Tectonic sustains 2 TB/s (7 TB/s
  peak, 240 PB) and Meta aimed "to minimize GPU pause time during checkpointing" (Dubey et al.
  2024 §3.3.4); ``standard`` 20 GB/s, sync — a cloud parallel file system (AWS FSx for Lustre
  PERSISTENT_2 provisions 125–1000 MB/s per TiB: 20 GB/s is 20–40 TiB at 500–1000; BLOOM's GPFS at
  an HPC centre wrote 2.3 TB in ~40 s ≈ 57 GB/s †); ``unstable`` 5 GB/s, sync — seed 000: 2–3 TB
  checkpoints took over ten minutes on poor storage. Sync stays the default outside hyperscalers:
  async saving needs framework support and host memory that a plan cannot assume.

Loss spikes (``GoodputSpec.loss_spikes_per_day``, per day of training, × √(N / 100B), ≤ × 4):

- FP16 0.18 at 100B, 0.24 at 175B. OPT-175B trained in FP16: its 12.xx lineage rolled back or
  changed course about 8 times for divergence or a collapsing loss scale (restarts from earlier
  checkpoints, the SGD attempts, learning-rate cuts on 12.43 and 12.45) in ~33 days of training
  (metaseq chronicles, 27% and 56% updates; Zhang et al. 2022 §2.5): 8 / 33 = 0.24 a day. A 175B
  FP16 run of 33 training days expects 8.
- BF16 0.01 at 100B. BLOOM-176B (BF16, 2022) met one loss spike in ~4 months and it recovered by
  itself (tr11 chronicles, 2022-04-12), after its 104B FP16 predecessor kept diverging and never
  passed 24B tokens (a whole-run restart here); Llama 3 405B saw "few loss spikes": 0.02 a day,
  about one in 54 days.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import ValidationError, require_positive
from .perf import state_bytes

RELIABILITY_CLASSES = {
    # (multiplier on every interruption rate, default restart minutes); sources in the docstring.
    "hyperscaler": (0.46, 10.0),  # Llama 3: 419 unexpected interruptions in 54 days on 16k H100
    "standard": (1.0, 20.0),  # Meta RSC-1, BLOOM-176B, OPT-175B's two months
    "unstable": (3.0, 45.0),  # RSC's 1,024-GPU jobs, OPT's worst fortnight, seed 000/003
}
CHECKPOINT_STRATEGIES = ("sync", "async")
CHECKPOINT_CLASSES = {
    # (default checkpoint strategy, default storage write bandwidth in GB/s); see the docstring.
    "hyperscaler": ("async", 2000.0),  # Llama 3: Tectonic, 2 TB/s sustained
    "standard": ("sync", 20.0),  # a cloud parallel file system (FSx for Lustre class)
    "unstable": ("sync", 5.0),  # seed 000: 2–3 TB in over ten minutes
}
HOST_COPY_GBPS = 25.0  # device → pinned host memory per GPU (PCIe 4.0 x16: 32 GB/s theoretical)
ASYNC_SAVE_OVERHEAD_S = 1.0  # per async save: staging and save-plan coordination (assumption)
PROVIDER_CLASSES = {
    # (probability the cluster is late, median delay in days when late)
    "reliable": (0.10, 14.0),
    "standard": (0.30, 30.0),
    "risky": (0.50, 60.0),  # seed 003: providers delivering months late
}
CAUSES = ("gpu", "host", "network", "software")


def checkpoint_bytes(params: float, precision: str) -> float:
    """Bytes of a full training state: weights and Adam's states (14 per parameter in BF16/FP16:
    2 for the weights, 12 for the FP32 master copy and the two moments; BLOOM's 2.3 TB for 176B)."""
    w_b, _, o_b = state_bytes(precision, "adam")
    return params * (w_b + o_b)


@dataclass(frozen=True)
class FailureRates:
    """Interruption rates of a training job (see the module docstring for the sources).

    Per 1000 GPU-days for the GPUs, per 1000 node-days (servers) for the rest, and a small
    ``software_per_day`` every job pays whatever its size.
    """

    gpu_per_1000_gpu_days: float = 0.40
    host_per_1000_node_days: float = 1.3
    network_per_1000_node_days: float = 2.0
    software_per_day: float = 0.012
    software_per_1000_node_days: float = 1.8

    def by_cause(self, gpu_count: int, gpus_per_server: int) -> dict[str, float]:
        """Interruptions a day of a job on ``gpu_count`` GPUs, per cause (``CAUSES``)."""
        nodes = math.ceil(gpu_count / gpus_per_server)
        return {
            "gpu": self.gpu_per_1000_gpu_days * gpu_count / 1000.0,
            "host": self.host_per_1000_node_days * nodes / 1000.0,
            "network": self.network_per_1000_node_days * nodes / 1000.0,
            "software": self.software_per_1000_node_days * nodes / 1000.0 + self.software_per_day,
        }

    def per_day(self, gpu_count: int, gpus_per_server: int) -> float:
        return sum(self.by_cause(gpu_count, gpus_per_server).values())

    def hardware_per_day(self, gpu_count: int, gpus_per_server: int) -> float:
        """GPU, host and network failures a day (what Llama 3 counts as hardware)."""
        causes = self.by_cause(gpu_count, gpus_per_server)
        return causes["gpu"] + causes["host"] + causes["network"]


DEFAULT_RATES = FailureRates()


@dataclass(frozen=True)
class GoodputSpec:
    """One training run's reliability inputs. Times in the units their names say."""

    gpu_count: int
    work_hours: float  # uninterrupted training time the run needs
    gpus_per_server: int = 8
    # Writing one checkpoint to storage: what a sync save blocks, an async save's background write.
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
    checkpoint: str | None = None  # "sync" | "async"; None ⇒ the class's default
    # Async only: seconds training blocks per save; None ⇒ the shard per GPU over HOST_COPY_GBPS.
    checkpoint_snapshot_s: float | None = None
    # The organization's measured ÷ expected interruptions (``own_calibration``); 1: published.
    failure_factor: float = 1.0

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
        if self.checkpoint_snapshot_s is not None:
            require_positive("checkpoint_snapshot_s", self.checkpoint_snapshot_s, maximum=86_400)
        require_positive("failure_factor", self.failure_factor, maximum=20)
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
        if self.checkpoint is not None and self.checkpoint not in CHECKPOINT_STRATEGIES:
            raise ValidationError(
                "checkpoint", f"must be one of {', '.join(CHECKPOINT_STRATEGIES)}"
            )
        return self

    @property
    def failures_per_day(self) -> float:
        base = self.rates.per_day(self.gpu_count, self.gpus_per_server)
        return base * RELIABILITY_CLASSES[self.reliability_class][0] * self.failure_factor

    @property
    def restart_minutes(self) -> float:
        if self.restart_min is not None:
            return self.restart_min
        return RELIABILITY_CLASSES[self.reliability_class][1]

    @property
    def checkpoint_strategy(self) -> str:
        """``checkpoint``, or the reliability class's default."""
        if self.checkpoint is not None:
            return self.checkpoint
        return CHECKPOINT_CLASSES[self.reliability_class][0]

    @property
    def checkpoint_blocked_s(self) -> float:
        """Seconds one save stops training: all of the write when sync; when async, the copy of
        each GPU's shard to host memory (never more than the write itself)."""
        if self.checkpoint_strategy == "sync":
            return self.checkpoint_save_s
        if self.checkpoint_snapshot_s is not None:
            snapshot = self.checkpoint_snapshot_s
        else:
            shard = checkpoint_bytes(self.params, self.precision) / self.gpu_count
            snapshot = ASYNC_SAVE_OVERHEAD_S + shard / (HOST_COPY_GBPS * 1e9)
        return min(snapshot, self.checkpoint_save_s)

    @property
    def checkpoint_lag_s(self) -> float:
        """Seconds a checkpoint needs to become durable once training resumes: async, the write."""
        return 0.0 if self.checkpoint_strategy == "sync" else self.checkpoint_save_s

    @property
    def loss_spikes_per_day(self) -> float:
        """Loss spikes needing a rollback, per day of training (sources in the module docstring).

        0.18 a day for a 100B FP16 run (OPT-175B's logbook), 0.01 in BF16 (BLOOM-176B, Llama 3),
        growing with the square root of model size up to four times.
        """
        base = 0.18 if self.precision == "fp16" else 0.01
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


def _interval_h(spec: GoodputSpec) -> tuple[float, float]:
    """(interval used, constrained optimum) in work hours, from the time a save blocks training.

    An async checkpoint cannot start before the previous one is written: the interval is at least
    the write. A given interval shorter than that is refused.
    """
    blocked_h = spec.checkpoint_blocked_s / 3600.0
    lag_h = spec.checkpoint_lag_s / 3600.0
    optimal = max(young_daly_interval_h(blocked_h, 24.0 / spec.failures_per_day), lag_h)
    if spec.checkpoint_interval_min is None:
        return optimal, optimal
    interval = spec.checkpoint_interval_min / 60.0
    if interval < lag_h:
        raise ValidationError(
            "checkpoint_interval_min",
            f"an async checkpoint every {interval * 60:.1f} min cannot be shorter than its "
            f"{lag_h * 60:.1f}-min write to storage",
        )
    return interval, optimal


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
    # ``interruptions`` split by cause (``CAUSES``: gpu, host, network, software), per trial.
    interruptions_by_cause: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def effective_training_time(self) -> np.ndarray:
        """Share of wall-clock time spent on training that survives (ETTR, Kokolis et al. 2024)."""
        return np.asarray(self.useful_hours / self.wall_hours)

    def summary(self) -> dict[str, object]:
        def pct(a: np.ndarray) -> dict[str, float]:
            p10, p50, p90 = np.percentile(a, [10, 50, 90])
            return {"p10": float(p10), "p50": float(p50), "p90": float(p90)}

        out: dict[str, object] = {
            "interruptions": pct(self.interruptions),
            "loss_spikes": pct(self.loss_spikes),
            "effective_training_time": pct(self.effective_training_time),
            "wall_clock_days": pct(self.wall_hours / 24.0),
            "start_delay_days": pct(self.start_delay_days),
            "lost_work_hours": pct(self.lost_work_hours),
        }
        for cause, counts in self.interruptions_by_cause.items():
            out[f"{cause}_failures"] = pct(counts)
        out.update(
            {
                "failures_per_day": self.failures_per_day,
                "mean_time_between_failures_h": 24.0 / self.failures_per_day,
                "checkpoint_interval_min": self.interval_h * 60.0,
                "optimal_checkpoint_interval_min": self.optimal_interval_h * 60.0,
                "checkpoint": self.spec.checkpoint_strategy,
                "checkpoint_blocked_s": self.spec.checkpoint_blocked_s,
                "checkpoint_write_s": self.spec.checkpoint_save_s,
            }
        )
        return out


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


def _truncated_exponential_moments(rate: np.ndarray, width: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of an exponential(rate) conditioned on falling below ``width``."""
    x = rate * width
    tail = np.exp(-x) / -np.expm1(-x)  # e^{-x} / (1 − e^{-x})
    mean = 1.0 / rate - width * tail
    second = 2.0 / rate**2 - (width**2 + 2.0 * width / rate) * tail
    return mean, np.maximum(second - mean**2, 0.0)


def _draw_failures(
    rng: np.random.Generator,
    a: np.ndarray,
    work: np.ndarray,
    interval: float,
    lag: float,
    overhead: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Failures per trial and the wall hours of work they lose (work hours × ``overhead``).

    The run is ``N`` = ⌊W/τ⌋ intervals of τ work hours and a last partial one; each attempt at an
    interval survives with p = e^{−a·τ}. Without a lag the failures before N successes are
    negative-binomial, and each loses T, exponential conditioned below τ.

    With a lag w (async: the newest checkpoint is written while training goes on), the first
    attempt after a completed interval fails early (T < w, probability 1 − e^{−a·w}) before that
    checkpoint is written: it loses T + τ and the completed interval must be done again. Every
    completed interval is so undone independently, so the undone ones before N stand are
    U ~ NB(N, e^{−a·w}). Of the N − 1 other attempts right after a completed interval, L fail late
    (w ≤ T < τ), binomially with (e^{−a·w} − p) / e^{−a·w}; each gap a failure opens (U + L of
    them, and the start) then holds NB(·, p) more failures of plain T, none undoing anything.
    """
    n = len(work)
    full = np.floor(work / interval)
    last = work - full * interval
    survive = np.exp(-a * interval)
    has_full, has_last = full > 0, last > 0
    mean_t, var_t = _truncated_exponential_moments(a, interval)
    # A failure in the last, partial interval loses work conditioned below its length, not τ.
    in_last = np.zeros(n, dtype=np.int64)
    in_last[has_last] = rng.negative_binomial(1, np.exp(-a[has_last] * last[has_last]))
    mean_p, var_p = _truncated_exponential_moments(a, np.where(has_last, last, interval))
    lost_last = _gamma_sum(rng, in_last, mean_p, var_p)
    if lag <= 0.0:
        failures = np.zeros(n, dtype=np.int64)
        failures[has_full] = rng.negative_binomial(full[has_full], survive[has_full])
        lost = _gamma_sum(rng, failures, mean_t, var_t) + lost_last
        return failures + in_last, lost * overhead
    keep = np.exp(-a * lag)  # an attempt outlives the write of the checkpoint it started from
    undone = np.zeros(n, dtype=np.int64)
    late = np.zeros(n, dtype=np.int64)
    plain = np.zeros(n, dtype=np.int64)
    undone[has_full] = rng.negative_binomial(full[has_full], keep[has_full])
    late[has_full] = rng.binomial(
        full[has_full].astype(np.int64) - 1,
        np.clip(1.0 - survive[has_full] / keep[has_full], 0.0, 1.0),
    )
    gaps = undone + late + 1
    plain[has_full] = rng.negative_binomial(gaps[has_full], survive[has_full])
    mean_e, var_e = _truncated_exponential_moments(a, lag)
    lost = _gamma_sum(rng, undone, interval + mean_e, var_e) + _gamma_sum(rng, plain, mean_t, var_t)
    lost += lost_last
    plain += in_last
    if interval - lag > 1e-12:  # T ≥ w: w plus an exponential conditioned below τ − w
        mean_l, var_l = _truncated_exponential_moments(a, interval - lag)
        lost += _gamma_sum(rng, late, lag + mean_l, var_l)
    return undone + late + plain, lost * overhead


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
    # times; BigScience's 104B FP16 run never passed 24B tokens). A planning assumption: 2% per run
    # in BF16, 8% in FP16, redoing 5–30% of the work.
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
    being shorter than τ — and, with async checkpoints, a whole interval more when it strikes while
    the newest checkpoint is still being written (``_draw_failures``: the intervals so undone are
    one more negative binomial, exactly). The sums of lost work and of the lognormal restart times
    are drawn as moment-matched gammas. Loss
    spikes are a Poisson process in training time; each rolls back a further interval and needs
    hours of a person's attention. ``simulate_goodput_loop`` plays the same model event by event
    and agrees in distribution.
    """
    spec.validate()
    rng = np.random.default_rng(spec.seed)
    blocked_h = spec.checkpoint_blocked_s / 3600.0
    fail_h = spec.failures_per_day / 24.0
    interval, optimal = _interval_h(spec)
    overhead = 1.0 + blocked_h / interval
    lag = min(spec.checkpoint_lag_s / 3600.0, interval)  # in work hours: training runs meanwhile
    d = _draw_trials(spec, rng)

    a = d.failure_rate_h * overhead  # failures per hour of work
    # Beyond ~20 expected failures per interval an interval almost never completes: the run would
    # not finish (and the negative binomial's p underflows). Say so instead of computing forever.
    if float(np.max(a)) * interval > 20.0:
        if spec.checkpoint_interval_min is None:  # the interval is an async write's length
            raise ValidationError(
                "checkpoint_save_s",
                f"an async checkpoint takes {interval * 60:.0f} min to write and a failure is "
                f"expected every {1.0 / fail_h:.1f} h: no checkpoint would ever be written; "
                "use faster storage",
            )
        raise ValidationError(
            "checkpoint_interval_min",
            f"{interval * 60:.0f} min between checkpoints never completes on this cluster: "
            f"a failure is expected every {1.0 / fail_h:.1f} h; "
            f"use the optimum ({optimal * 60:.0f} min)",
        )
    failures, lost = _draw_failures(rng, a, d.work, interval, lag, overhead)
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

    causes = spec.rates.by_cause(spec.gpu_count, spec.gpus_per_server)
    shares = np.array([causes[c] for c in CAUSES]) / sum(causes.values())
    split = rng.multinomial(failures, shares)

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
        interruptions_by_cause={c: split[:, i] for i, c in enumerate(CAUSES)},
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
    interval, _ = _interval_h(spec)
    overhead = 1.0 + spec.checkpoint_blocked_s / 3600.0 / interval
    lag = min(spec.checkpoint_lag_s / 3600.0, interval)
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
            since = progress % interval
            # A spike rolls back one checkpoint further; a failure does too while the newest
            # checkpoint is still being written (async).
            further = spike or (since < lag and progress >= interval)
            lost = min(since + (interval if further else 0.0), done + progress)
            done += progress - lost
            mu = spike_mu if spike else restart_mu
            wall += t + py.lognormvariate(mu, RESTART_SIGMA)
        walls[i] = wall
    return walls
