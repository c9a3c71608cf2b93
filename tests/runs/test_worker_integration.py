"""A real Celery worker process on the configured broker (the embedded filesystem broker by
default, Redis when REDIS_URL is set) and the test database: submit through the web layer,
see the result persisted by the worker.
"""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse

from apps.runs.models import DemoJob
from tests.accounts.factories import MembershipFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

READY_TIMEOUT_S = 30
RESULT_TIMEOUT_S = 20


def _database_url_of_test_database() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"  # "sqlite:////abs/path"
    user = quote(db["USER"] or "")
    password = f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else ""
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{user}{password}@{db['HOST']}{port}/{db['NAME']}"


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A worker subprocess on the test database; yields its node name."""
    with django_db_blocker.unblock():
        database_url = _database_url_of_test_database()
    node = f"itest-{uuid.uuid4().hex[:8]}@localhost"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "llmplanner.settings",
        "SECRET_KEY": settings.SECRET_KEY,
    }
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "llmplanner.celery", "worker",
                "--pool", "solo", "--loglevel", "INFO", "--hostname", node,
                "--without-gossip", "--without-mingle",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while f"{node} ready.".encode() not in log_path.read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"worker did not start:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield node
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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


def test_it_reports_the_live_worker_in_healthz(worker, client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200, response.content
    assert worker in response.json()["checks"]["workers"]["detail"]
