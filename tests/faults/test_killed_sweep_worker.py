"""``kill -9`` of a worker in the middle of a what-if's chunk (issue 16, item 4): the sweep must not
stay "running" forever. The chunk gets the plan runs' rules — claimed with an attempt count and a
heartbeat, re-queued and sent again by the sweeper, computed once by another worker — and the
sweep finishes with every point.

The victim holds each chunk it claims (``tests/runs/holding_app.py``), so it dies mid-chunk by
construction. Runs on the broker the suite is configured with. Its own module, so that no other
test's worker takes a chunk.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.programs.services import program_create_from_blueprint
from apps.runs.models import RunStatus, Sweep, SweepChunk
from apps.runs.services import plan_runs_sweep_stale, sweep_create
from tests.faults.processes import Worker, running, service_env
from tests.runs.worker_process import (
    HOLD_FILE_VARIABLE,
    HOLDING_APP,
    database_url_of_test_db,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_sweep_whose_worker_is_killed_mid_chunk_finishes_on_another(
    owner, organization, tmp_path
):
    scenario = program_create_from_blueprint(
        user=owner, organization=organization, key="sft-7b-10k-instructions"
    ).scenarios.get()
    env = service_env(DATABASE_URL=database_url_of_test_db())
    hold = tmp_path / "hold"
    hold.touch()  # the victim keeps each chunk it claims running until it dies

    def victim_worker() -> Worker:
        victim_env = {**env, HOLD_FILE_VARIABLE: str(hold)}
        return Worker(victim_env, tmp_path, "victim", concurrency=1, app=HOLDING_APP)

    with running(victim_worker) as [victim]:
        sweep = sweep_create(
            user=owner, scenario=scenario, axes={"gpu_count": [8, 16]}, trials=50, chunk_size=1
        )
        chunks = SweepChunk.objects.filter(sweep=sweep)
        held = chunks.filter(status=RunStatus.RUNNING)
        assert wait_for(lambda: held.exists(), 60), victim.log()[-3000:]
        victim.kill()
    killed = held.get()
    assert killed.worker == victim.node and killed.attempts == 1
    assert Sweep.objects.get(pk=sweep.pk).status == RunStatus.RUNNING

    # The next beat tick after the time limit re-queues the silent chunk and sends it again.
    counts = plan_runs_sweep_stale(now=timezone.now() + timedelta(hours=1))
    assert counts["chunks_requeued"] == 1 and counts["chunks_failed"] == 0

    with running(lambda: Worker(env, tmp_path, "rescuer", concurrency=1)) as [rescuer]:
        finished = lambda: Sweep.objects.get(pk=sweep.pk).status == RunStatus.SUCCEEDED  # noqa: E731
        assert wait_for(finished, 120), rescuer.log()[-3000:]
    sweep.refresh_from_db()
    assert [p["variant"]["gpu_count"] for p in sweep.points] == [8, 16]
    assert sweep.chunks_done == 2  # each chunk counted once
    killed.refresh_from_db()
    assert (killed.status, killed.worker, killed.attempts) == (
        RunStatus.SUCCEEDED,
        rescuer.node,
        2,
    )
