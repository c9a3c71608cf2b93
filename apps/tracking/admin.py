from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.tracking.models import ActualReport, ApprovedBaseline


@admin.register(ApprovedBaseline)
class ApprovedBaselineAdmin(admin.ModelAdmin):
    """Read-only: an approved baseline never changes (a new approval supersedes it)."""

    list_display = ["id", "scenario", "run", "approved_by_name", "approved_at", "hash_of"]
    list_filter = ["hash_of"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ActualReport)
class ActualReportAdmin(admin.ModelAdmin):
    list_display = ["id", "scenario", "date", "tokens_trained", "gpu_hours", "source"]
    list_filter = ["source", "stage"]
    readonly_fields = ["created_at", "updated_at", "idempotency_key", "request_hash"]
