from django.contrib import admin

from apps.runs.models import DemoJob


@admin.register(DemoJob)
class DemoJobAdmin(admin.ModelAdmin):
    list_display = ["id", "organization", "status", "n", "worker", "created_at", "finished_at"]
    list_filter = ["status"]
    readonly_fields = ["created_at", "updated_at", "started_at", "finished_at"]
