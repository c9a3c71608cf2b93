"""Parse a JSON plan config into the core's dataclasses, naming the field of every error.

Format (every section but ``model``, ``training.tokens`` and ``cluster`` optional)::

    {"model": {"preset": "gpt3-175b"} | {"params_b": 7} | {"layers": …, "hidden": …, …},
     "training": {"tokens": 3e11, "global_batch_seqs": 1536 | "global_batch_tokens": 3.1e6,
                  "seq_len": 2048, "precision": "bf16", "optimizer": "adam", "flash_attention":
                  true},
     "cluster": {"gpu_type": "A100-80GB", "gpu_count": 1024, "gpus_per_server": 8,
                 "scaleup_gbps_bidir": 600, "scaleout_gbit_per_gpu": 200,
                 "scaleup_domain": 8 (GPUs on the scale-up link; NVL72: 72)},
     "layout": {"tp": 8, "pp": 8, …} (any subset; the rest is searched),
     "cost": {"currency": "CNY", "usd_to_cny": 7.2, "mode": "rent", "price_per_gpu_hour": 12, …}}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from .architecture import ModelSpec, infer_from_params, preset
from .cost import CostInputs
from .errors import ValidationError, require_positive
from .hardware import gpu_by_name
from .perf import state_bytes
from .reliability import (
    CHECKPOINT_CLASSES,
    CHECKPOINT_STRATEGIES,
    RELIABILITY_CLASSES,
    GoodputSpec,
)
from .search import LayoutConstraints
from .specs import (
    OFFLOAD,
    RECOMPUTE,
    ClusterSpec,
    Overlap,
    TrainingSpec,
    check_framework,
    default_overlap,
    normalise_precision,
    resolve_framework,
)

_MODEL_FIELDS = {f.name for f in fields(ModelSpec)} - {"name"}


@dataclass(frozen=True)
class PlanConfig:
    model: ModelSpec
    training: TrainingSpec
    cluster: ClusterSpec
    constraints: LayoutConstraints
    cost: CostInputs


def _section(
    data: dict[str, Any], name: str, allowed: set[str], required: bool = False
) -> dict[str, Any]:
    value = data.get(name)
    if value is None:
        if required:
            raise ValidationError(name, "is required")
        return {}
    if not isinstance(value, dict):
        raise ValidationError(name, "must be an object")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ValidationError(
            f"{name}.{unknown[0]}", f"unknown field; allowed: {', '.join(sorted(allowed))}"
        )
    return value


def _int(section: str, key: str, value: Any, maximum: float = 1e12) -> int:
    require_positive(f"{section}.{key}", value, integer=True, maximum=maximum)
    return int(value)


def parse_model(raw: dict[str, Any]) -> ModelSpec:
    allowed = _MODEL_FIELDS | {"preset", "params_b", "name"}
    sec = _section({"model": raw}, "model", allowed, required=True)
    overrides = {k: v for k, v in sec.items() if k in _MODEL_FIELDS}
    for key, value in overrides.items():
        if key in ("gated_mlp", "tied_embeddings"):
            if not isinstance(value, bool):
                raise ValidationError(f"model.{key}", "must be true or false")
        elif (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or value != value
            or int(value) != value
            or value < 0
        ):
            raise ValidationError(f"model.{key}", f"must be a whole number ≥ 0, got {value!r}")
        else:
            overrides[key] = int(value)
    if "params_b" in sec and ("preset" in sec or {"layers", "hidden"} & set(overrides)):
        raise ValidationError(
            "model.params_b", "give a preset, a shape (layers, hidden, …) or params_b — not both"
        )
    if "preset" in sec:
        model = replace(preset(sec["preset"]), **overrides)
    elif "params_b" in sec:
        require_positive("model.params_b", sec["params_b"], maximum=100_000)
        if sec["params_b"] < 0.01:
            raise ValidationError(
                "model.params_b", "below 10M parameters is not a language model to plan"
            )
        model = infer_from_params(
            float(sec["params_b"]) * 1e9, seq_len=int(overrides.get("seq_len", 2048))
        )
        model = replace(model, **overrides)
    else:
        missing = [k for k in ("layers", "hidden", "heads") if k not in overrides]
        if missing:
            raise ValidationError(
                f"model.{missing[0]}", "is required (or give a preset or params_b)"
            )
        overrides.setdefault("ffn_hidden", 4 * overrides["hidden"])
        model = ModelSpec(str(sec.get("name") or "custom model"), **overrides)
    if sec.get("name"):
        model = replace(model, name=str(sec["name"]))
    return model.validate()


def _bandwidth(section: dict[str, Any], key: str, minimum: float) -> float:
    """An optional bandwidth override: absent or null means the catalog's value."""
    value = section.get(key)
    if value is None:
        return 0.0
    require_positive(f"cluster.{key}", value, maximum=1e6)
    if value < minimum:
        raise ValidationError(f"cluster.{key}", f"below {minimum:g} is not a working interconnect")
    return float(value)


