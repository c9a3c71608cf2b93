"""The whole program, simulated: stages per strategy, their durations, GPU-hours and costs, drawn
per Monte Carlo trial; monthly spend by category; the main run's reliability from ``reliability``.

Durations of non-compute stages are lognormal around planning medians (stated where they are set);
compute stages take their time from core I (layout search → step time) and, for the main run, from
the goodput Monte Carlo. Every array here has one entry per trial and is deterministic per seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from .architecture import ModelSpec, infer_from_params
from .config import PlanConfig, checkpoint_bytes_for, round_batch
from .cost import compute_cost
from .estimate import Estimate, estimate
from .planspec import DEFAULT_MONTHLY_CNY, PlanSpec, TeamLine
from .reliability import GoodputResult, GoodputSpec, simulate_goodput
from .search import LayoutConstraints
from .specs import ClusterSpec, TrainingSpec

CATEGORIES = ("gpu_compute", "storage", "people", "data", "inference", "contingency")
DAYS_PER_MONTH = 365.25 / 12
STREAMS = ("data", "algorithm", "engineering", "operations")
# Who works on a stage, by stream (seed 000/004 roles).
STREAM_ROLES = {
    "data": ("data_engineer", "legal"),
    "algorithm": ("algorithm_researcher",),
    "engineering": ("distributed_training_engineer", "run_watcher"),
    "operations": ("backend", "frontend", "product_manager"),
}
# Storage list prices, 2024 (parallel file system / object store), per TB-month.
STORAGE_USD_PER_TB_MONTH = 20.0
CHECKPOINTS_KEPT = 5


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


@dataclass
class _Builder:
    """Accumulates stages in dependency order for one plan and one set of trials."""

    spec: PlanSpec
    rng: np.random.Generator
    trials: int
    stages: dict[str, Stage] = field(default_factory=dict)

    def zeros(self) -> np.ndarray:
        return np.zeros(self.trials)

    def lognormal(self, median_days: float, sigma: float) -> np.ndarray:
        return self.rng.lognormal(math.log(max(median_days, 1e-3)), sigma, self.trials)

    def add(
        self,
        key: str,
        name: str,
        stream: str,
        depends_on: tuple[str, ...],
        duration_days: np.ndarray,
        *,
        gpu_hours: np.ndarray | None = None,
        costs: dict[str, np.ndarray] | None = None,
        delay_days: np.ndarray | None = None,
        start_days: np.ndarray | None = None,
        gpu_type: str = "",
        gpu_count: int = 0,
        note: str = "",
        shortfall_gib: float = 0.0,
    ) -> Stage:
        start = self.zeros()
        for dep in depends_on:
            start = np.maximum(start, self.stages[dep].finish_days)
        if delay_days is not None:
            start = start + delay_days
        if start_days is not None:
            start = start_days
        stage = Stage(
            key=key,
            name=name,
            stream=stream,
            depends_on=depends_on,
            start_days=start,
            finish_days=start + duration_days,
            gpu_hours=self.zeros() if gpu_hours is None else gpu_hours,
            costs={c: (costs or {}).get(c, self.zeros()) for c in CATEGORIES},
            gpu_type=gpu_type,
            gpu_count=gpu_count,
            note=note,
            shortfall_gib=shortfall_gib,
        )
        self.stages[key] = stage
        return stage


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
    monthly: np.ndarray  # trials × months × categories
    gpu_hours: np.ndarray

    @property
    def total_cost(self) -> np.ndarray:
        return sum((self.cost_by_category[c] for c in CATEGORIES), np.zeros(self.trials))


def default_team(spec: PlanSpec) -> tuple[TeamLine, ...]:
    """Roles after BigScience (seed 000/004): lean, ≤ 10 algorithm people, 4–5 distributed-training
    engineers for a from-scratch run, a run watcher, a little legal."""
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


def _train(
    model: ModelSpec, tokens: float, precision: str, gpu_type_spec: ClusterSpec, batch_tokens: float
) -> Estimate:
    training = TrainingSpec(
        tokens=tokens,
        global_batch_seqs=round_batch(batch_tokens / model.seq_len),
        seq_len=model.seq_len,
        precision=precision,
    )
    from .cost import CostInputs

    return estimate(PlanConfig(model, training, gpu_type_spec, LayoutConstraints(), CostInputs()))


def _hourly_rate(spec: PlanSpec, gpu_count: int) -> float:
    """Money per wall-clock hour of ``gpu_count`` GPUs of the plan's cluster (rent or buy)."""
    return float(compute_cost(spec.cluster.gpu, gpu_count, 1.0, spec.cluster.cost).total)


