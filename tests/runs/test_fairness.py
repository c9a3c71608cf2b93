"""Fair shares of the workers (issue 16, item 3): a cap on the jobs of one organization in flight,
the rest queued in order with their position shown; quick and heavy queues; the documented cost
estimate refused before anything is saved; worker limits as failures a manager can read.

Publishing is replaced here (commit callbacks run); a real worker and broker are in
``test_fairness_integration.py``.
"""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Membership
from apps.common.errors import ApplicationError
from apps.programs.services import program_create_from_blueprint
from apps.reports.models import Export
from apps.runs.fairness import PHASE_ORG_QUEUE, in_flight_count
from apps.runs.limits import plan_run_queue, worker_limit_message
from apps.runs.models import PlanRun, RunStatus, Sweep, SweepChunk
from apps.runs.services import (
    plan_run_create,
    plan_run_execute,
    plan_runs_sweep_stale,
    sweep_chunk_execute,
    sweep_create,
)
from llmplanner.celery import QUEUES, route_task
from tests.conftest import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def scenario(owner, organization):
    program = program_create_from_blueprint(
        user=owner, organization=organization, key="cpt-7b-domain"
    )
    return program.scenarios.get()


@pytest.fixture
def other_scenario(outsider):
    organization = Membership.objects.get(user=outsider).organization
    program = program_create_from_blueprint(
        user=outsider, organization=organization, key="cpt-7b-domain"
    )
    return program.scenarios.get()


@pytest.fixture
def sent():
    with (
        mock.patch("apps.runs.tasks.plan_run_task.delay") as runs,
        mock.patch("apps.runs.tasks.sweep_chunk_task.delay") as chunks,
    ):
        yield runs, chunks


def start(user, scenario, capture, seed, trials=100):
    with capture(execute=True):
        return plan_run_create(user=user, scenario=scenario, trials=trials, seed=seed)


def test_an_organization_has_at_most_its_share_in_flight_and_the_rest_waits_in_order(
    owner, outsider, scenario, other_scenario, sent, settings, django_capture_on_commit_callbacks
):
    settings.ORG_MAX_IN_FLIGHT = 2
    runs, _ = sent
    mine = [start(owner, scenario, django_capture_on_commit_callbacks, seed) for seed in range(5)]
    assert [c.args[0] for c in runs.call_args_list] == [mine[0].pk, mine[1].pk]
    assert [PlanRun.objects.get(pk=r.pk).queue_position for r in mine] == [None, None, 1, 2, 3]
    assert PlanRun.objects.get(pk=mine[2].pk).phase == PHASE_ORG_QUEUE
    # Another organization is not behind them: its run is sent at once.
    theirs = start(outsider, other_scenario, django_capture_on_commit_callbacks, 0)
    assert runs.call_args_list[-1].args == (theirs.pk,)
    assert theirs.queue_position is None

    # A slot frees when a run finishes: the oldest waiting run goes, the others move up.
    with django_capture_on_commit_callbacks(execute=True):
        done = plan_run_execute(run_id=mine[0].pk, worker="w1")
    assert done is not None and done.status == RunStatus.SUCCEEDED
    assert runs.call_args_list[-1].args == (mine[2].pk,)
    assert [PlanRun.objects.get(pk=r.pk).queue_position for r in mine[3:]] == [1, 2]
    assert in_flight_count(organization_id=scenario.program.organization_id) == 2


