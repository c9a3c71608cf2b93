"""Predict published throughput benchmarks and report the error (the ``calibrate`` command).

Reads rows in the format of ``data/published_runs.json`` (the data set shipped with the core,
the default; see ``data/README.md`` for its fields and sources). For every
``throughput_benchmark`` row it builds the model (a preset when the row names a known model, the
row's own shape when it gives one, else a shape inferred from ``params_b``), takes the row's layout
where given and searches the rest, and compares the predicted MFU — on the row's own peak basis —
with the measured one. Rows that report only HFU (Megatron-LM 2021 counts the recompute pass) are
compared on HFU. A row that cannot be predicted is listed with its reason, never guessed.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from .architecture import PRESETS, ModelSpec, infer_from_params, with_seq_len
from .errors import ValidationError
from .hardware import GPUSpec, gpu_by_name
from .perf import DEFAULT_EFFICIENCY, Efficiency
from .search import LayoutConstraints, search
from .specs import ClusterSpec, Overlap, TrainingSpec, default_overlap, normalise_precision

_NAMED_PRESETS = (
    (re.compile(r"llama[ -]?3(\.\d)?[ -]+8b", re.I), "llama3-8b"),
    (re.compile(r"llama[ -]?3(\.\d)?[ -]+70b", re.I), "llama3-70b"),
    (re.compile(r"llama[ -]?3(\.\d)?[ -]+405b", re.I), "llama3-405b"),
    (re.compile(r"llama[ -]?2[ -]+7b", re.I), "llama2-7b"),
    (re.compile(r"llama[ -]?2[ -]+13b", re.I), "llama2-13b"),
    (re.compile(r"llama[ -]?2[ -]+70b", re.I), "llama2-70b"),
    (re.compile(r"gpt-?3[ -]+175b", re.I), "gpt3-175b"),
    (re.compile(r"mixtral[ -]+8x7b", re.I), "mixtral-8x7b"),
    (re.compile(r"deepseek[ -]?v3", re.I), "deepseek-v3"),
    (re.compile(r"qwen[0-9.]*[ -]+7b", re.I), "qwen-7b"),
    (re.compile(r"qwen[0-9.]*[ -]+72b", re.I), "qwen-72b"),
)


@dataclass(frozen=True)
class RowPrediction:
    id: str
    source: str
    metric: str  # "mfu" or "hfu"
    predicted: float | None
    measured: float | None
    predicted_model_tflops_per_gpu: float | None
    measured_model_tflops_per_gpu: float | None
    layout: str
    reason: str = ""
    note: str = ""  # how the measurement was read, when not given as MFU/HFU

    @property
    def ape(self) -> float | None:
        if self.predicted is None or not self.measured:
            return None
        return abs(self.predicted - self.measured) / self.measured


def source_name(row: dict[str, Any]) -> str:
    """Group rows by publication: repository or paper, without commit or table details."""
    source = str(row.get("source") or "unknown")
    framework = str(row.get("framework") or "")
    if "llm-foundry" in source:
        return "MosaicML llm-foundry"
    if "maxtext" in source.lower() or "tpu-recipes" in source:
        return "MaxText (TPU)"
    if "dgxc-benchmarking" in source or framework.startswith("NeMo"):
        return "NVIDIA NeMo (dgxc-benchmarking)"
    if "Megatron" in source or "Megatron" in framework:
        year = re.search(r"\((20\d\d)", framework) or re.search(r"(20\d\d)", source)
        return f"Megatron-LM {year.group(1)}" if year else "Megatron-LM"
    return source.split(" ")[0]


def _heads_for_tp(model: ModelSpec, tp: int | None) -> ModelSpec:
    """An inferred shape's head count, moved to the nearest one a published TP degree divides.

    The published model must have had heads divisible by its TP; only our inferred guess may not.
    """
    if not tp or model.heads % tp == 0:
        return model
    candidates = [n for n in range(tp, model.hidden + 1, tp) if model.hidden % n == 0]
    if not candidates:
        return model
    heads = min(candidates, key=lambda n: abs(n - model.heads))
    return replace(model, heads=heads)


def row_model(row: dict[str, Any]) -> ModelSpec:
    name = str(row.get("model") or "")
    seq_len = int(row["seq_len"])
    for pattern, key in _NAMED_PRESETS:
        if pattern.search(name):
            return with_seq_len(PRESETS[key], seq_len)
    layers, hidden = row.get("layers"), row.get("hidden")
    experts, top_k = int(row.get("moe_experts") or 0), int(row.get("moe_top_k") or 0)
    moe = (
        {"moe_experts": experts, "moe_top_k": top_k, "gated_mlp": True} if experts and top_k else {}
    )
    if layers and hidden:
        heads = int(row.get("heads") or max(1, hidden // 128))
        return ModelSpec(
            name or "published model",
            layers=int(layers),
            hidden=int(hidden),
            heads=heads,
            ffn_hidden=int(row.get("ffn_hidden") or 4 * hidden),
            kv_heads=int(row.get("kv_heads") or 0),
            vocab=int(row.get("vocab") or 51_200),
            seq_len=seq_len,
            **moe,  # type: ignore[arg-type]
        ).validate()
    if moe and row.get("active_params_b"):
        # A dense shape for the active parameters, its MLP split into top_k experts of equal width.
        dense = infer_from_params(
            float(row["active_params_b"]) * 1e9,
            seq_len=seq_len,
            vocab=int(row.get("vocab") or 50_368),
        )
        width = max(128, int(dense.ffn_hidden * 2 / 3 / top_k) // 128 * 128)
        spec = replace(dense, name=name or dense.name, moe_ffn_hidden=width, **moe)  # type: ignore[arg-type]
        return _heads_for_tp(spec, row.get("tp")).validate()
    if row.get("params_b"):
        inferred = infer_from_params(
            float(row["params_b"]) * 1e9,
            seq_len=seq_len,
            vocab=int(row.get("vocab") or 50_368),
            name=name,
        )
        return _heads_for_tp(inferred, row.get("tp"))
    raise ValidationError("model", "neither a known model, a shape nor params_b")


def has_flash_attention(row: dict[str, Any]) -> bool:
    """The row's ``flash_attention`` when given; else by date: FlashAttention appeared in May 2022
    (Dao et al.), so older software ran unfused attention."""
    if isinstance(row.get("flash_attention"), bool):
        return bool(row["flash_attention"])
    year = re.search(r"(20\d\d)", str(row.get("framework") or ""))
    return not (year and int(year.group(1)) < 2022)


def row_overlap(row: dict[str, Any], gpu: GPUSpec) -> Overlap:
    """The communication the row's software overlapped: the row's ``overlap`` object when given,
    else by software: Megatron-LM before Megatron-Core (2021/2022 papers) overlapped nothing —
    gradients were all-reduced after the backward pass and TP collectives were blocking;
    Megatron-Core/NeMo and FSDP stacks get their current defaults (``specs.default_overlap``)."""
    if legacy_megatron(row):
        base = Overlap(grad_reduce=False, param_gather=False, tp_comm=False, ep_a2a=False)
    else:
        base = default_overlap(row_framework(row), gpu.generation)
    given = row.get("overlap")  # checked by row_problem: booleans of known features
    if isinstance(given, dict):
        return replace(base, **given)
    return base


def row_cluster(row: dict[str, Any], gpu: GPUSpec, gpu_count: int) -> ClusterSpec:
    """The row's cluster as it was: its own scale-out (Gbit/s per GPU), scale-up (GB/s both ways)
    and GPUs per server when the row gives them, the catalog's otherwise."""
    return ClusterSpec(
        gpu=gpu,
        gpu_count=gpu_count,
        gpus_per_server=int(row.get("gpus_per_server") or 0),
        scaleup_gbps_bidir=float(row.get("scaleup_gbps_bidir") or 0.0),
        scaleout_gbit_per_gpu=float(row.get("scaleout_gbit_per_gpu") or 0.0),
    ).validate()


