"""The whole program, simulated: stages per strategy, their durations, GPU-hours and costs, drawn
per Monte Carlo trial; money by calendar month; the main run's reliability from ``reliability``.

One time axis: days from the program start, cut into calendar months when the plan has a start
date (equal 30.44-day months without one). Every cost is a *charge* over an interval of that axis:
a lump spread evenly over its days (GPU rent, data, serving) or a rate per calendar month paid pro
rata for the days held (salaries, storage), so a full month of a person costs exactly their
monthly salary.

GPU pools (``PlanSpec.clusters``): a stage runs on the pool of its purpose and starts no earlier
than the pool's window, whose entered start is shifted per trial by the provider's delivery delay.
A pool with a window of months is paid for the whole window, used or idle; GPU time a stage needs
beyond it is paid at the same price per GPU-hour and flagged (the rental is *extended*, never
silently cut). A pool without months (the older single ``cluster``) is paid from delivery to the
end of the main run it carries, and per use outside that. Bought GPUs cost their depreciation per
month of the window plus power at the facility's PUE (``cost.compute_cost``).

Durations of non-compute stages are lognormal around planning medians (stated where they are set);
compute stages take their time from core I (layout search → step time), for the main run from the
goodput Monte Carlo, and for PPO from ``rlhf`` (four resident models: generation, experience and
training passes). Every array here has one entry per trial and is deterministic per seed.

Memory. Each trial keeps a few dozen numbers: every stage's start, finish and GPU-hours and the
cost categories it is charged in (the others share one read-only vector of zeros), every charge's
interval and amount — trials × stages. The money per calendar month is never held as one trials ×
months matrix (with a long horizon that was what ran out of memory): ``_stream_months`` cuts the
charges into months a block at a time, at most ``MONTH_BLOCK_BYTES`` (16 MiB) of trials × months
× categories per block, takes each month's percentiles over every trial (``np.percentile``, exact)
and carries each trial's running spend from block to block. Each month is computed on its own and
the running sums add month after month, so the block size changes no number; the random draws are
untouched (one generator per seed, as before), so a seed gives the same report on any machine.
Measured with tracemalloc (numpy's and Python's allocations) at 20,000 trials: the GPT-3 example
(``examples/plan-gpt3-175b.json``) peaks at 92 MiB (117 MiB before), the same plan on 8 GPUs
(355 months) at 63 MiB (788 MiB before). The peak grows with the trials, not the months: 200,000
trials, the most the ``plan`` command accepts, take about 320 MiB resident whatever the horizon.
``ProgramResult.monthly`` still gives the whole matrix, built on demand.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .architecture import ModelSpec, infer_from_params
from .config import PlanConfig, checkpoint_bytes_for, round_batch
from .cost import compute_cost
from .estimate import Estimate, estimate
from .planspec import (
    DEFAULT_MONTHLY_CNY,
    STORAGE_HOT_USD_PER_TB_MONTH,
    ClusterPlan,
    PlanSpec,
    TeamLine,
)
from .reliability import PROVIDER_CLASSES, GoodputResult, GoodputSpec, simulate_goodput
from .rlhf import PPOConfig, PPOPlan, plan_ppo
from .search import LayoutConstraints
from .specs import ClusterSpec, TrainingSpec
from .text import T, Text, is_one, percent, purpose, quantity

CATEGORIES = ("gpu_compute", "storage", "people", "data", "inference", "contingency")
DAYS_PER_MONTH = 365.25 / 12
STREAMS = ("data", "algorithm", "engineering", "operations")
# Who works on a stage, by stream (the roles of OneMoreAI 2023 and the vertical-LLM survey 2023).
STREAM_ROLES = {
    "data": ("data_engineer", "legal"),
    "algorithm": ("algorithm_researcher",),
    "engineering": ("distributed_training_engineer", "run_watcher"),
    "operations": ("backend", "frontend", "product_manager"),
}
# Kept for the assumptions page: the default storage policy (see ``planspec.StoragePolicy``).
STORAGE_USD_PER_TB_MONTH = STORAGE_HOT_USD_PER_TB_MONTH
CHECKPOINTS_KEPT = 3
# Raw text ≈ 4 bytes per token (BPE tokenisers average ~4 characters of English per token;
# Chinese ~1.4 characters of 3 UTF-8 bytes); token ids take 2 bytes below a 65,536 vocabulary.
RAW_BYTES_PER_TOKEN = 4.0
MAIN_MILESTONES = (0.25, 0.5, 0.75, 1.0)
# The money per month is cut a block of months at a time (``_stream_months``): one block of
# trials × months × categories float64 takes at most this many bytes (at least one month).
MONTH_BLOCK_BYTES = 16 * 2**20


@dataclass(frozen=True)
class TimeAxis:
    """Days from the program start cut into months: calendar months from ``start_date``."""

    start_date: dt.date | None

    def months(self, horizon_days: float) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Month edges (days; the first is 0), each month's full length in days, and labels,
        for as many months as cover ``horizon_days``."""
        horizon = max(float(horizon_days), 1e-9)
        if self.start_date is None:
            n = max(1, math.ceil(horizon / DAYS_PER_MONTH - 1e-9))
            edges = np.arange(n + 1) * DAYS_PER_MONTH
            return edges, np.full(n, DAYS_PER_MONTH), [f"M{i + 1}" for i in range(n)]
        start = self.start_date
        first = start.replace(day=1)
        edges_l = [0.0]
        lengths: list[float] = []
        labels: list[str] = []
        month = first
        while True:
            following = _next_month(month)
            lengths.append(float((following - month).days))
            labels.append(f"{month.year:04d}-{month.month:02d}")
            edge = float((following - start).days)
            edges_l.append(edge)
            month = following
            if edge >= horizon:
                break
        return np.array(edges_l), np.array(lengths), labels


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


@dataclass(frozen=True)
class Stage:
    key: str
    name: str
    stream: str
    depends_on: tuple[str, ...]
    start_days: np.ndarray
    finish_days: np.ndarray
    gpu_hours: np.ndarray
    costs: dict[str, np.ndarray]
    gpu_type: str = ""
    gpu_count: int = 0
    note: str = ""
    shortfall_gib: float = 0.0  # > 0: the job does not fit in GPU memory by this much
    pool: int | None = None  # index in ``spec.clusters`` of the pool it runs on
    # The name and note as templates with their parameters (``text``); "" for no note.
    name_template: str = ""
    name_params: dict[str, Any] = field(default_factory=dict)
    note_template: str = ""
    note_params: dict[str, Any] = field(default_factory=dict)


