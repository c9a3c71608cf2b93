import hashlib
import json
import logging
from datetime import timedelta
from typing import Any, NamedTuple

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import KombuError

from apps.accounts.models import Organization, User
from apps.accounts.selectors import membership_get
from apps.common.errors import ApplicationError
from apps.common.health import broker_status_forget
from apps.programs.models import (
    GPUBudgetLine,
    GPUType,
    Precision,
    Program,
    Purpose,
    Scenario,
    ScenarioActivity,
    Strategy,
)
from apps.programs.plan_adapter import main_budget_line, scenario_plan, scenario_to_plan_dict
from apps.programs.services import Action, scenario_clone
from apps.runs.fairness import PHASE_ORG_QUEUE, org_dispatch, org_dispatch_all
from apps.runs.labels import variant_label
from apps.runs.limits import (  # noqa: F401  plan_run_queue: re-exported for the Celery router
    plan_run_queue,
    plan_work_estimate,
    refuse_too_much_work,
    worker_limit_message,
)
from apps.runs.models import DemoJob, PlanRun, RunStatus, Sweep, SweepChunk
from llmplanner.simulation import __version__ as CORE_VERSION
from llmplanner.simulation.errors import ValidationError
from llmplanner.simulation.hardware import gpu_by_name
from llmplanner.simulation.planspec import parse_plan
from llmplanner.simulation.report import run_plan
from llmplanner.simulation.sweep import annotate_scaling, chunks, run_sweep, sweep_variants

logger = logging.getLogger(__name__)

DEMO_JOB_MAX_N = 1_000_000


def demo_job_create(*, user: User, organization: Organization, n: int) -> DemoJob:
    """Record a demo job and enqueue it once the row is committed."""
    from apps.runs.tasks import demo_job_run  # tasks import services; avoid the cycle

    membership = membership_get(user=user, organization=organization)
    if membership is None or not membership.can_edit:
        raise ApplicationError("You need the owner or editor role to start jobs here.")
    if not 1 <= n <= DEMO_JOB_MAX_N:
        raise ApplicationError(f"n must be between 1 and {DEMO_JOB_MAX_N:,}.")
    with transaction.atomic():
        job = DemoJob.objects.create(organization=organization, created_by=user, n=n)
        # The worker must find the row: enqueue only after the transaction commits.
        transaction.on_commit(lambda: _publish_or_fail(lambda: demo_job_run.delay(job.pk), job))
    return job


BROKER_DOWN_ERROR = "The background workers could not be reached (the broker is down); try again."


def _publish_or_fail(publish: Any, job: DemoJob | Sweep) -> None:
    """Publish; with the broker down, fail ``job`` with a reason instead of answering 500.
    (Plan runs wait for the broker instead: ``plan_run_send``.)"""
    try:
        publish()
    except (KombuError, OSError) as exc:
        logger.warning("%s not sent, the broker is unreachable: %s", job, exc)
        broker_status_forget()
        now = timezone.now()
        type(job).objects.filter(pk=job.pk, status=RunStatus.QUEUED).update(
            status=RunStatus.FAILED, error=BROKER_DOWN_ERROR, finished_at=now, updated_at=now
        )
        job.status, job.error = RunStatus.FAILED, BROKER_DOWN_ERROR


