"""A worker killed in the middle of a plan run (SIGKILL, as a lost machine): the periodic sweeper
sends the run again and another worker finishes it — no run lost, none computed twice.

Its own module, so that no other test's worker is alive to pick the run up first.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.programs.services import program_create_from_blueprint
from apps.runs.models import PlanRun, RunStatus
from apps.runs.services import plan_run_create, plan_runs_sweep_stale
from tests.runs.worker_process import database_url_of_test_db, running_worker, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_killed_worker_leads_to_redelivery_and_one_result(owner, organization, tmp_path):
    program = program_create_from_blueprint(
        user=owner, organization=organization, key="gpt3-175b-from-scratch"
    )
    scenario = program.scenarios.get()
    database_url = database_url_of_test_db()
    with running_worker(database_url, tmp_path, "victim") as victim:
        # Many trials, so that the run is still going when the worker dies.
        run = plan_run_create(user=owner, scenario=scenario, trials=20_000)
        assert wait_for(lambda: PlanRun.objects.get(pk=run.pk).status == RunStatus.RUNNING, 30)
        victim.kill()
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING and run.worker == victim.node and run.result is None
    # An hour later the sweeper finds the silent run and sends it again.
    assert plan_runs_sweep_stale(now=timezone.now() + timedelta(hours=1))["requeued"] == 1
    with running_worker(database_url, tmp_path, "rescuer") as rescuer:
        assert wait_for(lambda: PlanRun.objects.get(pk=run.pk).is_finished, 120)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.worker == rescuer.node and run.attempts == 2
    assert PlanRun.objects.count() == 1
