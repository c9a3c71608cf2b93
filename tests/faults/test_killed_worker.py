"""``kill -9`` of a whole worker (prefork parent and pool) in the middle of several runs: every
run ends succeeded after redelivery (or failed with a reason), none is lost, none computed twice.

Runs on the broker the suite is configured with: the embedded filesystem broker by default (it
loses the messages the killed worker held), Redis with ``REDIS_URL`` (it would deliver them again
only after the visibility timeout, the hard time limit + 5 min). Either way the stale-run sweeper
sends the lost runs again. Its own module, so that no other test's worker picks a run up.

The victim finishes one run, then holds every run it claims (``tests/runs/holding_app.py``), so
that it dies with exactly two runs in progress (its pool of two) by construction, and with the
rest still queued: each case is there whatever the machine's speed.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.programs.services import program_create_from_blueprint
from apps.runs.models import PlanRun, RunStatus
from apps.runs.services import plan_run_create, plan_runs_sweep_stale
from tests.faults.processes import Worker, running, service_env
from tests.runs.worker_process import (
    HOLD_FILE_VARIABLE,
    HOLDING_APP,
    database_url_of_test_db,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

RUNS = 5
TRIALS = 500
POOL = 2


def test_a_worker_killed_mid_runs_loses_none_and_computes_none_twice(owner, organization, tmp_path):
    program = program_create_from_blueprint(
        user=owner, organization=organization, key="gpt3-175b-from-scratch"
    )
    scenario = program.scenarios.get()
    env = service_env(DATABASE_URL=database_url_of_test_db())
    hold = tmp_path / "hold"

    def victim_worker() -> Worker:
        victim_env = {**env, HOLD_FILE_VARIABLE: str(hold)}
        return Worker(victim_env, tmp_path, "victim", concurrency=POOL, app=HOLDING_APP)

    with running(victim_worker) as [victim]:
        # Different seeds: five computations, not one result reused four times.
        first = plan_run_create(user=owner, scenario=scenario, trials=TRIALS, seed=0)
        first_done = wait_for(lambda: PlanRun.objects.get(pk=first.pk).is_finished, 60)
        assert first_done, victim.log()[-3000:]
        hold.touch()  # from now on the victim keeps each run it claims running until it dies
        for seed in range(1, RUNS):
            plan_run_create(user=owner, scenario=scenario, trials=TRIALS, seed=seed)
        running_now = PlanRun.objects.filter(status=RunStatus.RUNNING)
        assert wait_for(lambda: running_now.count() == POOL, 60), victim.log()[-3000:]
        victim.kill()
    killed = set(
        PlanRun.objects.filter(status=RunStatus.RUNNING, worker=victim.node).values_list(
            "pk", flat=True
        )
    )
    finished_before = set(
        PlanRun.objects.filter(status=RunStatus.SUCCEEDED).values_list("pk", flat=True)
    )
    assert len(killed) == POOL and finished_before == {first.pk}
    assert PlanRun.objects.filter(status=RunStatus.QUEUED).count() == RUNS - 1 - POOL

    # The next beat tick after the time limit (here: the sweeper an hour from now) re-queues the
    # killed runs and sends again the queued ones, whose messages may be lost with the worker.
    counts = plan_runs_sweep_stale(now=timezone.now() + timedelta(hours=1))
    assert counts["requeued"] == len(killed) and counts["failed"] == 0

    with running(lambda: Worker(env, tmp_path, "rescuer", concurrency=POOL)) as [rescuer]:
        unfinished = PlanRun.objects.exclude(status__in=[RunStatus.SUCCEEDED, RunStatus.FAILED])
        assert wait_for(lambda: not unfinished.exists(), 120), rescuer.log()[-3000:]
    print(f"{len(killed)} runs killed mid-run, {len(finished_before)} finished before the kill")

    runs = PlanRun.objects.all()
    assert runs.count() == RUNS  # none duplicated
    for run in runs:
        assert run.status == RunStatus.SUCCEEDED, (run.pk, run.status, run.error)
        assert run.result is not None and run.progress == 100
        # ``attempts`` counts claims: a run computed twice would show one more.
        if run.pk in killed:
            assert (run.attempts, run.worker) == (2, rescuer.node)
        else:
            assert run.attempts == 1
            assert run.worker == (victim.node if run.pk in finished_before else rescuer.node)
    # The duplicate messages (resent runs the broker still held) were claimed by nobody.
    assert sum(PlanRun.objects.values_list("attempts", flat=True)) == RUNS + len(killed)