def demo_job_claim(*, job_id: int, worker: str) -> bool:
    """Move a job from queued to running; False when someone else has it or it is done.

    A conditional UPDATE, so two deliveries of the same message cannot both run it. A job left
    running by a worker that died is reclaimable once it is older than the hard time limit
    (late acknowledgement delivers that message again).
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    claimable = Q(status=DemoJob.Status.QUEUED) | Q(
        status=DemoJob.Status.RUNNING, started_at__lt=stale
    )
    updated = DemoJob.objects.filter(claimable, pk=job_id).update(
        status=DemoJob.Status.RUNNING, started_at=now, worker=worker, updated_at=now
    )
    return updated == 1


def demo_job_execute(*, job_id: int, worker: str) -> DemoJob | None:
    """Claim the job, compute its result and store it on the row. None if not claimed."""
    if not demo_job_claim(job_id=job_id, worker=worker):
        return None
    job = DemoJob.objects.get(pk=job_id)
    try:
        total = sum(i * i for i in range(1, job.n + 1))
    except Exception as exc:  # a failure is recorded on the row, not lost in a log
        job.status = DemoJob.Status.FAILED
        job.error = f"{type(exc).__name__}: {exc}"
    else:
        job.status = DemoJob.Status.SUCCEEDED
        # As a string: JSON numbers lose precision past 2**53 in the browser.
        job.result = {"sum_of_squares": str(total)}
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "result", "finished_at", "updated_at"])
    return job


# ---- plan runs -------------------------------------------------------------------------------
# The boundary to the core: inputs come from ``apps.programs.plan_adapter``, results are the core's
# report (``llmplanner.simulation.report``) stored as JSON on the row.

RUN_TRIALS_DEFAULT = 2000
RUN_TRIALS_MAX = 20_000
# A queued run nobody claimed for this long lost its message (the embedded broker loses a message
# when the whole worker is killed): the sweeper enqueues it again.
QUEUED_RESEND_AFTER = timedelta(minutes=5)
# The phase of a queued run whose message could not be published (broker down): the sweeper sends
# it again at its next tick, without waiting for QUEUED_RESEND_AFTER.
PHASE_WAITING_FOR_BROKER = "waiting for the broker"


def _require_editor_of(user: User, organization: Organization) -> None:
    membership = membership_get(user=user, organization=organization)
    if membership is None or not membership.can_edit:
        raise ApplicationError("You need the owner or editor role to run plans here.")


def plan_input_hash(*, plan: dict[str, Any], trials: int, seed: int) -> str:
    """Identifies a computation: the plan, its Monte Carlo settings and the core version."""
    payload = {"plan": plan, "trials": trials, "seed": seed, "core": CORE_VERSION}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def plan_run_create(
    *,
    user: User,
    scenario: Scenario,
    trials: int = RUN_TRIALS_DEFAULT,
    seed: int = 0,
    idempotency_key: str | None = None,
    dispatch: bool = True,
) -> PlanRun:
    """Snapshot the scenario's inputs into a run and enqueue it after commit (``dispatch``; a
    caller that runs it in-process, ``demo_runs_load``, passes False).

    The plan is checked by the core first, so a run never starts on inputs it would reject. The
    same inputs with the same core version reuse a stored result (a new row, ``reused_from`` set,
    nothing computed). The same ``idempotency_key`` in an organization returns the first run.
    """
    organization = scenario.program.organization
    _require_editor_of(user, organization)
    if not 1 <= trials <= RUN_TRIALS_MAX:
        raise ApplicationError(f"Trials must be between 1 and {RUN_TRIALS_MAX:,}.")
    if seed < 0:
        raise ApplicationError("The seed must be zero or more.")
    if idempotency_key:
        existing = PlanRun.objects.filter(
            organization=organization, idempotency_key=idempotency_key
        ).first()
        if existing is not None:
            return existing
    plan = scenario_to_plan_dict(scenario)
    try:
        spec = parse_plan(plan)
    except ValidationError as exc:
        raise ApplicationError(
            f"The scenario cannot be simulated: {exc.field}: {exc.message}"
        ) from exc
    refuse_too_much_work(plan_work_estimate(spec=spec, trials=trials))
    digest = plan_input_hash(plan=plan, trials=trials, seed=seed)
    fields = dict(
        organization=organization,
        scenario=scenario,
        scenario_version=scenario.version,
        created_by=user,
        inputs=plan,
        input_hash=digest,
        core_version=CORE_VERSION,
        trials=trials,
        seed=seed,
        idempotency_key=idempotency_key or None,
    )
    with transaction.atomic():
        cached = (
            PlanRun.objects.filter(
                organization=organization, input_hash=digest, status=RunStatus.SUCCEEDED
            )
            .exclude(result__isnull=True)
            .order_by("created_at")
            .first()
        )
        if cached is not None:
            now = timezone.now()
            return PlanRun.objects.create(
                **fields,
                status=RunStatus.SUCCEEDED,
                progress=100,
                phase="reused",
                result=cached.result,
                reused_from=cached,
                started_at=now,
                finished_at=now,
            )
        # It waits in its organization's queue; the dispatcher sends it when a slot is free
        # (at once, usually), after the transaction commits so that the worker finds the row.
        run = PlanRun.objects.create(**fields, phase=PHASE_ORG_QUEUE)
        if dispatch:
            transaction.on_commit(lambda: org_dispatch(organization_id=organization.pk))
    run.refresh_from_db(fields=["phase"])
    return run


def plan_run_send(*, run: PlanRun) -> bool:
    """Publish the run's message. With the broker down the run stays saved and queued, marked
    ``PHASE_WAITING_FOR_BROKER`` (also on ``run``) for the sweeper to send later; False then.

    Never raises for a broker failure: the row is committed already, and a 500 would hide that.
    """
    from apps.runs.tasks import plan_run_task  # tasks import services; avoid the cycle

    try:
        plan_run_task.delay(run.pk)  # its queue: llmplanner.celery.route_task
    except (KombuError, OSError) as exc:
        # Celery re-raises the transport's connection errors as kombu's OperationalError
        # (Connection._reraise_as_library_errors); the filesystem broker raises ChannelError.
        logger.warning("run %s not sent, the broker is unreachable: %s", run.pk, exc)
        broker_status_forget()  # the next page checks again and shows the banner
        now = timezone.now()
        PlanRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
            phase=PHASE_WAITING_FOR_BROKER, updated_at=now
        )
        run.phase = PHASE_WAITING_FOR_BROKER
        return False
    if run.phase == PHASE_WAITING_FOR_BROKER:
        PlanRun.objects.filter(
            pk=run.pk, status=RunStatus.QUEUED, phase=PHASE_WAITING_FOR_BROKER
        ).update(phase="", updated_at=timezone.now())
        run.phase = ""
    return True


def plan_run_claim(*, run_id: int, worker: str) -> bool:
    """queued → running by a conditional UPDATE; False if another delivery has it or it is done."""
    now = timezone.now()
    updated = PlanRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING,
        started_at=now,
        heartbeat_at=now,
        worker=worker,
        attempts=F("attempts") + 1,
        progress=1,
        phase="started",
        updated_at=now,
    )
    return updated == 1


def plan_run_progress(*, run_id: int, worker: str, percent: int, phase: str) -> None:
    """Store progress and a heartbeat — only while this worker still owns the run."""
    now = timezone.now()
    PlanRun.objects.filter(pk=run_id, status=RunStatus.RUNNING, worker=worker).update(
        progress=percent, phase=phase, heartbeat_at=now, updated_at=now
    )


def plan_run_execute(*, run_id: int, worker: str) -> PlanRun | None:
    """Claim the run, call the core, store its report or a readable failure; None if not claimed."""
    if not plan_run_claim(run_id=run_id, worker=worker):
        return None
    run = PlanRun.objects.get(pk=run_id)

    def progress(percent: int, phase: str) -> None:
        plan_run_progress(run_id=run_id, worker=worker, percent=percent, phase=phase)

    status, result, error = RunStatus.SUCCEEDED, None, ""
    try:
        result = run_plan(run.inputs, trials=run.trials, seed=run.seed, progress=progress)
    except ValidationError as exc:
        status, error = RunStatus.FAILED, f"The plan was rejected: {exc.field}: {exc.message}"
    except (MemoryError, SoftTimeLimitExceeded) as exc:
        result = None  # let the memory go before the row is written
        status, error = RunStatus.FAILED, worker_limit_message(exc)
    except Exception as exc:  # recorded on the row, not lost in a worker log
        status, error = RunStatus.FAILED, f"The simulation failed: {type(exc).__name__}: {exc}"
    now = timezone.now()
    # Only the owner of the claim may finish it: a run re-queued by the sweeper meanwhile is left
    # to its new owner.
    PlanRun.objects.filter(pk=run_id, status=RunStatus.RUNNING, worker=worker).update(
        status=status,
        result=result,
        error=error,
        progress=100 if status == RunStatus.SUCCEEDED else run.progress,
        phase="done" if status == RunStatus.SUCCEEDED else "failed",
        finished_at=now,
        updated_at=now,
    )
    org_dispatch(organization_id=run.organization_id)  # a slot is free: the next job goes
    return PlanRun.objects.get(pk=run_id)


DEMO_RUN_TRIALS = 1000
DEMO_WORKER = "load_demo"


def demo_runs_load(*, user: User, programs: list[Program]) -> list[PlanRun]:
    """A finished run of each demo program's baseline scenario (its first scenario without one),
    computed here by the core rather than queued, so that a first visit shows dashboards whether
    or not a worker is up yet. A scenario with a succeeded run of its current version keeps it.
    A template the core refuses raises ``ApplicationError`` (the demo must not ship one)."""
    runs = []
    for program in programs:
        scenario = program.scenarios.order_by("-is_baseline", "id").first()
        if scenario is None:
            continue
        done = (
            PlanRun.objects.filter(
                scenario=scenario,
                scenario_version=scenario.version,
                status=RunStatus.SUCCEEDED,
            )
            .order_by("-created_at")
            .first()
        )
        if done is not None:
            runs.append(done)
            continue
        run = plan_run_create(user=user, scenario=scenario, trials=DEMO_RUN_TRIALS, dispatch=False)
        if run.status == RunStatus.QUEUED:
            run = plan_run_execute(run_id=run.pk, worker=DEMO_WORKER) or PlanRun.objects.get(
                pk=run.pk
            )
        runs.append(run)
    return runs


def plan_runs_sweep_stale(*, now: Any = None) -> dict[str, int]:
    """Nothing stays running forever: re-queue runs whose worker went silent (up to
    ``PlanRun.MAX_ATTEMPTS`` attempts), fail the rest as "worker lost", and re-send queued runs
    whose message was lost; the same for what-if chunks (``sweep_chunks_sweep_stale``); then
    send each organization's waiting jobs into its free slots (``fairness.org_dispatch_all``).
    Returns counts."""
    now = now or timezone.now()
    # Past the hard time limit a running task is surely dead (progress also beats the heart).
    stale = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
    silent = PlanRun.objects.filter(status=RunStatus.RUNNING, heartbeat_at__lt=stale)
    failed = silent.filter(attempts__gte=PlanRun.MAX_ATTEMPTS).update(
        status=RunStatus.FAILED,
        error=f"failed: worker lost ({PlanRun.MAX_ATTEMPTS} attempts without finishing)",
        phase="failed",
        finished_at=now,
        updated_at=now,
    )
    requeue_ids = list(
        silent.filter(attempts__lt=PlanRun.MAX_ATTEMPTS).values_list("pk", flat=True)
    )
    requeued = PlanRun.objects.filter(
        pk__in=requeue_ids, status=RunStatus.RUNNING, heartbeat_at__lt=stale
    ).update(status=RunStatus.QUEUED, worker="", phase="re-queued: worker lost", updated_at=now)
    lost = list(
        PlanRun.objects.filter(
            Q(updated_at__lt=now - QUEUED_RESEND_AFTER) | Q(phase=PHASE_WAITING_FOR_BROKER),
            status=RunStatus.QUEUED,
        )
        .exclude(phase=PHASE_ORG_QUEUE)  # never sent: the dispatcher's, below
        .values_list("pk", flat=True)
    )
    sent = 0
    pending = sorted(set(requeue_ids) | set(lost))
    for index, run_id in enumerate(pending):
        run = PlanRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).first()
        if run is None:
            continue  # claimed meanwhile by a late delivery
        PlanRun.objects.filter(pk=run_id).update(updated_at=now)
        if not plan_run_send(run=run):
            # The broker is down: mark the rest too, so the next tick sends them all.
            PlanRun.objects.filter(pk__in=pending[index:], status=RunStatus.QUEUED).update(
                phase=PHASE_WAITING_FOR_BROKER
            )
            break
        sent += run_id not in requeue_ids
    chunks = sweep_chunks_sweep_stale(now=now)
    return {
        "failed": failed,
        "requeued": requeued,
        "resent": sent,
        **{f"chunks_{name}": count for name, count in chunks.items()},
        # Last: a slot freed above (or by a finish whose own dispatch was lost) is used.
        "dispatched": org_dispatch_all(),
    }


# ---- sweeps ----------------------------------------------------------------------------------

SWEEP_MAX_VARIANTS = 64


def sweep_create(
    *,
    user: User,
    scenario: Scenario,
    axes: dict[str, list[Any]],
    trials: int = 300,
    seed: int = 0,
    chunk_size: int = 2,
) -> Sweep:
    """Record a sweep and its chunks; after commit the chunks join the organization's queue and
    go to the workers (``heavy`` queue) as its slots free up."""
    organization = scenario.program.organization
    _require_editor_of(user, organization)
    try:
        variants = sweep_variants(axes)
    except ValidationError as exc:
        raise ApplicationError(f"{exc.field}: {exc.message}") from exc
    if len(variants) > SWEEP_MAX_VARIANTS:
        raise ApplicationError(
            f"A sweep may have at most {SWEEP_MAX_VARIANTS} variants ({len(variants)} asked)."
        )
    if not 1 <= trials <= RUN_TRIALS_MAX:
        raise ApplicationError(f"Trials must be between 1 and {RUN_TRIALS_MAX:,}.")
    plan = scenario_to_plan_dict(scenario)
    try:
        spec = parse_plan(plan)
    except ValidationError as exc:
        raise ApplicationError(
            f"The scenario cannot be simulated: {exc.field}: {exc.message}"
        ) from exc
    refuse_too_much_work(plan_work_estimate(spec=spec, trials=trials, variants=variants))
    parts = chunks(variants, max(1, chunk_size))
    with transaction.atomic():
        sweep = Sweep.objects.create(
            organization=organization,
            scenario=scenario,
            created_by=user,
            inputs=plan,
            axes=axes,
            trials=trials,
            seed=seed,
            chunks_total=len(parts),
        )
        for i, part in enumerate(parts):
            SweepChunk.objects.create(sweep=sweep, index=i, variants=part)
        transaction.on_commit(lambda: org_dispatch(organization_id=organization.pk))
    return sweep


def sweep_chunk_send(*, chunk_id: int) -> bool:
    """Publish a chunk's task; with the broker down the chunk stays queued, dated so that the
    sweeper's next tick sends it again, and False. Never raises for a broker failure."""
    from apps.runs.tasks import sweep_chunk_task  # tasks import services; avoid the cycle

    try:
        sweep_chunk_task.delay(chunk_id)
    except (KombuError, OSError) as exc:
        logger.warning("sweep chunk %s not sent, the broker is unreachable: %s", chunk_id, exc)
        broker_status_forget()
        SweepChunk.objects.filter(pk=chunk_id, status=RunStatus.QUEUED).update(
            updated_at=timezone.now() - QUEUED_RESEND_AFTER
        )
        return False
    return True