_EAGER_STACKS = re.compile(
    r"composer|llm[- ]?foundry|fsdp|deepspeed(?!.*megatron)|accelerate|hugging ?face|torchtitan",
    re.I,
)


def row_framework(row: dict[str, Any]) -> str:
    """Kernel class of the row's software: PyTorch-eager stacks vs Megatron-style fused kernels,
    or an XLA compiler (MaxText/Pax/Levanter: ``jax``; ``pytorch-xla``).

    Megatron-LM, Megatron-Core, NeMo, Megatron-DeepSpeed and metaseq use fused kernels; Composer/LLM
    Foundry, plain FSDP, DeepSpeed ZeRO and Hugging Face stacks run eager PyTorch kernels. Unknown
    software defaults by its sharding: FSDP/ZeRO-3 rows are eager, tensor/pipeline-parallel ones
    fused.
    """
    text = f"{row.get('framework') or ''} {row.get('sharding') or ''}"
    if re.search(r"maxtext|jax|pax|levanter", str(row.get("framework") or ""), re.I):
        return "jax"
    if re.search(r"pytorch[/ -]?xla", str(row.get("framework") or ""), re.I):
        return "pytorch-xla"
    if re.search(r"megatron|nemo|metaseq", str(row.get("framework") or ""), re.I):
        return "megatron"
    return "fsdp" if _EAGER_STACKS.search(text) or "SHARD" in text.upper() else "megatron"


