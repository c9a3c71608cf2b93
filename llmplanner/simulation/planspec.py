"""The whole-program plan — strategy, model, clusters, team, data inventory — parsed and checked.

The JSON format (every section optional but ``strategy``; see ``examples/plan-*.json``)::

    {"name": "7B domain model", "strategy": "from_scratch" | "cpt" | "sft" | "rag" | "icl",
     "start_date": "2027-01-04", "deadline_days": 365, "budget_cap": 3e7, "currency": "CNY",
     "usd_to_cny": 7.2, "contingency": 0.1,
     "model": {...}, "training": {"tokens": 2e12, "precision": "bf16", ...},
     "clusters": [{"purpose": "main", "gpu_type": "H100", "gpu_count": 512, "mode": "rent",
                   "price_per_gpu_hour": 16, "start_date": "2027-03-01", "months": 4,
                   "reliability_class": "standard", "provider_class": "standard",
                   "checkpoint_storage_gbps": 20, "checkpoint": "sync", "name": "Provider X"}],
     -- or the older single pool, "cluster": {...the same fields but purpose/dates...}, which is a
        main pool from the program start, paid from delivery to the end of the main run;
     "ladder": [1e9, 8e9], "full_runs": 1,
     "sft": {"samples": 100000, "tokens_per_sample": 1000, "epochs": 3, "gpu_count": 8, "runs": 3},
     "rlhf": {"method": "dpo" | "ppo" | "none", "preference_pairs": 50000},
     "serving": {"requests_per_day": 1e4, "tokens_per_request": 2000, "months": 12,
                 "price_per_million_tokens": 14.0},
     "rag": {"corpus_tokens": 5e9, "embedding_price_per_million_tokens": 0.7,
             "vector_db_monthly": 3000},
     "storage": {"price_per_tb_month": 140, "archive_price_per_tb_month": 23, "keep_last": 3},
     "team": [{"role": "algorithm_researcher", "headcount": 4, "monthly_cost": 39607,
               "allocation": 1.0, "start_date": "2027-02-01", "end_date": "2027-09-30"}],
     "calibration": {"source": "published" | "organization", "throughput_factor": 0.85,
                     "failure_factor": 1.4, "runs": 3},  -- ``own_calibration``; default 1, 1
     "data": [{"name": "CommonCrawl-zh", "tokens": 1e12, "language": "zh", "kind": "general",
               "source": "web", "licence": "cleared", "quality": "medium",
               "cleaning": "deduplicated", "cost": 0, "stage": "pretrain",
               "ready_date": "2027-02-15"}]}

Dates: a plan without ``start_date`` whose lines carry dates starts on the earliest of them. Pool
purposes: ``main`` (burn-in and the main run), ``experiments`` (the scaling ladder; the main pool
without one), ``finetune`` (SFT and preference tuning; the main pool without one), ``serving``
(serving; per-token prices without one), ``other`` (paid, used by no stage). Among pools of one
purpose a stage uses the one with the most GPUs. A pool with ``months`` is paid for its whole
window; one without is paid from delivery to the end of the main run it carries (or per use).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .architecture import ModelSpec
from .config import parse_model
from .cost import CostInputs
from .errors import ValidationError, require_positive
from .hardware import GPUSpec, gpu_by_name
from .reliability import (
    CHECKPOINT_CLASSES,
    CHECKPOINT_STRATEGIES,
    PROVIDER_CLASSES,
    RELIABILITY_CLASSES,
)
from .specs import normalise_precision

STRATEGIES = ("from_scratch", "cpt", "sft", "rag", "icl")
ROLES = (
    "data_engineer",
    "legal",
    "algorithm_researcher",
    "distributed_training_engineer",
    "run_watcher",
    "frontend",
    "backend",
    "product_manager",
)
# Monthly salaries in China, seed 004 (AI operations 18,457; AI engineer 37,336; LLM algorithm
# 39,607 CNY); other roles estimated against those.
DEFAULT_MONTHLY_CNY = {
    "data_engineer": 37_336,
    "legal": 30_000,
    "algorithm_researcher": 39_607,
    "distributed_training_engineer": 39_607,
    "run_watcher": 37_336,
    "frontend": 30_000,
    "backend": 33_000,
    "product_manager": 35_000,
}
SOURCES = ("web", "books", "papers", "code", "qa", "instructions", "preference", "other")
LICENCES = ("cleared", "unknown", "restricted")
DATA_STAGES = ("pretrain", "cpt", "sft", "rlhf", "rag")


POOL_PURPOSES = ("main", "experiments", "finetune", "serving", "other")
# Dates a plan may use: a program, its lines and their months stay within this century.
FIRST_DATE, LAST_DATE = dt.date(2000, 1, 1), dt.date(2099, 12, 31)
MAX_YEARS_AFTER_START = 20
# Storage list prices, 2024, USD per TB-month: a parallel file system for the checkpoints being
# written and the tokenised data being read (AWS FSx for Lustre persistent SSD ≈ $0.14/GB-month),
# an object store for everything archived (AWS S3 Standard ≈ $0.023/GB-month).
STORAGE_HOT_USD_PER_TB_MONTH = 140.0
STORAGE_ARCHIVE_USD_PER_TB_MONTH = 23.0


@dataclass(frozen=True)
class TeamLine:
    role: str
    headcount: float
    monthly_cost: float  # in the plan's currency, per person
    allocation: float = 1.0
    start_date: dt.date | None = None  # paid from this day (the program start without one)
    end_date: dt.date | None = None  # paid to this day, inclusive (the program's end without one)


@dataclass(frozen=True)
class Dataset:
    name: str
    tokens: float
    language: str = "en"
    kind: str = "general"  # general | domain
    source: str = "web"
    licence: str = "unknown"
    quality: str = "medium"
    cleaning: str = "raw"
    cost: float = 0.0  # acquisition or labelling, in the plan's currency
    stage: str = "pretrain"
    ready_date: dt.date | None = None  # the stages that consume it wait for it


@dataclass(frozen=True)
class StoragePolicy:
    """What is kept, for how long, at what price (plan currency per TB-month).

    Checkpoints: the last ``keep_last`` full training states on the fast tier while the main run
    writes them; one full state at each main-run milestone (25/50/75/100% of tokens) and at the end
    of each ladder rung, and the weights of every SFT/preference run, archived until the program
    ends. Datasets: raw text archived from its ready date, tokenised on the fast tier from the end
    of data preparation, both until the program ends.
    """

    price_per_tb_month: float
    archive_price_per_tb_month: float
    keep_last: int = 3


@dataclass(frozen=True)
class ClusterPlan:
    """A pool of GPUs. ``start_date``/``months``: the rental or ownership window as entered (the
    provider's delivery delay is drawn per trial on top); ``months`` None = an open window, paid
    from delivery to the end of the main run it carries."""

    gpu: GPUSpec
    gpu_count: int
    cost: CostInputs
    reliability_class: str = "standard"
    provider_class: str = "standard"
    checkpoint_storage_gbps: float = 20.0
    checkpoint: str = "sync"  # "sync" | "async" (a plan's default: sync)
    purpose: str = "main"
    start_date: dt.date | None = None
    months: float | None = None
    name: str = ""

    def describe(self) -> str:
        return f"{self.gpu_count} × {self.gpu.name}" + (f" ({self.name})" if self.name else "")


@dataclass(frozen=True)
class PlanSpec:
    """A whole program, ready to simulate. Money in ``currency``; times in days from the start."""

    name: str
    strategy: str
    model: ModelSpec | None
    tokens: float  # main training run (pretraining or CPT); 0 when the strategy trains nothing big
    precision: str
    global_batch_tokens: float
    clusters: tuple[ClusterPlan, ...]
    storage: StoragePolicy
    currency: str = "CNY"
    usd_to_cny: float = 7.2
    start_date: dt.date | None = None
    deadline_days: float | None = None
    budget_cap: float | None = None
    contingency: float = 0.10
    ladder: tuple[float, ...] = ()
    full_runs: int = 1
    sft: dict[str, float] = field(default_factory=dict)
    rlhf_method: str = "none"
    rlhf_pairs: float = 0.0
    serving: dict[str, float] = field(default_factory=dict)
    rag: dict[str, float] = field(default_factory=dict)
    team: tuple[TeamLine, ...] = ()
    data: tuple[Dataset, ...] = ()
    # Where the efficiency factors come from: the published runs (1, 1) or the organization's own
    # completed runs (``own_calibration.fit``): training throughput × and interruptions ×.
    throughput_factor: float = 1.0
    failure_factor: float = 1.0
    calibration_source: str = "published"
    calibration_runs: int = 0

    @property
    def cluster(self) -> ClusterPlan:
        """The plan's own pool (``main_pool_index``): what the plan summary and a what-if's GPU
        count and type refer to."""
        return self.clusters[
            main_pool_index(
                self.strategy,
                [c.purpose for c in self.clusters],
                [c.gpu_count for c in self.clusters],
            )
        ]

    def pool(self, purpose: str) -> ClusterPlan | None:
        """The pool a stage of ``purpose`` runs on: the one with the most GPUs (then the first)."""
        return _pick(self.clusters, purpose)

    def day(self, date: dt.date | None) -> float | None:
        """Days from the program start to ``date`` (None without either)."""
        if date is None or self.start_date is None:
            return None
        return float((date - self.start_date).days)

    def headcount(self, role: str) -> float:
        return sum(t.headcount for t in self.team if t.role == role)

    def data_tokens(self, stage: str, kind: str | None = None) -> float:
        return sum(
            d.tokens for d in self.data if d.stage == stage and (kind is None or d.kind == kind)
        )


def _obj(data: Any, name: str) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValidationError(name, "must be an object")
    return data


def _check_keys(data: dict[str, Any], allowed: set[str], prefix: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        where = f"{prefix}.{unknown[0]}" if prefix else unknown[0]
        raise ValidationError(where, f"unknown field; allowed: {', '.join(sorted(allowed))}")


def _num(
    data: dict[str, Any],
    key: str,
    prefix: str,
    default: float,
    *,
    maximum: float = 1e16,
    allow_zero: bool = False,
    integer: bool = False,
) -> float:
    value = data.get(key, default)
    name = f"{prefix}.{key}" if prefix else key
    if allow_zero and value == 0 and not isinstance(value, bool):
        return 0.0
    require_positive(name, value, integer=integer, maximum=maximum)
    return float(value)


def _choice(
    data: dict[str, Any], key: str, prefix: str, default: str, options: tuple[str, ...]
) -> str:
    value = data.get(key, default)
    if value not in options:
        raise ValidationError(
            f"{prefix}.{key}" if prefix else key, f"must be one of {', '.join(options)}"
        )
    return str(value)


TOP_LEVEL = {
    "name",
    "strategy",
    "start_date",
    "deadline_days",
    "deadline",
    "budget_cap",
    "currency",
    "usd_to_cny",
    "contingency",
    "model",
    "training",
    "cluster",
    "ladder",
    "full_runs",
    "sft",
    "rlhf",
    "serving",
    "rag",
    "team",
    "data",
    "clusters",
    "storage",
    "calibration",
}
CALIBRATION_SOURCES = ("published", "organization")
CLUSTER_FIELDS = {
    "gpu_type",
    "gpu_count",
    "mode",
    "price_per_gpu_hour",
    "discount",
    "reliability_class",
    "provider_class",
    "checkpoint_storage_gbps",
    "checkpoint",
    "depreciation_years",
    "pue",
    "power_price_per_kwh",
}
POOL_FIELDS = CLUSTER_FIELDS | {"purpose", "start_date", "months", "name"}
# The pool a strategy's own work runs on, then the others in this order.
OWN_PURPOSE = {
    "from_scratch": "main",
    "cpt": "main",
    "sft": "finetune",
    "rag": "serving",
    "icl": "serving",
}


def main_pool_index(strategy: str, purposes: list[str], gpu_counts: list[int] | None = None) -> int:
    """Index of the plan's own pool among pools of ``purposes``: the first purpose present in
    the strategy's own, main, experiments, finetune, serving, other order; among pools of that
    purpose the one with the most GPUs (``gpu_counts``; then the first)."""
    order = [OWN_PURPOSE.get(strategy, "main"), *POOL_PURPOSES]
    counts = gpu_counts or [0] * len(purposes)
    return min(
        range(len(purposes)),
        key=lambda i: (order.index(purposes[i]) if purposes[i] in order else 99, -counts[i], i),
    )


def _count_of(value: Any) -> int:
    """A GPU count as the core reads it (8 when missing), 0 for anything it would refuse."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return 0
    return int(value)


def plan_main_pool(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan JSON's own pool as a dict (``cluster``, or the entry of ``clusters``), for code
    that reads or changes plan JSON; ``{}`` without either. Mirrors ``PlanSpec.cluster``."""
    single = plan.get("cluster")
    if isinstance(single, dict):
        return single
    pools = plan.get("clusters")
    if not isinstance(pools, list) or not pools or not all(isinstance(p, dict) for p in pools):
        return {}
    index = main_pool_index(
        str(plan.get("strategy", "from_scratch")),
        [str(p.get("purpose", "main")) for p in pools],
        [_count_of(p.get("gpu_count", 8)) for p in pools],
    )
    chosen: dict[str, Any] = pools[index]
    return chosen


def _date_field(data: dict[str, Any], key: str, prefix: str) -> dt.date | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    name = f"{prefix}.{key}" if prefix else key
    try:
        date = dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ValidationError(name, "must be a date like 2027-01-04") from exc
    if not FIRST_DATE <= date <= LAST_DATE:
        raise ValidationError(
            name, f"must be from {FIRST_DATE.isoformat()} to {LAST_DATE.isoformat()}"
        )
    return date


def _parse_pool(
    cl: dict[str, Any], prefix: str, currency: str, usd_to_cny: float, *, dated: bool
) -> ClusterPlan:
    _check_keys(cl, POOL_FIELDS if dated else CLUSTER_FIELDS, prefix)
    gpu = gpu_by_name(cl.get("gpu_type", "H100"))
    gpu_count = int(_num(cl, "gpu_count", prefix, 8, integer=True, maximum=1_000_000))
    if gpu_count > gpu.gpus_per_server and gpu_count % gpu.gpus_per_server:
        raise ValidationError(
            f"{prefix}.gpu_count", f"must fill whole servers of {gpu.gpus_per_server} GPUs"
        )
    cost_fields = {
        k: cl[k]
        for k in (
            "mode",
            "price_per_gpu_hour",
            "discount",
            "depreciation_years",
            "pue",
            "power_price_per_kwh",
        )
        if k in cl
    }
    for key, value in cost_fields.items():
        if key != "mode" and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ValidationError(f"{prefix}.{key}", f"must be a number, got {value!r}")
    try:
        cost = CostInputs(currency=currency, usd_to_cny=usd_to_cny, **cost_fields).validate()
    except ValidationError as exc:
        raise ValidationError(exc.field.replace("cost.", f"{prefix}."), exc.message) from exc
    months = None
    if dated and cl.get("months") is not None:
        months = _num(cl, "months", prefix, 0, maximum=240)
    reliability = _choice(
        cl, "reliability_class", prefix, gpu.reliability_class, tuple(RELIABILITY_CLASSES)
    )
    # Storage bandwidth: the reliability class's unless given. The strategy is "sync" unless given:
    # a plan does not switch to asynchronous checkpoints behind its author's back (the goodput
    # command's configs take the class's strategy, see config.parse_goodput).
    default_gbps = CHECKPOINT_CLASSES[reliability][1]
    default_strategy = "sync"
    return ClusterPlan(
        gpu=gpu,
        gpu_count=gpu_count,
        cost=cost,
        reliability_class=reliability,
        provider_class=_choice(cl, "provider_class", prefix, "standard", tuple(PROVIDER_CLASSES)),
        checkpoint_storage_gbps=_num(
            cl, "checkpoint_storage_gbps", prefix, default_gbps, maximum=1e5
        ),
        checkpoint=_choice(cl, "checkpoint", prefix, default_strategy, CHECKPOINT_STRATEGIES),
        purpose=_choice(cl, "purpose", prefix, "main", POOL_PURPOSES) if dated else "main",
        start_date=_date_field(cl, "start_date", prefix) if dated else None,
        months=months,
        name=str(cl.get("name") or "")[:200] if dated else "",
    )


def _earliest_date(data: dict[str, Any]) -> dt.date | None:
    """The earliest start on a pool or team line, for a plan without a start date (an end or a
    data ready date says when something stops or arrives, not when the program begins)."""
    found: list[dt.date] = []
    for section, keys in (("clusters", ("start_date",)), ("team", ("start_date",))):
        rows = data.get(section)
        if not isinstance(rows, list):
            continue
        for i, row in enumerate(rows):
            if isinstance(row, dict):
                for key in keys:
                    date = _date_field(row, key, f"{section}.{i}")
                    if date is not None:
                        found.append(date)
    return min(found) if found else None


def parse_plan(data: Any) -> PlanSpec:
    """Parse and check a plan; every error is a ``ValidationError`` naming its field."""
    if not isinstance(data, dict):
        raise ValidationError("plan", "must be a JSON object")
    _check_keys(data, TOP_LEVEL, "")
    strategy = _choice(data, "strategy", "", "from_scratch", STRATEGIES)
    currency = _choice(data, "currency", "", "CNY", ("CNY", "USD"))
    usd_to_cny = _num(data, "usd_to_cny", "", 7.2, maximum=1000)
    start = _date_field(data, "start_date", "") or _earliest_date(data)
    deadline_days = None
    if data.get("deadline") is not None:
        if start is None:
            raise ValidationError("deadline", "needs a start_date (or give deadline_days)")
        try:
            deadline_days = float((dt.date.fromisoformat(str(data["deadline"])) - start).days)
        except ValueError as exc:
            raise ValidationError("deadline", "must be a date like 2027-12-31") from exc
        if deadline_days <= 0:
            raise ValidationError("deadline", "must be after start_date")
    elif data.get("deadline_days") is not None:
        deadline_days = _num(data, "deadline_days", "", 0, maximum=3650 * 3)
    budget = (
        _num(data, "budget_cap", "", 0, maximum=1e13)
        if data.get("budget_cap") is not None
        else None
    )
    raw_contingency = data.get("contingency", 0.10)
    if (
        isinstance(raw_contingency, bool)
        or not isinstance(raw_contingency, (int, float))
        or not 0 <= raw_contingency <= 1
    ):
        raise ValidationError("contingency", "must be a fraction from 0 to 1")
    contingency = float(raw_contingency)

    trains_big = strategy in ("from_scratch", "cpt")
    model = parse_model(data["model"]) if data.get("model") is not None else None
    if model is None and strategy in ("from_scratch", "cpt", "sft"):
        raise ValidationError("model", f"is required for strategy {strategy}")

    tr = _obj(data.get("training"), "training")
    _check_keys(tr, {"tokens", "precision", "global_batch_tokens", "seq_len"}, "training")
    if trains_big and "tokens" not in tr:
        raise ValidationError("training.tokens", f"is required for strategy {strategy}")
    tokens = _num(tr, "tokens", "training", 0, allow_zero=not trains_big)
    precision = normalise_precision(tr.get("precision", "bf16"), "training.precision")
    batch_tokens = _num(tr, "global_batch_tokens", "training", 4 * 2**20, maximum=1e10)
    if model is not None and tr.get("seq_len") is not None:
        from dataclasses import replace

        model = replace(
            model, seq_len=int(_num(tr, "seq_len", "training", 0, integer=True, maximum=1e7))
        )

    if data.get("cluster") is not None and data.get("clusters") is not None:
        raise ValidationError("clusters", "give either cluster (one pool) or clusters, not both")
    if data.get("clusters") is not None:
        raw_pools = data["clusters"]
        if not isinstance(raw_pools, list) or not raw_pools:
            raise ValidationError("clusters", "must be a non-empty list of GPU pools")
        if len(raw_pools) > 100:
            raise ValidationError("clusters", "at most 100 GPU pools")
        clusters = tuple(
            _parse_pool(
                _obj(row, f"clusters.{i}"), f"clusters.{i}", currency, usd_to_cny, dated=True
            )
            for i, row in enumerate(raw_pools)
        )
    else:
        cl = _obj(data.get("cluster"), "cluster")
        clusters = (_parse_pool(cl, "cluster", currency, usd_to_cny, dated=False),)
    main_i = main_pool_index(
        strategy, [c.purpose for c in clusters], [c.gpu_count for c in clusters]
    )
    main_pool = clusters[main_i]
    for i, pool in enumerate(clusters):
        if pool.start_date is not None and start is not None and pool.start_date < start:
            raise ValidationError(
                f"clusters.{i}.start_date",
                f"is before the program's start_date {start.isoformat()}; "
                "move the program start or the pool",
            )
        trains = pool.purpose in ("main", "experiments", "finetune") or (
            strategy in ("from_scratch", "cpt", "sft") and i == main_i
        )
        if trains and precision not in pool.gpu.peak_tflops:
            where = "training.precision" if len(clusters) == 1 else f"clusters.{i}.gpu_type"
            raise ValidationError(where, f"{pool.gpu.name} does not support {precision}")
    gpu_count = main_pool.gpu_count

    ladder_raw = data.get("ladder")
    if ladder_raw is None:
        ladder = default_ladder(model) if strategy == "from_scratch" and model is not None else ()
    else:
        if not isinstance(ladder_raw, list):
            raise ValidationError("ladder", "must be a list of model sizes in parameters")
        for i, size in enumerate(ladder_raw):
            require_positive(f"ladder.{i}", size, maximum=1e13)
        ladder = tuple(float(x) for x in ladder_raw)
    full_runs = int(_num(data, "full_runs", "", 1, integer=True, maximum=20))
    calibration = _obj(data.get("calibration"), "calibration")
    _check_keys(
        calibration, {"source", "throughput_factor", "failure_factor", "runs"}, "calibration"
    )
    calibration_source = calibration.get("source", "published")
    if calibration_source not in CALIBRATION_SOURCES:
        raise ValidationError("calibration.source", f"one of {', '.join(CALIBRATION_SOURCES)}")
    throughput_factor = _num(calibration, "throughput_factor", "calibration", 1.0, maximum=2.0)
    failure_factor = _num(calibration, "failure_factor", "calibration", 1.0, maximum=20.0)
    calibration_runs = int(
        _num(calibration, "runs", "calibration", 0, integer=True, allow_zero=True, maximum=10_000)
    )
    if throughput_factor < 0.1:
        raise ValidationError("calibration.throughput_factor", "must be at least 0.1")

    finetune = _pick(clusters, "finetune")
    sft = _obj(data.get("sft"), "sft")
    _check_keys(
        sft,
        {"samples", "tokens_per_sample", "epochs", "gpu_count", "runs", "cost_per_sample"},
        "sft",
    )
    sft_spec = {
        "samples": _num(sft, "samples", "sft", 20_000, maximum=1e10),
        "tokens_per_sample": _num(sft, "tokens_per_sample", "sft", 800, maximum=1e7),
        "epochs": _num(sft, "epochs", "sft", 3, maximum=100),
        "gpu_count": _num(
            sft,
            "gpu_count",
            "sft",
            finetune.gpu_count if finetune is not None else min(gpu_count, 8),
            integer=True,
            maximum=1e6,
        ),
        "runs": _num(sft, "runs", "sft", 3, integer=True, maximum=100),
        "cost_per_sample": _num(sft, "cost_per_sample", "sft", 0, allow_zero=True, maximum=1e6),
    }
    per_server = (finetune or main_pool).gpu.gpus_per_server
    if sft_spec["gpu_count"] > per_server and sft_spec["gpu_count"] % per_server:
        raise ValidationError("sft.gpu_count", f"must fill whole servers of {per_server} GPUs")
    rl = _obj(data.get("rlhf"), "rlhf")
    _check_keys(rl, {"method", "preference_pairs"}, "rlhf")
    rlhf_method = _choice(
        rl,
        "method",
        "rlhf",
        "dpo" if strategy == "from_scratch" else "none",
        ("none", "dpo", "ppo"),
    )
    rlhf_pairs = _num(rl, "preference_pairs", "rlhf", 50_000, maximum=1e10)

    sv = _obj(data.get("serving"), "serving")
    _check_keys(
        sv,
        {"requests_per_day", "tokens_per_request", "months", "price_per_million_tokens", "gpus"},
        "serving",
    )
    serving_pool = _pick(clusters, "serving")
    serving: dict[str, float] = {}
    if sv or strategy in ("rag", "icl"):
        default_price = 14.0 if currency == "CNY" else 2.0  # API list prices, 2024–2025, rounded
        serving = {
            "requests_per_day": _num(sv, "requests_per_day", "serving", 5_000, maximum=1e12),
            "tokens_per_request": _num(
                sv,
                "tokens_per_request",
                "serving",
                3_000 if strategy == "icl" else 1_500,
                maximum=1e7,
            ),
            "months": _num(sv, "months", "serving", 12, maximum=240),
            "price_per_million_tokens": _num(
                sv,
                "price_per_million_tokens",
                "serving",
                default_price,
                allow_zero=True,
                maximum=1e6,
            ),
            "gpus": _num(
                sv,
                "gpus",
                "serving",
                serving_pool.gpu_count if serving_pool is not None else 0,
                allow_zero=True,
                integer=True,
                maximum=1e6,
            ),
        }
    rg = _obj(data.get("rag"), "rag")
    _check_keys(
        rg, {"corpus_tokens", "embedding_price_per_million_tokens", "vector_db_monthly"}, "rag"
    )
    rag = {}
    if rg or strategy == "rag":
        rag = {
            "corpus_tokens": _num(rg, "corpus_tokens", "rag", 2e9, maximum=1e15),
            "embedding_price_per_million_tokens": _num(
                rg,
                "embedding_price_per_million_tokens",
                "rag",
                0.7 if currency == "CNY" else 0.1,
                allow_zero=True,
            ),
            "vector_db_monthly": _num(
                rg, "vector_db_monthly", "rag", 3000 if currency == "CNY" else 400, allow_zero=True
            ),
        }

    team = tuple(_parse_team(data.get("team"), currency, usd_to_cny))
    datasets = tuple(_parse_data(data.get("data")))
    storage = _parse_storage(data.get("storage"), currency, usd_to_cny)
    _check_horizon(start, clusters, team, datasets)
    return PlanSpec(
        name=str(data.get("name") or "plan"),
        strategy=strategy,
        model=model,
        tokens=tokens,
        precision=precision,
        global_batch_tokens=batch_tokens,
        clusters=clusters,
        storage=storage,
        currency=currency,
        usd_to_cny=usd_to_cny,
        start_date=start,
        deadline_days=deadline_days,
        budget_cap=budget,
        contingency=contingency,
        ladder=ladder,
        full_runs=full_runs,
        sft=sft_spec,
        rlhf_method=rlhf_method,
        rlhf_pairs=rlhf_pairs,
        serving=serving,
        rag=rag,
        team=team,
        data=datasets,
        throughput_factor=throughput_factor,
        failure_factor=failure_factor,
        calibration_source=calibration_source,
        calibration_runs=calibration_runs,
    )


def _check_horizon(
    start: dt.date | None,
    clusters: tuple[ClusterPlan, ...],
    team: tuple[TeamLine, ...],
    data: tuple[Dataset, ...],
) -> None:
    """No line may reach more than ``MAX_YEARS_AFTER_START`` years past the program start (the
    months are simulated one by one)."""
    if start is None:
        return
    limit = dt.date(start.year + MAX_YEARS_AFTER_START, start.month, min(start.day, 28))
    dated = [
        *(
            (f"clusters.{i}.start_date", c.start_date, (c.months or 0) * 30.4375)
            for i, c in enumerate(clusters)
        ),
        *((f"team.{i}.start_date", t.start_date, 0.0) for i, t in enumerate(team)),
        *((f"team.{i}.end_date", t.end_date, 0.0) for i, t in enumerate(team)),
        *((f"data.{i}.ready_date", d.ready_date, 0.0) for i, d in enumerate(data)),
    ]
    for name, date, extra_days in dated:
        if date is not None and date + dt.timedelta(days=extra_days) > limit:
            raise ValidationError(
                name,
                f"reaches past {limit.isoformat()}, {MAX_YEARS_AFTER_START} years after the "
                "program's start",
            )


def _pick(clusters: tuple[ClusterPlan, ...], purpose: str) -> ClusterPlan | None:
    of_purpose = [c for c in clusters if c.purpose == purpose]
    return max(of_purpose, key=lambda c: c.gpu_count) if of_purpose else None


def _parse_storage(raw: Any, currency: str, usd_to_cny: float) -> StoragePolicy:
    st = _obj(raw, "storage")
    _check_keys(st, {"price_per_tb_month", "archive_price_per_tb_month", "keep_last"}, "storage")
    rate = usd_to_cny if currency == "CNY" else 1.0
    return StoragePolicy(
        price_per_tb_month=_num(
            st,
            "price_per_tb_month",
            "storage",
            STORAGE_HOT_USD_PER_TB_MONTH * rate,
            allow_zero=True,
        ),
        archive_price_per_tb_month=_num(
            st,
            "archive_price_per_tb_month",
            "storage",
            STORAGE_ARCHIVE_USD_PER_TB_MONTH * rate,
            allow_zero=True,
        ),
        keep_last=int(_num(st, "keep_last", "storage", 3, integer=True, maximum=1000)),
    )


def default_ladder(model: ModelSpec) -> tuple[float, ...]:
    """Scaling-ladder steps for a from-scratch model: ~8× apart below the target (seed 003: 1B → 8B
    → 64B → 300B), at least 1B and no more than three steps."""
    target = float(model.total_params())
    steps: list[float] = []
    size = target / 8
    while size >= 1e9 and len(steps) < 3:
        steps.append(size)
        size /= 8
    return tuple(sorted(steps)) or ((1e9,) if target > 2e9 else ())


def _parse_team(raw: Any, currency: str, usd_to_cny: float) -> list[TeamLine]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValidationError("team", "must be a list of roles")
    lines = []
    for i, item in enumerate(raw):
        row = _obj(item, f"team.{i}")
        _check_keys(
            row,
            {"role", "headcount", "monthly_cost", "allocation", "start_date", "end_date"},
            f"team.{i}",
        )
        start = _date_field(row, "start_date", f"team.{i}")
        end = _date_field(row, "end_date", f"team.{i}")
        if start is not None and end is not None and end < start:
            raise ValidationError(f"team.{i}.end_date", "must not be before start_date")
        role = _choice(row, "role", f"team.{i}", "", ROLES)
        default = DEFAULT_MONTHLY_CNY[role] / (1.0 if currency == "CNY" else usd_to_cny)
        allocation = _num(row, "allocation", f"team.{i}", 1.0, maximum=1.0)
        lines.append(
            TeamLine(
                role=role,
                headcount=_num(row, "headcount", f"team.{i}", 1, maximum=10_000),
                monthly_cost=_num(row, "monthly_cost", f"team.{i}", default, maximum=1e8),
                allocation=allocation,
                start_date=start,
                end_date=end,
            )
        )
    return lines


def _parse_data(raw: Any) -> list[Dataset]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValidationError("data", "must be a list of datasets")
    out = []
    for i, item in enumerate(raw):
        p = f"data.{i}"
        row = _obj(item, p)
        _check_keys(
            row,
            {
                "name",
                "tokens",
                "language",
                "kind",
                "source",
                "licence",
                "quality",
                "cleaning",
                "cost",
                "stage",
                "ready_date",
            },
            p,
        )
        out.append(
            Dataset(
                name=str(row.get("name") or f"dataset {i + 1}"),
                tokens=_num(row, "tokens", p, 0, maximum=1e16),
                language=_choice(row, "language", p, "en", ("en", "zh", "multi", "code")),
                kind=_choice(row, "kind", p, "general", ("general", "domain")),
                source=_choice(row, "source", p, "web", SOURCES),
                licence=_choice(row, "licence", p, "unknown", LICENCES),
                quality=_choice(row, "quality", p, "medium", ("high", "medium", "low")),
                cleaning=_choice(row, "cleaning", p, "raw", ("raw", "cleaned", "deduplicated")),
                cost=_num(row, "cost", p, 0, allow_zero=True, maximum=1e12),
                stage=_choice(row, "stage", p, "pretrain", DATA_STAGES),
                ready_date=_date_field(row, "ready_date", p),
            )
        )
    return out