def sweep_chunk_claim(*, chunk_id: int, worker: str) -> bool:
    """queued → running by a conditional UPDATE, counted in ``attempts``, with a heartbeat;
    False when another delivery has it, it is done, or its sweep has failed."""
    now = timezone.now()
    with transaction.atomic():
        updated = (
            SweepChunk.objects.filter(pk=chunk_id, status=RunStatus.QUEUED)
            .exclude(sweep__status=RunStatus.FAILED)
            .update(
                status=RunStatus.RUNNING,
                worker=worker,
                started_at=now,
                heartbeat_at=now,
                attempts=F("attempts") + 1,
                updated_at=now,
            )
        )
        if updated == 1:
            # In the same transaction: a sweep never shows "queued" while a chunk of it runs
            # (a worker killed between two statements left it so).
            Sweep.objects.filter(chunks__pk=chunk_id, status=RunStatus.QUEUED).update(
                status=RunStatus.RUNNING, started_at=now, updated_at=now
            )
    return updated == 1


def _sweep_fail(sweep_id: int, error: str, now: Any) -> None:
    """Fail the sweep (once) and every chunk of it not finished yet."""
    Sweep.objects.filter(pk=sweep_id).exclude(
        status__in=[RunStatus.SUCCEEDED, RunStatus.FAILED]
    ).update(status=RunStatus.FAILED, error=error, finished_at=now, updated_at=now)
    SweepChunk.objects.filter(
        sweep_id=sweep_id, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]
    ).update(status=RunStatus.FAILED, finished_at=now, updated_at=now)