def row_constraints(row: dict[str, Any]) -> LayoutConstraints:
    recompute_text = str(row.get("activation_recompute") or "").lower()
    recompute = None
    if recompute_text.startswith("none") or recompute_text == "no":
        recompute = "none"
    elif "selective" in recompute_text:
        recompute = "selective"
    elif "full" in recompute_text or recompute_text.startswith("yes"):
        recompute = "full"
    zero = row_zero_stage(row)
    tp = row.get("tp")
    pp = row.get("pp")
    if zero == 3 and "TP" not in str(row.get("sharding") or "").upper():
        tp, pp = tp or 1, pp or 1  # plain FSDP / ZeRO-3 runs have no tensor or pipeline split
    old = legacy_megatron(row)
    if old:
        zero = 0 if zero is None else zero
    return LayoutConstraints(
        tp=tp,
        pp=pp,
        dp=row.get("dp"),
        cp=row.get("cp") or (1 if (tp and pp) or old else None),
        ep=row.get("ep"),
        vp=row.get("vp") or (1 if pp == 1 else None),
        micro_batch=row.get("micro_batch"),
        recompute=recompute,
        zero=zero,
        offload="none",
    )


def legacy_megatron(row: dict[str, Any]) -> bool:
    """Megatron-LM before Megatron-Core (the 2021 and 2022 papers): no context parallelism (2023)
    and no distributed optimizer, i.e. ZeRO-0 (the papers' runs replicate optimizer states)."""
    framework = str(row.get("framework") or "")
    year = re.search(r"\((20\d\d)\)", framework)
    return "Megatron-LM" in framework and bool(year) and int(year.group(1)) < 2023  # type: ignore[union-attr]


def row_zero_stage(row: dict[str, Any]) -> int | None:
    """ZeRO stage named by the row's sharding text (FSDP FULL_SHARD/HYBRID_SHARD = 3), else None."""
    text = str(row.get("sharding") or "").upper().replace(" ", "")
    if not text:
        return None
    if any(k in text for k in ("FULL_SHARD", "HYBRID_SHARD", "ZERO-3", "ZERO3", "STAGE3", "FSDP")):
        return 3
    if any(k in text for k in ("SHARD_GRAD_OP", "ZERO-2", "ZERO2", "STAGE2")):
        return 2
    if any(k in text for k in ("ZERO-1", "ZERO1", "STAGE1", "DISTRIBUTEDOPTIMIZER")):
        return 1
    return None


def row_gpu_count(row: dict[str, Any]) -> int | None:
    """The row's GPU count, or TP·PP·DP·CP when only a complete layout is given."""
    if row.get("gpu_count"):
        return int(row["gpu_count"])
    if row.get("tp") and row.get("pp") and row.get("dp"):
        return int(row["tp"] * row["pp"] * row["dp"] * (row.get("cp") or 1))
    return None


_ROW_INTEGERS = (
    "gpu_count",
    "tp",
    "pp",
    "dp",
    "cp",
    "ep",
    "vp",
    "micro_batch",
    "global_batch_seqs",
    "seq_len",
    "layers",
    "hidden",
    "heads",
    "kv_heads",
    "ffn_hidden",
    "vocab",
    "moe_experts",
    "moe_top_k",
    "gpus_per_server",
)
_ROW_NUMBERS = (
    "scaleup_gbps_bidir",
    "scaleout_gbit_per_gpu",
    "params_b",
    "active_params_b",
    "global_batch_tokens",
    "mfu",
    "hfu",
    "mfu_peak_basis_tflops",
    "model_tflops_per_gpu",
    "tokens_per_sec",
    "tokens_per_sec_per_gpu",
)


