from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import Organization, User
from apps.accounts.selectors import membership_get
from apps.common.errors import ApplicationError
from apps.runs.models import DemoJob

DEMO_JOB_MAX_N = 1_000_000


def demo_job_create(*, user: User, organization: Organization, n: int) -> DemoJob:
    """Record a demo job and enqueue it once the row is committed."""
    from apps.runs.tasks import demo_job_run  # tasks import services; avoid the cycle

    membership = membership_get(user=user, organization=organization)
    if membership is None or not membership.can_edit:
        raise ApplicationError("You need the owner or editor role to start jobs here.")
    if not 1 <= n <= DEMO_JOB_MAX_N:
        raise ApplicationError(f"n must be between 1 and {DEMO_JOB_MAX_N:,}.")
    with transaction.atomic():
        job = DemoJob.objects.create(organization=organization, created_by=user, n=n)
        # The worker must find the row: enqueue only after the transaction commits.
        demo_job_run.delay_on_commit(job.pk)
    return job


def demo_job_claim(*, job_id: int, worker: str) -> bool:
    """Move a job from queued to running; False when someone else has it or it is done.

    A conditional UPDATE, so two deliveries of the same message cannot both run it. A job left
    running by a worker that died is reclaimable once it is older than the hard time limit
    (late acknowledgement delivers that message again).
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    claimable = Q(status=DemoJob.Status.QUEUED) | Q(
        status=DemoJob.Status.RUNNING, started_at__lt=stale
    )
    updated = DemoJob.objects.filter(claimable, pk=job_id).update(
        status=DemoJob.Status.RUNNING, started_at=now, worker=worker, updated_at=now
    )
    return updated == 1


def demo_job_execute(*, job_id: int, worker: str) -> DemoJob | None:
    """Claim the job, compute its result and store it on the row. None if not claimed."""
    if not demo_job_claim(job_id=job_id, worker=worker):
        return None
    job = DemoJob.objects.get(pk=job_id)
    try:
        total = sum(i * i for i in range(1, job.n + 1))
    except Exception as exc:  # a failure is recorded on the row, not lost in a log
        job.status = DemoJob.Status.FAILED
        job.error = f"{type(exc).__name__}: {exc}"
    else:
        job.status = DemoJob.Status.SUCCEEDED
        # As a string: JSON numbers lose precision past 2**53 in the browser.
        job.result = {"sum_of_squares": str(total)}
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "result", "finished_at", "updated_at"])
    return job
