"""Sweeps: many variants of one plan (GPU count, GPU type, precision, strategy) evaluated in one
call — the unit the workers fan out, in chunks, and aggregate into one chart."""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ValidationError
from .planspec import parse_plan, plan_main_pool
from .program import simulate_program

AXES = ("gpu_count", "gpu_type", "precision", "strategy")


@dataclass(frozen=True)
class SweepPoint:
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


def apply_variant(plan: dict[str, Any], variant: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(plan)
    for name, value in variant.items():
        if name in ("gpu_count", "gpu_type"):
            pool = plan_main_pool(data)
            if not pool:
                pool = data.setdefault("cluster", {})
            pool[name] = value
            if name == "gpu_count" and data.get("strategy") == "sft" and "sft" in data:
                # An SFT plan's own pool carries its SFT job: the job takes the variant's GPUs.
                data["sft"]["gpu_count"] = value
        elif name == "precision":
            data.setdefault("training", {})["precision"] = value
        elif name == "strategy":
            data["strategy"] = value
    return data


def chunks(variants: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    if size < 1:
        raise ValidationError("chunk_size", "must be at least 1")
    return [variants[i : i + size] for i in range(0, len(variants), size)]


def run_sweep(
    plan: dict[str, Any], variants: list[dict[str, Any]], trials: int = 500, seed: int = 0
) -> list[SweepPoint]:
    """Simulate every variant of ``plan``. An impossible variant (FP8 on an A100, say) is a point
    with ``ok=False`` and the reason, not an exception: one bad point never sinks a sweep."""
    points = []
    for variant in variants:
        try:
            result = simulate_program(
                parse_plan(apply_variant(plan, variant)), trials=trials, seed=seed
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
            )
        )
    return points
