"""Sweeps: many variants of one plan (GPU count, GPU type, precision, strategy) evaluated in one
call — the unit the workers fan out, in chunks, and aggregate into one chart.

A step up in GPUs that speeds the main run up by more than the GPU ratio (superlinear) is explained
on the larger point's ``scaling_note``, from the two main-run layouts (``scaling_notes``).
``run_sweep`` notes the pairs within its own variants; an aggregate of chunks notes the pairs
across chunks with ``annotate_scaling`` on all the points.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from .errors import ValidationError
from .hardware import gpu_by_name
from .planspec import parse_plan, plan_main_pool
from .program import simulate_program

AXES = ("gpu_count", "gpu_type", "precision", "strategy")
_RECOMPUTE_RANK = {"none": 0, "selective": 1, "full": 2}


@dataclass(frozen=True)
class SweepPoint:
    """One variant's result. ``main_run`` describes the main training run the figures come from:
    ``gpu_count``, ``fits``, ``layout`` (the layout's fields), ``step_time_s``, ``breakdown_s``
    (seconds per step by component); None when the strategy trains nothing big."""

    variant: dict[str, Any]
    ok: bool
    error: str = ""
    cost_p50: float = 0.0
    cost_p90: float = 0.0
    finish_days_p50: float = 0.0
    finish_days_p90: float = 0.0
    gpu_hours_p50: float = 0.0
    mfu: float | None = None
    tokens_per_s: float | None = None
    layout: str = ""
    main_run: dict[str, Any] | None = None
    scaling_note: str = ""  # why this point is faster than the GPU ratio says (else "")

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def sweep_variants(axes: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """The Cartesian product of the given axes (any of ``AXES``), in a stable order."""
    if not isinstance(axes, dict) or not axes:
        raise ValidationError(
            "axes", f"give at least one of {', '.join(AXES)} with a list of values"
        )
    for name, values in axes.items():
        if name not in AXES:
            raise ValidationError(f"axes.{name}", f"unknown axis; use {', '.join(AXES)}")
        if not isinstance(values, list) or not values or len(values) > 64:
            raise ValidationError(f"axes.{name}", "must be a list of 1 to 64 values")
    names = list(axes)
    return [
        dict(zip(names, combo, strict=True))
        for combo in itertools.product(*(axes[n] for n in names))
    ]


def apply_variant(
    plan: dict[str, Any],
    variant: dict[str, Any],
    prices: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """``plan`` with ``variant`` applied to its main pool, training and strategy.

    A price agreed for one GPU type is no price for another: a GPU-type variant takes its price
    per GPU-hour from ``prices`` (by the variant's value, in the plan's currency; the web passes
    its catalog's) or, when absent there, the core catalog's default for that part."""
    data = copy.deepcopy(plan)
    for name, value in variant.items():
        if name in ("gpu_count", "gpu_type"):
            pool = plan_main_pool(data)
            if not pool:
                pool = data.setdefault("cluster", {})
            if name == "gpu_type":
                for moved in hardware_pools(data, pool):
                    if value != moved.get("gpu_type"):
                        price = (prices or {}).get(value)
                        if price is None:
                            moved.pop("price_per_gpu_hour", None)
                        else:
                            moved["price_per_gpu_hour"] = price
                        moved["gpu_type"] = value
            pool[name] = value
            if name == "gpu_count" and data.get("strategy") == "sft" and "sft" in data:
                # An SFT plan's own pool carries its SFT job: the job takes the variant's GPUs.
                data["sft"]["gpu_count"] = value
        elif name == "precision":
            data.setdefault("training", {})["precision"] = value
        elif name == "strategy":
            data["strategy"] = value
    return data


def hardware_pools(plan: dict[str, Any], main: dict[str, Any]) -> list[dict[str, Any]]:
    """The pools a GPU-type variant moves: the plan's own pool and every other training pool
    (experiments, fine-tuning — not serving) on the same part. "What if we trained on H100" moves
    the ladder and the SFT job with the main run; left on the old part, a format it lacks (FP8 on
    an A800) would sink every variant."""

    def part(pool: dict[str, Any]) -> str:
        try:
            return gpu_by_name(str(pool.get("gpu_type", ""))).key
        except ValidationError:
            return str(pool.get("gpu_type", ""))

    moved = [main]
    pools = plan.get("clusters")
    if isinstance(pools, list):
        moved += [
            p
            for p in pools
            if isinstance(p, dict)
            and p is not main
            and p.get("purpose", "main") != "serving"
            and part(p) == part(main)
        ]
    return moved


def chunks(variants: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    if size < 1:
        raise ValidationError("chunk_size", "must be at least 1")
    return [variants[i : i + size] for i in range(0, len(variants), size)]


def run_sweep(
    plan: dict[str, Any],
    variants: list[dict[str, Any]],
    trials: int = 500,
    seed: int = 0,
    prices: Mapping[str, float] | None = None,
) -> list[SweepPoint]:
    """Simulate every variant of ``plan`` (GPU-type variants priced from ``prices``, see
    ``apply_variant``). An impossible variant (FP8 on an A100, say) is a point with ``ok=False``
    and the reason, not an exception: one bad point never sinks a sweep."""
    points = []
    for variant in variants:
        try:
            result = simulate_program(
                parse_plan(apply_variant(plan, variant, prices)), trials=trials, seed=seed
            )
        except ValidationError as exc:
            points.append(SweepPoint(variant=variant, ok=False, error=str(exc)))
            continue
        total = result.total_cost
        est = result.main_run
        points.append(
            SweepPoint(
                variant=variant,
                ok=True,
                cost_p50=float(np.median(total)),
                cost_p90=float(np.percentile(total, 90)),
                finish_days_p50=float(np.median(result.finish_days)),
                finish_days_p90=float(np.percentile(result.finish_days, 90)),
                gpu_hours_p50=float(np.median(result.gpu_hours)),
                mfu=est.layout.mfu if est else None,
                tokens_per_s=est.layout.tokens_per_s if est else None,
                layout=est.layout.layout.describe() if est else "",
                main_run=None
                if est is None
                else {
                    "gpu_count": est.gpu_count,
                    "fits": est.fits,
                    "layout": asdict(est.layout.layout),
                    "step_time_s": est.layout.step_time_s,
                    "breakdown_s": dict(est.layout.breakdown_s),
                },
            )
        )
    notes = scaling_notes([p.as_json() for p in points])
    return [
        replace(p, scaling_note=note) if note else p for p, note in zip(points, notes, strict=True)
    ]


# ---- superlinear steps ---------------------------------------------------------------------------


def _layout_changes(small: Mapping[str, Any], large: Mapping[str, Any]) -> list[str]:
    """What the larger cluster's layout does that saves work per GPU, in words."""
    out = []
    rc_small = _RECOMPUTE_RANK.get(str(small.get("recompute")), 0)
    rc_large = _RECOMPUTE_RANK.get(str(large.get("recompute")), 0)
    if rc_large < rc_small:
        out.append(
            "drop full recomputation"
            if rc_small == 2 and rc_large == 0
            else "use selective instead of full recomputation"
            if rc_small == 2
            else "drop selective recomputation"
        )
    if small.get("offload", "none") != "none" and large.get("offload", "none") == "none":
        out.append("fit in memory without offloading the optimizer states")
    if small.get("zero") == 3 and (large.get("zero") or 0) < 3:
        out.append("leave ZeRO-3 (no parameter all-gathers every micro-batch)")
    for key, label, fewer in (
        ("tp", "TP", "use less tensor parallelism"),
        ("pp", "PP", "use fewer pipeline stages"),
        ("cp", "CP", "use less context parallelism"),
    ):
        if (large.get(key) or 1) < (small.get(key) or 1):
            out.append(f"{fewer} ({label}{small.get(key)} → {label}{large.get(key)})")
    if (large.get("micro_batch") or 1) > (small.get("micro_batch") or 1):
        out.append(
            f"raise the micro-batch ({small.get('micro_batch')} → {large.get('micro_batch')})"
        )
    if (large.get("pp") or 1) > 1 and (large.get("vp") or 1) > (small.get("vp") or 1):
        out.append(
            f"interleave the pipeline more (VP{small.get('vp')} → VP{large.get('vp')}), "
            "shrinking the bubble"
        )
    return out


def _gpu_seconds_per_token(point: Mapping[str, Any]) -> dict[str, float]:
    """Each step component's GPU-seconds per token of the point's main run."""
    run = point["main_run"]
    tokens_per_step = float(point["tokens_per_s"]) * float(run["step_time_s"])
    gpus = float(run["gpu_count"])
    return {k: v * gpus / tokens_per_step for k, v in (run.get("breakdown_s") or {}).items()}


def superlinear_note(small: Mapping[str, Any], large: Mapping[str, Any]) -> str:
    """Why ``large`` (more GPUs) is faster than ``small`` by more than the GPU ratio, from their
    main runs ("" when it is not). Both are points as ``SweepPoint.as_json`` gives them."""
    a, b = small.get("main_run"), large.get("main_run")
    if not (small.get("ok") and large.get("ok") and a and b):
        return ""
    if not (small.get("tokens_per_s") and large.get("tokens_per_s")):
        return ""
    n1, n2 = int(a["gpu_count"]), int(b["gpu_count"])
    if n2 <= n1:
        return ""
    speedup = float(large["tokens_per_s"]) / float(small["tokens_per_s"])
    ratio = n2 / n1
    if speedup <= ratio * (1.0 + 1e-9):
        return ""
    head = (
        f"{n1:,} → {n2:,} GPUs: {speedup:.2f}× the throughput for {ratio:g}× the GPUs (superlinear)"
    )
    causes = _layout_changes(a.get("layout") or {}, b.get("layout") or {})
    if not a.get("fits", True) and b.get("fits", True):
        causes.insert(
            0,
            f"fit in memory (no layout fits on {n1:,} GPUs: that point's speed is of a layout "
            "short of memory)",
        )
    per_token_a, per_token_b = _gpu_seconds_per_token(small), _gpu_seconds_per_token(large)
    saved = {k: per_token_a[k] - per_token_b.get(k, 0.0) for k in per_token_a}
    largest = max(saved, key=saved.__getitem__) if saved else ""
    mfu = ""
    if small.get("mfu") is not None and large.get("mfu") is not None:
        mfu = f" (MFU {float(small['mfu']):.0%} → {float(large['mfu']):.0%})"
    where = ""
    if largest and saved[largest] > 0 and per_token_a[largest] > 0:
        share = saved[largest] / per_token_a[largest]
        where = f"; GPU time per token falls most in {largest} (−{share:.0%})"
    if causes:
        return (
            f"{head}: {n2:,} GPUs let the layout {', '.join(causes)}, so each GPU does less work "
            f"per token{mfu}{where}."
        )
    return (
        f"{head}: the layout keeps its settings but each GPU does less work per token{mfu}{where}."
    )


def _group_key(point: Mapping[str, Any]) -> str:
    """Points that differ only in their GPU count share a key."""
    others = {k: v for k, v in (point.get("variant") or {}).items() if k != "gpu_count"}
    return json.dumps(others, sort_keys=True, default=str)


def scaling_notes(points: Sequence[Mapping[str, Any]]) -> list[str]:
    """One note per point (``SweepPoint.as_json`` form): for a point whose main run is faster than
    the next smaller GPU count of the same variant by more than the GPU ratio, why; else ""."""
    notes = [""] * len(points)
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(points):
        run = p.get("main_run")
        if (
            p.get("ok")
            and run
            and p.get("tokens_per_s")
            and "gpu_count" in (p.get("variant") or {})
        ):
            groups.setdefault(_group_key(p), []).append(i)
    for members in groups.values():
        members.sort(key=lambda i: int(points[i]["main_run"]["gpu_count"]))
        for i, j in itertools.pairwise(members):
            notes[j] = superlinear_note(points[i], points[j])
    return notes


def annotate_scaling(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``points`` (``SweepPoint.as_json`` form, e.g. all chunks of a sweep) with ``scaling_note``
    set from the whole list, so pairs that ran in different chunks are noted too."""
    notes = scaling_notes(points)
    return [{**p, "scaling_note": note} for p, note in zip(points, notes, strict=True)]