def sweep_chunk_execute(*, chunk_id: int, worker: str) -> SweepChunk | None:
    """Compute one chunk's points; the task finishing the last chunk aggregates the sweep. A
    chunk that cannot finish (a worker limit, a bug) fails its sweep with the reason."""
    if not sweep_chunk_claim(chunk_id=chunk_id, worker=worker):
        return None
    now = timezone.now()
    chunk = SweepChunk.objects.select_related("sweep").get(pk=chunk_id)
    sweep = chunk.sweep
    error = ""
    try:
        points = [
            p.as_json()
            for p in run_sweep(
                sweep.inputs,
                chunk.variants,
                trials=sweep.trials,
                seed=sweep.seed,
                prices=sweep_variant_prices(sweep),
            )
        ]
    except (MemoryError, SoftTimeLimitExceeded) as exc:
        points, error = [], worker_limit_message(exc)
    except Exception as exc:  # recorded on the sweep, not lost in a worker log
        points, error = [], f"The simulation failed: {type(exc).__name__}: {exc}"
    now = timezone.now()
    organization_id = sweep.organization_id
    if error:
        # Only while this worker still owns the chunk (the sweeper may have re-queued it).
        if SweepChunk.objects.filter(pk=chunk_id, status=RunStatus.RUNNING, worker=worker).exists():
            _sweep_fail(sweep.pk, error, now)
        org_dispatch(organization_id=organization_id)
        return SweepChunk.objects.get(pk=chunk_id)
    with transaction.atomic():
        owned = SweepChunk.objects.filter(
            pk=chunk_id, status=RunStatus.RUNNING, worker=worker
        ).update(status=RunStatus.SUCCEEDED, points=points, finished_at=now, updated_at=now)
        if not owned:  # re-queued by the sweeper meanwhile: its new owner finishes it
            transaction.on_commit(lambda: org_dispatch(organization_id=organization_id))
            return SweepChunk.objects.get(pk=chunk_id)
        Sweep.objects.filter(pk=sweep.pk).update(chunks_done=F("chunks_done") + 1, updated_at=now)
        done = Sweep.objects.filter(
            pk=sweep.pk, chunks_done=F("chunks_total"), status=RunStatus.RUNNING
        )
        if done.exists():
            # Notes on superlinear steps need both GPU counts, which may sit in two chunks.
            all_points = annotate_scaling(
                [
                    p
                    for c in SweepChunk.objects.filter(sweep=sweep).order_by("index")
                    for p in (c.points or [])
                ]
            )
            done.update(
                status=RunStatus.SUCCEEDED, points=all_points, finished_at=now, updated_at=now
            )
    org_dispatch(organization_id=organization_id)  # a slot is free: the next job goes
    return SweepChunk.objects.get(pk=chunk_id)


