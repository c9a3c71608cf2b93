from celery import shared_task

from apps.runs.services import demo_job_execute


@shared_task(bind=True, name="runs.demo_job_run")
def demo_job_run(self, job_id: int) -> None:  # type: ignore[no-untyped-def]
    """Run one demo job by id; the result is stored on the job's row."""
    demo_job_execute(job_id=job_id, worker=self.request.hostname or "unknown")
