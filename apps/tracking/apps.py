from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "apps.tracking"
    label = "tracking"

    def ready(self) -> None:
        # The forecast task and its beat sweeper registered with Celery in every process (the
        # service imports the task lazily; the beat's schedule must find it by name).
        from apps.tracking import tasks  # noqa: F401
