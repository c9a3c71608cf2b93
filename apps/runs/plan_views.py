"""Pages of plan runs: start a run, watch it, read its dashboard, compare scenarios, sweep.

Thin views: they parse, call one service or selector, and render. The figures come from
``apps.runs.plan_figures`` (shared with the PDF); the numbers from the run's stored report, whose
sentences are shown in the active language (``apps.runs.report_text.localize_report``; the API
returns the stored report as it is).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from apps.common.errors import ApplicationError
from apps.programs.models import Scenario
from apps.programs.selectors import can_edit, program_get, scenario_get, scenario_list
from apps.runs import delta_figures, plan_figures
from apps.runs.compare_deltas import compare_to_baseline, money_in
from apps.runs.delta_table import delta_rows, limits_text, risk_lines
from apps.runs.forms import SweepForm
from apps.runs.models import PlanRun, RunStatus, Sweep
from apps.runs.report_text import localize_report
from apps.runs.selectors import plan_run_get, plan_run_latest, plan_run_recent, sweep_get
from apps.runs.services import (
    PHASE_WAITING_FOR_BROKER,
    plan_run_create,
    sweep_create,
    sweep_variant_save,
)
from llmplanner.simulation.hardware import CATALOG

MAX_COMPARE = 4


def _require_editor(request: HttpRequest, scenario: Scenario) -> None:
    """A viewer's POST to start work is a 403 before any form is read (the page never offers
    it); outsiders never get this far (404)."""
    organization = scenario.program.organization
    if not can_edit(user=request.user, organization=organization):  # type: ignore[arg-type]
        raise PermissionDenied


def _actions_context(request: HttpRequest, scenario: Scenario) -> dict[str, Any]:
    """What ``runs/_run_actions.html`` needs: may the user run it, and the GPUs to sweep over."""
    organization = scenario.program.organization
    return {
        "can_edit": can_edit(user=request.user, organization=organization),  # type: ignore[arg-type]
        "sweep_gpu_choices": [(g.key, g.name) for g in CATALOG],
    }


def _figures_json(figures: dict[str, Any]) -> dict[str, str]:
    return {name: fig.to_json() for name, fig in figures.items()}


@require_POST
def plan_run_start(request: HttpRequest, scenario_id: int) -> HttpResponse:
    scenario = scenario_get(user=request.user, scenario_id=scenario_id)  # type: ignore[arg-type]
    _require_editor(request, scenario)
    try:
        run = plan_run_create(user=request.user, scenario=scenario)  # type: ignore[arg-type]
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("programs:scenario_detail", scenario_id=scenario.pk)
    if run.phase == PHASE_WAITING_FOR_BROKER:
        messages.warning(
            request,
            _(
                "Run #%(id)s is saved and queued, but the background workers cannot be reached "
                "now: it will be sent to them automatically when the broker is back."
            )
            % {"id": run.pk},
        )
    if run.reused_from_id:
        messages.info(
            request,
            _("Nothing changed since run #%(id)s: its result is reused.")
            % {"id": run.reused_from_id},
        )
    return redirect("runs:plan_run_detail", run_id=run.pk)


def _headlines(report: dict[str, Any]) -> dict[str, Any]:
    plan, totals = report["plan"], report["totals"]
    cap = plan.get("budget_cap")
    main = report.get("main_run") or {}
    return {
        "cost": totals["cost"],
        "cap": cap,
        "cap_share_p90": totals["cost"]["p90"] / cap if cap else None,
        "p_over_budget": totals["p_over_budget"],
        "finish": totals["finish_days"],
        "finish_date_p50": totals["finish_date_p50"],
        "finish_date_p90": totals["finish_date_p90"],
        "deadline_days": plan.get("deadline_days"),
        "p_miss_deadline": totals["p_miss_deadline"],
        "gpu_hours": totals["gpu_hours"],
        "mfu": main.get("mfu"),
        "layout": main.get("layout"),
        "effective_time": (main.get("goodput") or {}).get("effective_training_time"),
        "top_risks": report["risks"][:3],
    }


def run_dashboard_context(run: PlanRun) -> dict[str, Any]:
    """What ``runs/plan_run_detail.html`` shows of a succeeded run (its stored report with the
    sentences in the active language); also the page a share link opens."""
    report = localize_report(run.result or {})
    return {
        "run": run,
        "scenario": run.scenario,
        "program": run.scenario.program,
        "org_max_in_flight": settings.ORG_MAX_IN_FLIGHT,
        "report": report,
        "headlines": _headlines(report),
        "figures": _figures_json(plan_figures.dashboard_figures(report)),
        "recent": plan_run_recent(scenario=run.scenario),
        "currency": report["plan"]["currency"],
        "strategy_label": _strategy_label(report["plan"].get("strategy", "")),
    }


def _strategy_label(key: str) -> str:
    """The strategy's name in the active language (the report stores its key, e.g. ``cpt``)."""
    from apps.programs.models import Strategy

    return str(Strategy(key).label) if key in Strategy.values else key


