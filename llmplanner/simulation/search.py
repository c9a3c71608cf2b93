"""Layout search: the whole TP × PP (× interleaving) × DP × CP × EP × micro-batch × recompute × ZeRO
space built and evaluated as numpy arrays — no Python loop per candidate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .architecture import ModelSpec
from .errors import ValidationError
from .perf import (
    DEFAULT_EFFICIENCY,
    GIB,
    OFFLOAD_CODES,
    RECOMPUTE_CODES,
    Candidates,
    Efficiency,
    Evaluation,
    evaluate,
)
from .specs import ClusterSpec, Layout, TrainingSpec
from .text import T, Text, percent

_RECOMPUTE_NAMES = {v: k for k, v in RECOMPUTE_CODES.items()}
_OFFLOAD_NAMES = {v: k for k, v in OFFLOAD_CODES.items()}
MICRO_BATCHES = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
CONTEXT_PARALLEL = (1, 2, 4, 8, 16, 32)


@dataclass(frozen=True)
class LayoutConstraints:
    """Dimensions fixed by the user; ``None`` means "search it"."""

    tp: int | None = None
    pp: int | None = None
    dp: int | None = None
    cp: int | None = None
    ep: int | None = None
    vp: int | None = None
    micro_batch: int | None = None
    recompute: str | None = None
    zero: int | None = None
    offload: str | None = None
    allow_offload: bool = False

    @classmethod
    def fixed(cls, layout: Layout) -> LayoutConstraints:
        return cls(
            tp=layout.tp,
            pp=layout.pp,
            dp=layout.dp,
            cp=layout.cp,
            ep=layout.ep,
            vp=layout.vp,
            micro_batch=layout.micro_batch,
            recompute=layout.recompute,
            zero=layout.zero,
            offload=layout.offload,
        )


@dataclass(frozen=True)
class RankedLayout:
    """One layout of a search result, with its predicted performance and what dominates its step."""

    layout: Layout
    step_time_s: float
    tokens_per_s: float
    model_tflops_per_gpu: float
    mfu: float
    hfu: float
    memory_gib: float
    memory_headroom_gib: float
    memory_breakdown_gib: dict[str, float]
    dominant: str
    breakdown_s: dict[str, float]
    explanation: str


@dataclass(frozen=True)
class SearchResult:
    candidates_examined: int
    candidates_valid: int
    candidates_feasible: int
    top: tuple[RankedLayout, ...]
    best_infeasible: RankedLayout | None  # the fastest layout that does not fit, when none fits
    shortfall_gib: float  # how much memory the closest layout lacks (0 when one fits)


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _choices(value: Any, default: Any) -> np.ndarray:
    return np.asarray([value] if value is not None else list(default))


def build_candidates(
    model: ModelSpec, training: TrainingSpec, cluster: ClusterSpec, cons: LayoutConstraints
) -> Candidates:
    """The Cartesian product of every dimension's choices, with DP derived from the GPU count."""
    n = cluster.gpu_count
    # Tensor parallelism stays inside the scale-up domain: a server, or a larger NVLink/ICI domain
    # (GB200 NVL72: 72 GPUs; a TPU slice).
    domain = cluster.domain
    tps = _choices(cons.tp, [t for t in (1, 2, 4, 8, 16, 32, 64) if t <= domain])
    powers = [2**k for k in range(0, 12) if 2**k <= model.layers]
    pps = _choices(cons.pp, sorted({p for p in _divisors(model.layers) + powers if p <= n}))
    vps = _choices(cons.vp, list(range(1, 9)))
    cps = _choices(
        cons.cp, [c for c in CONTEXT_PARALLEL if c == 1 or training.seq_len % (2 * c) == 0]
    )
    if model.is_moe:
        eps = _choices(cons.ep, [e for e in _divisors(model.moe_experts) if e <= n])
    else:
        eps = _choices(cons.ep, [1])
    mbs = _choices(cons.micro_batch, [b for b in MICRO_BATCHES if b <= training.global_batch_seqs])
    rcs = _choices(None if cons.recompute is None else RECOMPUTE_CODES[cons.recompute], (0, 1, 2))
    zeros = _choices(cons.zero, (0, 1, 2, 3))
    offs = _choices(
        None if cons.offload is None else OFFLOAD_CODES[cons.offload],
        (0, 1, 2) if cons.allow_offload else (0,),
    )
    # Build the (tp, pp, vp, cp, ep) part first and drop impossible combinations early: it is small.
    grid = np.stack(np.meshgrid(tps, pps, vps, cps, eps, indexing="ij"), -1).reshape(-1, 5)
    tp, pp, vp, cp, ep = grid.T
    ok = (n % (tp * pp * cp) == 0) & (pp * vp <= model.layers) & ((vp == 1) | (pp > 1))
    if cons.dp is not None:
        ok &= n // np.maximum(tp * pp * cp, 1) == cons.dp
    grid = grid[ok]
    dp = n // (grid[:, 0] * grid[:, 1] * grid[:, 3])
    grid = np.column_stack([grid, dp])
    rest = np.stack(np.meshgrid(mbs, rcs, zeros, offs, indexing="ij"), -1).reshape(-1, 4)
    ia = np.repeat(np.arange(len(grid)), len(rest))
    ib = np.tile(np.arange(len(rest)), len(grid))
    g, r = grid[ia], rest[ib]
    return Candidates(
        tp=g[:, 0],
        pp=g[:, 1],
        vp=g[:, 2],
        cp=g[:, 3],
        ep=g[:, 4],
        dp=g[:, 5],
        mb=r[:, 0],
        recompute=r[:, 1],
        zero=r[:, 2],
        offload=r[:, 3],
    )


