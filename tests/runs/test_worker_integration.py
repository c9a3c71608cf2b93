"""A real Celery worker process on the configured broker (the embedded filesystem broker by
default, Redis when REDIS_URL is set) and the test database: submit through the web layer,
see the result persisted by the worker.
"""

import json
import time

import pytest
from django.test import Client
from django.urls import reverse

from apps.runs.models import DemoJob
from tests.accounts.factories import MembershipFactory
from tests.runs.worker_process import database_url_of_test_db, running_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

RESULT_TIMEOUT_S = 20


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A worker subprocess on the test database; yields its node name."""
    with django_db_blocker.unblock():
        database_url = database_url_of_test_db()
    with running_worker(database_url, tmp_path_factory.mktemp("worker")) as process:
        yield process.node


def test_it_round_trips_a_demo_job_through_a_real_worker(worker):
    membership = MembershipFactory(role="owner")
    client = Client()
    client.force_login(membership.user)

    response = client.post(
        reverse("runs:dashboard"), {"organization": membership.organization.pk, "n": 100}
    )
    assert response.status_code == 302

    job = DemoJob.objects.get()
    deadline = time.monotonic() + RESULT_TIMEOUT_S
    while not job.is_finished and time.monotonic() < deadline:
        time.sleep(0.05)
        job.refresh_from_db()
    assert job.status == DemoJob.Status.SUCCEEDED, f"job still {job.status}"
    assert job.result == {"sum_of_squares": "338350"}
    assert job.worker == worker

    fragment = client.get(reverse("runs:demo_job_detail", args=[job.pk]))
    assert b"338350" in fragment.content


def test_it_reports_the_live_worker_in_healthz(worker, client, admin_client):
    # Anyone sees the count; the worker's name (a host name) only staff (issue 16, item 10).
    response = client.get(reverse("healthz"))
    assert response.status_code == 200, response.content
    anonymous = json.dumps(response.json())
    assert "1 live" in anonymous and worker not in anonymous
    staff = admin_client.get(reverse("healthz"))
    assert worker in json.dumps(staff.json()), staff.content
