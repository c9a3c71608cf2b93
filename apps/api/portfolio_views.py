"""The portfolio over the API: every program of the organization with its headline figures
(``GET /api/v1/portfolio/``) and the budget of all of them by month × program × category
(``GET /api/v1/portfolio/budget/``, JSON, CSV or XLSX).

The programs, their scenario (the baseline, else the first) and run (its latest successful one)
are the home page's (``apps.portfolio.selectors``); each program's budget is the scenario budget's
own table (``apps.api.budget.budget_table``), so a program's rows here equal
``/api/v1/scenarios/<id>/budget/``'s. All money of an answer is in one currency: ``currency``,
else the programs' own when they share one, else CNY; each run's amounts convert at the run's
exchange rate, a budget cap at its program's.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.access import api_access
from apps.api.budget import BudgetQuery, budget_table
from apps.api.money import money
from apps.api.portfolio_serializers import PortfolioBudgetSerializer, PortfolioSerializer
from apps.api.renderers import PortfolioBudgetCSVRenderer, PortfolioBudgetXLSXRenderer
from apps.api.views import (
    BUDGET_FILTERS,
    ERROR_EXAMPLE,
    ERRORS,
    MONEY,
    SPREADSHEET_RESPONSES,
    BudgetQuerySerializer,
)
from apps.portfolio.selectors import PortfolioRow, portfolio_currency, portfolio_rows
from llmplanner.simulation.program import CATEGORIES

CURRENCY = OpenApiParameter(
    "currency",
    str,
    enum=["CNY", "USD"],
    description="The currency of every amount (default: the programs' own when they all share "
    "one, else CNY).",
)


class PortfolioQuerySerializer(serializers.Serializer):  # type: ignore[type-arg]
    currency = serializers.ChoiceField(choices=["CNY", "USD"], required=False)
    baseline = serializers.ChoiceField(choices=["latest", "approved"], required=False)


class PortfolioBudgetQuerySerializer(BudgetQuerySerializer):
    # Content negotiation has already picked the renderer; this refuses ``?format=`` (empty),
    # which negotiation would silently answer as JSON.
    format = serializers.ChoiceField(choices=["json", "csv", "xlsx", "api"], required=False)
    baseline = serializers.ChoiceField(choices=["latest", "approved"], required=False)


def _params(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items() if k != "format"}


def _rows(request: Request, query: dict[str, Any]) -> list[PortfolioRow]:
    access = api_access(request)
    return portfolio_rows(
        user=access.user,
        organizations=access.organizations(),
        approved=query.get("baseline") == "approved",
    )


BASELINE = OpenApiParameter(
    "baseline",
    str,
    enum=["latest", "approved"],
    description="latest (default): each program's latest successful run; approved: its "
    "scenario's current approved baseline (a program without one has no figures).",
)


def _amount(value: float | None, currency: str) -> dict[str, str] | None:
    return None if value is None else money(value, currency)


def program_entry(row: PortfolioRow, currency: str) -> dict[str, Any]:
    """One program of ``GET /portfolio/``, its money in ``currency``."""
    risk = row.top_risk
    finish_p50, finish_p90 = row.finish_date_p50, row.finish_date_p90
    return {
        "program": row.program.pk,
        "name": row.program.name,
        "organization": row.program.organization.slug,
        "scenario": row.scenario.pk if row.scenario else None,
        "scenario_name": row.scenario.name if row.scenario else None,
        "strategy": row.scenario.strategy if row.scenario else None,
        "status": row.status,
        "run": row.run.pk if row.run else None,
        "latest_run": row.latest.pk if row.latest else None,
        "run_finished_at": row.run.finished_at.isoformat()
        if row.run and row.run.finished_at
        else None,
        "budget_cap": _amount(row.cap(currency), currency),
        "deadline": row.deadline.isoformat() if row.deadline else None,
        "cost_p50": _amount(row.cost("p50", currency), currency),
        "cost_p90": _amount(row.cost("p90", currency), currency),
        "finish_date_p50": finish_p50.isoformat() if finish_p50 else None,
        "finish_date_p90": finish_p90.isoformat() if finish_p90 else None,
        "finish_days_p50": row.finish_days_p50,
        "finish_days_p90": row.finish_days_p90,
        "p_over_budget": row.p_over_budget,
        "p_miss_deadline": row.p_miss_deadline,
        "top_risk": {"title": risk["title"], "likelihood": risk["likelihood"]} if risk else None,
        "alerts": [
            {k: alert[k] for k in ("kind", "value", "threshold", "as_of")} for alert in row.alerts
        ],
    }


def portfolio_table(rows: list[PortfolioRow], currency: str) -> dict[str, Any]:
    simulated = [row for row in rows if row.report is not None]
    return {
        "currency": currency,
        "programs": [program_entry(row, currency) for row in rows],
        "totals": {
            "programs": len(rows),
            "simulated": len(simulated),
            "cost_p50_sum": money(
                sum(row.cost("p50", currency) or 0.0 for row in simulated), currency
            ),
        },
    }


def _month_key(label: str) -> tuple[int, int | str]:
    """Calendar months (2027-03) in their order, then a plan's own months (M1, M2, … M10)."""
    return (1, int(label[1:])) if label.startswith("M") else (0, label)