def candidate_layout(cand: Candidates, i: int) -> Layout:
    return Layout(
        tp=int(cand.tp[i]),
        pp=int(cand.pp[i]),
        dp=int(cand.dp[i]),
        cp=int(cand.cp[i]),
        ep=int(cand.ep[i]),
        vp=int(cand.vp[i]),
        micro_batch=int(cand.mb[i]),
        recompute=_RECOMPUTE_NAMES[int(cand.recompute[i])],
        zero=int(cand.zero[i]),
        offload=_OFFLOAD_NAMES[int(cand.offload[i])],
    )


def _one(value: Any) -> np.ndarray:
    return np.asarray([value])


def layout_candidates(layout: Layout) -> Candidates:
    one = _one
    return Candidates(
        tp=one(layout.tp),
        pp=one(layout.pp),
        dp=one(layout.dp),
        cp=one(layout.cp),
        ep=one(layout.ep),
        vp=one(layout.vp),
        mb=one(layout.micro_batch),
        recompute=one(RECOMPUTE_CODES[layout.recompute]),
        zero=one(layout.zero),
        offload=one(OFFLOAD_CODES[layout.offload]),
    )


_COMPONENTS = (
    ("compute", "compute_s"),
    ("pipeline bubble", "bubble_s"),
    ("TP communication", "tp_comm_s"),
    ("CP communication", "cp_comm_s"),
    ("PP communication", "pp_comm_s"),
    ("DP/FSDP communication", "dp_comm_s"),
    ("EP all-to-all", "ep_comm_s"),
    ("optimizer step", "optimizer_s"),
    ("fixed overhead", "overhead_s"),
)


# The step components by name, for the explanation's sentence (the keys stay as they are).
_COMPONENT_TEXT = {
    "compute": T("compute"),
    "pipeline bubble": T("pipeline bubble"),
    "TP communication": T("TP communication"),
    "CP communication": T("CP communication"),
    "PP communication": T("PP communication"),
    "DP/FSDP communication": T("DP/FSDP communication"),
    "EP all-to-all": T("EP all-to-all"),
    "optimizer step": T("optimizer step"),
    "fixed overhead": T("fixed overhead"),
}


def _placement(layout: Layout, cluster: ClusterSpec) -> tuple[str, dict[str, str]]:
    """Where the widest TP/CP/EP group sits: "" (one server, or no scale-up domain beyond it),
    "inside" (more than one server inside the scale-up domain: NVL72's 72 GPUs, a TPU slice — its
    collectives run on the scale-up link) or "beyond" (wider than the domain), with the figures.

    Ranks are laid out TP innermost, then CP, then the data-parallel ranks that hold the experts
    (``perf._group_bandwidth``), so the widest group spans tp·cp·ep GPUs.
    """
    groups = [("TP", layout.tp), ("CP", layout.cp), ("EP", layout.ep)]
    names = "×".join(name for name, size in groups if size > 1)
    span = layout.tp * layout.cp * layout.ep
    per_server, domain = cluster.per_server, cluster.domain
    if not names or span <= per_server or domain <= per_server:
        return "", {}
    figures = {
        "groups": names,
        "span": str(span),
        "per_server": str(per_server),
        "domain": str(domain),
        "link": cluster.gpu.scaleup_link,
    }
    return ("inside" if span <= domain else "beyond"), figures


