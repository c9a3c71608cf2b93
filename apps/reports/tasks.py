from celery import shared_task

from apps.reports.services import export_render, exports_sweep_stale


@shared_task(bind=True, name="reports.export_render")
def export_render_task(self, export_id: int) -> None:  # type: ignore[no-untyped-def]
    """Render one PDF export by id; the file and the outcome are stored on its row."""
    export_render(export_id=export_id, worker=self.request.hostname or "unknown")


@shared_task(name="reports.sweep_stale_exports")
def sweep_stale_exports() -> dict[str, int]:
    """Periodic (beat): no export stays rendering forever, no queued one is forgotten."""
    return exports_sweep_stale()