def _within(label: str, month_from: str | None, month_to: str | None) -> bool:
    """Whether ``label`` is in the range; a bound only compares with months of its kind, so a
    plan without dates (M1…) has no month in a calendar range, and the other way round."""
    key = _month_key(label)
    if month_from is not None:
        bound = _month_key(month_from)
        if bound[0] != key[0] or key < bound:
            return False
    if month_to is not None:
        bound = _month_key(month_to)
        if bound[0] != key[0] or key > bound:
            return False
    return True


def portfolio_budget_table(
    rows: list[PortfolioRow],
    *,
    currency: str,
    month_from: str | None,
    month_to: str | None,
    categories: tuple[str, ...],
) -> dict[str, Any]:
    """Every simulated program's budget rows (``budget_table``) in ``currency``, those of the
    months asked for, ordered by month, then program (by name), then category."""
    out: list[dict[str, Any]] = []
    programs, not_simulated = [], []
    sum50 = sum90 = Decimal(0)  # of the amounts as given, what a spreadsheet would add up
    for position, row in enumerate(rows):
        if row.run is None or row.report is None or row.scenario is None:
            not_simulated.append({"program": row.program.pk, "name": row.program.name})
            continue
        table = budget_table(
            row.run, BudgetQuery(currency=currency, categories=categories), report=row.report
        )
        programs.append(
            {
                "program": row.program.pk,
                "name": row.program.name,
                "scenario": row.scenario.pk,
                "run": row.run.pk,
                "run_finished_at": table["run_finished_at"],
                "core_version": table["core_version"],
                "plan_currency": table["plan_currency"],
                "usd_to_cny": table["usd_to_cny"],
                "calendar": bool(row.report["monthly"].get("calendar")),
                "program_p50": table["totals"]["program_p50"],
                "program_p90": table["totals"]["program_p90"],
            }
        )
        for budget_row in table["rows"]:
            if not _within(budget_row["month"], month_from, month_to):
                continue
            sum50 += Decimal(budget_row["p50"]["amount"])
            sum90 += Decimal(budget_row["p90"]["amount"])
            out.append(
                {
                    "month": budget_row["month"],
                    "program": row.program.pk,
                    "program_name": row.program.name,
                    "scenario": row.scenario.pk,
                    "run": row.run.pk,
                    **{k: v for k, v in budget_row.items() if k != "month"},
                    "_order": (_month_key(budget_row["month"]), position),
                }
            )
    out.sort(key=lambda r: r["_order"])  # stable: the categories keep their order
    for r in out:
        del r["_order"]
    return {
        "currency": currency,
        "programs": programs,
        "not_simulated": not_simulated,
        "rows": out,
        "totals": {"rows_p50_sum": money(sum50, currency), "rows_p90_sum": money(sum90, currency)},
    }


class PortfolioView(APIView):
    @extend_schema(
        summary="Portfolio: every program at a glance",
        description=(
            "Every active program of the token's organization (a browser session: of all the "
            "user's organizations), by name, each through its baseline scenario (else its first "
            "scenario) and that scenario's latest successful run: cost P50/P90 against the "
            "budget cap, finish P50/P90 (dates when the plan has a start date, always in days "
            "from the start) against the deadline, the probabilities of going over budget and "
            "of missing the deadline (null without a cap or deadline), and the top risk of the "
            "run's register. `status` is the scenario's latest run: `no_run`, `running` "
            "(queued or running), `done` or `failed` (the figures stay those of the last "
            "successful run, `run`; null when there is none). Money is a decimal string in "
            "`currency`; `totals.cost_p50_sum` adds the programs' P50s (not a percentile of "
            "the portfolio)."
        ),
        parameters=[CURRENCY, BASELINE],
        responses={200: PortfolioSerializer, **ERRORS},
        examples=[
            OpenApiExample(
                "Portfolio",
                response_only=True,
                value={
                    "currency": "CNY",
                    "programs": [
                        {
                            "program": 1,
                            "name": "7B domain model by continued pretraining",
                            "organization": "demo-lab",
                            "scenario": 3,
                            "scenario_name": "A: CPT on an open 7B",
                            "strategy": "cpt",
                            "status": "done",
                            "run": 7,
                            "latest_run": 7,
                            "run_finished_at": "2026-11-24T05:10:00Z",
                            "budget_cap": {"amount": "5000000.00", "currency": "CNY"},
                            "deadline": "2027-06-30",
                            "cost_p50": {"amount": "2359926.38", "currency": "CNY"},
                            "cost_p90": {"amount": "2360215.30", "currency": "CNY"},
                            "finish_date_p50": "2027-04-16",
                            "finish_date_p90": "2027-05-03",
                            "finish_days_p50": 101.93,
                            "finish_days_p90": 118.6,
                            "p_over_budget": 0.0,
                            "p_miss_deadline": 0.005,
                            "top_risk": {
                                "title": "Cluster delivered late or below spec",
                                "likelihood": 0.3,
                            },
                        }
                    ],
                    "totals": {"programs": 1, "simulated": 1, "cost_p50_sum": MONEY},
                },
            ),
            ERROR_EXAMPLE,
        ],
    )
    def get(self, request: Request) -> Response:
        query = PortfolioQuerySerializer(data=_params(request))
        query.is_valid(raise_exception=True)
        rows = _rows(request, query.validated_data)
        currency = portfolio_currency(rows, query.validated_data.get("currency"))
        return Response(portfolio_table(rows, currency))