@require_GET
def plan_run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    """The run's dashboard when it succeeded; its progress (polled by htmx) until then."""
    run = plan_run_get(user=request.user, run_id=run_id)  # type: ignore[arg-type]
    if run.status == RunStatus.SUCCEEDED and run.result:
        context = run_dashboard_context(run)
        latest = plan_run_latest(scenario=run.scenario)
        context.update(
            _actions_context(request, run.scenario), latest_run_id=latest.pk if latest else None
        )
        return render(request, "runs/plan_run_detail.html", context)
    context: dict[str, Any] = {
        "run": run,
        "scenario": run.scenario,
        "program": run.scenario.program,
        "org_max_in_flight": settings.ORG_MAX_IN_FLIGHT,
    }
    return render(request, "runs/plan_run_progress.html", context)


@require_GET
def plan_run_status(request: HttpRequest, run_id: int) -> HttpResponse:
    """The progress fragment; once the run is finished, htmx reloads the page."""
    run = plan_run_get(user=request.user, run_id=run_id)  # type: ignore[arg-type]
    response = render(
        request,
        "runs/_plan_run_status.html",
        {"run": run, "org_max_in_flight": settings.ORG_MAX_IN_FLIGHT},
    )
    if run.is_finished:
        response["HX-Refresh"] = "true"
    return response


@require_GET
def scenario_dashboard(request: HttpRequest, scenario_id: int) -> HttpResponse:
    """The scenario's latest successful run, or an invitation to run it."""
    scenario = scenario_get(user=request.user, scenario_id=scenario_id)  # type: ignore[arg-type]
    latest = plan_run_latest(scenario=scenario)
    if latest is not None:
        return redirect("runs:plan_run_detail", run_id=latest.pk)
    return render(
        request,
        "runs/scenario_no_run.html",
        {
            "scenario": scenario,
            "program": scenario.program,
            "recent": plan_run_recent(scenario=scenario),
            **_actions_context(request, scenario),
        },
    )


def _compare_report(run: PlanRun | None, currency: str) -> dict[str, Any] | None:
    """A run's report as the compare page reads it: sentences in the active language, money
    in the program's ``currency`` (converted at the run's own rate when it was simulated in
    the other one)."""
    if run is None or not run.result:
        return None
    return money_in(localize_report(run.result), currency)


def _against_baseline(
    scenarios: list[Scenario], rows: list[dict[str, Any]], currency: str
) -> dict[str, Any]:
    """The "Change vs baseline" part of the compare page: the chosen scenarios against the
    program's baseline — its latest successful run, a reference column when it was not
    chosen. ``baseline_state`` says why there is none: ``missing`` (no baseline scenario) or
    ``not_run`` (no successful run of it)."""
    baseline = next((s for s in scenarios if s.is_baseline), None)
    if baseline is None:
        return {"baseline_state": "missing"}
    chosen = next((r for r in rows if r["scenario"].pk == baseline.pk), None)
    if chosen is not None:
        report = chosen["report"]
    else:
        report = _compare_report(plan_run_latest(scenario=baseline), currency)
    if report is None:
        return {"baseline_state": "not_run", "baseline": baseline}
    others = [
        (r["scenario"].name, r["report"])
        for r in rows
        if r["report"] and r["scenario"].pk != baseline.pk
    ]
    comparison = compare_to_baseline((baseline.name, report), others, currency=currency)
    charts = {}
    if comparison.cost_changed:
        charts["cost"] = delta_figures.cost_change(comparison)
    if comparison.finish_changed:
        charts["finish"] = delta_figures.finish_change(comparison)
    return {
        "baseline_state": "ok",
        "baseline": baseline,
        "baseline_chosen": chosen is not None,
        "baseline_risks": len(report.get("risks") or []),
        "comparison": comparison,
        "delta_rows": delta_rows(comparison),
        "risk_cells": [risk_lines(s, currency) for s in comparison.scenarios],
        "limits": limits_text(comparison.baseline, currency),
        "delta_charts": _figures_json(charts),
    }