def test_sweep_chunks_and_exports_share_the_background_slots(
    owner, scenario, sent, settings, django_capture_on_commit_callbacks
):
    settings.ORG_MAX_IN_FLIGHT = 2
    runs, chunks = sent
    with django_capture_on_commit_callbacks(execute=True):
        sweep = sweep_create(
            user=owner, scenario=scenario, axes={"gpu_count": [32, 64, 128, 256]}, trials=50,
            chunk_size=1,
        )  # fmt: skip
    ids = list(
        SweepChunk.objects.filter(sweep=sweep).order_by("index").values_list("pk", flat=True)
    )
    assert [c.args[0] for c in chunks.call_args_list] == ids[:2]  # two background slots
    waiting = SweepChunk.objects.get(pk=ids[2])
    assert waiting.dispatched_at is None and waiting.queue_position == 1
    # A chunk finishing sends the next (oldest first); the sweep completes once all are done.
    with django_capture_on_commit_callbacks(execute=True):
        sweep_chunk_execute(chunk_id=ids[0], worker="w1")
    assert [c.args[0] for c in chunks.call_args_list] == ids[:3]
    with django_capture_on_commit_callbacks(execute=True):
        sweep_chunk_execute(chunk_id=ids[1], worker="w1")
    assert [c.args[0] for c in chunks.call_args_list] == ids
    for pk in ids[2:]:
        sweep_chunk_execute(chunk_id=pk, worker="w1")
    assert Sweep.objects.get(pk=sweep.pk).status == RunStatus.SUCCEEDED
    assert runs.call_count == 0


def test_a_plan_run_never_waits_behind_its_organizations_what_ifs_and_pdfs(
    owner, scenario, sent, settings, django_capture_on_commit_callbacks
):
    # A manager's run is interactive: the organization's own what-if chunks fill the background
    # slots, not the run's (the screenshot that found it: a run 19th behind 24 chunks).
    settings.ORG_MAX_IN_FLIGHT = 2
    runs, chunks = sent
    with django_capture_on_commit_callbacks(execute=True):
        sweep_create(
            user=owner, scenario=scenario, axes={"gpu_count": [32, 64, 128, 256, 512]},
            trials=50, chunk_size=1,
        )  # fmt: skip
    assert chunks.call_count == 2
    run = start(owner, scenario, django_capture_on_commit_callbacks, 0)
    assert runs.call_args_list[-1].args == (run.pk,)
    assert PlanRun.objects.get(pk=run.pk).queue_position is None
    # Runs have their own share: a third run waits behind the second, not behind the chunks.
    second = start(owner, scenario, django_capture_on_commit_callbacks, 1)
    third = start(owner, scenario, django_capture_on_commit_callbacks, 2)
    assert PlanRun.objects.get(pk=second.pk).queue_position is None
    assert PlanRun.objects.get(pk=third.pk).queue_position == 1


