from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "apps.common"
    label = "common"

    def ready(self) -> None:
        # Make the project's Celery app the current one in every process that runs Django,
        # so @shared_task(...).delay() from the web process uses the configured broker.
        import llmplanner.celery  # noqa: F401