def row_problem(row: dict[str, Any]) -> str:
    """Why a row's numbers cannot be used ('' when they can): every size must be a positive
    number (whole where it counts things), a measured MFU/HFU a fraction in (0, 1]."""
    for key in _ROW_INTEGERS + _ROW_NUMBERS:
        value = row.get(key)
        if value is None:
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value <= 0
        ):
            return f"{key} is not a positive number: {value!r}"
        if key in _ROW_INTEGERS and int(value) != value:
            return f"{key} is not a whole number: {value!r}"
    for key in ("mfu", "hfu"):
        if row.get(key) is not None and row[key] > 1:
            return f"{key} {row[key]!r} is not a fraction of the peak"
    if row.get("flash_attention") is not None and not isinstance(row["flash_attention"], bool):
        return f"flash_attention is not true or false: {row['flash_attention']!r}"
    overlap = row.get("overlap")
    if overlap is not None:
        allowed = {f.name for f in fields(Overlap)}
        if not isinstance(overlap, dict):
            return f"overlap is not an object with {sorted(allowed)}: {overlap!r}"
        for key, value in overlap.items():
            if key not in allowed:
                return f"overlap.{key} is unknown; use {sorted(allowed)}"
            if not isinstance(value, bool):
                return f"overlap.{key} is not true or false: {value!r}"
    return ""


@dataclass(frozen=True)
class RowSetup:
    """A row turned into the core's inputs, with what was measured and on which basis."""

    row: dict[str, Any]
    base: dict[str, Any]  # id, source, metric, measured, measured TFLOP/s (RowPrediction fields)
    model: ModelSpec | None = None
    training: TrainingSpec | None = None
    cluster: ClusterSpec | None = None
    constraints: LayoutConstraints | None = None
    basis_flops: float = 0.0  # the peak the row's MFU divides by
    reason: str = ""

    @property
    def metric(self) -> str:
        return str(self.base["metric"])

    def unpredictable(self, reason: str) -> RowPrediction:
        return RowPrediction(
            predicted=None,
            predicted_model_tflops_per_gpu=None,
            layout="",
            reason=reason,
            **self.base,
        )


