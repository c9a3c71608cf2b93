from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from apps.common.errors import ApplicationError
from apps.runs.models import DemoJob
from apps.runs.services import demo_job_claim, demo_job_create, demo_job_execute
from tests.runs.factories import DemoJobFactory

pytestmark = pytest.mark.django_db


def test_it_creates_a_queued_job_and_enqueues_it_after_commit(
    owner, organization, delay, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = demo_job_create(user=owner, organization=organization, n=3)
        delay.assert_not_called()  # not before the row is committed
    assert len(callbacks) == 1
    delay.assert_called_once_with(job.pk)
    assert job.status == DemoJob.Status.QUEUED
    assert job.created_by == owner


def test_it_does_not_enqueue_when_the_transaction_rolls_back(
    owner, organization, delay, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            demo_job_create(user=owner, organization=organization, n=3)
            raise RuntimeError("boom")
    delay.assert_not_called()
    assert not DemoJob.objects.exists()


def test_it_lets_editors_start_jobs(editor, organization, delay):
    assert demo_job_create(user=editor, organization=organization, n=1).pk


def test_it_refuses_viewers(viewer, organization, delay):
    with pytest.raises(ApplicationError, match="owner or editor"):
        demo_job_create(user=viewer, organization=organization, n=3)
    assert not DemoJob.objects.exists()


def test_it_refuses_outsiders(outsider, organization, delay):
    with pytest.raises(ApplicationError):
        demo_job_create(user=outsider, organization=organization, n=3)
    assert not DemoJob.objects.exists()


@pytest.mark.parametrize("n", [0, -1, 1_000_001])
def test_it_rejects_n_out_of_range(owner, organization, delay, n):
    with pytest.raises(ApplicationError, match="between 1 and"):
        demo_job_create(user=owner, organization=organization, n=n)


def test_it_claims_a_queued_job_only_once():
    job = DemoJobFactory()
    assert demo_job_claim(job_id=job.pk, worker="w1") is True
    assert demo_job_claim(job_id=job.pk, worker="w2") is False
    job.refresh_from_db()
    assert (job.status, job.worker) == (DemoJob.Status.RUNNING, "w1")


def test_it_reclaims_a_job_left_running_past_the_time_limit(settings):
    started = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 1)
    job = DemoJobFactory(status=DemoJob.Status.RUNNING, started_at=started, worker="dead")
    assert demo_job_claim(job_id=job.pk, worker="w2") is True


def test_it_does_not_reclaim_a_job_that_is_still_running():
    job = DemoJobFactory(status=DemoJob.Status.RUNNING, started_at=timezone.now())
    assert demo_job_claim(job_id=job.pk, worker="w2") is False


def test_it_stores_the_result_on_the_row():
    job = DemoJobFactory(n=4)
    demo_job_execute(job_id=job.pk, worker="w1")
    job.refresh_from_db()
    assert job.status == DemoJob.Status.SUCCEEDED
    assert job.result == {"sum_of_squares": "30"}  # 1 + 4 + 9 + 16
    assert job.worker == "w1"
    assert job.started_at <= job.finished_at


def test_it_ignores_a_duplicate_delivery_of_a_finished_job():
    job = DemoJobFactory(n=4)
    demo_job_execute(job_id=job.pk, worker="w1")
    assert demo_job_execute(job_id=job.pk, worker="w2") is None
    job.refresh_from_db()
    assert job.worker == "w1"


def test_it_ignores_a_job_that_no_longer_exists():
    assert demo_job_execute(job_id=999_999, worker="w1") is None
