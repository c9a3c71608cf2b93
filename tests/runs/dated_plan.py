"""A dated plan with two booked GPU pools, dated team lines and a data ready date (issue 14's
one time axis): the core's CPT example rewritten on ``clusters``. Its report is what the chart,
dashboard, PDF and budget tests read."""

from __future__ import annotations

import copy
import json
from pathlib import Path

EXAMPLE = (
    Path(__file__).resolve().parents[2] / "llmplanner/simulation/examples/plan-cpt-7b-domain.json"
)


def dated_plan() -> dict:
    plan = json.loads(EXAMPLE.read_text())
    del plan["cluster"]
    plan["clusters"] = [
        {
            "purpose": "main",
            "gpu_type": "H100",
            "gpu_count": 256,
            "mode": "rent",
            "start_date": "2027-03-01",
            "months": 1,
            "price_per_gpu_hour": 2.5,
        },
        {
            "purpose": "finetune",
            "gpu_type": "H100",
            "gpu_count": 16,
            "mode": "rent",
            "start_date": "2027-04-01",
            "months": 2,
            "price_per_gpu_hour": 2.5,
        },
    ]
    plan["currency"] = "USD"
    plan["budget_cap"] = 1_300_000
    for line in plan["team"]:
        line["start_date"], line["end_date"] = "2027-03-01", "2027-07-31"
    plan["data"][0]["ready_date"] = "2027-03-15"
    return plan


def undated(plan: dict) -> dict:
    """The same plan without any date: days from the start, months M1, M2, …"""
    plan = copy.deepcopy(plan)
    plan.pop("start_date", None)
    for pool in plan.get("clusters", []):
        pool.pop("start_date", None)
    for line in plan.get("team", []) + plan.get("data", []):
        for key in ("start_date", "end_date", "ready_date"):
            line.pop(key, None)
    return plan


def stored_before_cumulative(report: dict) -> dict:
    """The report as a run stored before the core gave cumulative percentiles keeps it."""
    old = copy.deepcopy(report)
    del old["monthly"]["cumulative_p50"], old["monthly"]["cumulative_p90"]
    return old
