"""Plan runs through real worker processes on the real broker (the embedded filesystem broker by
default, Redis when REDIS_URL is set) and the test database: success, failure, duplicate delivery,
a killed worker, cached reuse and a sweep's aggregation across chunks.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from apps.programs.services import program_create_from_blueprint
from apps.runs.models import PlanRun, RunStatus, Sweep
from apps.runs.tasks import plan_run_task
from tests.conftest import login
from tests.runs.worker_process import database_url_of_test_db, running_worker, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def database_url(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        return database_url_of_test_db()


@pytest.fixture(scope="module")
def worker(database_url, tmp_path_factory):
    with running_worker(database_url, tmp_path_factory.mktemp("workers")) as w:
        yield w


@pytest.fixture
def scenario(owner, organization):
    program = program_create_from_blueprint(
        user=owner, organization=organization, key="cpt-7b-domain"
    )
    return program.scenarios.get()


def finished(run_id: int, timeout_s: float = 40.0) -> PlanRun:
    wait_for(lambda: PlanRun.objects.get(pk=run_id).is_finished, timeout_s)
    return PlanRun.objects.get(pk=run_id)


def test_a_run_started_from_the_page_is_computed_by_the_worker(worker, owner, scenario):
    client = login(owner)
    response = client.post(reverse("runs:plan_run_start", args=[scenario.pk]))
    run = finished(PlanRun.objects.get().pk)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.worker == worker.node and run.progress == 100
    assert run.result["plan"]["strategy"] == "cpt"
    assert client.get(response.url).status_code == 200


def test_an_unchanged_scenario_reuses_the_result_without_the_worker(worker, owner, scenario):
    client = login(owner)
    client.post(reverse("runs:plan_run_start", args=[scenario.pk]))
    first = finished(PlanRun.objects.get().pk)
    client.post(reverse("runs:plan_run_start", args=[scenario.pk]))
    second = PlanRun.objects.latest("id")
    assert (
        second.status == RunStatus.SUCCEEDED
        and second.reused_from_id == first.pk
        and second.worker == ""
    )


def test_a_failure_is_recorded_on_the_row(worker, owner, scenario):
    run = PlanRun.objects.create(
        organization=scenario.program.organization, scenario=scenario, scenario_version=1,
        created_by=owner,
        inputs={"strategy": "cpt", "model": {"preset": "qwen-7b"}, "training": {"tokens": -5}},
        input_hash="x" * 64, core_version="test", trials=100,
    )  # fmt: skip
    plan_run_task.delay(run.pk)
    run = finished(run.pk)
    assert run.status == RunStatus.FAILED
    assert run.error == "The plan was rejected: training.tokens: must be greater than zero, got -5"


def plan_run_tasks_done(worker, since: int) -> int:
    """How many plan-run tasks the worker has finished since byte ``since`` of its log."""
    log = worker.log_path.read_bytes()[since:].decode(errors="replace")
    return len(re.findall(r"Task runs\.plan_run\[[0-9a-f-]+\] succeeded in ", log))


def test_a_duplicate_delivery_yields_one_result(worker, owner, scenario):
    since = worker.log_path.stat().st_size
    client = login(owner)
    client.post(reverse("runs:plan_run_start", args=[scenario.pk]))
    run = PlanRun.objects.get()
    plan_run_task.delay(run.pk)  # the same message again, as a redelivery would
    # Both deliveries processed, in whichever order the broker gave them: the worker logged both.
    both_done = wait_for(lambda: plan_run_tasks_done(worker, since) >= 2, 40)
    assert both_done, worker.log_path.read_text()[-2000:]
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.attempts == 1


def test_a_sweep_fans_out_to_workers_and_aggregates(worker, owner, scenario):
    client = login(owner)
    client.post(
        reverse("runs:sweep_start", args=[scenario.pk]),
        {"gpu_counts": "32, 64, 128", "precisions": ["bf16"]},
    )
    sweep = Sweep.objects.get()
    wait_for(lambda: Sweep.objects.get(pk=sweep.pk).status == RunStatus.SUCCEEDED, 60)
    sweep.refresh_from_db()
    assert sweep.status == RunStatus.SUCCEEDED and sweep.chunks_done == sweep.chunks_total == 2
    assert [p["variant"]["gpu_count"] for p in sweep.points] == [32, 64, 128]
    assert all(p["ok"] for p in sweep.points)
