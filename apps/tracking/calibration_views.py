"""The Calibration page: for each of the user's organizations, the published calibration's
accuracy and the organization's own fit; owners switch the fit on or off for new runs and refit
it on demand.

Every member reads the page; a non-owner's POST is a 403 before anything is read, another
organization's a 404 (as the members, API token and webhook pages do).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from apps.accounts.models import Organization
from apps.accounts.selectors import organization_list_owned
from apps.common.errors import ApplicationError
from apps.reports.assumptions import benchmark_rows
from apps.tracking.calibration import (
    MIN_RUNS,
    PUBLISHED_MAPE,
    CalibrationDenied,
    calibration_enable_set,
    calibration_list,
    calibration_organization,
    calibration_refit,
)


class CalibrationUseForm(forms.Form):
    enabled = forms.BooleanField(required=False)


def _owned(request: HttpRequest, organization_id: int) -> Organization:
    """The organization when the user owns it: 404 when not a member, 403 when not an owner."""
    organization = calibration_organization(user=request.user, organization_id=organization_id)  # type: ignore[arg-type]
    if organization is None:
        raise Http404
    if not organization_list_owned(user=request.user).filter(pk=organization.pk).exists():  # type: ignore[arg-type]
        raise PermissionDenied
    return organization


@require_GET
def calibration(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {
        "organizations": calibration_list(user=request.user),  # type: ignore[arg-type]
        "published_runs": benchmark_rows(),
        "published_mape": PUBLISHED_MAPE,
        "min_runs": MIN_RUNS,
    }
    return render(request, "accounts/calibration.html", context)


@require_POST
def calibration_use(request: HttpRequest, organization_id: int) -> HttpResponse:
    organization = _owned(request, organization_id)
    form = CalibrationUseForm(request.POST)
    enabled = form.is_valid() and form.cleaned_data["enabled"]
    try:
        calibration_enable_set(user=request.user, organization=organization, enabled=enabled)  # type: ignore[arg-type]
    except CalibrationDenied as exc:
        raise PermissionDenied(exc.message) from exc
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        done = (
            _("New runs of %(organization)s use its own calibration.")
            if enabled
            else _("New runs of %(organization)s use the published calibration.")
        )
        messages.success(request, done % {"organization": organization.name})
    return redirect("calibration:calibration")


@require_POST
def calibration_refit_view(request: HttpRequest, organization_id: int) -> HttpResponse:
    organization = _owned(request, organization_id)
    try:
        row = calibration_refit(organization=organization, user=request.user)  # type: ignore[arg-type]
    except CalibrationDenied as exc:
        raise PermissionDenied(exc.message) from exc
    runs = int(row.fitted.get("runs", 0))
    done = ngettext(
        "Refitted %(organization)s on %(runs)d completed run.",
        "Refitted %(organization)s on %(runs)d completed runs.",
        runs,
    )
    messages.success(request, done % {"organization": organization.name, "runs": runs})
    return redirect("calibration:calibration")
