import pytest

from apps.runs.models import DemoJob
from apps.runs.tasks import demo_job_run
from tests.runs.factories import DemoJobFactory

pytestmark = pytest.mark.django_db


def test_it_runs_the_job_by_id():
    job = DemoJobFactory(n=3)
    demo_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == DemoJob.Status.SUCCEEDED
    assert job.result == {"sum_of_squares": "14"}


def test_it_does_nothing_for_a_finished_job():
    job = DemoJobFactory(n=3, status=DemoJob.Status.SUCCEEDED, result={"sum_of_squares": "x"})
    demo_job_run(job.pk)
    job.refresh_from_db()
    assert job.result == {"sum_of_squares": "x"}