def stage_text(stage: Stage) -> Text:
    """The stage's name as text (to nest in a gate's or a risk's sentence)."""
    return Text(stage.name_template, stage.name_params)


@dataclass(frozen=True)
class Charge:
    """Money over ``[start, finish)`` days: ``amount`` spread evenly over the days, or ``rate``
    per calendar month paid pro rata (exactly one of the two)."""

    stage: str
    category: str
    start: np.ndarray
    finish: np.ndarray
    amount: np.ndarray | None = None
    rate: np.ndarray | None = None


@dataclass(frozen=True)
class PoolUse:
    """One GPU pool over the trials: its window and what it cost beyond it."""

    index: int
    pool: ClusterPlan
    window_start: np.ndarray  # entered start + delivery delay
    window_end: np.ndarray
    window_cost: np.ndarray
    extension_days: np.ndarray  # days a stage was paid past the window (0: it fitted)
    extension_cost: np.ndarray
    busy_gpu_hours: np.ndarray
    stages: tuple[str, ...]
    open_window: bool


@dataclass
class _Builder:
    """Accumulates stages and charges in dependency order for one plan and one set of trials."""

    spec: PlanSpec
    rng: np.random.Generator
    trials: int
    stages: dict[str, Stage] = field(default_factory=dict)
    charges: list[Charge] = field(default_factory=list)
    # Observed stages (a re-forecast): the dates that replace a stage's simulated ones, and the
    # day before which a stage reported not started cannot start (``simulate_program``).
    spans: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    earliest: dict[str, float] = field(default_factory=dict)
    zero: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        # One read-only vector of zeros stands for every cost category a stage is not charged in
        # (most of them): ``charge`` replaces it, never adds to it in place.
        self.zero = np.zeros(self.trials)
        self.zero.flags.writeable = False

    def zeros(self) -> np.ndarray:
        return np.zeros(self.trials)

    def lognormal(self, median_days: float, sigma: float) -> np.ndarray:
        return self.rng.lognormal(math.log(max(median_days, 1e-3)), sigma, self.trials)

    def add(
        self,
        key: str,
        name: Text,
        stream: str,
        depends_on: tuple[str, ...],
        duration_days: np.ndarray,
        *,
        gpu_hours: np.ndarray | None = None,
        costs: dict[str, np.ndarray] | None = None,
        delay_days: np.ndarray | None = None,
        start_days: np.ndarray | None = None,
        finish_days: np.ndarray | None = None,  # exact end when known (start + length may round)
        not_before: np.ndarray | float | None = None,
        gpu_type: str = "",
        gpu_count: int = 0,
        note: Text | None = None,
        shortfall_gib: float = 0.0,
        pool: int | None = None,
    ) -> Stage:
        start = self.zeros()
        for dep in depends_on:
            start = np.maximum(start, self.stages[dep].finish_days)
        if not_before is not None:
            start = np.maximum(start, not_before)
        if delay_days is not None:
            start = start + delay_days
        if key in self.earliest:
            start = np.maximum(start, self.earliest[key])
        if start_days is not None:
            start = start_days
        elif key in self.spans:
            # Observed: its dates replace the simulated ones; GPU-hours follow its length.
            start, finish_days = self.spans[key]
            length = finish_days - start
            if gpu_hours is not None:
                gpu_hours = gpu_hours * length / np.maximum(duration_days, 1e-9)
            duration_days = length
        stage = Stage(
            key=key,
            name=str(name),
            stream=stream,
            depends_on=depends_on,
            start_days=start,
            finish_days=start + duration_days if finish_days is None else finish_days,
            gpu_hours=self.zero if gpu_hours is None else gpu_hours,
            costs={c: self.zero for c in CATEGORIES},
            gpu_type=gpu_type,
            gpu_count=gpu_count,
            note=str(note) if note is not None else "",
            shortfall_gib=shortfall_gib,
            pool=pool,
            name_template=name.template,
            name_params=name.params,
            note_template=note.template if note is not None else "",
            note_params=note.params if note is not None else {},
        )
        self.stages[key] = stage
        for category, amount in (costs or {}).items():
            self.charge(key, category, stage.start_days, stage.finish_days, amount=amount)
        return stage

    def charge(
        self,
        key: str,
        category: str,
        start: np.ndarray | float,
        finish: np.ndarray | float,
        *,
        amount: np.ndarray | None = None,
        rate: np.ndarray | float | None = None,
    ) -> None:
        """Book money on stage ``key`` over ``[start, finish)``; a rate's total is added to the
        stage when the months are known (``_monthly``)."""
        n = self.trials
        begin = np.broadcast_to(np.asarray(start, dtype=float), (n,))
        end = np.maximum(np.broadcast_to(np.asarray(finish, dtype=float), (n,)), begin)
        if rate is not None:
            rate_a = np.broadcast_to(np.asarray(rate, dtype=float), (n,))
            self.charges.append(Charge(key, category, begin, end, rate=rate_a))
            return
        assert amount is not None
        amount_a = np.broadcast_to(np.asarray(amount, dtype=float), (n,))
        self.charges.append(Charge(key, category, begin, end, amount=amount_a))
        costs = self.stages[key].costs
        costs[category] = costs[category] + amount_a


@dataclass(frozen=True)
class ProgramResult:
    spec: PlanSpec
    trials: int
    seed: int
    team: tuple[TeamLine, ...]
    team_is_default: bool
    stages: tuple[Stage, ...]
    main_run: Estimate | None
    goodput: GoodputResult | None
    finish_days: np.ndarray
    cost_by_category: dict[str, np.ndarray]
    monthly_summary: MonthlySummary
    gpu_hours: np.ndarray
    month_labels: tuple[str, ...] = ()
    month_edges: np.ndarray = field(default_factory=lambda: np.zeros(1))
    pools: tuple[PoolUse, ...] = ()
    storage_tb: dict[str, float] = field(default_factory=dict)
    charges: tuple[Charge, ...] = ()
    month_lengths: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def total_cost(self) -> np.ndarray:
        return sum((self.cost_by_category[c] for c in CATEGORIES), np.zeros(self.trials))

    @property
    def monthly(self) -> np.ndarray:
        """Trials × months × categories: each trial's spend per month, rebuilt from the charges
        on every call. It takes trials × months × 48 bytes (20,000 trials over 355 months: 325 MiB):
        the report reads ``monthly_summary`` instead, streamed in blocks of months."""
        months = len(self.month_lengths)
        block = _month_block(
            self.charges,
            _spans(self.charges, self.month_edges),
            self.trials,
            self.month_edges,
            self.month_lengths,
            self.spec.contingency,
            0,
            months,
        )
        return block.transpose(2, 1, 0)

    @property
    def cumulative(self) -> np.ndarray:
        """Trials × months: each trial's spend to the end of each month, all categories (built
        like ``monthly``)."""
        return np.cumsum(self.monthly.sum(axis=2), axis=1)