def _storage_per_tb_month(spec: PlanSpec) -> float:
    return STORAGE_USD_PER_TB_MONTH * (spec.usd_to_cny if spec.currency == "CNY" else 1.0)


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


def _main_cluster(spec: PlanSpec) -> ClusterSpec:
    return ClusterSpec(gpu=spec.cluster.gpu, gpu_count=spec.cluster.gpu_count).validate()


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
            trials=trials * spec.full_runs,
            seed=seed,
        )
    )


def _small_cluster_count(spec: PlanSpec, wanted: float) -> int:
    """GPUs for an auxiliary job: a power of two, whole servers above one, ≤ the main cluster."""
    per_server = spec.cluster.gpu.gpus_per_server
    count = int(2 ** max(0, round(math.log2(max(1.0, wanted)))))
    count = min(count, spec.cluster.gpu_count)
    if count > per_server:
        count -= count % per_server
    return max(1, count)


def _fitting_run(
    spec: PlanSpec, model: ModelSpec, tokens: float, wanted: float
) -> tuple[int, Estimate]:
    """An auxiliary training job on about ``wanted`` GPUs, doubled until it fits (≤ the cluster)."""
    count = _small_cluster_count(spec, max(wanted, spec.cluster.gpu.gpus_per_server))
    while True:
        est = _train(
            model,
            tokens,
            spec.precision,
            ClusterSpec(spec.cluster.gpu, count).validate(),
            spec.global_batch_tokens,
        )
        if est.fits or count >= spec.cluster.gpu_count:
            return count, est
        count = _small_cluster_count(spec, count * 2)


