from django.contrib import admin

from apps.webhooks.models import Webhook, WebhookDelivery


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["url", "organization", "active", "created_by", "created_at"]
    list_filter = ["active"]
    search_fields = ["url", "organization__name"]
    raw_id_fields = ["organization", "created_by"]
    exclude = ["secret"]  # shown once to the owner who created it, nowhere else

    def has_add_permission(self, request: object) -> bool:
        return False  # owners register webhooks on their page, which makes the secret


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["webhook", "event", "status", "attempts", "last_status_code", "created_at"]
    list_filter = ["status", "event"]
    raw_id_fields = ["webhook"]
    readonly_fields = ["payload"]
