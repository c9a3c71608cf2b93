from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.tracking.models import (
    ActualReport,
    Alert,
    ApprovedBaseline,
    Forecast,
    OrganizationCalibration,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows the admin may look at but never add, change or delete: their values come from an
    approval or a computation, and an edit by hand would make them lie about where they came
    from."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ApprovedBaseline)
class ApprovedBaselineAdmin(ReadOnlyAdmin):
    """Read-only: an approved baseline never changes (a new approval supersedes it)."""

    list_display = ["id", "scenario", "run", "approved_by_name", "approved_at", "hash_of"]
    list_filter = ["hash_of"]


@admin.register(ActualReport)
class ActualReportAdmin(admin.ModelAdmin):
    list_display = ["id", "scenario", "date", "tokens_trained", "gpu_hours", "source"]
    list_filter = ["source", "stage"]
    readonly_fields = ["created_at", "updated_at", "idempotency_key", "request_hash"]


@admin.register(Forecast)
class ForecastAdmin(ReadOnlyAdmin):
    """Read-only: a forecast is computed by a worker from a baseline and its reports."""

    list_display = [
        "id",
        "organization",
        "scenario",
        "baseline",
        "last_actual",
        "status",
        "attempts",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "organization"]
    list_select_related = ["organization", "scenario", "baseline", "last_actual"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Forecast]:
        # The list shows none of the JSON: leave the forecasts and the baselines' copies of the
        # run (its report and inputs, the largest columns) in the database.
        return (
            super()
            .get_queryset(request)
            .defer("result", "answer", "baseline__inputs", "baseline__report")
        )


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    """Read-only: an alert is raised by a forecast that crossed its program's threshold."""

    list_display = [
        "id",
        "organization",
        "scenario",
        "forecast",
        "kind",
        "value",
        "previous",
        "threshold",
        "created_at",
    ]
    list_filter = ["kind", "organization"]
    list_select_related = ["organization", "scenario", "forecast"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Alert]:
        return super().get_queryset(request).defer("forecast__result", "forecast__answer")


@admin.register(OrganizationCalibration)
class OrganizationCalibrationAdmin(ReadOnlyAdmin):
    """Read-only: the factors are fitted from the organization's completed runs, and only an
    owner switches them on or off, on the Calibration page (``changed_by`` says who)."""

    list_display = ["organization", "enabled", "fitted_at", "changed_by", "updated_at"]
    # One row per organization: a search by its name, not a filter listing every organization.
    list_filter = ["enabled"]
    search_fields = ["organization__name"]
    list_select_related = ["organization", "changed_by"]