def simulate_program(spec: PlanSpec, trials: int = 2000, seed: int = 0) -> ProgramResult:
    """Simulate a whole program (see the module docstring); deterministic per seed."""
    rng = np.random.default_rng(seed)
    b = _Builder(spec, rng, trials)
    n = trials
    team = spec.team or default_team(spec)
    team_is_default = not spec.team
    main_est: Estimate | None = None
    goodput: GoodputResult | None = None
    rate_main = _hourly_rate(spec, spec.cluster.gpu_count)
    gpu = spec.cluster.gpu
    strategy = spec.strategy
    data_cost = sum(d.cost for d in spec.data)
    last_build = ""

    if strategy in ("from_scratch", "cpt"):
        assert spec.model is not None
        model = spec.model
        data_stage = ("pretrain",) if strategy == "from_scratch" else ("cpt",)
        b.add(
            "data",
            "Data preparation" if strategy == "from_scratch" else "Data mix build",
            "data",
            (),
            b.lognormal(_data_prep_days(spec, data_stage), 0.35),
            costs={
                "data": np.full(n, sum(d.cost for d in spec.data if d.stage not in ("sft", "rlhf")))
            },
        )
        main_est = _train(
            model, spec.tokens, spec.precision, _main_cluster(spec), spec.global_batch_tokens
        )
        goodput = _run_goodput(spec, main_est, n, seed + 1)
        # Seed 000: burn the infrastructure in before the first real run, longer on larger clusters.
        burn_days = 7.0 + 2.0 * math.log2(max(1.0, spec.cluster.gpu_count / 64))
        b.add(
            "burn_in",
            "Infrastructure burn-in",
            "engineering",
            (),
            b.lognormal(burn_days, 0.3),
            delay_days=goodput.start_delay_days[:n],
            gpu_type=gpu.name,
            gpu_count=spec.cluster.gpu_count,
        )
        before_main: tuple[str, ...] = ("data", "burn_in")
        prev = "burn_in"
        for i, size in enumerate(spec.ladder if strategy == "from_scratch" else ()):
            small = infer_from_params(size, seq_len=model.seq_len, vocab=model.vocab)
            # Chinchilla tokens (20 per parameter), never more than the main run's; three days of
            # analysis per step; the GPUs the rung needs to fit, within the reserved cluster.
            tokens = min(20.0 * size, spec.tokens)
            wanted = spec.cluster.gpu_count * math.sqrt(size / model.total_params())
            count, est = _fitting_run(spec, small, tokens, wanted)
            days = b.lognormal(est.wall_clock_days + 3.0, 0.25)
            key = f"ladder_{i + 1}"
            b.add(
                key,
                f"Scaling ladder: {size / 1e9:.3g}B",
                "algorithm",
                (prev,),
                days,
                gpu_hours=days * 24.0 * count,
                gpu_type=gpu.name,
                gpu_count=count,
                note=f"{tokens / 1e9:.0f}B tokens on {count} GPUs, MFU {est.layout.mfu:.0%}",
                shortfall_gib=est.shortfall_gib,
            )
            prev = key
        if prev != "burn_in":
            before_main = ("data", prev)
        wall_h = goodput.wall_hours.reshape(spec.full_runs, n).sum(axis=0)
        main_name = "Main pretraining" if strategy == "from_scratch" else "Continued pretraining"
        runs = f" × {spec.full_runs} runs" if spec.full_runs > 1 else ""
        b.add(
            "main",
            main_name + runs,
            "engineering",
            before_main,
            wall_h / 24.0,
            gpu_hours=wall_h * spec.cluster.gpu_count,
            gpu_type=gpu.name,
            gpu_count=spec.cluster.gpu_count,
            note=f"{main_est.layout.layout.describe()}, MFU {main_est.layout.mfu:.0%}",
            shortfall_gib=main_est.shortfall_gib,
        )
        # The reserved cluster is paid from its delivery to the end of the main run, idle or not
        # (seed 000: rented GPUs idle during small experiments are a real cost) — month by month.
        delivered = b.stages["burn_in"].start_days
        reserved_days = b.stages["main"].finish_days - delivered
        b.add(
            "cluster",
            f"Cluster reserved: {spec.cluster.gpu_count} × {gpu.name}",
            "operations",
            (),
            reserved_days,
            start_days=delivered,
            costs={"gpu_compute": reserved_days * 24.0 * rate_main},
            gpu_type=gpu.name,
            gpu_count=spec.cluster.gpu_count,
            note="paid from delivery to the end of the main run, idle time included",
        )
        ckpt_tb = checkpoint_bytes_for(float(model.total_params()), spec.precision) / 1e12
        b.stages["main"].costs["storage"][:] = (
            CHECKPOINTS_KEPT
            * ckpt_tb
            * _storage_per_tb_month(spec)
            * (wall_h / 24.0)
            / DAYS_PER_MONTH
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
        sft_data_cost = sum(d.cost for d in spec.data if d.stage in sft_stages)
        b.add(
            "sft_data",
            "Instruction data",
            "data",
            (),
            b.lognormal(14.0 + samples / 5000.0, 0.3),
            costs={"data": np.full(n, samples * sft["cost_per_sample"] + sft_data_cost)},
        )
        sft_gpus = (
            _small_cluster_count(spec, sft["gpu_count"])
            if strategy != "sft"
            else int(sft["gpu_count"])
        )
        sft_cluster = ClusterSpec(gpu, sft_gpus).validate()
        tokens = samples * sft["tokens_per_sample"] * sft["epochs"]
        sft_model = replace(spec.model, seq_len=min(spec.model.seq_len, 4096))
        est = _train(sft_model, tokens, spec.precision, sft_cluster, 2**19)
        sft_runs = sft["runs"]
        sft_short = est.shortfall_gib
        # A day of evaluation between runs.
        days = b.lognormal(sft_runs * (est.wall_clock_days + 1.0), 0.3)
        deps = ("sft_data", last_build) if last_build else ("sft_data",)
        b.add(
            "sft",
            f"SFT ({int(sft_runs)} runs)",
            "algorithm",
            deps,
            days,
            gpu_hours=days * 24.0 * sft_gpus,
            costs={"gpu_compute": days * 24.0 * _hourly_rate(spec, sft_gpus)},
            gpu_type=gpu.name,
            gpu_count=sft_gpus,
            note=f"{tokens / 1e9:.2g}B tokens per run",
            shortfall_gib=sft_short,
        )
        last_build = "sft"
        if spec.rlhf_method != "none":
            pairs = spec.rlhf_pairs
            b.add(
                "pref_data",
                "Preference data",
                "data",
                ("sft_data",),
                b.lognormal(14.0 + pairs / 5000.0, 0.3),
                costs={"data": np.full(n, sum(d.cost for d in spec.data if d.stage == "rlhf"))},
            )
            # DPO runs policy and reference over chosen and rejected answers, two epochs (≈ 2.7× the
            # SFT compute per pair); PPO adds generation and a reward model — a planning 4× that.
            factor = 2.7 * (4.0 if spec.rlhf_method == "ppo" else 1.0)
            rl_tokens = pairs * sft["tokens_per_sample"] * factor
            est_rl = _train(sft_model, rl_tokens, spec.precision, sft_cluster, 2**19)
            rl_days = b.lognormal(est_rl.wall_clock_days * 2 + 5.0, 0.35)  # two attempts + tuning
            b.add(
                "rlhf",
                "RLHF (PPO)" if spec.rlhf_method == "ppo" else "Preference tuning (DPO)",
                "algorithm",
                ("sft", "pref_data"),
                rl_days,
                gpu_hours=rl_days * 24.0 * sft_gpus,
                costs={"gpu_compute": rl_days * 24.0 * _hourly_rate(spec, sft_gpus)},
                gpu_type=gpu.name,
                gpu_count=sft_gpus,
                shortfall_gib=est_rl.shortfall_gib,
            )
            last_build = "rlhf"

    if strategy == "rag":
        rag = spec.rag
        corpus = rag["corpus_tokens"]
        b.add(
            "ingest",
            "Corpus ingest and embedding",
            "data",
            (),
            b.lognormal(7.0 + 7.0 * corpus / 5e9, 0.3),
            costs={
                "inference": np.full(n, corpus / 1e6 * rag["embedding_price_per_million_tokens"]),
                "data": np.full(n, data_cost),
            },
        )
        b.add("index", "Vector index", "engineering", ("ingest",), b.lognormal(5.0, 0.3))
        b.add(
            "retrieval_eval",
            "Retrieval evaluation",
            "algorithm",
            ("index",),
            b.lognormal(14.0, 0.3),
        )
        last_build = "retrieval_eval"
    if strategy == "icl":
        b.add(
            "prompts",
            "Prompt library",
            "algorithm",
            (),
            b.lognormal(14.0, 0.3),
            costs={"data": np.full(n, data_cost)},
        )
        last_build = "prompts"

    b.add("eval", "Evaluation", "algorithm", (last_build,), b.lognormal(14.0, 0.3))
    if strategy in ("from_scratch", "cpt", "sft"):
        b.add("release", "Release", "engineering", ("eval",), b.lognormal(7.0, 0.3))
        build_end = "release"
    else:
        build_end = "eval"

    if spec.serving:
        sv = spec.serving
        days = np.full(n, sv["months"] * DAYS_PER_MONTH)
        if sv["gpus"]:
            inference = days * 24.0 * _hourly_rate(spec, int(sv["gpus"]))
        else:
            tokens_per_day = sv["requests_per_day"] * sv["tokens_per_request"]
            inference = days * tokens_per_day / 1e6 * sv["price_per_million_tokens"]
        if spec.rag:
            inference = inference + spec.rag["vector_db_monthly"] * sv["months"]
        b.add(
            "serving",
            "Serving",
            "operations",
            (build_end,),
            days,
            costs={"inference": inference},
            gpu_count=int(sv["gpus"]),
        )

    build_finish = b.stages[build_end].finish_days
    monthly_people = sum(t.headcount * t.monthly_cost * t.allocation for t in team)
    people = monthly_people * build_finish / DAYS_PER_MONTH
    b.add("team", "Team", "operations", (), build_finish, costs={"people": people})

    stages = tuple(b.stages.values())
    months = max(
        1, int(math.ceil(max(float(s.finish_days.max()) for s in stages) / DAYS_PER_MONTH))
    )
    monthly = np.zeros((n, months, len(CATEGORIES)))
    edges = np.arange(months + 1) * DAYS_PER_MONTH
    for s in stages:
        length = np.maximum(s.finish_days - s.start_days, 1e-9)
        overlap = np.clip(
            np.minimum(s.finish_days[:, None], edges[None, 1:])
            - np.maximum(s.start_days[:, None], edges[None, :-1]),
            0.0,
            None,
        )
        share = overlap / length[:, None]
        zero_length = (s.finish_days - s.start_days) <= 1e-9
        if zero_length.any():  # a one-off cost on a zero-length stage lands in its month
            idx = np.minimum((s.start_days[zero_length] // DAYS_PER_MONTH).astype(int), months - 1)
            share[zero_length] = 0.0
            share[zero_length, idx] = 1.0
        for c, cat in enumerate(CATEGORIES):
            if s.costs[cat].any():
                monthly[:, :, c] += share * s.costs[cat][:, None]
    c_idx = CATEGORIES.index("contingency")
    monthly[:, :, c_idx] = spec.contingency * monthly.sum(axis=2)
    by_cat = {cat: monthly[:, :, c].sum(axis=1) for c, cat in enumerate(CATEGORIES)}
    # The program is done when it goes live; serving is an operating cost that runs on after it.
    finish = build_finish
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
        finish_days=finish,
        cost_by_category=by_cat,
        monthly=monthly,
        gpu_hours=gpu_hours,
    )
