from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The public REST API v1 for finance tooling (no models of its own)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.api"
    label = "api"