def sweep_chunks_sweep_stale(*, now: Any) -> dict[str, int]:
    """The runs' rules for sweep chunks: one whose worker went silent past the hard time limit is
    queued and sent again while it has attempts left (``SweepChunk.MAX_ATTEMPTS``); after that it
    fails, and its sweep with it, as "worker lost". A sent chunk nobody claimed for
    ``QUEUED_RESEND_AFTER`` is sent again (its message was lost). Returns counts."""
    stale = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
    silent = SweepChunk.objects.filter(status=RunStatus.RUNNING, heartbeat_at__lt=stale)
    lost_sweeps = set(
        silent.filter(attempts__gte=SweepChunk.MAX_ATTEMPTS).values_list("sweep_id", flat=True)
    )
    for sweep_id in lost_sweeps:
        _sweep_fail(
            sweep_id,
            _("failed: worker lost (%(n)s attempts without finishing a chunk)")
            % {"n": SweepChunk.MAX_ATTEMPTS},
            now,
        )
    requeue_ids = list(
        silent.filter(attempts__lt=SweepChunk.MAX_ATTEMPTS).values_list("pk", flat=True)
    )
    requeued = SweepChunk.objects.filter(
        pk__in=requeue_ids, status=RunStatus.RUNNING, heartbeat_at__lt=stale
    ).update(status=RunStatus.QUEUED, worker="", updated_at=now)
    lost = SweepChunk.objects.filter(
        status=RunStatus.QUEUED,
        dispatched_at__isnull=False,
        updated_at__lt=now - QUEUED_RESEND_AFTER,
    ).values_list("pk", flat=True)
    resent = 0
    pending = sorted(set(requeue_ids) | set(lost))
    for chunk_id in pending:
        if not SweepChunk.objects.filter(pk=chunk_id, status=RunStatus.QUEUED).update(
            updated_at=now
        ):
            continue  # claimed meanwhile by a late delivery
        if not sweep_chunk_send(chunk_id=chunk_id):
            SweepChunk.objects.filter(pk__in=pending, status=RunStatus.QUEUED).update(
                updated_at=now - QUEUED_RESEND_AFTER
            )
            break
        resent += chunk_id not in requeue_ids
    return {"failed": len(lost_sweeps), "requeued": requeued, "resent": resent}


