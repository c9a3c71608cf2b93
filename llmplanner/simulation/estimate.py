"""One plan: FLOPs, the layout (given or searched), memory, throughput, time and cost.

With ``explain=True`` (the command line asks for it) an estimate also says what it cannot say in
numbers alone: for a plan that does not fit, what would (``FitSuggestion``); for an FP8 plan, how it
compares with the same plan in BF16 and why FP8 is not faster when it is not
(``PrecisionComparison``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from .config import PlanConfig
from .cost import CostBreakdown, compute_cost
from .errors import ValidationError
from .perf import DEFAULT_EFFICIENCY, Efficiency, evaluate
from .search import (
    LayoutConstraints,
    RankedLayout,
    SearchResult,
    layout_candidates,
    search,
)

# The largest cluster the "what would fit" scan tries (a power of two above the largest built).
SUGGEST_MAX_GPUS = 131_072
# RankedLayout fields that describe speed: meaningless for a layout that cannot run (see as_json).
_PERFORMANCE_FIELDS = (
    "step_time_s",
    "tokens_per_s",
    "model_tflops_per_gpu",
    "mfu",
    "hfu",
    "dominant",
    "breakdown_s",
    "explanation",
)
# Efficiency parameters that scale the HBM traffic of FP8 casts and scaling: set to 0, no casts.
_FP8_CAST_PREFIX = "fp8_cast"


@dataclass(frozen=True)
class MemoryOption:
    """The plan on its own GPU count with memory-saving settings the search was not free to use."""

    name: str  # e.g. "offloading the optimizer states (CPU or NVMe)"
    fits: bool
    shortfall_gib: float  # 0 when it fits
    layout: str  # the fastest fitting layout, or the closest one

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FitSuggestion:
    """What would fit, for a plan that does not.

    ``gpu_count`` is the smallest count of this GPU type, among powers of two up to a server and
    1, 2, 4, … servers above, on which the search finds a fitting layout (None: none up to
    ``searched_up_to``); ``options`` are memory-saving settings tried on the plan's own GPU count.
    """

    gpu_type: str
    current_gpu_count: int
    gpu_count: int | None
    layout: str
    memory_gib: float | None
    searched_up_to: int
    options: tuple[MemoryOption, ...]

    def lines(self) -> list[str]:
        """The suggestion in words, one line per fact."""
        out = []
        if self.gpu_count is not None:
            out.append(
                f"{self.gpu_count:,} × {self.gpu_type}: {self.layout} "
                f"({self.memory_gib:.1f} GiB per GPU) — the smallest of 1, 2, 4, … servers "
                "on which a layout fits"
            )
        else:
            out.append(
                f"no count of {self.gpu_type} up to {self.searched_up_to:,} GPUs fits this plan "
                "with the layout settings it fixes"
            )
        n = self.current_gpu_count
        where = f"on {n:,} GPU{'' if n == 1 else 's'}"
        for opt in self.options:
            if opt.fits:
                out.append(f"{where}: {opt.name} makes it fit ({opt.layout})")
            else:
                out.append(
                    f"{where}: {opt.name} still leaves it short by {opt.shortfall_gib:,.1f} GiB"
                )
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "gpu_type": self.gpu_type,
            "current_gpu_count": self.current_gpu_count,
            "gpu_count": self.gpu_count,
            "layout": self.layout or None,
            "memory_gib": self.memory_gib,
            "searched_up_to": self.searched_up_to,
            "options": [o.as_json() for o in self.options],
            "message": "; ".join(self.lines()),
        }


@dataclass(frozen=True)
class PrecisionComparison:
    """An FP8 plan against the same plan in ``baseline`` (BF16, or FP16 on a GPU without BF16)."""

    baseline: str
    baseline_tokens_per_s: float
    baseline_layout: str
    tokens_per_s: float
    speedup: float  # FP8 throughput ÷ baseline throughput
    cast_gb_per_step: float | None  # extra HBM traffic of FP8 casts and scaling, per GPU and step
    note: str  # why FP8 is not faster; "" when it is

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Estimate:
    """The answer for one training run. Times in seconds/hours/days as named, memory in GiB.

    For a plan that does not fit (``fits=False``) the attributes still hold what the closest layout
    would take with enough memory — program stages use them — but ``as_json`` and the command line
    give no time or cost for it.
    """

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
    gpu_memory_gib: float = 0.0
    fit_suggestion: FitSuggestion | None = None  # explain=True and the plan does not fit
    precision_comparison: PrecisionComparison | None = None  # explain=True and an FP8 plan

    @property
    def wall_clock_days(self) -> float:
        return self.wall_clock_hours / 24.0

    def as_json(self) -> dict[str, Any]:
        """The estimate as JSON.

        A plan that does not fit has ``"fits": false``, ``"shortfall_gib"`` (GiB per GPU), and
        ``null`` for ``wall_clock_hours``, ``wall_clock_days``, ``gpu_hours`` and ``cost`` — the
        keys stay, so a reader tells "no answer" from a missing field. Its ``layout`` is the
        closest layout (the least memory) with its memory figures; its speed fields
        (``step_time_s``, ``tokens_per_s``, ``model_tflops_per_gpu``, ``mfu``, ``hfu``,
        ``dominant``, ``breakdown_s``, ``explanation``) are ``null`` too. ``fit_suggestion`` says
        what would fit (``null`` when it fits, or when the estimate ran without ``explain``);
        ``precision_comparison`` compares an FP8 plan with BF16 (``null`` otherwise).
        """

        def layout_json(r: RankedLayout) -> dict[str, Any]:
            data = asdict(r)
            data["layout"]["description"] = r.layout.describe()
            if not self.fits:
                data.update(dict.fromkeys(_PERFORMANCE_FIELDS))
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
            "cluster": {
                "gpu_type": self.gpu_type,
                "gpu_count": self.gpu_count,
                "gpu_memory_gib": self.gpu_memory_gib,
            },
            "fits": self.fits,
            "shortfall_gib": self.shortfall_gib,
            "layout": layout_json(self.layout),
            "alternatives": [layout_json(r) for r in self.alternatives],
            "search": {
                "candidates_examined": self.candidates_examined,
                "candidates_feasible": self.candidates_feasible,
            },
            "wall_clock_hours": self.wall_clock_hours if self.fits else None,
            "wall_clock_days": self.wall_clock_days if self.fits else None,
            "gpu_hours": self.gpu_hours if self.fits else None,
            "cost": self.cost.as_json() if self.fits else None,
            "fit_suggestion": None
            if self.fit_suggestion is None
            else self.fit_suggestion.as_json(),
            "precision_comparison": None
            if self.precision_comparison is None
            else self.precision_comparison.as_json(),
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
    plan: PlanConfig,
    top_k: int = 3,
    efficiency: Efficiency = DEFAULT_EFFICIENCY,
    *,
    explain: bool = False,
) -> Estimate:
    """Estimate a plan. When no layout fits, the closest one is reported with ``fits=False`` and the
    memory shortfall; its time and cost are what it would take with enough memory.

    ``explain=True`` adds ``fit_suggestion`` to a plan that does not fit (more searches: GPU counts
    and memory-saving settings) and ``precision_comparison`` to an FP8 plan (one more search, in
    BF16); program stages leave it off, as they need the numbers only.
    """
    result = run_search(plan, top_k, efficiency)
    best = result.top[0] if result.top else result.best_infeasible
    assert best is not None  # search raises when nothing is even valid
    model, training, cluster = plan.model, plan.training, plan.cluster
    seconds = training.tokens / best.tokens_per_s  # the layout's own (rounded) batch
    hours = seconds / 3600.0
    flops_tok = best.model_tflops_per_gpu * 1e12 * cluster.gpu_count / best.tokens_per_s
    hw_tok = flops_tok * best.hfu / best.mfu
    est = Estimate(
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
        gpu_memory_gib=cluster.gpu.memory_gib,
    )
    if not explain:
        return est
    if not est.fits:
        est = replace(est, fit_suggestion=suggest_fit(plan, efficiency))
    elif training.precision == "fp8":
        est = replace(est, precision_comparison=compare_with_16_bit(plan, est, efficiency))
    return est


# ---- what would fit ------------------------------------------------------------------------------


def _best(
    plan: PlanConfig, cons: LayoutConstraints, gpu_count: int, efficiency: Efficiency
) -> SearchResult | None:
    """The plan searched under ``cons`` on ``gpu_count`` GPUs (None: no layout even splits it)."""
    cluster = replace(plan.cluster, gpu_count=gpu_count)
    try:
        return search(plan.model, plan.training, cluster, cons, top_k=1, efficiency=efficiency)
    except ValidationError:
        return None


def larger_gpu_counts(current: int, per_server: int, bound: int = SUGGEST_MAX_GPUS) -> list[int]:
    """GPU counts above ``current`` to try, smallest first: powers of two below a server, then
    1, 2, 4, … servers, up to ``bound``."""
    counts = []
    c = 1
    while c < per_server:
        if c > current:
            counts.append(c)
        c *= 2
    c = per_server
    while c <= bound:
        if c > current:
            counts.append(c)
        c *= 2
    return counts


def _memory_options(cons: LayoutConstraints) -> list[tuple[str, LayoutConstraints]]:
    """Memory-saving settings the plan's own constraints kept the search from using."""
    options: list[tuple[str, LayoutConstraints]] = []
    if cons.recompute not in (None, "full"):
        options.append(("full activation recomputation", replace(cons, recompute="full")))
    zero3 = replace(cons, zero=3)
    if (cons.pp or 1) > 1:  # ZeRO-3 shards what a pipeline needs every micro-batch
        zero3 = replace(zero3, pp=1, vp=1, dp=None)
    if cons.zero not in (None, 3):
        options.append(("ZeRO-3 (sharded weights, gradients and optimizer states)", zero3))
    if not cons.allow_offload and cons.offload in (None, "none"):
        options.append(
            (
                "offloading the optimizer states (CPU or NVMe)",
                replace(cons, offload=None, allow_offload=True),
            )
        )
    # All of them at once, each free for the search to use where it saves memory.
    everything = replace(cons, recompute=None, zero=None, offload=None, allow_offload=True)
    if (cons.pp or 1) > 1:
        everything = replace(everything, pp=None, vp=None, dp=None)
    if everything != cons and all(c != everything for _, c in options):
        options.append(
            ("full recomputation, ZeRO-3 and optimizer offload where they help", everything)
        )
    return options


