"""The tracking dashboard of a scenario in execution: one succeeded forecast (``Forecast``)
shaped for the Tracking page and for the status report PDF, so both show the same numbers.

Every figure the API answers is read from the stored answer (``Forecast.answer``): forecast and
approved finish and cost, spent to date, cost to complete, the probabilities, the observed
rates. The rest comes from the core's full result (``Forecast.result``: the plan's rates, the
cost per category, the burn-up) and the approved report. Changes are written as the compare
page writes them (``apps.runs.delta_table``: signed, with their direction), and the drivers —
"what changed the forecast" — in the active language (``apps.runs.report_text``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go
from django.utils.translation import gettext as _
from django.utils.translation import pgettext, pgettext_lazy

from apps.programs.models import Program
from apps.runs.compare_deltas import Delta
from apps.runs.delta_table import Cell, days_change, money_change, points_change
from apps.runs.figure_style import category_label
from apps.runs.report_text import localize_texts
from apps.tracking import tracking_figures
from apps.tracking.forecasting import forecast_order
from apps.tracking.models import ActualReport, AlertKind, Forecast
from apps.tracking.selectors import MAIN_STAGE
from llmplanner.simulation.program import CATEGORIES


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def reports_until(reports: list[ActualReport], forecast: Forecast) -> list[ActualReport]:
    """The reports (oldest first, as ``actuals_for`` lists them) up to the forecast's last one:
    what it was computed from. None before any report."""
    if forecast.last_actual_id is None:
        return []
    ids = [r.pk for r in reports]
    if forecast.last_actual_id not in ids:
        return []
    return reports[: ids.index(forecast.last_actual_id) + 1]


def history_until(history: list[Forecast], forecast: Forecast) -> list[Forecast]:
    """The succeeded forecasts of the baseline (``forecast_history``) up to this one."""
    return [h for h in history if forecast_order(h) <= forecast_order(forecast)]


def spend_total(report: ActualReport) -> Decimal:
    """Everything a report says was spent to date (the sum of its categories)."""
    return sum((Decimal(str(v)) for v in (report.spend or {}).values()), Decimal(0))


def actual_points(reports: list[ActualReport]) -> list[dict[str, Any]]:
    """The reports as the charts plot them: date, tokens trained, money spent to date."""
    return [
        {
            "date": r.date.isoformat(),
            "tokens_trained": float(r.tokens_trained),
            "spend_total": float(spend_total(r)),
        }
        for r in reports
    ]


def history_points(history: list[Forecast]) -> list[dict[str, Any]]:
    """Each forecast's finish P50 and P90 on its report's date."""
    return [
        {
            "as_of": h.answer["as_of"],
            "finish_date_p50": h.answer["finish_date_p50"],
            "finish_date_p90": h.answer["finish_date_p90"],
        }
        for h in history
        if h.answer
    ]


def forecast_figures(
    forecast: Forecast, reports: list[ActualReport], history: list[Forecast]
) -> dict[str, go.Figure]:
    """The charts of the dashboard (``tracking_figures``), in the active language: ``reports``
    (every stage's) and ``history`` are the baseline's, cut here at this forecast. The burn-up
    of tokens only for a plan with a main run; the spend from the reports that gave spend."""
    result, approved = forecast.result or {}, forecast.baseline.report
    until = reports_until(reports, forecast)
    figures = {
        "spend": tracking_figures.spend(
            approved, actual_points([r for r in until if r.spend]), result
        ),
        "history": tracking_figures.forecast_history(
            history_points(history_until(history, forecast)), approved
        ),
    }
    if result.get("burnup"):  # a plan with a main run: its tokens
        main = actual_points([r for r in until if r.stage == MAIN_STAGE])
        figures = {"burnup": tracking_figures.burnup(result, main, approved), **figures}
    return figures


def _days_between(forecast: str | None, approved: str | None) -> Cell:
    a, b = _date(forecast), _date(approved)
    return days_change(Delta(float((a - b).days), 0.0) if a and b else Delta(None, None))


def _money(value: str | None) -> Decimal | None:
    return Decimal(value) if value not in (None, "") else None


def _money_change(value: Decimal | None, base: Decimal | None, currency: str) -> Cell:
    return money_change(
        Delta(None if value is None else float(value), None if base is None else float(base)),
        currency,
    )


def _api_change(change: str, base: Decimal | None, currency: str) -> Cell:
    """The API's change (forecast P50 − approved P50) written against the approved figure."""
    if base is None:
        return money_change(Delta(None, None), currency)
    return money_change(Delta(float(base + Decimal(change)), float(base)), currency)


def _ratio(value: float | None, base: float | None) -> float | None:
    return value / base if value is not None and base else None


def _probabilities(answer: dict[str, Any], program: Program) -> list[dict[str, Any]]:
    """P(miss deadline) and P(over budget) against the approved report's and the program's
    alert threshold (``above``: the value is over it, as ``alerts_active`` decides)."""
    threshold = program.alert_threshold / 100
    missing = {
        AlertKind.MISS_DEADLINE: _("no deadline set"),
        AlertKind.OVER_BUDGET: _("no budget cap set"),
    }
    rows = []
    for kind in AlertKind:
        value, approved = answer.get(kind.value), answer["baseline"].get(kind.value)
        rows.append(
            {
                "kind": kind.value,
                "label": kind.label,
                "value": value,
                "approved": approved,
                "change": points_change(Delta(value, approved)),
                "above": value is not None and value > threshold,
                "missing": missing[kind],
            }
        )
    return rows


STATUS_LABELS = {  # lazy: read in the language of each page
    "planned": pgettext_lazy("stage status", "not reported"),
    "not_started": pgettext_lazy("stage status", "not started"),
    "running": pgettext_lazy("stage status", "running"),
    "likely_done": pgettext_lazy("stage status", "likely done, not reported"),
    "done": pgettext_lazy("stage status", "done"),
}


def stage_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The forecast's stages in the active language: status, share done, the planned and the
    forecast finish and the change in days."""
    rows = []
    for row in localize_texts(result.get("stages") or [], "name"):
        planned, finish = row["planned_finish_date_p50"], row["finish_date_p50"]
        rows.append(
            {
                "key": row["key"],
                "name": row["name"],
                "status": row["status"],
                "status_label": str(STATUS_LABELS.get(row["status"], row["status"])),
                "progress": row["progress"],
                "reported_on": _date(row["reported_on"]),
                "planned_finish": _date(planned),
                "finish_p50": _date(finish),
                "finish_p90": _date(row["finish_date_p90"]),
                "change": _days_between(finish, planned),
            }
        )
    return rows


def _narrowed(answer: dict[str, Any]) -> bool:
    """Whether the forecast's P50–P90 range is narrower than the approved one while its P50
    moved later: P90 can then come earlier although the run is late, because what was a risk
    (the GPUs' delivery, the burn-in, the observed days) is now a fact."""
    p50, p90 = _date(answer.get("finish_date_p50")), _date(answer.get("finish_date_p90"))
    base = answer.get("baseline") or {}
    a50, a90 = _date(base.get("finish_date_p50")), _date(base.get("finish_date_p90"))
    if not (p50 and p90 and a50 and a90):
        return False
    return (p90 - p50) < (a90 - a50) and p50 > a50 and p90 <= a90


def forecast_summary(forecast: Forecast, *, program: Program) -> dict[str, Any]:
    """What the dashboard writes about a succeeded forecast, in the active language (module
    docstring): headline figures against the approved ones, the variance by category, the
    drivers. Amounts are ``Decimal`` in the forecast's currency; shares are fractions."""
    answer, result = forecast.answer or {}, forecast.result or {}
    approved, report = answer["baseline"], forecast.baseline.report
    currency = answer["currency"]
    observed = answer["observed"]
    prior, posterior = result.get("prior") or {}, result.get("posterior") or {}
    eac, eac_p90 = _money(answer["estimate_at_completion"]), _money(answer["cost_p90"])
    approved_p50, approved_p90 = _money(approved["cost_p50"]), _money(approved["cost_p90"])
    ettr_plan = (
        ((report.get("main_run") or {}).get("goodput") or {}).get("effective_training_time") or {}
    ).get("p50")
    planned_categories = (report["totals"].get("cost_by_category")) or {}
    variance = answer["variance"]["by_category"]
    categories = []
    for key in CATEGORIES:
        base = Decimal(repr(float(planned_categories.get(key, {}).get("p50", 0.0))))
        categories.append(
            {
                "key": key,
                "label": category_label(key),
                "approved": base,
                "forecast": base + Decimal(variance[key]),
                "change": _api_change(variance[key], base, currency),
            }
        )
    return {
        "as_of": _date(answer["as_of"]),
        "currency": currency,
        "threshold": program.alert_threshold / 100,
        "finish": {
            "p50": _date(answer["finish_date_p50"]),
            "p90": _date(answer["finish_date_p90"]),
            "approved_p50": _date(approved["finish_date_p50"]),
            "approved_p90": _date(approved["finish_date_p90"]),
            "change_p50": _days_between(answer["finish_date_p50"], approved["finish_date_p50"]),
            "change_p90": _days_between(answer["finish_date_p90"], approved["finish_date_p90"]),
        },
        "cost": {
            "p50": eac,
            "p90": eac_p90,
            "approved_p50": approved_p50,
            "approved_p90": approved_p90,
            "change_p50": _api_change(answer["variance"]["cost"], approved_p50, currency),
            "change_p90": _money_change(eac_p90, approved_p90, currency),
        },
        "spent": _money(answer["spent_to_date"]),
        "from_plan": pgettext("between items of a list", ", ").join(
            category_label(c) for c in answer.get("spent_from_plan") or []
        ),
        "to_complete": _money(answer["cost_to_complete"]),
        "probabilities": _probabilities(answer, program),
        "has_main": bool(prior),
        "throughput": {
            "observed": observed["throughput_tokens_per_day"],
            "planned": prior.get("net_tokens_per_day"),
            "share": _ratio(observed["throughput_tokens_per_day"], prior.get("net_tokens_per_day")),
        },
        "ettr": {"observed": observed["effective_training_time"], "planned": ettr_plan},
        "interruptions": {
            "observed": observed["interruptions_per_day"],
            "planned": prior.get("failures_per_day"),
            "forecast": posterior.get("failures_per_day"),
        },
        "stages": stage_rows(result),
        "narrowed": _narrowed(answer),
        "categories": categories,
        "total": {
            "approved": approved_p50,
            "forecast": eac,
            "change": _api_change(answer["variance"]["cost"], approved_p50, currency),
        },
        "drivers": [row["text"] for row in localize_texts(result.get("drivers") or [])],
    }
