"""The home page: the portfolio of programs, sortable by any column, and its two charts."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from apps.accounts.selectors import organization_list_editable
from apps.portfolio import figures
from apps.portfolio.months import gpu_months, spend_months
from apps.portfolio.selectors import portfolio_currency, portfolio_rows, portfolio_sort
from apps.programs.models import Currency

COLUMNS = [
    ("program", _("Program")),
    ("strategy", _("Strategy")),
    ("cost_p50", _("Cost P50")),
    ("cost_p90", _("Cost P90")),
    ("finish_p50", _("Finish P50")),
    ("finish_p90", _("Finish P90")),
    ("p_over_budget", _("P(over budget)")),
    ("p_miss_deadline", _("P(miss deadline)")),
    ("top_risk", _("Top risk")),
    ("status", _("Status")),
]


def _query(**params: str | None) -> str:
    return "?" + urlencode({k: v for k, v in params.items() if v})


def _headers(sort: str, currency: str | None) -> list[dict[str, Any]]:
    """Each column's header: a link that sorts by it (again: the other way round)."""
    headers = []
    for key, label in COLUMNS:
        current = sort.removeprefix("-") == key
        descending = sort.startswith("-")
        headers.append(
            {
                "key": key,
                "label": label,
                "href": _query(
                    sort=f"-{key}" if current and not descending else key, currency=currency
                ),
                "aria_sort": ("descending" if descending else "ascending") if current else None,
            }
        )
    return headers


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """``?sort=<column>`` or ``-<column>`` (an unknown one is ignored), ``?currency=CNY|USD``
    for the charts (another value is ignored: the programs' own currency)."""
    user = request.user
    rows = portfolio_rows(user=user)  # type: ignore[arg-type]
    asked = request.GET.get("currency")
    currency = portfolio_currency(rows, asked)
    rows, sort = portfolio_sort(rows, request.GET.get("sort"), currency=currency)
    gpus = gpu_months(rows)
    spend = spend_months(rows, currency)
    chosen_currency = asked if asked in Currency.values else None
    return render(
        request,
        "portfolio/home.html",
        {
            "rows": rows,
            "sort": sort,
            "headers": _headers(sort, chosen_currency),
            "currency": currency,
            "currency_links": [
                (code, _query(sort=sort, currency=code), code == currency)
                for code in Currency.values
            ],
            "several_organizations": len({r.program.organization_id for r in rows}) > 1,
            "can_create": organization_list_editable(user=user).exists(),  # type: ignore[misc]
            "gpus": gpus,
            "spend": spend,
            "gpu_figure": figures.chart_json(figures.gpu_demand, gpus) if gpus.programs else None,
            "spend_figure": (
                figures.chart_json(figures.portfolio_spend, spend) if spend.programs else None
            ),
        },
    )