def suggest_fit(plan: PlanConfig, efficiency: Efficiency = DEFAULT_EFFICIENCY) -> FitSuggestion:
    """What would fit a plan that does not: the smallest fitting GPU count (keeping the layout
    settings the plan fixes, but not its data-parallel size) and memory-saving settings on the
    plan's own GPU count."""
    cluster = plan.cluster
    scan = replace(plan.constraints, dp=None)
    counts = larger_gpu_counts(cluster.gpu_count, cluster.per_server)
    found: tuple[int, RankedLayout] | None = None
    for count in counts:
        result = _best(plan, scan, count, efficiency)
        if result is not None and result.top:
            found = (count, result.top[0])
            break
    options = []
    for name, cons in _memory_options(plan.constraints):
        result = _best(plan, cons, cluster.gpu_count, efficiency)
        if result is None:
            continue
        if result.top:
            options.append(MemoryOption(name, True, 0.0, result.top[0].layout.describe()))
        elif result.best_infeasible is not None:
            options.append(
                MemoryOption(
                    name,
                    False,
                    result.shortfall_gib,
                    result.best_infeasible.layout.describe(),
                )
            )
    return FitSuggestion(
        gpu_type=cluster.gpu.name,
        current_gpu_count=cluster.gpu_count,
        gpu_count=None if found is None else found[0],
        layout="" if found is None else found[1].layout.describe(),
        memory_gib=None if found is None else found[1].memory_gib,
        searched_up_to=counts[-1] if counts else cluster.gpu_count,
        options=tuple(options),
    )


