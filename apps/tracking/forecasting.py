"""The re-forecast of a scenario in execution: its approved baseline and actual reports handed to
the core (``llmplanner.simulation.forecast``), and the core's answer shaped for the API and the
tracking page.

The core simulates the approved inputs again with the approved run's trials and seed (the same
worlds as the approved report), conditions the main run on the last report and re-simulates what
follows; money reported as spent is fact. Money leaves here as decimal strings in the program's
currency (the reports store it so, ``ActualReport.spend``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from llmplanner.simulation.forecast import Actuals
from llmplanner.simulation.program import CATEGORIES

CENT = Decimal("0.01")


def money(value: float) -> str:
    """A decimal string rounded to the cent (as the budget API writes amounts)."""
    return str(Decimal(repr(float(value))).quantize(CENT))


def core_actuals(report: Any) -> Actuals:
    """An ``ActualReport`` as the core reads it (spend as floats in the program's currency)."""
    return Actuals(
        date=report.date,
        tokens_trained=float(report.tokens_trained),
        elapsed_days=float(report.elapsed_days),
        gpu_hours=float(report.gpu_hours),
        interruptions=int(report.interruptions),
        loss_spikes=int(report.loss_spikes),
        observed_mfu=float(report.observed_mfu) if report.observed_mfu is not None else None,
        spend={c: float(Decimal(str(v))) for c, v in (report.spend or {}).items()},
    )


def first_day(baseline_inputs: dict[str, Any], approved_on: dt.date) -> Actuals:
    """Before any report: nothing trained, on the plan's start day (else the approval day)."""
    start = baseline_inputs.get("start_date")
    day = dt.date.fromisoformat(start) if start else approved_on
    return Actuals(date=day, tokens_trained=0.0, elapsed_days=0.0)


def _stage(report: dict[str, Any], key: str) -> dict[str, Any]:
    return next((s for s in report.get("stages") or [] if s.get("key") == key), {})


def baseline_figures(report: dict[str, Any], tokens: float) -> dict[str, Any]:
    """What the approved report promised (the API's ``baseline`` object)."""
    totals = report["totals"]
    main = _stage(report, "main")
    return {
        "finish_date_p50": totals.get("finish_date_p50"),
        "finish_date_p90": totals.get("finish_date_p90"),
        "finish_days_p50": totals["finish_days"]["p50"],
        "cost_p50": money(totals["cost"]["p50"]),
        "cost_p90": money(totals["cost"]["p90"]),
        "main_start_date_p50": main.get("start_date_p50"),
        "main_finish_date_p50": main.get("finish_date_p50"),
        "tokens": tokens,
        "p_miss_deadline": totals.get("p_miss_deadline"),
        "p_over_budget": totals.get("p_over_budget"),
    }


def answer(result: dict[str, Any], approved: dict[str, Any]) -> dict[str, Any]:
    """The forecast as ``GET /api/v1/scenarios/<id>/forecast/`` answers it: the core's result
    against the approved report. Variances are forecast P50 − approved P50."""
    totals = approved["totals"]
    by_category = {
        c: money(
            result["cost_by_category"][c]["p50"]
            - (totals.get("cost_by_category") or {}).get(c, {}).get("p50", 0.0)
        )
        for c in CATEGORIES
    }
    return {
        "as_of": result["as_of"],
        "currency": result["currency"],
        "baseline": baseline_figures(approved, result["main"]["tokens"]),
        "finish_date_p50": result["finish_date_p50"],
        "finish_date_p90": result["finish_date_p90"],
        "cost_p50": money(result["cost"]["p50"]),
        "cost_p90": money(result["cost"]["p90"]),
        "p_miss_deadline": result["p_miss_deadline"],
        "p_over_budget": result["p_over_budget"],
        "observed": {
            "throughput_tokens_per_day": result["observed"]["throughput_tokens_per_day"],
            "effective_training_time": result["observed"]["effective_training_time"],
            "interruptions_per_day": result["observed"]["interruptions_per_day"],
            "loss_spikes_per_day": result["observed"]["loss_spikes_per_day"],
            "observed_mfu": result["observed"]["observed_mfu"],
        },
        "variance": {
            "finish_days": round(result["finish_days"]["p50"] - totals["finish_days"]["p50"], 1),
            "cost": money(result["cost"]["p50"] - totals["cost"]["p50"]),
            "by_category": by_category,
        },
        "estimate_at_completion": money(result["cost"]["p50"]),
        "estimate_at_completion_p90": money(result["cost"]["p90"]),
        "cost_to_complete": money(result["cost_to_complete"]["p50"]),
        "spent_to_date": money(result["spent_total"]),
        "spent_from_plan": result["spent_from_plan"],
        "main_run": {
            "tokens_trained": result["main"]["tokens_trained"],
            "remaining_tokens": result["main"]["remaining_tokens"],
            "finish_date_p50": result["main"]["finish_date_p50"],
            "finish_date_p90": result["main"]["finish_date_p90"],
        },
        "posterior": {
            "throughput_multiplier": result["posterior"]["raw_multiplier"],
            "data_weight": result["posterior"]["data_weight"],
            "failures_per_day": result["posterior"]["failures_per_day"],
        },
        "drivers": [d["text"] for d in result["drivers"]],
    }
