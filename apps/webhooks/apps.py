from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "apps.webhooks"
    label = "webhooks"

    def ready(self) -> None:
        # The delivery task and its beat sweeper registered with Celery in every process (the
        # service imports the task lazily; the beat's schedule must find it by name).
        from apps.webhooks import tasks  # noqa: F401
