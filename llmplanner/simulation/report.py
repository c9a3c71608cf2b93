"""A simulated program as plain JSON-ready data: the ``plan`` command's output and what the web
layer stores on a run. Money is in the plan's currency as numbers rounded to cents (the web and
API layers turn them into decimals); days count from the program start, dates follow when the
plan has a ``start_date``.

The monthly percentiles come from ``ProgramResult.monthly_summary``, streamed a block of months at a
time (``program._stream_months``): memory grows with the trials, not with the horizon. The ``plan``
command accepts at most 200,000 trials (about 320 MiB resident for the GPT-3 example).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import numpy as np

from . import __version__ as CORE_VERSION
from .errors import ValidationError
from .planspec import PlanSpec, parse_plan
from .program import (
    CATEGORIES,
    MAIN_MILESTONES,
    STREAM_ROLES,
    ProgramResult,
    _train,
    simulate_program,
)
from .risks import as_dicts, data_checks, milestones, risk_register
from .search import explanation_text
from .specs import ClusterSpec


def _pct(values: np.ndarray, digits: int = 2) -> dict[str, float]:
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    return {
        "p10": round(float(p10), digits),
        "p50": round(float(p50), digits),
        "p90": round(float(p90), digits),
    }


def _date(spec: PlanSpec, day: float) -> str | None:
    if spec.start_date is None:
        return None
    return (spec.start_date + dt.timedelta(days=int(round(day)))).isoformat()


def _histogram(values: np.ndarray, bins: int = 30) -> dict[str, list[float]]:
    counts, edges = np.histogram(values, bins=bins)
    return {"edges": [round(float(e), 2) for e in edges], "counts": [int(c) for c in counts]}


def _pools(result: ProgramResult) -> list[dict[str, Any]]:
    """Each GPU pool: its window as entered and as delivered, what it cost, how much of it the
    stages used and what ran beyond it (the rental is extended at the same price, flagged)."""
    spec = result.spec
    out = []
    for use in result.pools:
        pool = use.pool
        if use.open_window and not use.stages:
            continue  # the default pool of a plan that trains nothing: nothing booked, nothing paid
        window_h = (use.window_end - use.window_start) * 24.0 * pool.gpu_count
        used = np.minimum(use.busy_gpu_hours / np.maximum(window_h, 1e-9), 1.0)
        # An open window has no end to overrun: GPU time outside it is paid per use.
        beyond = np.zeros(result.trials) if use.open_window else use.extension_days
        extended = beyond > 1e-6
        out.append(
            {
                "purpose": pool.purpose,
                "name": pool.name,
                "gpu_type": pool.gpu.name,
                "gpu_count": pool.gpu_count,
                "mode": pool.cost.mode,
                "price_per_gpu_hour": pool.cost.price_per_gpu_hour,
                "start_date": pool.start_date.isoformat() if pool.start_date else None,
                "months": pool.months,
                "window": "open" if use.open_window else "booked",
                "delivered_date_p50": _date(spec, float(np.median(use.window_start))),
                "delivered_date_p90": _date(spec, float(np.percentile(use.window_start, 90))),
                "window_end_date_p50": _date(spec, float(np.median(use.window_end))),
                "delivered_day": _pct(use.window_start),
                "window_cost": _pct(use.window_cost),
                "stages": list(use.stages),
                "busy_gpu_hours_p50": round(float(np.median(use.busy_gpu_hours)), 1),
                "used_share_p50": round(float(np.median(used)), 4) if window_h.any() else None,
                "overrun_policy": "extend",
                "p_extended": float(np.mean(extended)),
                "extension_days": _pct(beyond),
                "extension_cost": _pct(use.extension_cost),
            }
        )
    return out


def scaling_curve(spec: PlanSpec) -> list[dict[str, Any]]:
    """The main run on ¼×…4× the planned GPUs (whole servers): throughput, MFU and ideal days.

    You Yang 2023: scaling is sub-linear (10× the GPUs gave ~3.6× the speed); this shows by how
    much.
    """
    if spec.model is None or spec.strategy not in ("from_scratch", "cpt"):
        return []
    per_server = spec.cluster.gpu.gpus_per_server
    points: list[dict[str, Any]] = []
    for factor in (0.25, 0.5, 1.0, 2.0, 4.0):
        count = max(
            per_server, int(round(spec.cluster.gpu_count * factor / per_server)) * per_server
        )
        if points and points[-1]["gpu_count"] == count:
            continue
        try:
            est = _train(
                spec.model,
                spec.tokens,
                spec.precision,
                ClusterSpec(spec.cluster.gpu, count).validate(),
                spec.global_batch_tokens,
            )
        except ValidationError:
            continue
        points.append(
            {
                "gpu_count": count,
                "tokens_per_s": est.layout.tokens_per_s,
                "mfu": est.layout.mfu,
                "ideal_days": est.wall_clock_days,
                "fits": est.fits,
            }
        )
    return points


def report(result: ProgramResult) -> dict[str, Any]:
    """Everything the dashboard, the API and the PDF need, from one simulated program."""
    spec = result.spec
    findings = data_checks(spec)
    risks = risk_register(result, findings)
    gates = milestones(result)
    total = result.total_cost
    finish = result.finish_days
    main = None
    if result.main_run is not None and result.goodput is not None:
        est = result.main_run
        explanation = explanation_text(
            est.layout.breakdown_s,
            est.layout.step_time_s,
            est.layout.layout,
            ClusterSpec(spec.cluster.gpu, spec.cluster.gpu_count).validate(),
        )
        main = {
            "layout": est.layout.layout.describe(),
            "layout_fields": asdict(est.layout.layout),
            "mfu": est.layout.mfu,
            "hfu": est.layout.hfu,
            "tokens_per_s": est.layout.tokens_per_s,
            "model_tflops_per_gpu": est.layout.model_tflops_per_gpu,
            "memory_gib": est.layout.memory_gib,
            "memory_breakdown_gib": est.layout.memory_breakdown_gib,
            "step_breakdown_s": est.layout.breakdown_s,
            "explanation": est.layout.explanation,
            "explanation_template": explanation.template,
            "explanation_params": explanation.params,
            "ideal_days": est.wall_clock_days,
            "ideal_gpu_hours": est.gpu_hours,
            "fits": est.fits,
            "alternatives": [
                {
                    "layout": r.layout.describe(),
                    "step_time_s": r.step_time_s,
                    "mfu": r.mfu,
                    "memory_gib": r.memory_gib,
                }
                for r in est.alternatives
            ],
            "goodput": result.goodput.summary(),
        }
    stages = []
    for s in result.stages:
        stages.append(
            {
                "key": s.key,
                "name": s.name,
                "name_template": s.name_template,
                "name_params": s.name_params,
                "stream": s.stream,
                "depends_on": list(s.depends_on),
                "start_days": _pct(s.start_days),
                "finish_days": _pct(s.finish_days),
                "start_date_p50": _date(spec, float(np.median(s.start_days))),
                "finish_date_p50": _date(spec, float(np.median(s.finish_days))),
                "finish_date_p90": _date(spec, float(np.percentile(s.finish_days, 90))),
                "gpu_type": s.gpu_type,
                "gpu_count": s.gpu_count,
                "gpu_hours_p50": round(float(np.median(s.gpu_hours)), 1),
                "cost_p50": {
                    c: round(float(np.median(v)), 2) for c, v in s.costs.items() if v.any()
                },
                "note": s.note,
                "note_template": s.note_template,
                "note_params": s.note_params,
                "shortfall_gib": round(s.shortfall_gib, 2),
                "roles": list(STREAM_ROLES[s.stream]),
            }
        )
    months = result.monthly_summary  # streamed in blocks of months (``program._stream_months``)

    def cents(values: np.ndarray) -> list[Any]:
        return list(np.round(values, 2).tolist())

    return {
        "core_version": CORE_VERSION,
        "plan": {
            "name": spec.name,
            "strategy": spec.strategy,
            "currency": spec.currency,
            "usd_to_cny": spec.usd_to_cny,
            "start_date": spec.start_date.isoformat() if spec.start_date else None,
            "deadline_days": spec.deadline_days,
            "budget_cap": spec.budget_cap,
            "clusters": len(spec.clusters),
            "gpu_type": spec.cluster.gpu.name,
            "gpu_memory_gib": spec.cluster.gpu.memory_gib,
            "gpu_count": spec.cluster.gpu_count,
            "model": spec.model.name if spec.model else None,
            "params_total": spec.model.total_params() if spec.model else None,
            "tokens": spec.tokens,
            "precision": spec.precision,
            # Every figure's efficiency: the published calibration or the organization's own.
            "calibration": {
                "source": spec.calibration_source,
                "throughput_factor": spec.throughput_factor,
                "failure_factor": spec.failure_factor,
                "runs": spec.calibration_runs,
            },
        },
        "trials": result.trials,
        "seed": result.seed,
        "totals": {
            "cost": _pct(total),
            "cost_by_category": {c: _pct(v) for c, v in result.cost_by_category.items()},
            "finish_days": _pct(finish),
            "finish_date_p50": _date(spec, float(np.median(finish))),
            "finish_date_p90": _date(spec, float(np.percentile(finish, 90))),
            "gpu_hours": _pct(result.gpu_hours, 1),
            "p_miss_deadline": None
            if spec.deadline_days is None
            else float(np.mean(finish > spec.deadline_days)),
            "p_over_budget": None
            if spec.budget_cap is None
            else float(np.mean(total > spec.budget_cap)),
        },
        "main_run": main,
        "scaling": scaling_curve(spec),
        "stages": stages,
        "monthly": {
            "labels": list(result.month_labels),
            "calendar": spec.start_date is not None,
            "categories": list(CATEGORIES),
            "percentiles": "per month: p50/p90 of each month's spend on its own; they do not add "
            "up to the totals. cumulative_p50/p90: percentiles of the spend to the end of each "
            "month, the last equal to the total cost percentiles.",
            "p50": cents(months.p50),
            "p90": cents(months.p90),
            "total_p50": cents(months.total_p50),
            "total_p90": cents(months.total_p90),
            "cumulative_p50": cents(months.cumulative_p50),
            "cumulative_p90": cents(months.cumulative_p90),
        },
        "pools": _pools(result),
        "storage": {
            "policy": {
                "keep_last": spec.storage.keep_last,
                "price_per_tb_month": spec.storage.price_per_tb_month,
                "archive_price_per_tb_month": spec.storage.archive_price_per_tb_month,
                "milestone_checkpoints": [f"{m:.0%}" for m in MAIN_MILESTONES],
                "summary": f"last {spec.storage.keep_last} checkpoints on fast storage while the "
                "main run writes them; a checkpoint at each main-run milestone (25/50/75/100%) "
                "and each ladder rung, and the weights of every SFT/preference run, archived to "
                "the program's end; raw datasets archived from their ready date, tokenised "
                "datasets on fast storage from data preparation to the program's end",
            },
            "sizes_tb": {k: round(v, 4) for k, v in result.storage_tb.items()},
        },
        "histograms": {
            "finish_days": _histogram(finish),
            "total_cost": _histogram(total),
            "gpu_hours": _histogram(result.gpu_hours),
            **(
                {
                    "effective_training_time": _histogram(result.goodput.effective_training_time),
                    "interruptions": _histogram(result.goodput.interruptions.astype(float)),
                }
                if result.goodput is not None
                else {}
            ),
        },
        "team": [
            asdict(t)
            | {
                "start_date": t.start_date.isoformat() if t.start_date else None,
                "end_date": t.end_date.isoformat() if t.end_date else None,
            }
            for t in result.team
        ],
        "team_is_default": result.team_is_default,
        "milestones": [
            m
            | {
                "p50_date": _date(spec, float(m["p50_day"])),
                "p90_date": _date(spec, float(m["p90_day"])),
            }
            for m in as_dicts(gates)
        ],
        "risks": as_dicts(risks),
        "data_checks": as_dicts(findings),
    }


def run_plan(
    data: Any, trials: int = 2000, seed: int = 0, progress: Callable[[int, str], None] | None = None
) -> dict[str, Any]:
    """Parse, simulate and report a plan given as JSON data.

    ``progress(percent, phase)`` is called as the phases complete (for a worker to store).
    """
    tell = progress or (lambda percent, phase: None)
    spec = parse_plan(data)
    tell(5, "parsed")
    result = simulate_program(spec, trials=trials, seed=seed)
    tell(70, "simulated")
    out = report(result)
    tell(100, "reported")
    return out
