"""The budget table a finance tool pulls: a run's cost by month × category, P50 and P90.

From the core's report stored on the run (``monthly``: P50/P90 per month and category, in the
plan's currency). Rows are ordered by month, then by the fixed category order; ``currency`` asks
for the plan's currency or the other one at the run's exchange rate. The sums are over the rows
returned (what a spreadsheet would add up); the run's own P50/P90 of the total — which is not the
sum of monthly P50s — is given beside them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from apps.api.money import convert, money
from apps.runs.models import PlanRun
from llmplanner.simulation.program import CATEGORIES

MONTH = re.compile(r"^(\d{4}-\d{2}|M\d{1,3})$")


@dataclass(frozen=True)
class BudgetQuery:
    currency: str | None = None
    month_from: str | None = None
    month_to: str | None = None
    categories: tuple[str, ...] = CATEGORIES


def _position(labels: list[str], month: str, field: str) -> int:
    if month in labels:
        return labels.index(month)
    # A month outside the plan's span still bounds the range: compare like labels.
    if labels and labels[0][0] != "M" and month[0] != "M":
        return (
            sum(1 for label in labels if label < month)
            if field == "from"
            else (sum(1 for label in labels if label <= month) - 1)
        )
    raise ValueError(field)


def budget_table(run: PlanRun, query: BudgetQuery) -> dict[str, Any]:
    report = run.result or {}
    plan = report["plan"]
    plan_currency = plan["currency"]
    currency = query.currency or plan_currency
    rate = float(plan.get("usd_to_cny") or 7.2)
    monthly = report["monthly"]
    labels: list[str] = monthly["labels"]
    first, last = 0, len(labels) - 1
    if query.month_from:
        first = _position(labels, query.month_from, "from")
    if query.month_to:
        last = _position(labels, query.month_to, "to")
    rows = []
    sum50 = sum90 = 0.0
    for i in range(first, last + 1):
        for c, category in enumerate(monthly["categories"]):
            if category not in query.categories:
                continue
            p50 = convert(monthly["p50"][i][c], plan_currency, currency, rate)
            p90 = convert(monthly["p90"][i][c], plan_currency, currency, rate)
            sum50 += p50
            sum90 += p90
            rows.append(
                {
                    "month": labels[i],
                    "category": category,
                    "p50": money(p50, currency),
                    "p90": money(p90, currency),
                }
            )
    totals = report["totals"]
    return {
        "scenario": run.scenario_id,
        "run": run.pk,
        "run_finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "core_version": report.get("core_version"),
        "currency": currency,
        "plan_currency": plan_currency,
        "usd_to_cny": str(rate),
        "rows": rows,
        "totals": {
            "rows_p50_sum": money(sum50, currency),
            "rows_p90_sum": money(sum90, currency),
            "program_p50": money(
                convert(totals["cost"]["p50"], plan_currency, currency, rate), currency
            ),
            "program_p90": money(
                convert(totals["cost"]["p90"], plan_currency, currency, rate), currency
            ),
            "by_category": {
                category: {
                    "p50": money(convert(v["p50"], plan_currency, currency, rate), currency),
                    "p90": money(convert(v["p90"], plan_currency, currency, rate), currency),
                }
                for category, v in totals["cost_by_category"].items()
                if category in query.categories
            },
        },
    }
