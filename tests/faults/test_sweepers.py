"""The sweepers' rules, unit-tested (the real redelivery is in the other modules of tests/faults):
a run whose message could not be published is sent at the next tick, and PDF exports get the
runs' treatment — nothing stays rendering forever, no queued export is forgotten."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from apps.programs.services import program_create_from_blueprint
from apps.reports.models import Export
from apps.reports.services import exports_sweep_stale
from apps.runs.models import PlanRun, RunStatus
from apps.runs.services import PHASE_WAITING_FOR_BROKER, plan_run_create, plan_runs_sweep_stale

pytestmark = pytest.mark.django_db


@pytest.fixture
def scenario(owner, organization):
    program = program_create_from_blueprint(
        user=owner, organization=organization, key="sft-7b-10k-instructions"
    )
    return program.scenarios.get()


@pytest.fixture
def sent_runs():
    with mock.patch("apps.runs.tasks.plan_run_task.delay") as delay:
        yield delay


@pytest.fixture
def sent_exports():
    with mock.patch("apps.reports.tasks.export_render_task.delay") as delay:
        yield delay


def test_a_run_that_could_not_be_sent_goes_at_the_next_tick_not_after_five_minutes(
    owner, scenario, sent_runs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        waiting = plan_run_create(user=owner, scenario=scenario, trials=100)
        fresh = plan_run_create(user=owner, scenario=scenario, trials=100, seed=1)
    PlanRun.objects.filter(pk=waiting.pk).update(phase=PHASE_WAITING_FOR_BROKER)
    sent_runs.reset_mock()
    assert plan_runs_sweep_stale()["resent"] == 1
    sent_runs.assert_called_once_with(waiting.pk)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.phase) == (RunStatus.QUEUED, "")  # sent: no longer waiting
    assert PlanRun.objects.get(pk=fresh.pk).phase == ""


def test_a_run_the_broker_refuses_again_keeps_waiting(owner, scenario, sent_runs):
    from kombu.exceptions import OperationalError

    run = plan_run_create(user=owner, scenario=scenario, trials=100)
    PlanRun.objects.filter(pk=run.pk).update(phase=PHASE_WAITING_FOR_BROKER)
    sent_runs.side_effect = OperationalError("Error 111 connecting to 127.0.0.1:6379")
    assert plan_runs_sweep_stale()["resent"] == 0
    run.refresh_from_db()
    assert (run.status, run.phase) == (RunStatus.QUEUED, PHASE_WAITING_FOR_BROKER)


@pytest.fixture
def make_export(owner, scenario):
    run = PlanRun.objects.create(
        organization=scenario.program.organization,
        scenario=scenario,
        scenario_version=scenario.version,
        created_by=owner,
        status=RunStatus.SUCCEEDED,
        inputs={},
        input_hash="f" * 64,
        core_version="test",
        result={"stub": True},
    )

    def make(**fields) -> Export:  # type: ignore[no-untyped-def]
        fields.setdefault("dispatched_at", timezone.now())  # sent to the broker
        return Export.objects.create(
            organization=run.organization, run=run, created_by=owner, content_hash="e" * 64,
            **fields,
        )  # fmt: skip

    return make


def test_an_export_left_rendering_by_a_dead_worker_is_sent_again_then_failed(
    make_export, sent_exports, settings
):
    old = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 120)
    export = make_export(status=Export.Status.RENDERING, started_at=old, attempts=1, worker="w@x")
    assert exports_sweep_stale() == {"failed": 0, "requeued": 1, "resent": 0}
    sent_exports.assert_called_once_with(export.pk)
    export.refresh_from_db()
    assert (export.status, export.worker) == (Export.Status.QUEUED, "")

    Export.objects.filter(pk=export.pk).update(
        status=Export.Status.RENDERING, started_at=old, attempts=Export.MAX_ATTEMPTS
    )
    assert exports_sweep_stale()["failed"] == 1
    export.refresh_from_db()
    assert export.status == Export.Status.FAILED
    assert export.error.startswith("failed: worker lost") and export.finished_at is not None


def test_the_export_sweeper_resends_forgotten_queued_ones_and_leaves_live_ones(
    make_export, sent_exports
):
    live = make_export(status=Export.Status.RENDERING, started_at=timezone.now(), attempts=1)
    forgotten = make_export(status=Export.Status.QUEUED)
    Export.objects.filter(pk=forgotten.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    just_queued = make_export(status=Export.Status.QUEUED)
    assert exports_sweep_stale() == {"failed": 0, "requeued": 0, "resent": 1}
    sent_exports.assert_called_once_with(forgotten.pk)
    assert Export.objects.get(pk=live.pk).status == Export.Status.RENDERING
    assert Export.objects.get(pk=just_queued.pk).status == Export.Status.QUEUED


def test_the_beat_runs_both_sweepers():
    from llmplanner.celery import app

    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert {"runs.sweep_stale_runs", "reports.sweep_stale_exports"} <= tasks
    assert set(app.tasks) >= tasks  # registered under those names


def test_a_demo_job_the_broker_refuses_fails_with_a_reason_instead_of_a_500(
    owner, organization, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    from apps.runs.models import DemoJob
    from apps.runs.services import BROKER_DOWN_ERROR, demo_job_create

    refused = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    with (
        mock.patch("apps.runs.tasks.demo_job_run.delay", side_effect=refused),
        django_capture_on_commit_callbacks(execute=True),
    ):
        job = demo_job_create(user=owner, organization=organization, n=10)
    job.refresh_from_db()
    assert (job.status, job.error) == (DemoJob.Status.FAILED, BROKER_DOWN_ERROR)