def test_an_export_waits_in_the_queue_when_the_background_slots_are_busy(
    owner, scenario, sent, settings, django_capture_on_commit_callbacks
):
    from apps.reports.services import export_create

    settings.ORG_MAX_IN_FLIGHT = 1
    done = PlanRun.objects.create(
        organization=scenario.program.organization, scenario=scenario,
        scenario_version=scenario.version, created_by=owner, status=RunStatus.SUCCEEDED,
        inputs={}, input_hash="f" * 64, core_version="test", result={"stub": True},
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        sweep_create(
            user=owner, scenario=scenario, axes={"gpu_count": [32, 64]}, trials=50, chunk_size=1
        )
    with (
        mock.patch("apps.reports.services.content_hash", return_value="e" * 64),
        mock.patch("apps.reports.tasks.export_render_task.delay") as rendered,
        django_capture_on_commit_callbacks(execute=True),
    ):
        export = export_create(user=owner, run=done)
    rendered.assert_not_called()
    export.refresh_from_db()
    assert export.status == Export.Status.QUEUED and export.dispatched_at is None
    assert export.queue_position == 2  # behind the second chunk


def test_the_sweeper_dispatches_what_a_lost_finish_left_waiting(
    owner, scenario, sent, settings, django_capture_on_commit_callbacks
):
    settings.ORG_MAX_IN_FLIGHT = 1
    runs, _ = sent
    first = start(owner, scenario, django_capture_on_commit_callbacks, 0)
    second = start(owner, scenario, django_capture_on_commit_callbacks, 1)
    assert runs.call_count == 1
    # The first run ends without its dispatch (a worker killed right after the write).
    PlanRun.objects.filter(pk=first.pk).update(status=RunStatus.FAILED, finished_at=timezone.now())
    counts = plan_runs_sweep_stale()
    assert counts["dispatched"] == 1 and runs.call_args_list[-1].args == (second.pk,)


def test_the_run_page_shows_its_place_in_the_organizations_queue(
    owner, scenario, sent, settings, django_capture_on_commit_callbacks
):
    settings.ORG_MAX_IN_FLIGHT = 1
    start(owner, scenario, django_capture_on_commit_callbacks, 0)
    start(owner, scenario, django_capture_on_commit_callbacks, 1)
    third = start(owner, scenario, django_capture_on_commit_callbacks, 2)
    client = login(owner)
    for url in (
        reverse("runs:plan_run_detail", args=[third.pk]),
        reverse("runs:plan_run_status", args=[third.pk]),
    ):
        page = client.get(url).content.decode()
        assert "number 2 in your organization's queue" in page, url
        assert "has 1 run with the workers at a time" in page


def test_a_run_over_the_work_limit_is_refused_naming_trials_and_nothing_is_saved(
    owner, scenario, sent, settings
):
    settings.RUN_MAX_WORK = 50_000
    with pytest.raises(ApplicationError) as refused:
        plan_run_create(user=owner, scenario=scenario, trials=20_000)
    assert refused.value.extra == {"field": "trials"}
    assert "over the limit of 50,000" in refused.value.message
    assert "Reduce trials to at most 4,545" in refused.value.message  # 50,000 ÷ 11 stages
    assert not PlanRun.objects.exists()
    # Within the limit it is accepted.
    assert plan_run_create(user=owner, scenario=scenario, trials=4_545).pk


def test_a_plan_too_big_even_for_one_trial_names_the_gpu_count(owner, scenario, sent, settings):
    settings.RUN_MAX_WORK = 10
    line = scenario.budget_lines.order_by("-gpu_count").first()
    line.gpu_count = 524_288
    line.save()
    with pytest.raises(ApplicationError) as refused:
        plan_run_create(user=owner, scenario=scenario, trials=1)
    assert refused.value.extra == {"field": "gpu_count"}


def test_a_sweep_over_the_work_limit_is_refused_before_anything_is_saved(
    owner, scenario, sent, settings
):
    settings.RUN_MAX_WORK = 10_000
    with pytest.raises(ApplicationError, match="× 3 variants") as refused:
        sweep_create(user=owner, scenario=scenario, axes={"gpu_count": [32, 64, 128]}, trials=500)
    assert refused.value.extra == {"field": "trials"}
    assert not Sweep.objects.exists() and not SweepChunk.objects.exists()


def test_the_run_form_refuses_a_run_over_the_limit_with_the_reason(owner, scenario, sent, settings):
    settings.RUN_MAX_WORK = 1_000  # the default 2,000 trials are over it
    response = login(owner).post(reverse("runs:plan_run_start", args=[scenario.pk]), follow=True)
    assert "This run is too big for the workers" in response.content.decode()
    assert not PlanRun.objects.exists()


def test_big_runs_sweep_chunks_and_pdfs_go_to_the_heavy_queue(
    owner, scenario, sent, django_capture_on_commit_callbacks
):
    small = start(owner, scenario, django_capture_on_commit_callbacks, 0, trials=2_000)
    big = start(owner, scenario, django_capture_on_commit_callbacks, 1, trials=20_000)
    assert plan_run_queue(small.pk) == "interactive"
    assert plan_run_queue(big.pk) == "heavy"
    assert route_task("runs.plan_run", [big.pk], {}, {}) == {"queue": "heavy"}
    assert route_task("runs.plan_run", [small.pk], {}, {}) == {"queue": "interactive"}
    assert route_task("runs.sweep_chunk", [1], {}, {}) == {"queue": "heavy"}
    assert route_task("reports.export_render", [1], {}, {}) == {"queue": "heavy"}
    assert route_task("runs.sweep_stale_runs", [], {}, {}) == {"queue": "interactive"}


def test_worker_limits_read_as_advice(settings):
    from celery.exceptions import SoftTimeLimitExceeded

    settings.WORKER_MAX_MEMORY_MB = 1536
    settings.CELERY_TASK_SOFT_TIME_LIMIT = 540
    memory = worker_limit_message(MemoryError())
    assert memory.startswith("This plan needs more memory than a worker allows (limit 1.5 GiB)")
    assert "reduce trials" in memory
    timeout = worker_limit_message(SoftTimeLimitExceeded())
    assert timeout.startswith("This plan took longer than a worker allows (540 s)")


def test_the_sweeper_requeues_a_chunk_whose_worker_went_silent_then_fails_its_sweep(
    owner, scenario, sent, settings, django_capture_on_commit_callbacks
):
    _, chunks = sent
    with django_capture_on_commit_callbacks(execute=True):
        sweep = sweep_create(
            user=owner, scenario=scenario, axes={"gpu_count": [32, 64]}, trials=50, chunk_size=1
        )
    chunk, other = SweepChunk.objects.filter(sweep=sweep).order_by("index")
    old = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 120)
    for attempt in range(1, SweepChunk.MAX_ATTEMPTS + 1):
        SweepChunk.objects.filter(pk=chunk.pk).update(
            status=RunStatus.RUNNING, heartbeat_at=old, attempts=attempt, worker="dead@x"
        )
        chunks.reset_mock()
        counts = plan_runs_sweep_stale()
        chunk.refresh_from_db()
        if attempt < SweepChunk.MAX_ATTEMPTS:
            assert counts["chunks_requeued"] == 1 and chunk.status == RunStatus.QUEUED
            assert chunk.worker == "" and chunks.call_args.args == (chunk.pk,)  # sent again
        else:
            assert counts["chunks_failed"] == 1 and chunk.status == RunStatus.FAILED
    sweep.refresh_from_db()
    assert sweep.status == RunStatus.FAILED and sweep.error.startswith("failed: worker lost")
    assert SweepChunk.objects.get(pk=other.pk).status == RunStatus.FAILED
    # A late delivery of the failed sweep's chunk computes nothing.
    assert sweep_chunk_execute(chunk_id=other.pk, worker="w2") is None