# ---- a sweep's variant saved as a scenario -----------------------------------------------------

# The purpose of a budget line created for a scenario that has none: the one the plan adapter
# takes as the strategy's main line (``apps.programs.plan_adapter``, module docstring).
_VARIANT_LINE_PURPOSE = {
    Strategy.FROM_SCRATCH: Purpose.TRAINING,
    Strategy.CPT: Purpose.TRAINING,
    Strategy.SFT: Purpose.SFT,
    Strategy.RAG: Purpose.SERVING,
    Strategy.ICL: Purpose.SERVING,
}
# What the core assumes for a plan without a cluster (``planspec.parse_plan``): a variant of such
# a plan that sets only one of the two was simulated with the other at this default.
_CORE_DEFAULT_GPU, _CORE_DEFAULT_GPU_COUNT = "H100", 8
_SAVABLE_AXES = {"gpu_count", "gpu_type", "precision"}


class SavedVariant(NamedTuple):
    scenario: Scenario
    # The source scenario's plan differs from the one the sweep simulated: the copy is of the
    # scenario as it is now, with the variant applied.
    source_changed: bool


def _plan_without_name(plan: dict[str, Any]) -> dict[str, Any]:
    # The plan's name is "<program> — <scenario>": renaming either changes no figure.
    return {k: v for k, v in plan.items() if k != "name"}


