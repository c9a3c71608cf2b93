"""Plan runs and sweeps: snapshot, claim, duplicate delivery, failure, cache, sweeper, chunks.

Task functions are called directly (no worker): the pipeline itself is tested with a real worker
in ``test_plan_run_integration.py``.
"""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from apps.common.errors import ApplicationError
from apps.programs.services import program_create_from_blueprint
from apps.runs.models import PlanRun, RunStatus, Sweep, SweepChunk
from apps.runs.services import (
    plan_run_create,
    plan_run_execute,
    plan_runs_sweep_stale,
    sweep_chunk_execute,
    sweep_create,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def scenario(owner, organization):
    program = program_create_from_blueprint(
        user=owner, organization=organization, key="cpt-7b-domain"
    )
    return program.scenarios.get()


@pytest.fixture
def sent():
    """What would go to the broker (the enqueue is replaced; commit callbacks are run)."""
    with mock.patch("apps.runs.tasks.plan_run_task.delay") as delay:
        yield delay


def create(user, scenario, **kwargs):
    return plan_run_create(user=user, scenario=scenario, trials=200, **kwargs)


def test_it_snapshots_the_scenario_and_enqueues_after_commit(
    owner, scenario, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = create(owner, scenario)
    assert run.status == RunStatus.QUEUED and run.scenario_version == scenario.version
    assert run.inputs["strategy"] == "cpt" and run.core_version and len(run.input_hash) == 64
    sent.assert_called_once_with(run.pk)


def test_a_worker_stores_the_core_report_on_the_row(owner, scenario, sent):
    run = create(owner, scenario)
    done = plan_run_execute(run_id=run.pk, worker="w1")
    assert done.status == RunStatus.SUCCEEDED and done.progress == 100
    assert done.result["plan"]["strategy"] == "cpt"
    assert done.result["trials"] == 200 and done.result["seed"] == 0
    assert done.finished_at >= done.started_at and done.attempts == 1


def test_a_duplicate_delivery_does_nothing(owner, scenario, sent):
    run = create(owner, scenario)
    first = plan_run_execute(run_id=run.pk, worker="w1")
    assert plan_run_execute(run_id=run.pk, worker="w2") is None
    again = PlanRun.objects.get(pk=run.pk)
    assert again.worker == "w1" and again.result == first.result and again.attempts == 1


def test_a_failure_is_recorded_with_a_readable_reason(owner, scenario, sent):
    run = create(owner, scenario)
    with mock.patch("apps.runs.services.run_plan", side_effect=RuntimeError("out of memory")):
        done = plan_run_execute(run_id=run.pk, worker="w1")
    assert done.status == RunStatus.FAILED
    assert done.error == "The simulation failed: RuntimeError: out of memory"


def test_identical_inputs_reuse_the_stored_result(owner, scenario, sent):
    first = create(owner, scenario)
    plan_run_execute(run_id=first.pk, worker="w1")
    sent.reset_mock()
    second = create(owner, scenario)
    assert second.status == RunStatus.SUCCEEDED and second.reused_from_id == first.pk
    assert second.result == PlanRun.objects.get(pk=first.pk).result
    sent.assert_not_called()
    third = create(owner, scenario, seed=7)  # another seed is another computation
    assert third.status == RunStatus.QUEUED


def test_the_same_idempotency_key_returns_the_same_run(owner, scenario, sent):
    a = create(owner, scenario, idempotency_key="abc")
    b = create(owner, scenario, idempotency_key="abc")
    assert a.pk == b.pk and PlanRun.objects.count() == 1


def test_viewers_and_outsiders_cannot_start_runs(viewer, outsider, scenario, sent):
    for user in (viewer, outsider):
        with pytest.raises(ApplicationError):
            create(user, scenario)
    assert not PlanRun.objects.exists()


def test_bad_trials_are_refused(owner, scenario, sent):
    with pytest.raises(ApplicationError, match="Trials"):
        plan_run_create(user=owner, scenario=scenario, trials=0)


def test_the_sweeper_requeues_a_run_whose_worker_went_silent_then_fails_it(
    owner, scenario, sent, settings
):
    run = create(owner, scenario)
    old = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 120)
    for attempt in range(1, PlanRun.MAX_ATTEMPTS + 1):
        PlanRun.objects.filter(pk=run.pk).update(
            status=RunStatus.RUNNING, heartbeat_at=old, attempts=attempt
        )
        counts = plan_runs_sweep_stale()
        run.refresh_from_db()
        if attempt < PlanRun.MAX_ATTEMPTS:
            assert counts["requeued"] == 1 and run.status == RunStatus.QUEUED
        else:
            assert counts["failed"] == 1 and run.status == RunStatus.FAILED
    assert run.error.startswith("failed: worker lost")


def test_the_sweeper_leaves_live_runs_alone_and_resends_lost_queued_ones(
    owner, scenario, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        live = create(owner, scenario)
        lost = create(owner, scenario, seed=3)
    assert sent.call_count == 2  # both sent to the broker: the organization had two free slots
    PlanRun.objects.filter(pk=live.pk).update(status=RunStatus.RUNNING, heartbeat_at=timezone.now())
    PlanRun.objects.filter(pk=lost.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    sent.reset_mock()
    counts = plan_runs_sweep_stale()
    assert (counts["failed"], counts["requeued"], counts["resent"]) == (0, 0, 1)
    sent.assert_called_once_with(lost.pk)
    assert PlanRun.objects.get(pk=live.pk).status == RunStatus.RUNNING


def test_a_sweep_fans_out_chunks_and_the_last_chunk_aggregates(
    owner, scenario, django_capture_on_commit_callbacks
):
    with (
        mock.patch("apps.runs.tasks.sweep_chunk_task.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        sweep = sweep_create(
            user=owner,
            scenario=scenario,
            axes={"gpu_count": [32, 64, 128]},
            trials=100,
            chunk_size=2,
        )
    chunk_ids = list(SweepChunk.objects.filter(sweep=sweep).values_list("pk", flat=True))
    assert sweep.chunks_total == 2 and len(chunk_ids) == 2
    assert sorted(c.args[0] for c in delay.call_args_list) == sorted(chunk_ids)
    sweep_chunk_execute(chunk_id=chunk_ids[1], worker="w1")
    assert Sweep.objects.get(pk=sweep.pk).status == RunStatus.RUNNING
    assert sweep_chunk_execute(chunk_id=chunk_ids[1], worker="w2") is None  # duplicate delivery
    sweep_chunk_execute(chunk_id=chunk_ids[0], worker="w1")
    sweep.refresh_from_db()
    assert sweep.status == RunStatus.SUCCEEDED and sweep.chunks_done == 2
    assert [p["variant"]["gpu_count"] for p in sweep.points] == [32, 64, 128]
    # More GPUs train faster; the program's finish may not move, pinned by the dated SFT line.
    speeds = [p["tokens_per_s"] for p in sweep.points]
    assert speeds[0] < speeds[1] < speeds[2]
    finishes = [p["finish_days_p50"] for p in sweep.points]
    assert finishes[0] >= finishes[2]


def test_a_sweep_with_a_bad_axis_names_it(owner, scenario):
    with pytest.raises(ApplicationError, match="axes.colour"):
        sweep_create(user=owner, scenario=scenario, axes={"colour": ["red"]})
    assert not Sweep.objects.exists()