def row_setup(row: dict[str, Any]) -> RowSetup:
    """Model, training, cluster (as it was) and layout constraints of a benchmark row, or the
    reason it cannot be predicted."""
    rid, source = str(row.get("id")), source_name(row)
    empty = dict(
        id=rid,
        source=source,
        metric="mfu",
        measured=None,
        measured_model_tflops_per_gpu=None,
    )
    problem = row_problem(row)
    if problem:
        return RowSetup(row, empty, reason=problem)
    measured_mfu, measured_hfu = row.get("mfu"), row.get("hfu")
    if not measured_mfu and not measured_hfu and row.get("model_tflops_per_gpu"):
        basis = row.get("mfu_peak_basis_tflops")
        if not basis:
            try:
                gpu = gpu_by_name(str(row.get("gpu_type")))
                basis = gpu.peak_tflops.get(
                    normalise_precision(str(row.get("precision") or "bf16"))
                )
            except ValidationError:
                basis = None
        measured_mfu = row["model_tflops_per_gpu"] / basis if basis else None
    metric = "mfu" if measured_mfu else "hfu"
    base: dict[str, Any] = dict(
        id=rid,
        source=source,
        metric=metric,
        measured=measured_mfu or measured_hfu,
        measured_model_tflops_per_gpu=row.get("model_tflops_per_gpu"),
    )
    throughput = row_tokens_per_s_per_gpu(row)
    if not base["measured"] and throughput:
        base = base | dict(metric="mfu", note="MFU from tokens/s × the core's FLOPs per token")
    elif not base["measured"]:
        return RowSetup(row, base, reason="no measured MFU, HFU or tokens/s")
    gpu_count = row_gpu_count(row)
    if not gpu_count:
        return RowSetup(row, base, reason="gpu_count not given: the layout cannot be searched")
    if not row.get("seq_len"):
        return RowSetup(row, base, reason="seq_len not given")
    try:
        model = row_model(row)
        gpu = gpu_by_name(str(row.get("gpu_type")))
        precision = normalise_precision(str(row.get("precision") or "bf16"))
        seqs = row.get("global_batch_seqs") or (
            int(row["global_batch_tokens"] // row["seq_len"])
            if row.get("global_batch_tokens")
            else None
        )
        if not seqs:
            return RowSetup(row, base, reason="global batch not given")
        framework = row_framework(row)
        training = TrainingSpec(
            tokens=1e9,
            global_batch_seqs=int(seqs),
            seq_len=int(row["seq_len"]),
            precision=precision,
            flash_attention=has_flash_attention(row),
            framework=framework,
            overlap=row_overlap(row, gpu),
        ).validate()
        cluster = row_cluster(row, gpu, gpu_count)
    except ValidationError as exc:
        return RowSetup(row, base, reason=str(exc))
    basis = float(row.get("mfu_peak_basis_tflops") or gpu.peak_tflops[precision]) * 1e12
    setup = RowSetup(row, base, model, training, cluster, row_constraints(row), basis_flops=basis)
    if base["measured"]:
        return setup
    # Measured as tokens/s only: MFU = tokens/s per GPU × model FLOPs per token ÷ peak, with the
    # core's own FLOP count (6 × matmul parameters + attention), which no layout changes.
    found = search(model, training, cluster, setup.constraints, top_k=1)
    if not found.top:
        return RowSetup(row, base, reason="no layout fits: FLOPs per token unknown")
    best = found.top[0]
    flops_per_token = best.model_tflops_per_gpu * 1e12 * cluster.gpu_count / best.tokens_per_s
    model_tflops = float(throughput or 0.0) * flops_per_token / 1e12
    base = base | dict(
        measured=model_tflops * 1e12 / basis, measured_model_tflops_per_gpu=model_tflops
    )
    return replace(setup, base=base)


def row_tokens_per_s_per_gpu(row: dict[str, Any]) -> float | None:
    """A row's measured training throughput per GPU: ``tokens_per_sec_per_gpu``, else
    ``tokens_per_sec`` over its GPUs."""
    if row.get("tokens_per_sec_per_gpu"):
        return float(row["tokens_per_sec_per_gpu"])
    gpus = row_gpu_count(row)
    if row.get("tokens_per_sec") and gpus:
        return float(row["tokens_per_sec"]) / gpus
    return None


def predict_setup(setup: RowSetup, efficiency: Efficiency = DEFAULT_EFFICIENCY) -> RowPrediction:
    if setup.reason or setup.model is None or setup.training is None or setup.cluster is None:
        return setup.unpredictable(setup.reason)
    try:
        result = search(
            setup.model,
            setup.training,
            setup.cluster,
            setup.constraints,
            top_k=1,
            efficiency=efficiency,
        )
    except ValidationError as exc:
        return setup.unpredictable(str(exc))
    if not result.top:
        return setup.unpredictable(
            f"no layout fits in memory (short by {result.shortfall_gib:.1f} GiB)"
        )
    best = result.top[0]
    own_peak = setup.cluster.gpu.peak_flops(setup.training.precision)
    value = (best.mfu if setup.metric == "mfu" else best.hfu) * own_peak / setup.basis_flops
    return RowPrediction(
        predicted=value,
        predicted_model_tflops_per_gpu=best.model_tflops_per_gpu,
        layout=best.layout.describe(),
        **setup.base,
    )


def predict_row(row: dict[str, Any], efficiency: Efficiency = DEFAULT_EFFICIENCY) -> RowPrediction:
    return predict_setup(row_setup(row), efficiency)


@dataclass(frozen=True)
class CalibrationReport:
    rows: tuple[RowPrediction, ...]
    mape: float | None
    per_source: dict[str, dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {
            "rows": [
                {
                    "id": r.id,
                    "source": r.source,
                    "metric": r.metric,
                    "predicted_mfu": r.predicted,
                    "measured_mfu": r.measured,
                    "ape": r.ape,
                    "layout": r.layout,
                    "reason": r.reason or None,
                    "note": r.note or None,
                }
                for r in self.rows
            ],
            "mape": self.mape,
            "per_source": self.per_source,
        }


def calibrate_rows(
    rows: list[dict[str, Any]], efficiency: Efficiency = DEFAULT_EFFICIENCY
) -> CalibrationReport:
    preds = tuple(
        predict_row(r, efficiency) for r in rows if r.get("category") == "throughput_benchmark"
    )
    scored = [p for p in preds if p.ape is not None]
    per_source: dict[str, dict[str, Any]] = {}
    for p in preds:
        entry = per_source.setdefault(p.source, {"rows": 0, "predicted": 0, "mape": 0.0})
        entry["rows"] += 1
        if p.ape is not None:
            entry["predicted"] += 1
            entry["mape"] += p.ape
    for entry in per_source.values():
        entry["mape"] = entry["mape"] / entry["predicted"] if entry["predicted"] else None
    mape = sum(p.ape for p in scored if p.ape is not None) / len(scored) if scored else None
    return CalibrationReport(preds, mape, per_source)


def is_measured(row: dict[str, Any]) -> bool:
    """Whether a row reports a training throughput: MFU, HFU, model TFLOP/s or tokens/s."""
    return any(
        row.get(k)
        for k in ("mfu", "hfu", "model_tflops_per_gpu", "tokens_per_sec", "tokens_per_sec_per_gpu")
    )


def coverage(rows: list[dict[str, Any]], report: CalibrationReport) -> tuple[int, int]:
    """(rows ``calibrate`` predicts, rows of the data set that report a throughput)."""
    predicted = sum(1 for p in report.rows if p.predicted is not None)
    return predicted, sum(1 for r in rows if is_measured(r))


PUBLISHED_RUNS = Path(__file__).resolve().parent / "data" / "published_runs.json"


def load_rows(path: str | Path = PUBLISHED_RUNS) -> list[dict[str, Any]]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ValidationError("RUNS", f"file not found: {path}") from exc
    except json.JSONDecodeError as exc:
        raise ValidationError("RUNS", f"not valid JSON (line {exc.lineno}): {exc.msg}") from exc
    if isinstance(data, dict):
        data = data.get("rows") or data.get("runs")
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ValidationError("RUNS", "must be a JSON list of run objects")
    return data


def searched_constraints(row: dict[str, Any]) -> LayoutConstraints:
    """The row's software capabilities without its layout: what the search may choose freely.

    Recomputation and the sharding class stay as the row states them (2021 Megatron had no
    selective recomputation, FSDP stacks no tensor or pipeline parallelism); TP, PP, DP, CP, the
    interleaving and the micro-batch are searched.
    """
    cons = row_constraints(row)
    fsdp = row_zero_stage(row) == 3 and "TP" not in str(row.get("sharding") or "").upper()
    return replace(
        cons,
        tp=1 if fsdp else None,
        pp=1 if fsdp else None,
        dp=None,
        cp=1 if fsdp or legacy_megatron(row) else None,
        vp=1 if fsdp else None,
        micro_batch=None,
    )


def group_key(row: dict[str, Any]) -> tuple[Any, ...]:
    """Rows of one model on one cluster with one numerics: the "model × cluster group" whose
    published best the searched best is held to (issue 15). The group's rows are the workloads its
    authors ran on that cluster (``workload_key``)."""
    return (
        source_name(row),
        str(row.get("model") or row.get("params_b")),
        str(row.get("gpu_type")),
        row_gpu_count(row),
        normalise_precision(str(row.get("precision") or "bf16")),
    )


def workload_key(row: dict[str, Any]) -> tuple[Any, ...]:
    """What a row asked of its cluster: sequence, global batch and the recomputation its software
    used. The search frees the layout of each workload, never the workload itself."""
    batch = row.get("global_batch_seqs") or (
        int(row["global_batch_tokens"] // row["seq_len"])
        if row.get("global_batch_tokens") and row.get("seq_len")
        else None
    )
    return (row.get("seq_len"), batch, str(row.get("activation_recompute") or ""))


@dataclass(frozen=True)
class Workloads:
    """A model × cluster group: its metric (MFU when any row reports it), its number of rows and,
    per workload, the row with the best measurement in that metric."""

    metric: str
    rows: int
    best: dict[tuple[Any, ...], RowSetup]


def group_workloads(rows: list[dict[str, Any]]) -> dict[tuple[Any, ...], Workloads]:
    """Every model × cluster group of the benchmark rows the core can set up."""
    setups: dict[tuple[Any, ...], list[RowSetup]] = {}
    for row in rows:
        if row.get("category") != "throughput_benchmark":
            continue
        setup = row_setup(row)
        if setup.reason:
            continue
        setups.setdefault(group_key(row), []).append(setup)
    out: dict[tuple[Any, ...], Workloads] = {}
    for key, members in setups.items():
        metric = "mfu" if any(s.metric == "mfu" for s in members) else "hfu"
        best: dict[tuple[Any, ...], RowSetup] = {}
        for s in members:
            if s.metric != metric:
                continue
            wk = workload_key(s.row)
            if wk not in best or float(s.base["measured"]) > float(best[wk].base["measured"]):
                best[wk] = s
        out[key] = Workloads(metric, len(members), best)
    return out


def freed(setup: RowSetup) -> RowSetup:
    """The row's setup with its layout left to the search (``searched_constraints``)."""
    return replace(setup, constraints=searched_constraints(setup.row))


def _workload_label(wk: tuple[Any, ...]) -> str:
    seq, batch, recompute = wk
    return f"seq {seq} · batch {batch}" + (f" · recompute {recompute}" if recompute else "")


@dataclass(frozen=True)
class GroupRatio:
    """The search's best for a model × cluster group against the best its authors published.

    ``searched_best`` is the best over the group's workloads (each with its layout free);
    ``published_best`` the best measured row of the group; ``pinned_best`` the core's prediction
    at that row's own layout."""

    key: tuple[Any, ...]
    rows: int
    metric: str
    published_best: float
    searched_best: float | None
    layout: str
    reason: str = ""
    pinned_best: float | None = None
    workloads: int = 1
    published_workload: str = ""
    searched_workload: str = ""

    @property
    def ratio(self) -> float | None:
        if self.searched_best is None:
            return None
        return self.searched_best / self.published_best

    @property
    def search_gain(self) -> float | None:
        """Searched best ÷ the prediction at the published best's own layout: how much the search
        finds beyond what its authors ran (1.00 when it picks their layout and workload)."""
        if self.searched_best is None or not self.pinned_best:
            return None
        return self.searched_best / self.pinned_best

    @property
    def model_error(self) -> float | None:
        """Prediction at the published best's own layout ÷ its measurement: the row's own error.
        ``ratio`` = ``search_gain`` × ``model_error``."""
        if not self.pinned_best:
            return None
        return self.pinned_best / self.published_best

    @property
    def label(self) -> str:
        source, model, gpu, count, precision = self.key
        runs = f"{self.workloads} workload{'s' if self.workloads != 1 else ''}"
        return f"{model} · {count}×{gpu} · {precision} · {runs}"


RATIO_LIMIT = 1.10


def group_ratios(
    rows: list[dict[str, Any]],
    efficiency: Efficiency = DEFAULT_EFFICIENCY,
    report: CalibrationReport | None = None,
) -> list[GroupRatio]:
    """For every model × cluster group of benchmark rows, the searched best (each workload's layout
    free, software as published; the best over the workloads) divided by the best measured value;
    the check is that no ratio exceeds ``RATIO_LIMIT``. ``report`` (``calibrate_rows`` of the same
    rows and efficiency) supplies the predictions at the published layouts, which are otherwise
    computed again."""
    pinned_by_id = {p.id: p.predicted for p in report.rows} if report is not None else {}
    out = []
    for key, group in group_workloads(rows).items():
        workloads = group.best
        best_wk, best_setup = max(workloads.items(), key=lambda kv: float(kv[1].base["measured"]))
        searched: list[tuple[float, tuple[Any, ...], RowPrediction]] = []
        reasons = []
        for wk, setup in workloads.items():
            pred = predict_setup(freed(setup), efficiency)
            if pred.predicted is None:
                reasons.append(f"{_workload_label(wk)}: {pred.reason}")
            else:
                searched.append((pred.predicted, wk, pred))
        rid = str(best_setup.base["id"])
        pinned = (
            pinned_by_id[rid]
            if rid in pinned_by_id
            else predict_setup(best_setup, efficiency).predicted
        )
        top = max(searched, key=lambda t: t[0]) if searched else None
        out.append(
            GroupRatio(
                key=key,
                rows=group.rows,
                metric=group.metric,
                published_best=float(best_setup.base["measured"]),
                searched_best=top[0] if top else None,
                layout=top[2].layout if top else "",
                reason="; ".join(reasons) if not top else "",
                pinned_best=pinned,
                workloads=len(workloads),
                published_workload=_workload_label(best_wk),
                searched_workload=_workload_label(top[1]) if top else "",
            )
        )
    return out
