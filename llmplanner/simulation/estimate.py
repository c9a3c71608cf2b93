"""One plan: FLOPs, the layout (given or searched), memory, throughput, time and cost."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .config import PlanConfig
from .cost import CostBreakdown, compute_cost
from .perf import DEFAULT_EFFICIENCY, Efficiency
from .search import RankedLayout, SearchResult, search


@dataclass(frozen=True)
class Estimate:
    """The answer for one training run. Times in seconds/hours/days as named, memory in GiB."""

    model_name: str
    params_total: int
    params_active: int
    model_flops_per_token: float
    hardware_flops_per_token: float
    total_model_flops: float
    tokens: float
    steps: float
    gpu_type: str
    gpu_count: int
    fits: bool
    shortfall_gib: float
    layout: RankedLayout
    alternatives: tuple[RankedLayout, ...]
    candidates_examined: int
    candidates_feasible: int
    wall_clock_hours: float
    gpu_hours: float
    cost: CostBreakdown

    @property
    def wall_clock_days(self) -> float:
        return self.wall_clock_hours / 24.0

    def as_json(self) -> dict[str, Any]:
        def layout_json(r: RankedLayout) -> dict[str, Any]:
            data = asdict(r)
            data["layout"]["description"] = r.layout.describe()
            return data

        return {
            "model": {
                "name": self.model_name,
                "params_total": self.params_total,
                "params_active": self.params_active,
            },
            "flops": {
                "model_per_token": self.model_flops_per_token,
                "hardware_per_token": self.hardware_flops_per_token,
                "total_model": self.total_model_flops,
            },
            "tokens": self.tokens,
            "steps": self.steps,
            "cluster": {"gpu_type": self.gpu_type, "gpu_count": self.gpu_count},
            "fits": self.fits,
            "shortfall_gib": self.shortfall_gib,
            "layout": layout_json(self.layout),
            "alternatives": [layout_json(r) for r in self.alternatives],
            "search": {
                "candidates_examined": self.candidates_examined,
                "candidates_feasible": self.candidates_feasible,
            },
            "wall_clock_hours": self.wall_clock_hours,
            "wall_clock_days": self.wall_clock_days,
            "gpu_hours": self.gpu_hours,
            "cost": self.cost.as_json(),
        }


def run_search(
    plan: PlanConfig, top_k: int = 5, efficiency: Efficiency = DEFAULT_EFFICIENCY
) -> SearchResult:
    return search(
        plan.model,
        plan.training,
        plan.cluster,
        plan.constraints,
        top_k=top_k,
        efficiency=efficiency,
    )


def estimate(
    plan: PlanConfig, top_k: int = 3, efficiency: Efficiency = DEFAULT_EFFICIENCY
) -> Estimate:
    """Estimate a plan. When no layout fits, the closest one is reported with ``fits=False`` and the
    memory shortfall; its time and cost are what it would take with enough memory."""
    result = run_search(plan, top_k, efficiency)
    best = result.top[0] if result.top else result.best_infeasible
    assert best is not None  # search raises when nothing is even valid
    model, training, cluster = plan.model, plan.training, plan.cluster
    seconds = training.tokens / best.tokens_per_s  # the layout's own (rounded) batch
    hours = seconds / 3600.0
    flops_tok = best.model_tflops_per_gpu * 1e12 * cluster.gpu_count / best.tokens_per_s
    hw_tok = flops_tok * best.hfu / best.mfu
    return Estimate(
        model_name=model.name,
        params_total=model.total_params(),
        params_active=model.active_params(),
        model_flops_per_token=flops_tok,
        hardware_flops_per_token=hw_tok,
        total_model_flops=flops_tok * training.tokens,
        tokens=training.tokens,
        steps=training.steps,
        gpu_type=cluster.gpu.name,
        gpu_count=cluster.gpu_count,
        fits=bool(result.top),
        shortfall_gib=result.shortfall_gib,
        layout=best,
        alternatives=result.top[1:],
        candidates_examined=result.candidates_examined,
        candidates_feasible=result.candidates_feasible,
        wall_clock_hours=hours,
        gpu_hours=hours * cluster.gpu_count,
        cost=compute_cost(cluster.gpu, cluster.gpu_count, hours, plan.cost),
    )