@require_GET
def compare(request: HttpRequest, program_id: int) -> HttpResponse:
    """2–4 scenarios of a program side by side, from their latest successful runs, and their
    change against the program's baseline (``apps.runs.compare_deltas``); money in the
    program's currency."""
    program = program_get(user=request.user, program_id=program_id)  # type: ignore[arg-type]
    scenarios = list(scenario_list(program=program))
    try:
        chosen_ids = [int(x) for x in request.GET.getlist("scenario")][:MAX_COMPARE]
    except ValueError as exc:
        raise Http404 from exc
    chosen = [s for s in scenarios if s.pk in chosen_ids] or scenarios[:MAX_COMPARE]
    currency = program.currency
    rows = []
    for scenario in chosen:
        run = plan_run_latest(scenario=scenario)
        report = _compare_report(run, currency)
        rows.append(
            {
                "scenario": scenario,
                "run": run,
                "report": report,
                "headlines": _headlines(report) if report else None,
            }
        )
    reports = [
        (r["scenario"].name + (" ★" if r["scenario"].is_baseline else ""), r["report"])
        for r in rows
        if r["report"]
    ]
    figure = plan_figures.compare_headlines(reports).to_json() if len(reports) >= 2 else None
    return render(
        request,
        "runs/compare.html",
        {
            "program": program,
            "scenarios": scenarios,
            "rows": rows,
            "chosen_ids": [s.pk for s in chosen],
            "figure": figure,
            "currency": currency,
            **_against_baseline(scenarios, rows, currency),
        },
    )


@require_POST
def sweep_start(request: HttpRequest, scenario_id: int) -> HttpResponse:
    scenario = scenario_get(user=request.user, scenario_id=scenario_id)  # type: ignore[arg-type]
    _require_editor(request, scenario)
    form = SweepForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
        return redirect("runs:scenario_dashboard", scenario_id=scenario.pk)
    try:
        sweep = sweep_create(user=request.user, scenario=scenario, axes=form.axes())  # type: ignore[arg-type]
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("runs:scenario_dashboard", scenario_id=scenario.pk)
    return redirect("runs:sweep_detail", sweep_id=sweep.pk)


def _sweep_page(request: HttpRequest, sweep: Sweep, status: int = 200) -> HttpResponse:
    figure = None
    if sweep.status == RunStatus.SUCCEEDED and sweep.points:
        figure = plan_figures.sweep_chart(
            sweep.points, sweep.inputs.get("currency", "CNY"), plan=sweep.inputs
        ).to_json()
    return render(
        request,
        "runs/sweep_detail.html",
        {
            "sweep": sweep,
            "scenario": sweep.scenario,
            "program": sweep.scenario.program,
            "figure": figure,
            "points_json": json.dumps(sweep.points or []),
            "chunks_waiting": sweep.chunks.filter(
                status=RunStatus.QUEUED, dispatched_at__isnull=True
            ).count(),
            "can_edit": can_edit(user=request.user, organization=sweep.organization),  # type: ignore[arg-type]
        },
        status=status,
    )


@require_GET
def sweep_detail(request: HttpRequest, sweep_id: int) -> HttpResponse:
    sweep = sweep_get(user=request.user, sweep_id=sweep_id)  # type: ignore[arg-type]
    return _sweep_page(request, sweep)


@require_POST
def sweep_save_variant(request: HttpRequest, sweep_id: int, index: int) -> HttpResponse:
    """Variant ``index`` (0-based) of a finished sweep saved as a new scenario of its program.
    A refusal (unfinished sweep, unknown or failed variant) is the sweep's page again, with the
    reason, as a 400."""
    sweep = sweep_get(user=request.user, sweep_id=sweep_id)  # type: ignore[arg-type]
    _require_editor(request, sweep.scenario)
    try:
        saved = sweep_variant_save(user=request.user, sweep=sweep, index=index)  # type: ignore[arg-type]
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _sweep_page(request, sweep, status=400)
    messages.success(
        request,
        _("Variant %(number)s of what-if #%(id)s saved as the scenario “%(name)s”.")
        % {"number": index + 1, "id": sweep.pk, "name": saved.scenario.name},
    )
    if saved.source_changed:
        messages.warning(
            request,
            _(
                "“%(name)s” changed after what-if #%(id)s ran: the new scenario is the scenario "
                "as it is now with this variant applied, so its figures may differ from the "
                "what-if's. Run it to see them."
            )
            % {"name": sweep.scenario.name, "id": sweep.pk},
        )
    return redirect("programs:scenario_detail", scenario_id=saved.scenario.pk)
