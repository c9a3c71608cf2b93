"""A real Celery worker process on the configured broker (the embedded filesystem broker by
default, Redis when REDIS_URL is set) and the test database: submit, see the result persisted by
the worker — the demo job (the worker's self-test, kept for the admin and /healthz) and a plan
run started from the portfolio, which then shows its figures.
"""

import json
import time

import pytest
from django.test import Client
from django.urls import reverse

from apps.programs.services import program_create_from_blueprint
from apps.programs.templatetags.planning import money_compact
from apps.runs.models import DemoJob, PlanRun, RunStatus
from apps.runs.services import demo_job_create
from tests.accounts.factories import MembershipFactory
from tests.runs.worker_process import database_url_of_test_db, running_worker, wait_for

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
    job = demo_job_create(user=membership.user, organization=membership.organization, n=100)

    deadline = time.monotonic() + RESULT_TIMEOUT_S
    while not job.is_finished and time.monotonic() < deadline:
        time.sleep(0.05)
        job.refresh_from_db()
    assert job.status == DemoJob.Status.SUCCEEDED, f"job still {job.status}"
    assert job.result == {"sum_of_squares": "338350"}
    assert job.worker == worker


def test_a_run_started_from_the_portfolio_shows_there_once_the_worker_finished(worker):
    membership = MembershipFactory(role="owner")
    client = Client()
    client.force_login(membership.user)
    program = program_create_from_blueprint(
        user=membership.user, organization=membership.organization, key="sft-7b-10k-instructions"
    )
    scenario = program.scenarios.get()
    home = client.get(reverse("portfolio:home")).content.decode()
    dashboard = reverse("runs:scenario_dashboard", args=[scenario.pk])
    assert "not simulated yet" in home and dashboard in home  # the way to run it

    assert client.post(reverse("runs:plan_run_start", args=[scenario.pk])).status_code == 302
    run_id = PlanRun.objects.get().pk
    wait_for(lambda: PlanRun.objects.get(pk=run_id).is_finished, RESULT_TIMEOUT_S * 2)
    run = PlanRun.objects.get(pk=run_id)
    assert run.status == RunStatus.SUCCEEDED and run.worker == worker, run.error

    home = client.get(reverse("portfolio:home")).content.decode()
    assert reverse("runs:plan_run_detail", args=[run.pk]) in home
    assert money_compact(run.result["totals"]["cost"]["p50"], "CNY") in home
    assert "not simulated yet" not in home


def test_it_reports_the_live_worker_in_healthz(worker, client, admin_client):
    # Anyone sees the count; the worker's name (a host name) only staff (issue 16, item 10).
    response = client.get(reverse("healthz"))
    assert response.status_code == 200, response.content
    anonymous = json.dumps(response.json())
    assert "1 live" in anonymous and worker not in anonymous
    staff = admin_client.get(reverse("healthz"))
    assert worker in json.dumps(staff.json()), staff.content
