from celery import shared_task

from apps.runs.services import (
    demo_job_execute,
    plan_run_execute,
    plan_runs_sweep_stale,
    sweep_chunk_execute,
)


@shared_task(bind=True, name="runs.demo_job_run")
def demo_job_run(self, job_id: int) -> None:  # type: ignore[no-untyped-def]
    """Run one demo job by id; the result is stored on the job's row."""
    demo_job_execute(job_id=job_id, worker=self.request.hostname or "unknown")


@shared_task(bind=True, name="runs.plan_run")
def plan_run_task(self, run_id: int) -> None:  # type: ignore[no-untyped-def]
    """Simulate one plan run by id; the report is stored on the run's row."""
    plan_run_execute(run_id=run_id, worker=self.request.hostname or "unknown")


@shared_task(bind=True, name="runs.sweep_chunk")
def sweep_chunk_task(self, chunk_id: int) -> None:  # type: ignore[no-untyped-def]
    """Compute one chunk of a sweep; the last chunk aggregates the sweep."""
    sweep_chunk_execute(chunk_id=chunk_id, worker=self.request.hostname or "unknown")


@shared_task(name="runs.sweep_stale_runs")
def sweep_stale_runs() -> dict[str, int]:
    """Periodic (beat): nothing stays running forever."""
    return plan_runs_sweep_stale()