def _sweep_point(sweep: Sweep, index: int) -> dict[str, Any]:
    """The finished, successful point ``index`` (0-based) of ``sweep``, or ApplicationError."""
    if sweep.status != RunStatus.SUCCEEDED or not sweep.points:
        raise ApplicationError(
            _("What-if #%(id)s has not finished; wait for its results.") % {"id": sweep.pk}
        )
    if not 0 <= index < len(sweep.points):
        raise ApplicationError(
            _("What-if #%(id)s has no variant %(number)s (it has %(total)s).")
            % {"id": sweep.pk, "number": index + 1, "total": len(sweep.points)}
        )
    point = sweep.points[index]
    variant = point.get("variant") or {}
    if not point.get("ok"):
        raise ApplicationError(
            _("Variant %(number)s of what-if #%(id)s failed (%(error)s): there is nothing to save.")
            % {"number": index + 1, "id": sweep.pk, "error": point.get("error", "")}
        )
    other = sorted(set(variant) - _SAVABLE_AXES)
    if not variant or other:
        raise ApplicationError(
            _(
                "Variant %(number)s of what-if #%(id)s changes %(axes)s: only GPU count, GPU type "
                "and precision can be saved as a scenario."
            )
            % {"number": index + 1, "id": sweep.pk, "axes": ", ".join(other) or "—"}
        )
    return variant


def sweep_variant_prices(sweep: Sweep) -> dict[str, float]:
    """The catalog's price per GPU-hour (in the plan's currency) of each GPU type a what-if
    tries: a price agreed for the scenario's own GPU is no price for another."""
    currency = str(sweep.inputs.get("currency") or "CNY")
    prices = {}
    for value in (sweep.axes or {}).get("gpu_type", []):
        try:
            key = gpu_by_name(value).key
        except ValidationError:
            continue  # the core says why in the variant's point
        row = GPUType.objects.filter(key=key).first()
        if row is not None:
            prices[value] = float(row.price(currency))
    return prices


def _variant_gpu_type(value: Any) -> GPUType:
    try:
        key = gpu_by_name(value).key
    except ValidationError as exc:
        raise ApplicationError(exc.message) from exc
    gpu = GPUType.objects.filter(key=key).first()
    if gpu is None:
        raise ApplicationError(_("The GPU type %(key)s is not in the catalog.") % {"key": key})
    return gpu


def _apply_variant_to_line(
    copy: Scenario, variant: dict[str, Any], changes: list[dict[str, Any]]
) -> GPUBudgetLine | None:
    """Set the variant's GPU type and count on the copy's main budget line (created when the
    scenario has none and the variant names GPUs); appends to ``changes``."""
    if "gpu_type" not in variant and "gpu_count" not in variant:
        return main_budget_line(copy)
    line = main_budget_line(copy)
    if line is None:
        gpu = _variant_gpu_type(variant.get("gpu_type", _CORE_DEFAULT_GPU))
        line = GPUBudgetLine(
            scenario=copy,
            purpose=_VARIANT_LINE_PURPOSE[Strategy(copy.strategy)],
            gpu_type=gpu,
            gpu_count=variant.get("gpu_count", _CORE_DEFAULT_GPU_COUNT),
            start_date=copy.start_date,
        )
        changes += [
            {"field": "gpu_type", "old": None, "new": str(gpu)},
            {"field": "gpu_count", "old": None, "new": line.gpu_count},
        ]
    else:
        if "gpu_type" in variant:
            gpu = _variant_gpu_type(variant["gpu_type"])
            if gpu.pk != line.gpu_type_id:
                # The other training lines on the same part move with it, as the core's variant
                # did (``sweep.hardware_pools``): the saved scenario is the simulated plan.
                others = copy.budget_lines.exclude(pk=line.pk).exclude(purpose=Purpose.SERVING)
                for moved in [line, *others.filter(gpu_type_id=line.gpu_type_id)]:
                    _move_line_to(moved, gpu, changes)
                    if moved is not line:
                        try:
                            moved.full_clean(exclude=["scenario"])
                        except DjangoValidationError as exc:
                            raise ApplicationError(" ".join(exc.messages)) from exc
                        moved.save()
        if "gpu_count" in variant and variant["gpu_count"] != line.gpu_count:
            changes.append(
                {"field": "gpu_count", "old": line.gpu_count, "new": variant["gpu_count"]}
            )
            line.gpu_count = variant["gpu_count"]
    try:
        line.full_clean(exclude=["scenario"])
    except DjangoValidationError as exc:
        raise ApplicationError(" ".join(exc.messages)) from exc
    line.save()
    return line