def explanation_text(
    breakdown_s: dict[str, float], step_time_s: float, layout: Layout, cluster: ClusterSpec
) -> Text:
    """What dominates a layout's step, and where its widest group sits, as text: the template of
    ``RankedLayout.explanation``, whose string is this text in English."""
    dominant = max(breakdown_s, key=breakdown_s.__getitem__)
    non_compute = {k: v for k, v in breakdown_s.items() if k != "compute"}
    worst = max(non_compute, key=non_compute.__getitem__)
    figures: dict[str, Any] = {
        "share": percent(breakdown_s[dominant] / step_time_s),
        "dominant": _COMPONENT_TEXT[dominant],
        "worst": _COMPONENT_TEXT[worst],
        "worst_share": percent(non_compute[worst] / step_time_s),
    }
    where, place = _placement(layout, cluster)
    if where == "inside":
        return T(
            "%(share)s of each step is %(dominant)s; the largest overhead is %(worst)s "
            "(%(worst_share)s). Its %(groups)s groups span %(span)s GPUs, more than one "
            "%(per_server)s-GPU server, inside the %(domain)s-GPU %(link)s domain: their "
            "collectives run on %(link)s.",
            **figures,
            **place,
        )
    if where == "beyond":
        return T(
            "%(share)s of each step is %(dominant)s; the largest overhead is %(worst)s "
            "(%(worst_share)s). Its %(groups)s groups span %(span)s GPUs, more than the "
            "%(domain)s-GPU %(link)s domain: the part beyond it runs on the scale-out network.",
            **figures,
            **place,
        )
    return T(
        "%(share)s of each step is %(dominant)s; the largest overhead is %(worst)s "
        "(%(worst_share)s).",
        **figures,
    )


def ranked(ev: Evaluation, cand: Candidates, i: int, cluster: ClusterSpec) -> RankedLayout:
    breakdown = {name: float(np.asarray(getattr(ev, attr))[i]) for name, attr in _COMPONENTS}
    step = float(ev.step_time_s[i])
    dominant = max(breakdown, key=breakdown.__getitem__)
    explanation = str(explanation_text(breakdown, step, candidate_layout(cand, i), cluster))
    memory = float(ev.memory_bytes[i])
    tokens_per_s = float(ev.tokens_per_s[i])
    return RankedLayout(
        layout=candidate_layout(cand, i),
        step_time_s=step,
        tokens_per_s=tokens_per_s,
        model_tflops_per_gpu=tokens_per_s * ev.model_flops_per_token / cluster.gpu_count / 1e12,
        mfu=float(ev.mfu[i]),
        hfu=float(ev.hfu[i]),
        memory_gib=memory / GIB,
        memory_headroom_gib=cluster.gpu.memory_gib - memory / GIB,
        memory_breakdown_gib={
            name: float(np.asarray(getattr(ev, attr))[i]) / GIB
            for name, attr in (
                ("weights", "weights_bytes"),
                ("gradients", "grads_bytes"),
                ("optimizer states", "optimizer_bytes"),
                ("activations", "activations_bytes"),
                ("buffers and reserves", "other_bytes"),
            )
        },
        dominant=dominant,
        breakdown_s=breakdown,
        explanation=explanation,
    )


def search(
    model: ModelSpec,
    training: TrainingSpec,
    cluster: ClusterSpec,
    constraints: LayoutConstraints | None = None,
    *,
    top_k: int = 5,
    efficiency: Efficiency = DEFAULT_EFFICIENCY,
) -> SearchResult:
    """Rank every feasible layout by throughput; report the memory shortfall when none fits."""
    model.validate()
    training.validate()
    cluster.validate()
    cons = constraints or LayoutConstraints()
    cand = build_candidates(model, training, cluster, cons)
    examined = len(cand)
    ev = evaluate(model, training, cluster, cand, efficiency)
    valid_idx = np.flatnonzero(ev.valid)
    feasible_idx = np.flatnonzero(ev.feasible)
    if feasible_idx.size:
        # By throughput, not step time: layouts may run a slightly different (rounded) batch.
        order = feasible_idx[np.argsort(-ev.tokens_per_s[feasible_idx], kind="stable")[:top_k]]
        top = tuple(ranked(ev, cand, int(i), cluster) for i in order)
        return SearchResult(examined, int(valid_idx.size), int(feasible_idx.size), top, None, 0.0)
    if not valid_idx.size:
        raise ValidationError(
            "layout",
            f"no parallel layout splits this model ({model.layers} layers, {model.heads} heads) "
            f"and a global batch of {training.global_batch_seqs} sequences evenly over "
            f"{cluster.gpu_count} GPUs; "
            "try a batch divisible by the GPU count ÷ 8, or a GPU count that is a power of two",
        )
    closest = int(valid_idx[np.argmin(ev.memory_bytes[valid_idx])])
    best = ranked(ev, cand, closest, cluster)
    shortfall = -best.memory_headroom_gib
    return SearchResult(examined, int(valid_idx.size), 0, (), best, shortfall)