# ---- FP8 against BF16 ----------------------------------------------------------------------------


def _fmt_s(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if abs(seconds) < 1.0 else f"{seconds:,.2f} s"


def fp8_cast_seconds(
    plan: PlanConfig, layout: RankedLayout, efficiency: Efficiency = DEFAULT_EFFICIENCY
) -> float | None:
    """Seconds per step the FP8 casts and scaling add to ``layout``'s compute: the layout evaluated
    with and without their HBM traffic (every ``fp8_cast*`` efficiency parameter at 0). None when
    the performance model has no such parameter."""
    cast_parameters = [f.name for f in fields(efficiency) if f.name.startswith(_FP8_CAST_PREFIX)]
    if not cast_parameters:
        return None
    cand = layout_candidates(layout.layout)
    with_casts = evaluate(plan.model, plan.training, plan.cluster, cand, efficiency)
    without = evaluate(
        plan.model,
        plan.training,
        plan.cluster,
        cand,
        efficiency.replace(**dict.fromkeys(cast_parameters, 0.0)),
    )
    return max(0.0, float(with_casts.compute_s[0]) - float(without.compute_s[0]))


def fp8_note(
    baseline: RankedLayout,
    fp8: RankedLayout,
    cast_s: float | None,
    hbm_bytes_per_s: float,
    baseline_name: str = "BF16",
) -> str:
    """Why FP8 is not faster than ``baseline`` ("" when it is), from the two layouts' step
    breakdowns. ``cast_s``: seconds per FP8 step spent on casts and scaling (``fp8_cast_seconds``).
    """
    speedup = fp8.tokens_per_s / baseline.tokens_per_s
    if speedup > 1.0:
        return ""
    verdict = "slower than" if speedup < 1.0 else "no faster than"
    head = f"FP8 is {verdict} {baseline_name} here ({speedup:.2f}× the throughput)"
    # The baseline's step scaled to the FP8 step's tokens, so the two compare per token.
    scale = (fp8.tokens_per_s * fp8.step_time_s) / (baseline.tokens_per_s * baseline.step_time_s)
    base = {k: v * scale for k, v in baseline.breakdown_s.items()}
    fp8_compute = fp8.breakdown_s.get("compute", 0.0)
    if cast_s is not None:
        gemm_gain = base.get("compute", 0.0) - (fp8_compute - cast_s)
        if cast_s >= gemm_gain:
            gb = cast_s * hbm_bytes_per_s / 1e9
            return (
                f"{head}: at this size the casts and scaling ({gb:,.1f} GB/step of extra HBM "
                f"traffic, {_fmt_s(cast_s)} per step) cost more than the faster GEMMs gain "
                f"({_fmt_s(max(gemm_gain, 0.0))} per step)."
            )
        gain_text = f"its faster GEMMs and casts together save {_fmt_s(gemm_gain - cast_s)}"
    else:
        gain_text = f"its compute changes by {_fmt_s(fp8_compute - base.get('compute', 0.0))}"
    # The casts pay off, yet the FP8 step is no shorter: another part of it grew.
    grew = {
        k: fp8.breakdown_s.get(k, 0.0) - base.get(k, 0.0) for k in fp8.breakdown_s if k != "compute"
    }
    worst = max(grew, key=grew.__getitem__) if grew else ""
    if worst and grew[worst] > 0:
        return (
            f"{head}: {gain_text} per step, but its best layout ({fp8.layout.describe()}) spends "
            f"{_fmt_s(grew[worst])} more on {worst} than the {baseline_name} one "
            f"({baseline.layout.describe()})."
        )
    return f"{head}: {gain_text} per step, which the rest of the step outweighs."


def compare_with_16_bit(
    plan: PlanConfig, est: Estimate, efficiency: Efficiency = DEFAULT_EFFICIENCY
) -> PrecisionComparison | None:
    """The FP8 plan ``est`` against the same plan in BF16 (FP16 on a GPU without BF16); None when
    the 16-bit plan does not fit either."""
    gpu = plan.cluster.gpu
    base_precision = "bf16" if "bf16" in gpu.peak_tflops else "fp16"
    base_plan = replace(plan, training=replace(plan.training, precision=base_precision))
    try:
        base = estimate(base_plan, top_k=1, efficiency=efficiency)
    except ValidationError:
        return None
    if not base.fits:
        return None
    cast_s = fp8_cast_seconds(plan, est.layout, efficiency)
    return PrecisionComparison(
        baseline=base_precision,
        baseline_tokens_per_s=base.layout.tokens_per_s,
        baseline_layout=base.layout.layout.describe(),
        tokens_per_s=est.layout.tokens_per_s,
        speedup=est.layout.tokens_per_s / base.layout.tokens_per_s,
        cast_gb_per_step=None if cast_s is None else cast_s * gpu.hbm_bytes_per_s / 1e9,
        note=fp8_note(base.layout, est.layout, cast_s, gpu.hbm_bytes_per_s, base_precision.upper()),
    )