class PortfolioBudgetView(APIView):
    renderer_classes = [
        JSONRenderer,
        BrowsableAPIRenderer,
        PortfolioBudgetCSVRenderer,
        PortfolioBudgetXLSXRenderer,
    ]

    @extend_schema(
        summary="Portfolio budget by month, program and category",
        description=(
            "The budget of every simulated program of the portfolio (see `GET /portfolio/`) in "
            "one table: a row per month × program × category, ordered by month, then program "
            "(by name), then category. A program's rows are those of its scenario's budget "
            "(`GET /scenarios/{id}/budget/`): `p50`/`p90` are per-month percentiles (that "
            "month's spend on that category on its own; they do not add up), "
            "`cumulative_p50`/`cumulative_p90` the percentiles of the program's own spend from "
            "its start to the month's end (repeated on each category row: never sum them). "
            "Months are calendar months (YYYY-MM) for plans with a start date, a plan's own M1, "
            "M2… otherwise; `month_from`/`month_to` compare with months of their own kind (a "
            "calendar range has no M-months). Every amount is in `currency`. `programs` lists "
            "the runs the rows come from, `not_simulated` the programs without a successful "
            "run (with `baseline=approved`, without an approved baseline: the rows are then the "
            "budgets finance signed off). `?format=csv` or `?format=xlsx` (or the Accept "
            "header) gives the rows for a spreadsheet: month, program, program_name, scenario, "
            "run, category, p50, p90, currency, cumulative_p50, cumulative_p90."
        ),
        parameters=[
            CURRENCY,
            BASELINE,
            *BUDGET_FILTERS,
        ],
        responses={200: PortfolioBudgetSerializer, **SPREADSHEET_RESPONSES, **ERRORS},
        examples=[
            OpenApiExample(
                "Portfolio budget",
                response_only=True,
                value={
                    "currency": "CNY",
                    "programs": [
                        {
                            "program": 1,
                            "name": "7B domain model by continued pretraining",
                            "scenario": 3,
                            "run": 7,
                            "run_finished_at": "2026-11-24T05:10:00Z",
                            "core_version": "0.2.0",
                            "plan_currency": "CNY",
                            "usd_to_cny": "7.2",
                            "calendar": True,
                            "program_p50": MONEY,
                            "program_p90": MONEY,
                        }
                    ],
                    "not_simulated": [{"program": 2, "name": "RAG over a knowledge base"}],
                    "rows": [
                        {
                            "month": "2027-01",
                            "program": 1,
                            "program_name": "7B domain model by continued pretraining",
                            "scenario": 3,
                            "run": 7,
                            "category": "gpu_compute",
                            "p50": MONEY,
                            "p90": MONEY,
                            "cumulative_p50": MONEY,
                            "cumulative_p90": MONEY,
                        }
                    ],
                    "totals": {"rows_p50_sum": MONEY, "rows_p90_sum": MONEY},
                },
            ),
            ERROR_EXAMPLE,
        ],
    )
    def get(self, request: Request) -> Response:
        query = PortfolioBudgetQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        data = query.validated_data
        rows = _rows(request, query.validated_data)
        currency = portfolio_currency(rows, data.get("currency"))
        table = portfolio_budget_table(
            rows,
            currency=currency,
            month_from=data.get("month_from"),
            month_to=data.get("month_to"),
            categories=data.get("category") or CATEGORIES,
        )
        headers = {}
        if request.accepted_renderer.format in ("csv", "xlsx"):
            headers["Content-Disposition"] = (
                f'attachment; filename="budget-portfolio.{request.accepted_renderer.format}"'
            )
        return Response(table, headers=headers)
