"""Read-only share links of a run's dashboard: the owners' page that makes and revokes them, and
the public page a link opens (``apps.runs.sharing``)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.common.errors import ApplicationError
from apps.programs.selectors import can_edit
from apps.runs.forms import ShareLinkForm
from apps.runs.selectors import plan_run_get
from apps.runs.sharing import share_link_create, share_link_list, share_link_open, share_link_revoke


@never_cache
@require_http_methods(["GET", "POST"])
def run_share(request: HttpRequest, run_id: int) -> HttpResponse:
    """The run's share links; an owner or editor makes one here and sees its address once."""
    run = plan_run_get(user=request.user, run_id=run_id)  # type: ignore[arg-type]
    editable = can_edit(user=request.user, organization=run.organization)  # type: ignore[arg-type]
    form = ShareLinkForm(request.POST or None)
    made = None
    if request.method == "POST":
        if not editable:
            raise PermissionDenied  # a viewer reads the list; making a link is for editors
        if form.is_valid():
            try:
                link, token = share_link_create(
                    user=request.user,  # type: ignore[arg-type]
                    run=run,
                    days=form.cleaned_data["days"],
                    label=form.cleaned_data["label"],
                )
            except ApplicationError as exc:
                form.add_error(exc.extra.get("field"), exc.message)  # type: ignore[arg-type]
            else:
                made = request.build_absolute_uri(f"/shared/{token}/")
                form = ShareLinkForm()
    response = render(
        request,
        "runs/share.html",
        {
            "run": run,
            "scenario": run.scenario,
            "program": run.scenario.program,
            "links": share_link_list(run=run).select_related("created_by"),
            "form": form,
            "made": made,
            "can_edit": editable,
            "now": timezone.now(),
        },
    )
    # Not "no-referrer": with it browsers send "Origin: null" with the page's own forms, which
    # Django's CSRF check refuses (found in Chromium). Same-origin keeps the address from others.
    response["Referrer-Policy"] = "same-origin"
    return response


@require_POST
def run_share_revoke(request: HttpRequest, run_id: int, link_id: int) -> HttpResponse:
    run = plan_run_get(user=request.user, run_id=run_id)  # type: ignore[arg-type]
    link = get_object_or_404(share_link_list(run=run), pk=link_id)
    if not can_edit(user=request.user, organization=run.organization):  # type: ignore[arg-type]
        raise PermissionDenied
    share_link_revoke(user=request.user, link=link)  # type: ignore[arg-type]
    return redirect("runs:run_share", run_id=run.pk)


@login_not_required
@never_cache
@require_GET
def shared_run(request: HttpRequest, token: str) -> HttpResponse:
    """A run's dashboard for whoever holds a live link: read-only, no other page reachable."""
    from apps.runs.plan_views import run_dashboard_context

    link = share_link_open(token=token)
    if link is None:
        raise Http404(_("This link is not valid: it may have expired or been revoked."))
    context = run_dashboard_context(link.run)
    context.update(shared=True, share_link=link)
    response = render(request, "runs/plan_run_detail.html", context)
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "same-origin"
    return response