def default_team(spec: PlanSpec) -> tuple[TeamLine, ...]:
    """Roles after BigScience (OneMoreAI 2023; vertical-LLM survey 2023): lean, ≤ 10 algorithm
    people, 4–5 distributed-training engineers for a from-scratch run, a run watcher, a little
    legal."""
    shapes: dict[str, dict[str, float]] = {
        "from_scratch": {
            "data_engineer": 3,
            "legal": 0.5,
            "algorithm_researcher": 6,
            "distributed_training_engineer": 4,
            "run_watcher": 1,
            "frontend": 1,
            "backend": 1,
            "product_manager": 1,
        },
        "cpt": {
            "data_engineer": 2,
            "legal": 0.5,
            "algorithm_researcher": 3,
            "distributed_training_engineer": 2,
            "run_watcher": 1,
            "product_manager": 1,
        },
        "sft": {"data_engineer": 1, "algorithm_researcher": 2, "backend": 0.5},
        "rag": {"data_engineer": 1, "algorithm_researcher": 1, "backend": 2, "frontend": 1},
        "icl": {"algorithm_researcher": 1, "backend": 1},
    }
    rate = 1.0 if spec.currency == "CNY" else 1.0 / spec.usd_to_cny
    return tuple(
        TeamLine(role=role, headcount=float(n), monthly_cost=DEFAULT_MONTHLY_CNY[role] * rate)
        for role, n in shapes[spec.strategy].items()
    )


# The largest share of the dense peak an organization's factor may lift a layout to: the best
# large GEMMs sustain ~80–90% of it (NVIDIA's cuBLAS figures for H100), a whole step less.
MAX_HFU = 0.9


def _train(
    model: ModelSpec,
    tokens: float,
    precision: str,
    gpu_type_spec: ClusterSpec,
    batch_tokens: float,
    factor: float = 1.0,
) -> Estimate:
    """The job's estimate, its throughput × ``factor`` (``PlanSpec.throughput_factor``: the
    organization's measured ÷ predicted rate, ``own_calibration``; 1 for the published
    calibration)."""
    training = TrainingSpec(
        tokens=tokens,
        global_batch_seqs=round_batch(batch_tokens / model.seq_len),
        seq_len=model.seq_len,
        precision=precision,
    )
    from .cost import CostInputs

    est = estimate(PlanConfig(model, training, gpu_type_spec, LayoutConstraints(), CostInputs()))
    if factor == 1.0:
        return est
    # A factor above 1 (an organization faster than the model predicts) stops where the layout
    # would use more than ``MAX_HFU`` of the GPU's dense peak: no training step does.
    if est.layout.hfu > 0:
        factor = min(factor, max(MAX_HFU / est.layout.hfu, 1.0))

    def scaled(r: Any) -> Any:
        return replace(
            r,
            step_time_s=r.step_time_s / factor,
            tokens_per_s=r.tokens_per_s * factor,
            model_tflops_per_gpu=r.model_tflops_per_gpu * factor,
            mfu=r.mfu * factor,
            hfu=r.hfu * factor,
        )

    return replace(
        est,
        layout=scaled(est.layout),
        alternatives=tuple(scaled(r) for r in est.alternatives),
        wall_clock_hours=est.wall_clock_hours / factor,
        gpu_hours=est.gpu_hours / factor,
    )


def _pool_rate(pool: ClusterPlan, gpu_count: int) -> float:
    """Money per wall-clock hour of ``gpu_count`` GPUs of ``pool`` (rent, or depreciation and
    power when bought)."""
    return float(compute_cost(pool.gpu, gpu_count, 1.0, pool.cost).total)


def _hourly_rate(spec: PlanSpec, gpu_count: int) -> float:
    """Money per wall-clock hour of ``gpu_count`` GPUs of the plan's main pool."""
    return _pool_rate(spec.cluster, gpu_count)


def _data_prep_days(spec: PlanSpec, stages: tuple[str, ...]) -> float:
    """Median days to collect, clean, deduplicate and review the data feeding ``stages``.

    Planning assumption: two weeks of set-up plus three weeks per trillion tokens still to clean for
    a pair of data engineers (raw counts fully, cleaned 40%, deduplicated 10%), and licence review
    of datasets of unknown licence (a week per five with a legal role, three without).
    """
    factor = {"raw": 1.0, "cleaned": 0.4, "deduplicated": 0.1}
    work = sum(d.tokens * factor[d.cleaning] for d in spec.data if d.stage in stages)
    engineers = max(1.0, spec.headcount("data_engineer"))
    unknown = sum(1 for d in spec.data if d.stage in stages and d.licence == "unknown")
    review = (7.0 if spec.headcount("legal") > 0 else 21.0) * math.ceil(unknown / 5)
    return 14.0 + 21.0 * (work / 1e12) / (engineers / 2.0) + review


def _ready_day(spec: PlanSpec, stages: tuple[str, ...]) -> float:
    """The day the last dataset feeding ``stages`` arrives (0: all are there at the start)."""
    days = [spec.day(d.ready_date) for d in spec.data if d.stage in stages]
    return max([0.0, *(d for d in days if d is not None)])


def _run_goodput(spec: PlanSpec, est: Estimate, trials: int, seed: int) -> GoodputResult:
    assert spec.model is not None
    params = float(spec.model.total_params())
    save_s = checkpoint_bytes_for(params, spec.precision) / (
        spec.cluster.checkpoint_storage_gbps * 1e9
    )
    return simulate_goodput(
        GoodputSpec(
            gpu_count=spec.cluster.gpu_count,
            work_hours=est.wall_clock_hours,
            gpus_per_server=spec.cluster.gpu.gpus_per_server,
            checkpoint_save_s=save_s,
            reliability_class=spec.cluster.reliability_class,
            provider_class=spec.cluster.provider_class,
            precision=spec.precision,
            params=params,
            failure_factor=spec.failure_factor,
            trials=trials * spec.full_runs,
            seed=seed,
            checkpoint=spec.cluster.checkpoint,
        )
    )


