"""What a job may cost a worker: the documented work estimate of a run or a what-if (refused
before anything is saved when it exceeds ``settings.RUN_MAX_WORK``), the queue it goes to
(``interactive`` or ``heavy``, see ``llmplanner/celery.py``), and the message a manager reads
when a task hits a worker's memory or time limit."""

from __future__ import annotations

from typing import Any, NamedTuple

from django.conf import settings
from django.utils.translation import gettext as _

from apps.common.errors import ApplicationError
from apps.runs.models import PlanRun
from llmplanner.simulation.errors import ValidationError
from llmplanner.simulation.planspec import PlanSpec, parse_plan

# What a run costs a worker grows with the Monte Carlo trials, the stages each trial simulates (a
# scaling-ladder rung is a stage of its own) and the interruptions of the main run, which grow with
# the GPU count. Timed with ``report.run_plan`` on this project's 2-core machine: the GPT-3
# example plan at 2,000 trials is 30,000 units and 0.7 s; 5,000 trials of it on 524,288 GPUs
# with a 101-rung ladder is 18 million units and 78 s. Above RUN_INTERACTIVE_MAX_WORK a run goes
# to the ``heavy`` queue; above ``settings.RUN_MAX_WORK`` it is refused before anything is saved.
RUN_FIXED_STAGES = 10  # data preparation, burn-in, SFT, preference tuning, evaluation, release…
RUN_GPUS_PER_UNIT = 16_384  # the Llama 3 cluster: interruptions per trial grow past it
RUN_INTERACTIVE_MAX_WORK = 100_000


class WorkEstimate(NamedTuple):
    """``units = trials × stages × gpu_factor`` (× variants for a sweep)."""

    units: int
    trials: int
    stages: int
    gpu_factor: float
    variants: int = 1


def plan_work_estimate(
    *, spec: PlanSpec, trials: int, variants: list[dict[str, Any]] | None = None
) -> WorkEstimate:
    """The documented work estimate of simulating ``spec`` (each of ``variants``, for a sweep)."""
    stages = RUN_FIXED_STAGES + len(spec.ladder) + spec.full_runs
    gpus = max(pool.gpu_count for pool in spec.clusters)
    for variant in variants or []:
        count = variant.get("gpu_count")
        if isinstance(count, int | float) and not isinstance(count, bool):
            gpus = max(gpus, int(count))
    factor = max(1.0, gpus / RUN_GPUS_PER_UNIT)
    n = len(variants) if variants else 1
    return WorkEstimate(round(trials * stages * factor * n), trials, stages, factor, n)


def refuse_too_much_work(estimate: WorkEstimate) -> None:
    """ApplicationError naming the field to change when ``estimate`` exceeds the limit."""
    limit = settings.RUN_MAX_WORK
    if estimate.units <= limit:
        return
    per_trial = estimate.stages * estimate.gpu_factor * estimate.variants
    most_trials = int(limit // per_trial)
    if most_trials >= 1:
        field = "trials"
        advice = _("Reduce trials to at most %(most)s for this plan.") % {
            "most": f"{most_trials:,}"
        }
    elif estimate.gpu_factor > 1:
        field = "gpu_count"
        advice = _("Reduce the GPU count of the plan's pools.")
    else:
        field = "ladder"
        advice = _("Reduce the scaling-ladder steps.")
    raise ApplicationError(
        _(
            "This run is too big for the workers: its estimated work is %(units)s units "
            "(%(trials)s trials × %(stages)s stages × GPU factor %(factor)s%(variants)s), over "
            "the limit of %(limit)s. %(advice)s"
        )
        % {
            "units": f"{estimate.units:,}",
            "trials": f"{estimate.trials:,}",
            "stages": estimate.stages,
            "factor": f"{estimate.gpu_factor:.1f}",
            "variants": (
                _(" × %(n)s variants") % {"n": estimate.variants} if estimate.variants > 1 else ""
            ),
            "limit": f"{limit:,}",
            "advice": advice,
        },
        extra={"field": field},
    )


def plan_run_queue(run_id: int) -> str:
    """``interactive`` for a run whose estimated work is small, else ``heavy`` (the Celery
    router's choice, ``llmplanner.celery.route_task``)."""
    from llmplanner.celery import HEAVY, INTERACTIVE

    run = PlanRun.objects.filter(pk=run_id).only("inputs", "trials").first()
    if run is None:
        return INTERACTIVE  # nothing to run: the worker finds no row and does nothing
    try:
        estimate = plan_work_estimate(spec=parse_plan(run.inputs), trials=run.trials)
    except ValidationError:
        return INTERACTIVE  # refused at once by the worker
    return INTERACTIVE if estimate.units <= RUN_INTERACTIVE_MAX_WORK else HEAVY


def worker_limit_message(exc: BaseException) -> str:
    """What a manager reads when a task hit a worker's memory or time limit."""
    if isinstance(exc, MemoryError):
        return _(
            "This plan needs more memory than a worker allows (limit %(limit).1f GiB); reduce "
            "trials, the GPU count or the scaling-ladder steps, or ask an administrator to raise "
            "WORKER_MAX_MEMORY_MB."
        ) % {"limit": settings.WORKER_MAX_MEMORY_MB / 1024}
    return _(
        "This plan took longer than a worker allows (%(seconds)s s); reduce trials, the GPU "
        "count or the scaling-ladder steps, or ask an administrator to raise "
        "CELERY_TASK_SOFT_TIME_LIMIT."
    ) % {"seconds": settings.CELERY_TASK_SOFT_TIME_LIMIT}