def _queues_of(argv: list[str]) -> set[str]:
    return set(argv[argv.index("-Q") + 1].split(",")) if "-Q" in argv else set(QUEUES)


def test_every_queue_has_workers_and_one_node_is_kept_for_interactive_work():
    """docker-compose.yml and scripts/start.sh consume every queue of llmplanner/celery.py, and
    each runs a node that heavy work cannot occupy."""
    import shlex

    import yaml
    from django.conf import settings as django_settings

    compose = yaml.safe_load((django_settings.BASE_DIR / "docker-compose.yml").read_text())
    workers = [
        _queues_of(service["command"])
        for service in compose["services"].values()
        if isinstance(service.get("command"), list) and service["command"][3:4] == ["worker"]
    ]
    assert set().union(*workers) == set(QUEUES) and {"interactive"} in workers
    script = (django_settings.BASE_DIR / "scripts" / "start.sh").read_text()
    nodes = [
        _queues_of(shlex.split(line.split("celery", 1)[1].replace("\\", "")))
        for line in script.replace("\\\n", " ").splitlines()
        if "-m celery -A llmplanner.celery worker" in line
    ]
    assert set().union(*nodes) == set(QUEUES) and {"interactive"} in nodes


def test_the_what_if_page_says_how_many_chunks_wait_their_turn(
    owner, scenario, sent, settings, django_capture_on_commit_callbacks
):
    settings.ORG_MAX_IN_FLIGHT = 2
    with django_capture_on_commit_callbacks(execute=True):
        sweep = sweep_create(
            user=owner, scenario=scenario, axes={"gpu_count": [8, 16, 32, 64, 128]}, trials=20,
            chunk_size=1,
        )  # fmt: skip
    page = login(owner).get(reverse("runs:sweep_detail", args=[sweep.pk])).content.decode()
    assert "3 chunks wait for a free slot in your organization's queue." in page


def test_the_api_refuses_a_run_over_the_limit_with_400_naming_trials(
    owner, scenario, sent, settings
):
    from rest_framework.test import APIClient

    settings.RUN_MAX_WORK = 50_000
    client = APIClient()
    client.force_login(owner)
    response = client.post(
        f"/api/v1/scenarios/{scenario.pk}/runs/", {"trials": 20_000}, format="json"
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert "Reduce trials to at most 4,545" in error["fields"]["trials"][0]
    assert not PlanRun.objects.exists()