def round_batch(seqs: float) -> int:
    """A batch given in tokens, as whole sequences divisible by many data-parallel sizes.

    "4M tokens" means 2^22; rounding to a multiple of the largest power of two (≤ 64) that keeps
    the batch within 5% leaves the layout search room — 977 sequences (a prime) would force DP=1.
    """
    for step in (64, 32, 16, 8, 4, 2):
        rounded = max(step, round(seqs / step) * step)
        if abs(rounded - seqs) <= 0.05 * seqs:
            return int(rounded)
    return max(1, int(round(seqs)))


def parse_config(data: Any) -> PlanConfig:
    if not isinstance(data, dict):
        raise ValidationError("config", "must be a JSON object")
    unknown = sorted(set(data) - {"model", "training", "cluster", "layout", "cost", "name"})
    if unknown:
        raise ValidationError(
            unknown[0], "unknown section; allowed: model, training, cluster, layout, cost"
        )
    model = parse_model(data.get("model"))  # type: ignore[arg-type]

    tr = _section(
        data,
        "training",
        {
            "tokens",
            "global_batch_seqs",
            "global_batch_tokens",
            "seq_len",
            "precision",
            "optimizer",
            "flash_attention",
            "framework",
            "overlap",
        },
        required=True,
    )
    seq_len = _int("training", "seq_len", tr.get("seq_len", model.seq_len), 10_485_760)
    if "tokens" not in tr:
        raise ValidationError("training.tokens", "is required")
    require_positive("training.tokens", tr["tokens"], maximum=1e16)
    if "global_batch_seqs" in tr:
        seqs = _int("training", "global_batch_seqs", tr["global_batch_seqs"], 1e8)
    elif "global_batch_tokens" in tr:
        require_positive("training.global_batch_tokens", tr["global_batch_tokens"], maximum=1e11)
        seqs = round_batch(float(tr["global_batch_tokens"]) / seq_len)
    else:
        seqs = round_batch(4 * 2**20 / seq_len)  # ≈ 4M tokens, as LLaMA and Llama 2 used
    overlap: dict[str, bool] | None = None
    if tr.get("overlap") is not None:
        ov = tr["overlap"]
        allowed = {f.name for f in fields(Overlap)}
        if not isinstance(ov, dict):
            raise ValidationError("training.overlap", f"must be an object with {sorted(allowed)}")
        for key, value in ov.items():
            if key not in allowed:
                raise ValidationError(f"training.overlap.{key}", f"unknown; use {sorted(allowed)}")
            if not isinstance(value, bool):
                raise ValidationError(f"training.overlap.{key}", "must be true or false")
        overlap = ov
    flash = tr.get("flash_attention", True)
    if not isinstance(flash, bool):
        raise ValidationError("training.flash_attention", "must be true or false")
    training = TrainingSpec(
        tokens=float(tr["tokens"]),
        global_batch_seqs=seqs,
        seq_len=seq_len,
        precision=normalise_precision(tr.get("precision", "bf16")),
        optimizer=str(tr.get("optimizer", "adam")),
        flash_attention=flash,
        framework=str(tr.get("framework", "auto")),
    ).validate()
    if training.tokens < training.global_batch_tokens:
        # Here, not in TrainingSpec: a program's small jobs (an SFT of a few samples) may train
        # fewer tokens than the plan's batch; a plan to estimate may not.
        raise ValidationError(
            "training.tokens",
            f"the token budget ({training.tokens:,.0f}) is smaller than one global batch "
            f"({training.global_batch_seqs:,} sequences × {seq_len:,} tokens = "
            f"{training.global_batch_tokens:,}): a training run takes at least one optimizer step",
        )
    model = replace(model, seq_len=seq_len)

    cl = _section(
        data,
        "cluster",
        {
            "gpu_type",
            "gpu_count",
            "gpus_per_server",
            "scaleup_gbps_bidir",
            "scaleout_gbit_per_gpu",
            "scaleup_domain",
        },
        required=True,
    )
    if "gpu_type" not in cl:
        raise ValidationError("cluster.gpu_type", "is required")
    if "gpu_count" not in cl:
        raise ValidationError("cluster.gpu_count", "is required")
    gpu = gpu_by_name(cl["gpu_type"])
    if not gpu.peak_tflops.get(training.precision):
        raise ValidationError("training.precision", gpu.lacks(training.precision))
    check_framework(training.framework, gpu)
    cluster = ClusterSpec(
        gpu=gpu,
        gpu_count=_int("cluster", "gpu_count", cl["gpu_count"]),  # ≤ 1,000,000: validate()
        gpus_per_server=_int("cluster", "gpus_per_server", cl["gpus_per_server"], 256)
        if "gpus_per_server" in cl
        else 0,
        scaleup_gbps_bidir=_bandwidth(cl, "scaleup_gbps_bidir", 1.0),
        scaleout_gbit_per_gpu=_bandwidth(cl, "scaleout_gbit_per_gpu", 0.1),
        scaleup_domain=_int("cluster", "scaleup_domain", cl["scaleup_domain"], 1_000_000)
        if cl.get("scaleup_domain") is not None
        else 0,
    ).validate()
    if overlap is not None:
        # What the user says their software overlaps, over its defaults on this GPU generation.
        stack = resolve_framework(training.framework, gpu.generation)
        base = default_overlap(stack, gpu.generation)
        training = replace(training, overlap=replace(base, **overlap))

    lay = _section(
        data,
        "layout",
        {
            "tp",
            "pp",
            "dp",
            "cp",
            "ep",
            "vp",
            "micro_batch",
            "recompute",
            "zero",
            "offload",
            "allow_offload",
        },
    )
    ints = {}
    for key in ("tp", "pp", "dp", "cp", "ep", "vp", "micro_batch"):
        if lay.get(key) is not None:
            ints[key] = _int("layout", key, lay[key], 1_000_000)
    if lay.get("recompute") is not None and lay["recompute"] not in RECOMPUTE:
        raise ValidationError("layout.recompute", f"must be one of {', '.join(RECOMPUTE)}")
    if lay.get("offload") is not None and lay["offload"] not in OFFLOAD:
        raise ValidationError("layout.offload", f"must be one of {', '.join(OFFLOAD)}")
    zero = lay.get("zero")
    if zero is not None and (isinstance(zero, bool) or zero not in (0, 1, 2, 3)):
        raise ValidationError("layout.zero", "must be 0, 1, 2 or 3")
    if zero is not None and zero >= 2 and ints.get("pp", 1) > 1:
        raise ValidationError(
            "layout.zero", "ZeRO-2/3 cannot be combined with pipeline parallelism (pp > 1)"
        )
    if ints.get("ep", 1) > 1 and not model.is_moe:
        raise ValidationError(
            "layout.ep", "expert parallelism needs an MoE model (moe_experts > 0)"
        )
    allow_offload = lay.get("allow_offload", False)
    if not isinstance(allow_offload, bool):
        raise ValidationError("layout.allow_offload", "must be true or false")
    if "tp" in ints and model.heads % ints["tp"]:
        raise ValidationError(
            "layout.tp", f"heads ({model.heads}) must be divisible by tp ({ints['tp']})"
        )
    if "tp" in ints and ints["tp"] > cluster.domain:
        raise ValidationError(
            "layout.tp",
            f"tensor parallelism must stay within a scale-up domain of {cluster.domain} GPUs",
        )
    if "pp" in ints and ints["pp"] > model.layers:
        raise ValidationError(
            "layout.pp", f"pp ({ints['pp']}) cannot exceed the number of layers ({model.layers})"
        )
    constraints = LayoutConstraints(
        **ints,
        recompute=lay.get("recompute"),
        zero=lay.get("zero"),
        offload=lay.get("offload"),
        allow_offload=allow_offload,
    )

    co = _section(data, "cost", {f.name for f in fields(CostInputs)})
    for key, value in co.items():
        if (
            key not in ("currency", "mode")
            and value is not None
            and (isinstance(value, bool) or not isinstance(value, (int, float)))
        ):
            raise ValidationError(f"cost.{key}", f"must be a number, got {value!r}")
    cost = CostInputs(**co).validate()
    return PlanConfig(model, training, cluster, constraints, cost)


