"""Pages of PDF exports: start one from a run's dashboard, watch it (htmx), download it.

Thin views: parse, call one service or selector, render. Another organization's run or export
is a 404 (the selectors are scoped to the requester).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from apps.common.errors import ApplicationError
from apps.reports.forms import ExportForm
from apps.reports.selectors import export_file_get, export_get, export_list_for_run
from apps.reports.services import export_create
from apps.runs.selectors import plan_run_get


@require_POST
def export_start(request: HttpRequest, run_id: int) -> HttpResponse:
    run = plan_run_get(user=request.user, run_id=run_id)  # type: ignore[arg-type]
    form = ExportForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
        return redirect("runs:plan_run_detail", run_id=run.pk)
    try:
        export = export_create(
            user=request.user,  # type: ignore[arg-type]
            run=run,
            paper=form.cleaned_data["paper"],
            language=form.cleaned_data["language"],
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("runs:plan_run_detail", run_id=run.pk)
    return redirect("reports:export_detail", export_id=export.pk)


@require_GET
def export_detail(request: HttpRequest, export_id: int) -> HttpResponse:
    """The export's status (polled by htmx until it is ready or failed), then its download."""
    export = export_get(user=request.user, export_id=export_id)  # type: ignore[arg-type]
    run = export.run
    return render(
        request,
        "reports/export_detail.html",
        {
            "export": export,
            "run": run,
            "scenario": run.scenario,
            "program": run.scenario.program,
            "others": export_list_for_run(user=request.user, run=run),  # type: ignore[arg-type]
        },
    )


@require_GET
def export_status(request: HttpRequest, export_id: int) -> HttpResponse:
    export = export_get(user=request.user, export_id=export_id)  # type: ignore[arg-type]
    # ``oob``: the fragment also updates this export's row in the page's list of exports — which
    # the page shows only when the run has more than one export (no target, no update).
    others = export_list_for_run(user=request.user, run=export.run)  # type: ignore[arg-type]
    return render(
        request, "reports/_export_status.html", {"export": export, "oob": len(others) > 1}
    )


@require_GET
def export_download(request: HttpRequest, export_id: int) -> HttpResponse:
    try:
        pdf = export_file_get(user=request.user, export_id=export_id)  # type: ignore[arg-type]
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("reports:export_detail", export_id=export_id)
    return FileResponse(
        pdf.open(), as_attachment=True, filename=pdf.filename, content_type=pdf.content_type
    )
