"""A run that needs more memory than a worker process allows fails with a reason a manager can
read, and the worker goes on serving (issue 16, item 3). A real prefork worker with
``WORKER_MAX_MEMORY_MB`` at its minimum: each pool process's data segment is capped
(``llmplanner.celery.limit_pool_process_memory``), so the core's allocation raises MemoryError.
Its own module, so that no other test's worker takes the run.
"""

from __future__ import annotations

import pytest

from apps.programs.services import program_create_from_blueprint
from apps.runs.models import PlanRun, RunStatus
from apps.runs.services import plan_input_hash, plan_run_create, plan_run_send
from tests.faults.processes import Worker, running, service_env
from tests.runs.worker_process import database_url_of_test_db, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# 200,000 trials need ~320 MiB (README, the core); the pool process has ~100 MiB left of 256.
HUGE_TRIALS = 200_000


@pytest.mark.timeout(240)
def test_a_run_past_the_memory_limit_fails_readably_and_the_worker_carries_on(
    owner, organization, tmp_path
):
    scenario = program_create_from_blueprint(
        user=owner, organization=organization, key="gpt3-175b-from-scratch"
    ).scenarios.get()
    # A row as an older release (or an administrator's higher limits) could have saved it: the
    # service refuses this many trials, the worker's limit is the last line of defence.
    model = plan_run_create(user=owner, scenario=scenario, trials=100)
    huge = PlanRun.objects.create(
        organization=organization, scenario=scenario, scenario_version=scenario.version,
        created_by=owner, inputs=model.inputs, core_version=model.core_version,
        trials=HUGE_TRIALS, seed=1,
        input_hash=plan_input_hash(plan=model.inputs, trials=HUGE_TRIALS, seed=1),
    )  # fmt: skip
    env = service_env(DATABASE_URL=database_url_of_test_db(), WORKER_MAX_MEMORY_MB="256")
    with running(lambda: Worker(env, tmp_path, "limited", concurrency=1)) as [worker]:
        plan_run_send(run=huge)
        finished = wait_for(lambda: PlanRun.objects.get(pk=huge.pk).is_finished, 180)
        assert finished, worker.log()[-3000:]
        # The same worker goes on: the small run (sent at its creation) is computed.
        assert wait_for(lambda: PlanRun.objects.get(pk=model.pk).is_finished, 60)
    huge.refresh_from_db()
    assert huge.status == RunStatus.FAILED and huge.result is None
    assert huge.error.startswith(
        "This plan needs more memory than a worker allows (limit 0.2 GiB); reduce trials"
    ), huge.error
    assert PlanRun.objects.get(pk=model.pk).status == RunStatus.SUCCEEDED


@pytest.mark.timeout(240)
def test_a_run_past_the_soft_time_limit_fails_readably(owner, organization, tmp_path):
    scenario = program_create_from_blueprint(
        user=owner, organization=organization, key="gpt3-175b-from-scratch"
    ).scenarios.get()
    line = scenario.budget_lines.order_by("-gpu_count")[0]
    type(line).objects.filter(pk=line.pk).update(gpu_count=524_288)  # ~10 s of work here
    env = service_env(
        DATABASE_URL=database_url_of_test_db(),
        CELERY_TASK_SOFT_TIME_LIMIT="1",
        CELERY_TASK_TIME_LIMIT="60",
    )
    with running(lambda: Worker(env, tmp_path, "hurried", concurrency=1)) as [worker]:
        run = plan_run_create(user=owner, scenario=scenario, trials=5_000)
        finished = wait_for(lambda: PlanRun.objects.get(pk=run.pk).is_finished, 120)
        assert finished, worker.log()[-3000:]
    run.refresh_from_db()
    seconds = (run.finished_at - run.started_at).total_seconds()
    assert run.status == RunStatus.FAILED and run.result is None, (seconds, worker.log()[-2000:])
    assert run.error.startswith("This plan took longer than a worker allows (1 s); reduce"), (
        run.error
    )