def _move_line_to(line: GPUBudgetLine, gpu: GPUType, changes: list[dict[str, Any]]) -> None:
    """Put ``line`` on ``gpu``; a price agreed for one GPU is no price for another, so the
    catalog's applies. Appends to ``changes``."""
    changes.append({"field": "gpu_type", "old": str(line.gpu_type), "new": str(gpu)})
    line.gpu_type = gpu
    if line.price_per_gpu_hour is not None:
        changes.append(
            {"field": "price_per_gpu_hour", "old": str(line.price_per_gpu_hour), "new": None}
        )
        line.price_per_gpu_hour = None


def _variant_name(source: Scenario, line: GPUBudgetLine | None, precision: str) -> str:
    """The copy's name, "<source name> — 512 × H100 SXM 80GB BF16", the source's shortened to
    fit the field."""
    values: dict[str, Any] = {
        "precision": Precision(precision).label if precision in Precision.values else precision
    }
    if line is None:
        pattern = _("%(name)s — %(precision)s")
    else:
        pattern = _("%(name)s — %(count)s × %(gpu)s %(precision)s")
        values.update(count=line.gpu_count, gpu=line.gpu_type)
    name = source.name
    overflow = len(pattern % {**values, "name": name}) - Scenario._meta.get_field("name").max_length
    if overflow > 0:
        name = name[: max(0, len(name) - overflow - 1)] + "…"
    return pattern % {**values, "name": name}


@transaction.atomic
def sweep_variant_save(*, user: User, sweep: Sweep, index: int) -> SavedVariant:
    """A new scenario in the sweep's program: a copy of the sweep's scenario with all its lines
    (``scenario_clone``) with variant ``index`` (0-based, in ``sweep.points``) applied — precision
    to the scenario, GPU count to its main budget line, GPU type to it and to the other training
    lines on the same part (as the core simulated it). All or nothing; the copy's
    History says which what-if and variant it came from.

    Refused (``ApplicationError``, nothing saved): a sweep not finished, an unknown or failed
    variant, a variant of another axis, or a copy the core rejects.
    """
    _require_editor_of(user, sweep.organization)
    variant = _sweep_point(sweep, index)
    source = sweep.scenario
    source_changed = _plan_without_name(scenario_to_plan_dict(source)) != _plan_without_name(
        sweep.inputs or {}
    )
    copy = scenario_clone(user=user, scenario=source)
    changes: list[dict[str, Any]] = []
    line = _apply_variant_to_line(copy, variant, changes)
    if "precision" in variant and variant["precision"] != copy.precision:
        changes.append({"field": "precision", "old": copy.precision, "new": variant["precision"]})
        copy.precision = variant["precision"]
    copy.name = _variant_name(source, line, copy.precision)
    copy.version += 1
    try:
        copy.full_clean(exclude=["program", "created_by"])
    except DjangoValidationError as exc:
        raise ApplicationError(" ".join(exc.messages)) from exc
    copy.save()
    try:
        plan = scenario_plan(copy)
    except ValidationError as exc:
        raise ApplicationError(
            _("The simulation core cannot use this variant: %(field)s %(message)s")
            % {"field": exc.field, "message": exc.message}
        ) from exc
    cluster = plan.cluster
    if ("gpu_count" in variant and cluster.gpu_count != variant["gpu_count"]) or (
        "gpu_type" in variant and cluster.gpu.key != gpu_by_name(variant["gpu_type"]).key
    ):
        # Another budget line of the copy outranks the changed one (more GPUs of the same
        # purpose): the copy would not be the variant.
        raise ApplicationError(
            _(
                "Another GPU budget line of the scenario would become its main one, so the copy "
                "would not be this variant. Nothing was saved: change the lines by hand."
            )
        )
    # Named as the what-if page names it (the axes beyond GPUs sorted: the variant comes back
    # from a JSON column, whose key order Postgres does not keep).
    description = variant_label(variant)
    ScenarioActivity.objects.create(
        scenario=copy,
        actor=user,
        action=Action.UPDATED,
        summary=(
            _("from what-if #%(id)s, variant %(number)s of %(total)s (%(variant)s)")
            % {
                "id": sweep.pk,
                "number": index + 1,
                "total": len(sweep.points or []),
                "variant": description,
            }
        )[:300],
        changes=changes,
        version=copy.version,
    )
    return SavedVariant(scenario=copy, source_changed=source_changed)
