"""One organization cannot starve another (issue 16, item 3), with real worker processes on the
broker the suite is configured with (the filesystem broker; Redis in CI's second pass).

The workers are laid out as ``scripts/start.sh`` does on 2 cores: one node on the
``interactive`` queue only, one on ``heavy,interactive``. Organization A submits eight heavy runs
(the GPT-3 template on 524,288 GPUs: seconds each, within the work limit); organization B then
starts a small run. B's run is computed while A's first run is still going — it waits neither
behind A's runs nor behind the heavy queue — and A never has more than its share with the workers.
Its own module, so that no other test's worker takes a run.
"""

from __future__ import annotations

import time

import pytest

from apps.accounts.models import Membership
from apps.programs.services import program_create_from_blueprint
from apps.runs.fairness import PHASE_ORG_QUEUE
from apps.runs.models import PlanRun, RunStatus
from apps.runs.services import plan_run_create
from llmplanner.celery import app
from tests.faults.processes import Worker, running, service_env
from tests.runs.worker_process import database_url_of_test_db, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

A_RUNS = 8
A_GPUS = 524_288
A_TRIALS = 2_000


@pytest.mark.timeout(240)
def test_organization_b_is_served_while_organization_a_saturates_its_share(
    owner, organization, outsider, tmp_path, settings
):
    settings.ORG_MAX_IN_FLIGHT = 2
    heavy_program = program_create_from_blueprint(
        user=owner, organization=organization, key="gpt3-175b-from-scratch"
    )
    heavy = heavy_program.scenarios.get()
    heavy.budget_lines.filter(pk=heavy.budget_lines.order_by("-gpu_count")[0].pk).update(
        gpu_count=A_GPUS
    )
    other = Membership.objects.get(user=outsider).organization
    small = program_create_from_blueprint(
        user=outsider, organization=other, key="cpt-7b-domain"
    ).scenarios.get()
    env = service_env(DATABASE_URL=database_url_of_test_db(), ORG_MAX_IN_FLIGHT="2")
    app.control.purge()  # no message of an earlier test may claim a run of this one

    def node(name: str, queues: str):  # type: ignore[no-untyped-def]
        return lambda: Worker(env, tmp_path, name, concurrency=1, queues=queues)

    with running(node("interactive", "interactive"), node("heavy", "heavy,interactive")) as nodes:
        a_runs = [
            plan_run_create(user=owner, scenario=heavy, trials=A_TRIALS, seed=seed).pk
            for seed in range(A_RUNS)
        ]
        a = PlanRun.objects.filter(pk__in=a_runs)
        assert wait_for(lambda: a.filter(status=RunStatus.RUNNING).exists(), 60), nodes[1].log()
        # A has saturated its share: two with the workers, the others waiting in the database.
        rows = list(a.order_by("pk").values_list("pk", "status", "phase", "error", "created_at"))
        finished_early = a.filter(status__in=[RunStatus.SUCCEEDED, RunStatus.FAILED]).count()
        assert a.filter(phase=PHASE_ORG_QUEUE).count() == A_RUNS - 2 - finished_early, rows
        assert not a.filter(status=RunStatus.FAILED).exists(), rows

        started = time.monotonic()
        b = plan_run_create(user=outsider, scenario=small, trials=200)
        assert b.phase != PHASE_ORG_QUEUE  # sent at once: B's organization has free slots
        done = wait_for(lambda: PlanRun.objects.get(pk=b.pk).is_finished, 120)
        latency = time.monotonic() - started
        assert done, nodes[0].log()[-3000:]
        b.refresh_from_db()
        a_finished = a.filter(status__in=[RunStatus.SUCCEEDED, RunStatus.FAILED]).count()
        a_waiting = a.filter(phase=PHASE_ORG_QUEUE).count()
        print(f"B's run: {latency:.2f} s on {b.worker}; A meanwhile finished {a_finished}")
        for node_ in nodes:
            node_.kill()  # A's remaining work is of no interest here
    app.control.purge()  # nor may A's unsent messages reach a later test's worker

    assert b.status == RunStatus.SUCCEEDED, b.error
    # B was served by the node that heavy work cannot occupy, while A's work was still going:
    # at most A's first run finished, and most of A's runs still waited their turn.
    assert b.worker.startswith("interactive-")
    assert a_finished <= 1 and a_waiting >= A_RUNS - 3
    # Never more than A's share with the workers: no A run was claimed beyond two (+ finished).
    claimed = PlanRun.objects.filter(pk__in=a_runs, attempts__gt=0).count()
    assert claimed <= 2 + a_finished
