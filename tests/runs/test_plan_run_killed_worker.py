"""A worker killed in the middle of a plan run (SIGKILL, as a lost machine): the periodic sweeper
sends the run again and another worker finishes it — no run lost, none computed twice.

Its own module, so that no other test's worker is alive to pick the run up first. The victim
holds the run once claimed (``tests/runs/holding_app.py``), so it dies mid-run by construction.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.programs.services import program_create_from_blueprint
from apps.runs.models import PlanRun, RunStatus
from apps.runs.services import plan_run_create, plan_runs_sweep_stale
from tests.runs.worker_process import (
    HOLD_FILE_VARIABLE,
    HOLDING_APP,
    database_url_of_test_db,
    running_worker,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_killed_worker_leads_to_redelivery_and_one_result(owner, organization, tmp_path):
    program = program_create_from_blueprint(
        user=owner, organization=organization, key="gpt3-175b-from-scratch"
    )
    scenario = program.scenarios.get()
    database_url = database_url_of_test_db()
    hold = tmp_path / "hold"
    hold.touch()  # the victim keeps every run it claims running until it is killed
    victim_options = {"app": HOLDING_APP, "env": {HOLD_FILE_VARIABLE: str(hold)}}
    with running_worker(database_url, tmp_path, "victim", **victim_options) as victim:
        run = plan_run_create(user=owner, scenario=scenario, trials=200)
        claimed = wait_for(lambda: PlanRun.objects.get(pk=run.pk).status == RunStatus.RUNNING, 30)
        assert claimed, victim.log_path.read_text()[-3000:]
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
