"""The budget table a finance tool pulls: a run's cost by month × category, P50 and P90.

From the core's report stored on the run, in the plan's currency; the months are the report's
labels (``2027-03`` with a start date, ``M1`` without). Rows are ordered by month, then by the
fixed category order; ``currency`` asks for the plan's currency or the other one at the run's
exchange rate.

Two kinds of percentile, both the report's own:

- per month (``p50``/``p90`` of a row, ``month_p50``/``month_p90`` of ``months``): the
  percentiles of that month's spend on its own, over the trials. They do not add up: a sum of
  monthly P90s is a spend no trial reaches.
- cumulative (``cumulative_p50``/``cumulative_p90``): the percentiles of the spend from the
  program's start to the month's end, every category (whatever ``category`` filters), whatever
  ``month_from`` says. The last month's equal the program's ``totals.cost`` P50/P90. A run stored
  before the core gave them has the running sum of the monthly P50s as its cumulative P50 and
  no cumulative P90 (null).

The sums are over the rows returned (what a spreadsheet would add up); the run's own P50/P90 of
the total — which is not the sum of monthly P50s — is given beside them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from apps.api.money import convert, money
from apps.runs.models import PlanRun
from apps.runs.plan_figures import cumulative_spend
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


def budget_table(
    run: PlanRun, query: BudgetQuery, report: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The run's budget table; ``report``: its report when the caller has it (the portfolio reads
    only the parts it needs, on runs loaded without ``result``), else ``run.result``."""
    report = (run.result if report is None else report) or {}
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

    def amount(value: float | None) -> dict[str, str] | None:
        if value is None:
            return None
        return money(convert(value, plan_currency, currency, rate), currency)

    cum50, cum90 = cumulative_spend(report)
    rows, months = [], []
    sum50 = sum90 = 0.0
    for i in range(first, last + 1):
        cumulative = {
            "cumulative_p50": amount(cum50[i]),
            "cumulative_p90": amount(cum90[i] if cum90 is not None else None),
        }
        months.append(
            {
                "month": labels[i],
                "month_p50": amount(monthly["total_p50"][i]),
                "month_p90": amount(monthly["total_p90"][i]),
                **cumulative,
            }
        )
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
                    **cumulative,
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
        "months": months,
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
