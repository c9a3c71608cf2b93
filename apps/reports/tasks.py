from celery import shared_task

from apps.reports.services import export_render


@shared_task(bind=True, name="reports.export_render")
def export_render_task(self, export_id: int) -> None:  # type: ignore[no-untyped-def]
    """Render one PDF export by id; the file and the outcome are stored on its row."""
    export_render(export_id=export_id, worker=self.request.hostname or "unknown")
