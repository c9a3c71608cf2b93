from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from apps.accounts.selectors import organization_list_editable
from apps.common.errors import ApplicationError
from apps.runs.figures import demo_job_round_trip_figure
from apps.runs.forms import DemoJobForm
from apps.runs.selectors import demo_job_get, demo_job_list
from apps.runs.services import demo_job_create

RECENT_JOBS = 20


@require_http_methods(["GET", "POST"])
def dashboard(request: HttpRequest) -> HttpResponse:
    """Start a demo job and watch recent ones come back from the worker."""
    organizations = organization_list_editable(user=request.user)  # type: ignore[arg-type]
    form = DemoJobForm(
        request.POST or None,
        organizations=organizations,
        initial={"organization": organizations.first()},
    )
    if request.method == "POST" and form.is_valid():
        try:
            job = demo_job_create(
                user=request.user,  # type: ignore[arg-type]
                organization=form.cleaned_data["organization"],
                n=form.cleaned_data["n"],
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Demo job #{job.pk} queued.")
            return redirect("runs:dashboard")
    jobs = list(demo_job_list(user=request.user)[:RECENT_JOBS])  # type: ignore[arg-type]
    return render(
        request,
        "runs/dashboard.html",
        {"form": form, "jobs": jobs, "figure_json": demo_job_round_trip_figure(jobs)},
    )


@require_GET
def demo_job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    """One job's row as an HTML fragment; htmx polls it until the job finishes."""
    job = demo_job_get(user=request.user, job_id=job_id)  # type: ignore[arg-type]
    return render(request, "runs/_demo_job_row.html", {"job": job})