def load_json(path: str | Path) -> Any:
    """Read a JSON file; a missing file or bad syntax is a ``ValidationError`` naming the line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError("CONFIG", f"cannot read {path}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            "CONFIG", f"not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
        ) from exc


def load_config(path: str | Path) -> PlanConfig:
    return parse_config(load_json(path))


GOODPUT_FIELDS = {
    "gpu_type", "gpu_count", "gpus_per_server", "wall_clock_days", "tokens", "model", "training",
    "checkpoint_interval_min", "checkpoint_save_s", "checkpoint_storage_gbps", "restart_min",
    "reliability_class", "provider_class", "precision", "lottery", "trials", "seed", "checkpoint",
    "checkpoint_snapshot_s",
}  # fmt: skip
# The standard class's storage: a cloud parallel file system (reliability.CHECKPOINT_CLASSES gives
# every class's; BLOOM's GPFS saved 2.3 TB in ~40 s, 57 GB/s).
DEFAULT_CHECKPOINT_STORAGE_GBPS = CHECKPOINT_CLASSES["standard"][1]


def parse_goodput(data: Any) -> GoodputSpec:
    """A ``goodput`` run: ideal ``wall_clock_days`` or ``tokens`` + ``model`` on ``gpu_count`` GPUs.

    With tokens and a model, the ideal time comes from the best layout core I finds — a model
    that fits on no layout of these GPUs is refused (``gpu_count``, with the shortfall) — and the
    checkpoint write time from the checkpoint size over ``checkpoint_storage_gbps`` (GB/s).
    ``checkpoint`` ("sync" or "async") and the storage bandwidth default to the reliability
    class's (``reliability.CHECKPOINT_CLASSES``); an explicit ``checkpoint_storage_gbps`` or
    ``checkpoint_save_s`` wins, and ``checkpoint_snapshot_s`` sets what an async save blocks.
    """
    if not isinstance(data, dict):
        raise ValidationError("config", "must be a JSON object")
    unknown = sorted(set(data) - GOODPUT_FIELDS)
    if unknown:
        raise ValidationError(
            unknown[0], f"unknown field; allowed: {', '.join(sorted(GOODPUT_FIELDS))}"
        )
    for key in ("gpu_type", "gpu_count"):
        if key not in data:
            raise ValidationError(key, "is required")
    for key in (
        "checkpoint_save_s",
        "checkpoint_interval_min",
        "restart_min",
        "checkpoint_snapshot_s",
    ):
        if data.get(key) is not None:
            require_positive(key, data[key], maximum=86_400 * 30)
    extra_training = data.get("training")
    if extra_training is not None:
        if not isinstance(extra_training, dict):
            raise ValidationError("training", "must be an object")
        if "tokens" in extra_training or "precision" in extra_training:
            bad = "tokens" if "tokens" in extra_training else "precision"
            raise ValidationError(f"training.{bad}", "give it at the top level of the run")
    gpu = gpu_by_name(data["gpu_type"], "gpu_type")
    gpu_count = _int_field("gpu_count", data["gpu_count"], 1_000_000)
    per_server = _int_field(
        "gpus_per_server", data.get("gpus_per_server", gpu.gpus_per_server), 256
    )
    precision = normalise_precision(data.get("precision", "bf16"), "precision")
    if not gpu.peak_tflops.get(precision):
        raise ValidationError("precision", gpu.lacks(precision))
    if gpu_count > per_server and gpu_count % per_server:
        raise ValidationError(
            "gpu_count", f"{gpu_count} GPUs do not fill whole servers of {per_server}"
        )
    reliability = data.get("reliability_class", gpu.reliability_class)
    if not isinstance(reliability, str) or reliability not in RELIABILITY_CLASSES:
        raise ValidationError(
            "reliability_class", f"must be one of {', '.join(RELIABILITY_CLASSES)}"
        )
    strategy = data.get("checkpoint")
    if strategy is not None and (
        not isinstance(strategy, str) or strategy not in CHECKPOINT_STRATEGIES
    ):
        raise ValidationError("checkpoint", f"must be one of {', '.join(CHECKPOINT_STRATEGIES)}")
    storage = data.get("checkpoint_storage_gbps")
    if storage is None:
        storage = CHECKPOINT_CLASSES[reliability][1]
    require_positive("checkpoint_storage_gbps", storage, maximum=1e5)
    params = 7e9
    save_s = data.get("checkpoint_save_s")
    if "wall_clock_days" in data:
        require_positive("wall_clock_days", data["wall_clock_days"], maximum=3650)
        work_hours = float(data["wall_clock_days"]) * 24.0
        if "model" in data:
            params = float(parse_model(data["model"]).total_params())
    elif "tokens" in data and "model" in data:
        from .estimate import estimate

        plan = parse_config(
            {
                "model": data["model"],
                "training": {
                    "tokens": data["tokens"],
                    "precision": precision,
                    **(data.get("training") or {}),
                },
                "cluster": {
                    "gpu_type": data["gpu_type"],
                    "gpu_count": gpu_count,
                    "gpus_per_server": per_server,
                },
            }
        )
        est = estimate(plan)
        if not est.fits:
            need = est.layout.memory_gib
            raise ValidationError(
                "gpu_count",
                f"{plan.model.name} does not fit on {gpu_count:,} × {plan.cluster.gpu.name}: the "
                f"closest layout ({est.layout.layout.describe()}) needs {need:,.1f} GiB per GPU, "
                f"short by {est.shortfall_gib:,.1f} GiB; use more GPUs or GPUs with more memory",
            )
        work_hours = est.wall_clock_hours
        params = float(plan.model.total_params())
    else:
        raise ValidationError("wall_clock_days", "give wall_clock_days, or tokens and a model")
    if save_s is None:
        save_s = checkpoint_bytes_for(params, precision) / (float(storage) * 1e9)
    lottery = data.get("lottery", True)
    if not isinstance(lottery, bool):
        raise ValidationError("lottery", "must be true or false")
    return GoodputSpec(
        gpu_count=gpu_count,
        work_hours=work_hours,
        gpus_per_server=per_server,
        checkpoint_save_s=float(save_s),
        checkpoint_interval_min=data.get("checkpoint_interval_min"),
        restart_min=data.get("restart_min"),
        reliability_class=reliability,
        provider_class=str(data.get("provider_class", "standard")),
        precision=precision,
        params=params,
        lottery=lottery,
        trials=_int_field("trials", data.get("trials", 2000), 1_000_000),
        seed=_seed(data.get("seed", 0)),
        checkpoint=strategy,
        checkpoint_snapshot_s=None
        if data.get("checkpoint_snapshot_s") is None
        else float(data["checkpoint_snapshot_s"]),
    ).validate()


def checkpoint_bytes_for(params: float, precision: str) -> float:
    """Bytes of a full training state (as ``reliability.checkpoint_bytes``): 14 per parameter."""
    w_b, _, o_b = state_bytes(precision, "adam")
    return params * (w_b + o_b)


def _int_field(field: str, value: Any, maximum: float) -> int:
    require_positive(field, value, integer=True, maximum=maximum)
    return int(value)


def _seed(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError("seed", "must be a whole number ≥ 0")
    return value
