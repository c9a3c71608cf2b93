"""Pages of tracking: approve a run from its dashboard; a scenario's Tracking page (the forecast
against the approved baseline — polled while a worker computes it —, the baseline and its
history, actuals added one at a time or from a CSV, the list of reports) and its status report
PDF.

Thin views: the scenario or run comes through a scoped selector (another organization's is a
404), a viewer's POST is a 403 before any form is read, and one service does the write.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from apps.common.errors import ApplicationError
from apps.programs.models import Scenario
from apps.programs.selectors import can_edit, scenario_get
from apps.reports.forms import ExportForm
from apps.reports.services import status_export_create
from apps.runs.figure_style import category_label
from apps.runs.models import RunStatus
from apps.runs.report_text import localize_texts
from apps.runs.selectors import plan_run_get
from apps.tracking.csv_format import HEADER, csv_rows, template_csv
from apps.tracking.dashboard import forecast_figures, forecast_summary
from apps.tracking.forecasting import forecast_current, forecast_history
from apps.tracking.forms import ActualReportForm, ApproveForm, CsvUploadForm
from apps.tracking.models import ActualReport, ApprovedBaseline
from apps.tracking.selectors import (
    actual_report_list,
    actuals_for,
    baseline_current,
    baseline_list,
    baseline_start,
)
from apps.tracking.services import (
    actual_report_create,
    actual_report_withdraw,
    actual_reports_import,
    baseline_approve,
)
from apps.tracking.validation import tracked_stages
from llmplanner.simulation.program import CATEGORIES

TEMPLATE = "tracking/scenario_tracking.html"
FORECAST_TEMPLATE = "tracking/_forecast.html"


def _user(request: HttpRequest) -> Any:
    return request.user


def _require_editor(request: HttpRequest, scenario: Scenario) -> None:
    if not can_edit(user=_user(request), organization=scenario.program.organization):
        raise PermissionDenied


def _forecast_context(scenario: Scenario) -> dict[str, Any]:
    """The forecast section: the current forecast (queued for a worker when there is none yet)
    and, once it has succeeded, its figures and charts."""
    row = forecast_current(scenario=scenario)
    context: dict[str, Any] = {"scenario": scenario, "forecast": row}
    if row is not None and row.status == RunStatus.SUCCEEDED:
        figures = forecast_figures(
            row, actuals_for(row.baseline, stage=None), forecast_history(baseline=row.baseline)
        )
        context["summary"] = forecast_summary(row, program=scenario.program)
        context["figures"] = {name: fig.to_json() for name, fig in figures.items()}
    return context


def stage_choices(baseline: ApprovedBaseline | None) -> list[tuple[str, str]]:
    """(key, name in the page's language) of the stages a report may speak of, main first."""
    if baseline is None:
        return [("main", "")]
    rows = {r.get("key"): r for r in localize_texts(baseline.report.get("stages") or [], "name")}
    return [(key, rows[key].get("name") or key) for key in tracked_stages(baseline.report)]


def _context(request: HttpRequest, scenario: Scenario, **forms: Any) -> dict[str, Any]:
    current = baseline_current(scenario=scenario)
    reports = list(actual_report_list(scenario=scenario))
    stages = stage_choices(current)
    names = {key: name for key, name in stages if name}
    for report in reports:
        report.stage_name = names.get(report.stage, report.stage)  # type: ignore[attr-defined]
    standing = [r for r in reports if r.withdrawn_at is None]
    latest_id = standing[-1].pk if standing else None
    return {
        **_forecast_context(scenario),
        "scenario": scenario,
        "program": scenario.program,
        "can_edit": can_edit(user=_user(request), organization=scenario.program.organization),
        "current": current,
        "start": baseline_start(current) if current else None,
        "baselines": baseline_list(scenario=scenario),
        "reports": reports,
        "latest_report_id": latest_id,
        "categories": [(key, category_label(key)) for key in CATEGORIES],
        "csv_header": ",".join(HEADER),
        "form": forms.get("form") or ActualReportForm(stages=stages),
        "upload": forms.get("upload") or CsvUploadForm(),
        "import_errors": forms.get("import_errors") or [],
    }


@require_GET
def scenario_tracking(request: HttpRequest, scenario_id: int) -> HttpResponse:
    scenario = scenario_get(user=_user(request), scenario_id=scenario_id)
    return render(request, TEMPLATE, _context(request, scenario))


@require_GET
def forecast_status(request: HttpRequest, scenario_id: int) -> HttpResponse:
    """The forecast section alone: what the page polls while a worker computes it."""
    scenario = scenario_get(user=_user(request), scenario_id=scenario_id)
    return render(request, FORECAST_TEMPLATE, _forecast_context(scenario))


@require_POST
def status_export(request: HttpRequest, scenario_id: int) -> HttpResponse:
    """A PDF status report of the scenario's current forecast (any member: a document is a
    read), rendered on a worker; its page shows the progress and the download."""
    scenario = scenario_get(user=_user(request), scenario_id=scenario_id)
    form = ExportForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
        return redirect("tracking:scenario_tracking", scenario_id=scenario.pk)
    row = forecast_current(scenario=scenario)
    try:
        export = status_export_create(
            user=_user(request),
            forecast=row,
            paper=form.cleaned_data["paper"],
            language=form.cleaned_data["language"],
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("tracking:scenario_tracking", scenario_id=scenario.pk)
    return redirect("reports:export_detail", export_id=export.pk)


@require_POST
def run_approve(request: HttpRequest, run_id: int) -> HttpResponse:
    run = plan_run_get(user=_user(request), run_id=run_id)
    _require_editor(request, run.scenario)
    form = ApproveForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(" ".join(v) for v in form.errors.values()))
        return redirect("runs:plan_run_detail", run_id=run.pk)
    try:
        baseline_approve(
            user=_user(request), scenario=run.scenario, run=run, note=form.cleaned_data["note"]
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Run #%(id)s is now the approved baseline of “%(scenario)s”.")
            % {"id": run.pk, "scenario": run.scenario.name},
        )
    return redirect("runs:plan_run_detail", run_id=run.pk)


@require_POST
def actual_add(request: HttpRequest, scenario_id: int) -> HttpResponse:
    scenario = scenario_get(user=_user(request), scenario_id=scenario_id)
    _require_editor(request, scenario)
    form = ActualReportForm(request.POST, stages=stage_choices(baseline_current(scenario=scenario)))
    if form.is_valid():
        try:
            report, _created = actual_report_create(
                user=_user(request),
                scenario=scenario,
                data=form.report(),
                source=ActualReport.Source.FORM,
            )
        except ApplicationError as exc:
            form.add_service_errors(exc.extra.get("errors") or {"": [exc.message]})  # type: ignore[arg-type]
        else:
            messages.success(
                request, _("The report of %(date)s is saved.") % {"date": report.date.isoformat()}
            )
            return redirect("tracking:scenario_tracking", scenario_id=scenario.pk)
    return render(request, TEMPLATE, _context(request, scenario, form=form))


@require_POST
def actual_withdraw(request: HttpRequest, scenario_id: int, report_id: int) -> HttpResponse:
    scenario = scenario_get(user=_user(request), scenario_id=scenario_id)
    _require_editor(request, scenario)
    report = get_object_or_404(ActualReport, scenario=scenario, pk=report_id)
    try:
        actual_report_withdraw(
            user=_user(request), report=report, note=request.POST.get("note", "")
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("The report of %(date)s is withdrawn.") % {"date": report.date.isoformat()},
        )
    return redirect("tracking:scenario_tracking", scenario_id=scenario.pk)


@require_POST
def actuals_import(request: HttpRequest, scenario_id: int) -> HttpResponse:
    scenario = scenario_get(user=_user(request), scenario_id=scenario_id)
    _require_editor(request, scenario)
    upload = CsvUploadForm(request.POST, request.FILES)
    problems: list[str] = []
    if upload.is_valid():
        try:
            saved = actual_reports_import(
                user=_user(request),
                scenario=scenario,
                rows=csv_rows(upload.cleaned_data["file"].read()),
                currency=upload.cleaned_data["currency"],
                usd_to_cny=upload.cleaned_data["usd_to_cny"],
            )
        except ApplicationError as exc:
            problems = list(exc.extra.get("lines") or [exc.message])  # type: ignore[call-overload]
        else:
            messages.success(
                request,
                ngettext("%(n)d report is saved.", "%(n)d reports are saved.", len(saved))
                % {"n": len(saved)},
            )
            return redirect("tracking:scenario_tracking", scenario_id=scenario.pk)
    return render(
        request, TEMPLATE, _context(request, scenario, upload=upload, import_errors=problems)
    )


@require_GET
def actuals_template(request: HttpRequest) -> HttpResponse:
    """The CSV to fill in: the header and two example rows."""
    response = HttpResponse(template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="actuals-template.csv"'
    return response