def _small_cluster_count(pool: ClusterPlan, wanted: float) -> int:
    """GPUs for an auxiliary job: a power of two, whole servers above one, ≤ the pool."""
    per_server = pool.gpu.gpus_per_server
    count = int(2 ** max(0, round(math.log2(max(1.0, wanted)))))
    count = min(count, pool.gpu_count)
    if count > per_server:
        count -= count % per_server
    return max(1, count)


def _fitting_run(
    spec: PlanSpec, pool: ClusterPlan, model: ModelSpec, tokens: float, wanted: float
) -> tuple[int, Estimate]:
    """An auxiliary training job on about ``wanted`` GPUs, doubled until it fits (≤ the pool)."""
    count = _small_cluster_count(pool, max(wanted, pool.gpu.gpus_per_server))
    while True:
        est = _train(
            model,
            tokens,
            spec.precision,
            ClusterSpec(pool.gpu, count).validate(),
            spec.global_batch_tokens,
            spec.throughput_factor,
        )
        if est.fits or count >= pool.gpu_count:
            return count, est
        count = _small_cluster_count(pool, count * 2)


def _ppo_plan(
    spec: PlanSpec, pool: ClusterPlan, model: ModelSpec, gpus: int, sft_mfu: float
) -> PPOPlan:
    """PPO after SFT on the finetune pool (``rlhf`` gives memory and time): the SFT job's GPUs,
    doubled in whole servers while the four resident models do not fit, up to the pool's GPUs; a
    job that fits on none of them keeps the largest count and reports its shortfall.

    Planning inputs: the SFT samples' length split evenly into prompt and response; one PPO
    episode per preference pair (InstructGPT ran 256k episodes against a reward model trained on
    the comparisons of 33k prompts, Ouyang et al. 2022, Table 6 and Appendix C.4); 512 prompts per
    iteration, one inner epoch; the compute-bound passes at the SFT job's MFU.
    """
    tokens = float(spec.sft["tokens_per_sample"])
    prompt = max(1, int(tokens // 2))
    response = max(1, int(round(tokens)) - prompt)
    # An MFU outside (0, 1] (no layout at all) falls back to a typical fine-tuning figure.
    mfu = sft_mfu if 0.0 < sft_mfu <= 1.0 else 0.4
    count = gpus
    while True:
        cfg = PPOConfig(model, pool.gpu, count, prompt, response, precision=spec.precision, mfu=mfu)
        plan = plan_ppo(cfg, spec.rlhf_pairs, spec.rlhf_pairs, tokens)
        more = _small_cluster_count(pool, count * 2)
        if plan.memory.fits or more <= count:
            return plan
        count = more


def _delivery_delay(pool: ClusterPlan, rng: np.random.Generator, n: int) -> np.ndarray:
    """Days a pool arrives late, per trial (the provider class; as ``reliability`` draws it)."""
    p_late, median_late = PROVIDER_CLASSES[pool.provider_class]
    late = rng.random(n) < p_late
    return np.where(late, rng.lognormal(math.log(median_late), 0.6, n), 0.0)


def _spans(charges: tuple[Charge, ...], edges: np.ndarray) -> list[tuple[int, int] | None]:
    """Per charge, the months ``[lo, hi)`` it can touch in any trial: those ending after its
    earliest start and starting no later than its latest finish (a one-off on a month edge
    included); None for a lump that is zero in every trial."""
    months = len(edges) - 1
    out: list[tuple[int, int] | None] = []
    for ch in charges:
        if ch.amount is not None and not ch.amount.any():
            out.append(None)
            continue
        lo = int(np.searchsorted(edges[1:], ch.start.min(), side="right"))
        hi = int(np.searchsorted(edges[:-1], ch.finish.max(), side="right"))
        lo = min(lo, months - 1)  # a one-off past the last edge lands in the last month
        out.append((lo, max(hi, lo + 1)))
    return out


def _month_block(
    charges: tuple[Charge, ...],
    spans: list[tuple[int, int] | None],
    trials: int,
    edges: np.ndarray,
    lengths: np.ndarray,
    contingency: float,
    m0: int,
    m1: int,
    rate_paid: dict[int, np.ndarray] | None = None,
) -> np.ndarray:
    """Categories × months ``m0``…``m1 − 1`` × trials: each charge cut at the month edges (see
    ``Charge``), contingency as its share of the rest. Trials run along the last axis, so each
    month of each category is one contiguous row (cheap to add to and to take percentiles of).

    Every month is computed on its own and only over the months a charge can touch (``spans``,
    from ``_spans``), so a block holds exactly those months of the whole matrix, whatever its size.
    ``rate_paid`` (charge index → per-trial total) accumulates what each rate charge costs, month
    after month in order, so those totals do not depend on the block size either.
    """
    months = len(lengths)
    out = np.zeros((len(CATEGORIES), m1 - m0, trials))
    for k, (ch, span) in enumerate(zip(charges, spans, strict=True)):
        if span is None:
            continue
        a, z = max(span[0], m0), min(span[1], m1)
        if a >= z:
            continue
        overlap = np.clip(
            np.minimum(ch.finish[None, :], edges[a + 1 : z + 1, None])
            - np.maximum(ch.start[None, :], edges[a:z, None]),
            0.0,
            None,
        )
        if ch.rate is not None:
            add = overlap / lengths[a:z, None] * ch.rate[None, :]
            if rate_paid is not None:
                for row in add:
                    rate_paid[k] += row
        else:
            assert ch.amount is not None
            length = ch.finish - ch.start
            share = overlap / np.maximum(length, 1e-9)[None, :]
            instant = length <= 1e-9
            if instant.any():  # a one-off cost on a zero-length interval lands in its month
                idx = np.searchsorted(edges, ch.start[instant], side="right") - 1
                idx = np.clip(idx, 0, months - 1)
                share[:, instant] = 0.0
                here = (idx >= a) & (idx < z)
                share[idx[here] - a, np.flatnonzero(instant)[here]] = 1.0
            add = share * ch.amount[None, :]
        out[CATEGORIES.index(ch.category), a - m0 : z - m0] += add
    c_idx = CATEGORIES.index("contingency")
    out[c_idx] = contingency * out.sum(axis=0)
    return out


def _block_months(trials: int, budget_bytes: int) -> int:
    """Months per block so that one block (trials × months × categories, float64) stays within
    ``budget_bytes``; at least one month."""
    return max(1, budget_bytes // (trials * len(CATEGORIES) * 8))


@dataclass(frozen=True)
class MonthlySummary:
    """Percentiles over the trials of the money per calendar month, streamed a block of months at a
    time (``_month_block``): ``p50``/``p90`` are months × categories, each month's spend on its
    own; ``total_*`` the month's spend over all categories; ``cumulative_*`` the spend from the
    start to the end of each month (each trial's running sum, then its percentiles)."""

    p50: np.ndarray
    p90: np.ndarray
    total_p50: np.ndarray
    total_p90: np.ndarray
    cumulative_p50: np.ndarray
    cumulative_p90: np.ndarray


def _stream_months(
    b: _Builder, edges: np.ndarray, lengths: np.ndarray, budget_bytes: int
) -> tuple[MonthlySummary, dict[str, np.ndarray]]:
    """One pass over the months in blocks: the monthly percentiles, each trial's spend per category
    (added month after month), and each rate charge's total booked on its stage.

    Memory: the per-trial running sums (trials × categories) and one block of
    ``_block_months(trials, budget_bytes)`` months, with a few temporaries of its size (the charge
    being cut, the copy ``np.percentile`` partitions) — never the whole trials × months matrix.
    """
    n, months = b.trials, len(lengths)
    charges = tuple(b.charges)
    spans = _spans(charges, edges)
    rate_paid = {k: np.zeros(n) for k, ch in enumerate(charges) if ch.rate is not None}
    by_cat = np.zeros((len(CATEGORIES), n))
    spent = np.zeros(n)
    parts: dict[str, list[np.ndarray]] = {key: [] for key in ("p", "total", "cumulative")}
    step = _block_months(n, budget_bytes)
    for m0 in range(0, months, step):
        m1 = min(months, m0 + step)
        block = _month_block(
            charges, spans, n, edges, lengths, b.spec.contingency, m0, m1, rate_paid=rate_paid
        )
        total = block.sum(axis=0)
        running = np.empty_like(total)
        for j in range(m1 - m0):  # month after month: the same sums whatever the block size
            by_cat += block[:, j]
            spent = spent + total[j]
            running[j] = spent
        parts["p"].append(np.percentile(block, [50, 90], axis=2).transpose(0, 2, 1))
        parts["total"].append(np.percentile(total, [50, 90], axis=1))
        parts["cumulative"].append(np.percentile(running, [50, 90], axis=1))
        del block, total, running
    p, total, cumulative = (np.concatenate(parts[key], axis=1) for key in parts)
    for k, paid in rate_paid.items():
        ch = charges[k]
        costs = b.stages[ch.stage].costs
        costs[ch.category] = costs[ch.category] + paid
    summary = MonthlySummary(
        p50=p[0],
        p90=p[1],
        total_p50=total[0],
        total_p90=total[1],
        cumulative_p50=cumulative[0],
        cumulative_p90=cumulative[1],
    )
    return summary, {cat: by_cat[c] for c, cat in enumerate(CATEGORIES)}


def _bill_pools(b: _Builder, spec: PlanSpec, window_start: list[np.ndarray]) -> tuple[PoolUse, ...]:
    """Charge every pool for its window and every stage for GPU time beyond it (module doc)."""
    out = []
    for i, pool in enumerate(spec.clusters):
        users = [s for s in b.stages.values() if s.pool == i]
        start = window_start[i]
        main = b.stages.get("main")
        open_window = pool.months is None
        if not open_window:
            assert pool.months is not None
            end = start + pool.months * DAYS_PER_MONTH
        elif main is not None and main.pool == i:
            end = main.finish_days
        else:
            end = start
        per_gpu_hour = _pool_rate(pool, pool.gpu_count) / pool.gpu_count
        # Serving GPUs are an operating cost (inference); a pool that carries training is compute.
        serves_only = all(s.key == "serving" for s in users)
        category = "inference" if pool.purpose == "serving" and serves_only else "gpu_compute"
        window_cost = (end - start) * 24.0 * pool.gpu_count * per_gpu_hour
        if (end > start).any():
            key = "cluster" if pool is spec.cluster else f"pool_{i + 1}"
            if open_window:
                name = T("Cluster reserved: %(pool)s", pool=pool.describe())
                note = T("paid from delivery to the end of the main run, idle time included")
            else:
                name = T("GPUs booked: %(pool)s", pool=pool.describe())
                months = f"{pool.months:g}"
                note = (
                    T(
                        "1 month booked (%(purpose)s), paid used or idle",
                        purpose=purpose(pool.purpose),
                    )
                    if is_one(months)
                    else T(
                        "%(months)s months booked (%(purpose)s), paid used or idle",
                        months=months,
                        purpose=purpose(pool.purpose),
                    )
                )
            b.add(
                key,
                name,
                "operations",
                (),
                end - start,
                start_days=start,
                finish_days=end,
                costs={category: window_cost},
                gpu_type=pool.gpu.name,
                gpu_count=pool.gpu_count,
                note=note,
                pool=None,
            )
        extension_days = b.zeros()
        extension_cost = b.zeros()
        busy = b.zeros()
        for stage in users:
            beyond_from = np.maximum(stage.start_days, end)
            hours = np.maximum(stage.finish_days - beyond_from, 0.0) * 24.0
            amount = hours * stage.gpu_count * per_gpu_hour
            if amount.any():
                b.charge(stage.key, category, beyond_from, stage.finish_days, amount=amount)
            extension_cost = extension_cost + amount
            # Days paid beyond the window (a stage that starts after it re-books for its own
            # run, so an idle gap is not counted).
            extension_days = np.maximum(extension_days, hours / 24.0)
            busy = busy + stage.gpu_hours
        out.append(
            PoolUse(
                index=i,
                pool=pool,
                window_start=start,
                window_end=end,
                window_cost=window_cost,
                extension_days=np.maximum(extension_days, 0.0) if users else b.zeros(),
                extension_cost=extension_cost,
                busy_gpu_hours=busy,
                stages=tuple(s.key for s in users),
                open_window=open_window,
            )
        )
    return tuple(out)


def _bill_people(b: _Builder, spec: PlanSpec, team: tuple[TeamLine, ...], end: np.ndarray) -> None:
    """Each team line paid per calendar month, pro rata, inside its dates (or the program)."""
    latest = end.copy()
    for line in team:
        last = spec.day(line.end_date)
        latest = np.maximum(latest, (last + 1.0) if last is not None else 0.0)
    b.add("team", T("Team"), "operations", (), latest, start_days=b.zeros())
    for line in team:
        first = spec.day(line.start_date)
        last = spec.day(line.end_date)
        start = max(0.0, first) if first is not None else 0.0
        finish = np.full(b.trials, last + 1.0) if last is not None else end
        rate = line.headcount * line.monthly_cost * line.allocation
        if rate:
            b.charge("team", "people", start, np.maximum(finish, start), rate=rate)


def _bill_storage(
    b: _Builder, spec: PlanSpec, end: np.ndarray, data_stages: dict[str, tuple[str, ...]]
) -> dict[str, float]:
    """Checkpoints and datasets kept per ``spec.storage`` until the program ends (its docstring);
    returns the sizes in TB for the report."""
    policy = spec.storage
    hot, cold = policy.price_per_tb_month, policy.archive_price_per_tb_month
    b.add("storage", T("Storage"), "operations", (), end, start_days=b.zeros())
    sizes: dict[str, float] = {}
    st = b.stages
    model = spec.model
    if model is not None:
        params = float(model.total_params())
        full_tb = checkpoint_bytes_for(params, spec.precision) / 1e12
        weights_tb = params * 2.0 / 1e12  # BF16 weights
        sizes["checkpoint_tb"] = full_tb
        sizes["weights_tb"] = weights_tb
        if "main" in st:
            main = st["main"]
            b.charge(
                "storage",
                "storage",
                main.start_days,
                main.finish_days,
                rate=policy.keep_last * full_tb * hot,
            )
            for frac in MAIN_MILESTONES:
                at = main.start_days + frac * (main.finish_days - main.start_days)
                b.charge("storage", "storage", at, end, rate=full_tb * cold)
        for i, size in enumerate(spec.ladder):
            rung = st.get(f"ladder_{i + 1}")
            if rung is not None:
                small_tb = checkpoint_bytes_for(size, spec.precision) / 1e12
                b.charge("storage", "storage", rung.finish_days, end, rate=small_tb * cold)
        runs = {"sft": float(spec.sft.get("runs", 1)), "rlhf": 1.0}
        for key, count in runs.items():
            if key in st:
                b.charge(
                    "storage", "storage", st[key].finish_days, end, rate=count * weights_tb * cold
                )
    id_bytes = 2.0 if model is not None and model.vocab <= 65_536 else 4.0
    raw_tb = tok_tb = 0.0
    for key, stages in data_stages.items():
        if key not in st:
            continue
        for d in spec.data:
            if d.stage not in stages:
                continue
            ready = spec.day(d.ready_date)
            raw = d.tokens * RAW_BYTES_PER_TOKEN / 1e12
            tok = d.tokens * id_bytes / 1e12
            raw_tb += raw
            tok_tb += tok
            b.charge("storage", "storage", max(0.0, ready or 0.0), end, rate=raw * cold)
            b.charge("storage", "storage", st[key].finish_days, end, rate=tok * hot)
    sizes["raw_data_tb"] = raw_tb
    sizes["tokenised_data_tb"] = tok_tb
    return sizes


def simulate_program(
    spec: PlanSpec,
    trials: int = 2000,
    seed: int = 0,
    *,
    month_block_bytes: int = MONTH_BLOCK_BYTES,
    spans: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
    earliest: dict[str, float] | None = None,
) -> ProgramResult:
    """Simulate a whole program (see the module docstring); deterministic per seed.

    ``month_block_bytes`` bounds the block of months cut at a time (``_stream_months``); it changes
    the memory taken, never a number: the same seed gives the same result whatever it is.

    ``spans`` (stage key → start, finish days per trial) replace those stages' simulated dates —
    a re-forecast (``forecast``) conditions them on what was observed; every stage after them, the
    pools and the people follow as they would any simulated stage. ``earliest`` (stage key → day)
    holds back a stage reported not started. The random draws stay those of ``seed``, so trial
    ``i`` is the same world with and without them.
    """
    rng = np.random.default_rng(seed)
    pool_rng = np.random.default_rng(seed + 2)  # delivery of pools other than the main one
    b = _Builder(spec, rng, trials, spans=dict(spans or {}), earliest=dict(earliest or {}))
    main_span = b.spans.pop("main", None)
    n = trials
    team = spec.team or default_team(spec)
    team_is_default = not spec.team
    main_est: Estimate | None = None
    goodput: GoodputResult | None = None
    main_pool = spec.cluster
    main_i = spec.clusters.index(main_pool)
    strategy = spec.strategy
    data_cost = sum(d.cost for d in spec.data)
    last_build = ""
    data_stages: dict[str, tuple[str, ...]] = {}

    if strategy in ("from_scratch", "cpt"):
        assert spec.model is not None
        main_est = _train(
            spec.model,
            spec.tokens,
            spec.precision,
            ClusterSpec(main_pool.gpu, main_pool.gpu_count).validate(),
            spec.global_batch_tokens,
            spec.throughput_factor,
        )
        goodput = _run_goodput(spec, main_est, n, seed + 1)
    # Each pool's window starts at its entered date plus the provider's delay in this trial; an
    # open pool (no months) is delivered late only when it carries a main run, as before.
    window_start: list[np.ndarray] = []
    for i, pool in enumerate(spec.clusters):
        entered = spec.day(pool.start_date) or 0.0
        if i == main_i and goodput is not None:
            delay = goodput.start_delay_days[:n]
        elif pool.months is not None:
            delay = _delivery_delay(pool, pool_rng, n)
        else:
            delay = b.zeros()
        if i == main_i and main_span is not None:
            # The pool was there when the main run was observed to start.
            delay = np.minimum(entered + delay, main_span[0]) - entered
        window_start.append(entered + delay)

    def pool_of(purpose: str) -> tuple[int, ClusterPlan]:
        pool = spec.pool(purpose) or main_pool
        return spec.clusters.index(pool), pool

    if strategy in ("from_scratch", "cpt"):
        assert spec.model is not None and main_est is not None and goodput is not None
        model = spec.model
        gpu = main_pool.gpu
        data_stage = ("pretrain",) if strategy == "from_scratch" else ("cpt",)
        data_stages["data"] = tuple(s for s in ("pretrain", "cpt", "rag"))
        b.add(
            "data",
            T("Data preparation") if strategy == "from_scratch" else T("Data mix build"),
            "data",
            (),
            b.lognormal(_data_prep_days(spec, data_stage), 0.35),
            costs={
                "data": np.full(n, sum(d.cost for d in spec.data if d.stage not in ("sft", "rlhf")))
            },
            not_before=_ready_day(spec, data_stages["data"]),
        )
        # OneMoreAI 2023: burn the infrastructure in before the first real run, longer on larger
        # clusters.
        burn_days = 7.0 + 2.0 * math.log2(max(1.0, main_pool.gpu_count / 64))
        b.add(
            "burn_in",
            T("Infrastructure burn-in"),
            "engineering",
            (),
            b.lognormal(burn_days, 0.3),
            not_before=window_start[main_i],
            gpu_type=gpu.name,
            gpu_count=main_pool.gpu_count,
            pool=main_i,
        )
        exp_i, exp_pool = pool_of("experiments")
        prev = "burn_in" if exp_i == main_i else ""
        rungs: list[str] = []
        for i, size in enumerate(spec.ladder if strategy == "from_scratch" else ()):
            small = infer_from_params(size, seq_len=model.seq_len, vocab=model.vocab)
            # Chinchilla tokens (20 per parameter), never more than the main run's; three days of
            # analysis per step; the GPUs the rung needs to fit, within its pool.
            tokens = min(20.0 * size, spec.tokens)
            wanted = exp_pool.gpu_count * math.sqrt(size / model.total_params())
            count, est = _fitting_run(spec, exp_pool, small, tokens, wanted)
            days = b.lognormal(est.wall_clock_days + 3.0, 0.25)
            key = f"ladder_{i + 1}"
            b.add(
                key,
                T("Scaling ladder: %(size)s", size=f"{size / 1e9:.3g}B"),
                "algorithm",
                (prev,) if prev else (),
                days,
                gpu_hours=days * 24.0 * count,
                # On the pool once it is there, and on the data once it has arrived.
                not_before=np.maximum(window_start[exp_i], _ready_day(spec, data_stage)),
                gpu_type=exp_pool.gpu.name,
                gpu_count=count,
                note=T(
                    "%(tokens)s tokens on 1 GPU, MFU %(mfu)s",
                    tokens=quantity(tokens),
                    mfu=percent(est.layout.mfu),
                )
                if count == 1
                else T(
                    "%(tokens)s tokens on %(gpus)s GPUs, MFU %(mfu)s",
                    tokens=quantity(tokens),
                    gpus=str(count),
                    mfu=percent(est.layout.mfu),
                ),
                shortfall_gib=est.shortfall_gib,
                pool=exp_i,
            )
            prev = key
            rungs.append(key)
        before_main = ("data", "burn_in", *rungs[-1:])
        wall_h = goodput.wall_hours.reshape(spec.full_runs, n).sum(axis=0)
        runs = str(spec.full_runs)
        if strategy == "from_scratch":
            main_name = (
                T("Main pretraining × %(runs)s runs", runs=runs)
                if spec.full_runs > 1
                else T("Main pretraining")
            )
        else:
            main_name = (
                T("Continued pretraining × %(runs)s runs", runs=runs)
                if spec.full_runs > 1
                else T("Continued pretraining")
            )
        main_start = main_finish = None
        if main_span is not None:
            main_start, main_finish = main_span
            wall_h = (main_finish - main_start) * 24.0
        b.add(
            "main",
            main_name,
            "engineering",
            before_main,
            wall_h / 24.0,
            start_days=main_start,
            finish_days=main_finish,
            gpu_hours=wall_h * main_pool.gpu_count,
            gpu_type=gpu.name,
            gpu_count=main_pool.gpu_count,
            note=T(
                "%(layout)s, MFU %(mfu)s",
                layout=main_est.layout.layout.describe(),
                mfu=percent(main_est.layout.mfu),
            ),
            shortfall_gib=main_est.shortfall_gib,
            pool=main_i,
        )
        last_build = "main"

    if strategy in ("from_scratch", "cpt", "sft"):
        assert spec.model is not None
        sft = spec.sft
        samples = sft["samples"]
        # Instruction data carries the SFT datasets (all of them for an SFT-only plan) and, without
        # a preference stage, the RLHF ones too.
        sft_stages = ("sft",) + (("rlhf",) if spec.rlhf_method == "none" else ())
        if strategy == "sft":
            sft_stages += ("pretrain", "cpt", "rag")
        data_stages["sft_data"] = sft_stages
        sft_data_cost = sum(d.cost for d in spec.data if d.stage in sft_stages)
        b.add(
            "sft_data",
            T("Instruction data"),
            "data",
            (),
            b.lognormal(14.0 + samples / 5000.0, 0.3),
            costs={"data": np.full(n, samples * sft["cost_per_sample"] + sft_data_cost)},
            not_before=_ready_day(spec, sft_stages),
        )
        ft_i, ft_pool = pool_of("finetune")
        if ft_i == main_i and strategy != "sft":
            sft_gpus = _small_cluster_count(ft_pool, sft["gpu_count"])
        elif ft_pool.months is None:
            sft_gpus = int(sft["gpu_count"])  # an open pool: paid per use, any size
        else:
            # A booked pool: the job uses at most the GPUs booked (all of them when it is the
            # plan's own pool: a what-if on the pool's size changes the job's).
            wanted = ft_pool.gpu_count if ft_i == main_i else sft["gpu_count"]
            sft_gpus = int(min(wanted, ft_pool.gpu_count))
        sft_cluster = ClusterSpec(ft_pool.gpu, sft_gpus).validate()
        tokens = samples * sft["tokens_per_sample"] * sft["epochs"]
        sft_model = replace(spec.model, seq_len=min(spec.model.seq_len, 4096))
        est = _train(sft_model, tokens, spec.precision, sft_cluster, 2**19, spec.throughput_factor)
        sft_runs = sft["runs"]
        # A day of evaluation between runs.
        days = b.lognormal(sft_runs * (est.wall_clock_days + 1.0), 0.3)
        deps = ("sft_data", last_build) if last_build else ("sft_data",)
        b.add(
            "sft",
            T("SFT (1 run)")
            if int(sft_runs) == 1
            else T("SFT (%(runs)s runs)", runs=str(int(sft_runs))),
            "algorithm",
            deps,
            days,
            gpu_hours=days * 24.0 * sft_gpus,
            not_before=window_start[ft_i],
            gpu_type=ft_pool.gpu.name,
            gpu_count=sft_gpus,
            note=T("%(tokens)s tokens per run", tokens=quantity(tokens))
            if sft_runs > 1
            else T("%(tokens)s tokens", tokens=quantity(tokens)),
            shortfall_gib=est.shortfall_gib,
            pool=ft_i,
        )
        last_build = "sft"
        if spec.rlhf_method != "none":
            pairs = spec.rlhf_pairs
            data_stages["pref_data"] = ("rlhf",)
            b.add(
                "pref_data",
                T("Preference data"),
                "data",
                ("sft_data",),
                b.lognormal(14.0 + pairs / 5000.0, 0.3),
                costs={"data": np.full(n, sum(d.cost for d in spec.data if d.stage == "rlhf"))},
                not_before=_ready_day(spec, ("rlhf",)),
            )
            if spec.rlhf_method == "ppo":
                # Four models resident, generation, experience and training passes (``rlhf``).
                ppo = _ppo_plan(spec, ft_pool, sft_model, sft_gpus, est.layout.mfu)
                rl_gpus, rl_ideal_days = ppo.config.gpu_count, ppo.wall_clock_days
                rl_shortfall = ppo.memory.shortfall_gib
                rl_note: Text | None = T(
                    "actor, critic, reference and reward model: %(gib)s GiB per GPU on %(gpus)s "
                    "GPUs; %(iterations)s iterations of %(batch)s prompts, %(share)s of each "
                    "generating",
                    gib=f"{ppo.memory.total_gib:.0f}",
                    gpus=str(rl_gpus),
                    iterations=f"{ppo.iterations:,}",
                    batch=str(ppo.config.batch),
                    share=percent(ppo.generation_share),
                )
            else:
                # DPO runs policy and reference over chosen and rejected answers, two epochs
                # (≈ 2.7× the SFT compute per pair), memory checked as one model trained.
                rl_tokens = pairs * sft["tokens_per_sample"] * 2.7
                est_rl = _train(
                    sft_model, rl_tokens, spec.precision, sft_cluster, 2**19, spec.throughput_factor
                )
                rl_gpus, rl_ideal_days = sft_gpus, est_rl.wall_clock_days
                rl_shortfall, rl_note = est_rl.shortfall_gib, None
            rl_days = b.lognormal(rl_ideal_days * 2 + 5.0, 0.35)  # two attempts + tuning
            b.add(
                "rlhf",
                T("RLHF (PPO)") if spec.rlhf_method == "ppo" else T("Preference tuning (DPO)"),
                "algorithm",
                ("sft", "pref_data"),
                rl_days,
                gpu_hours=rl_days * 24.0 * rl_gpus,
                gpu_type=ft_pool.gpu.name,
                gpu_count=rl_gpus,
                note=rl_note,
                shortfall_gib=rl_shortfall,
                pool=ft_i,
            )
            last_build = "rlhf"

    all_data = ("pretrain", "cpt", "sft", "rlhf", "rag")
    if strategy == "rag":
        rag = spec.rag
        corpus = rag["corpus_tokens"]
        data_stages["ingest"] = all_data
        b.add(
            "ingest",
            T("Corpus ingest and embedding"),
            "data",
            (),
            b.lognormal(7.0 + 7.0 * corpus / 5e9, 0.3),
            costs={
                "inference": np.full(n, corpus / 1e6 * rag["embedding_price_per_million_tokens"]),
                "data": np.full(n, data_cost),
            },
            not_before=_ready_day(spec, all_data),
        )
        b.add("index", T("Vector index"), "engineering", ("ingest",), b.lognormal(5.0, 0.3))
        b.add(
            "retrieval_eval",
            T("Retrieval evaluation"),
            "algorithm",
            ("index",),
            b.lognormal(14.0, 0.3),
        )
        last_build = "retrieval_eval"
    if strategy == "icl":
        data_stages["prompts"] = all_data
        b.add(
            "prompts",
            T("Prompt library"),
            "algorithm",
            (),
            b.lognormal(14.0, 0.3),
            costs={"data": np.full(n, data_cost)},
            not_before=_ready_day(spec, all_data),
        )
        last_build = "prompts"

    b.add("eval", T("Evaluation"), "algorithm", (last_build,), b.lognormal(14.0, 0.3))
    if strategy in ("from_scratch", "cpt", "sft"):
        b.add("release", T("Release"), "engineering", ("eval",), b.lognormal(7.0, 0.3))
        build_end = "release"
    else:
        build_end = "eval"

    if spec.serving:
        sv = spec.serving
        days = np.full(n, sv["months"] * DAYS_PER_MONTH)
        serving_pool = spec.pool("serving")
        costs: dict[str, np.ndarray] = {}
        inference = b.zeros()
        if serving_pool is None and sv["gpus"]:
            inference = days * 24.0 * _hourly_rate(spec, int(sv["gpus"]))
        elif serving_pool is None:
            tokens_per_day = sv["requests_per_day"] * sv["tokens_per_request"]
            inference = days * tokens_per_day / 1e6 * sv["price_per_million_tokens"]
        if spec.rag:
            inference = inference + spec.rag["vector_db_monthly"] * sv["months"]
        if inference.any():
            costs["inference"] = inference
        sv_i = spec.clusters.index(serving_pool) if serving_pool is not None else None
        b.add(
            "serving",
            T("Serving"),
            "operations",
            (build_end,),
            days,
            costs=costs,
            not_before=window_start[sv_i] if sv_i is not None else None,
            gpu_type=serving_pool.gpu.name if serving_pool is not None else "",
            gpu_count=serving_pool.gpu_count if serving_pool is not None else int(sv["gpus"]),
            pool=sv_i,
        )

    pools = _bill_pools(b, spec, window_start)
    build_finish = b.stages[build_end].finish_days
    _bill_people(b, spec, team, build_finish)
    storage_tb = _bill_storage(b, spec, build_finish, data_stages)

    horizon = max(
        max(float(s.finish_days.max()) for s in b.stages.values()),
        max((float(ch.finish.max()) for ch in b.charges), default=0.0),
    )
    edges, lengths, labels = TimeAxis(spec.start_date).months(horizon)
    summary, by_cat = _stream_months(b, edges, lengths, month_block_bytes)
    stages = tuple(b.stages.values())
    gpu_hours = sum((s.gpu_hours for s in stages), np.zeros(n))
    return ProgramResult(
        spec=spec,
        trials=n,
        seed=seed,
        team=team,
        team_is_default=team_is_default,
        stages=stages,
        main_run=main_est,
        goodput=goodput,
        # The program is done when it goes live; serving is an operating cost that runs on after.
        finish_days=build_finish,
        cost_by_category=by_cat,
        monthly_summary=summary,
        gpu_hours=gpu_hours,
        month_labels=tuple(labels),
        month_edges=edges,
        pools=pools,
        storage_tb=storage_tb,
        charges=tuple(b.charges),
        month_lengths=lengths,
    )
