from django.contrib import admin

from apps.reports.models import Export


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    list_display = ["id", "organization", "run", "status", "paper", "language", "created_at"]
    list_filter = ["status", "paper", "language"]
    readonly_fields = ["content_hash", "created_at", "updated_at", "started_at", "finished_at"]
