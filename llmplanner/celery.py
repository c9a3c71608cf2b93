"""The Celery app. Workers run ``celery -A llmplanner.celery worker``.

Configuration is the ``CELERY_*`` block of ``llmplanner.settings``. The web process imports
this module from ``apps.common.apps.CommonConfig.ready()`` so that ``@shared_task`` binds to
this app there too (``llmplanner/__init__.py`` stays import-free on purpose).
"""

import os
import resource
import signal
import threading
from typing import Any

from celery import Celery
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import task_postrun, task_prerun, worker_process_init
from kombu import Exchange, Queue

import llmplanner.broker  # noqa: F401  registers the fsatomic:// transport with kombu

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "llmplanner.settings")

app = Celery("llmplanner")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Two queues, so that quick work never waits behind slow work: ``interactive`` (plan runs whose
# estimated work is small, the demo job, the periodic sweepers) and ``heavy`` (big runs, sweep
# chunks, PDF exports). A worker without ``-Q`` consumes both; scripts/start.sh and compose run
# one node on ``interactive`` only, so a heavy task never takes its slot.
INTERACTIVE, HEAVY = "interactive", "heavy"
QUEUES = (INTERACTIVE, HEAVY)
app.conf.task_default_queue = INTERACTIVE
# Each queue with its own exchange and routing key: a bare Queue(name) would be bound to the
# default exchange and key, and both would receive every message.
app.conf.task_queues = tuple(Queue(name, Exchange(name), routing_key=name) for name in QUEUES)
# A webhook delivery waits on someone else's server (up to 10 s per socket operation): heavy, so
# a slow receiver never holds a slot that quick runs need.
ROUTES = {"runs.sweep_chunk": HEAVY, "reports.export_render": HEAVY, "webhooks.deliver": HEAVY}


def route_task(name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **_: Any) -> Any:
    """The queue of a task, decided where it is published. A plan run goes by its estimated
    work (``apps.runs.services.plan_run_queue``); everything else not in ROUTES is interactive."""
    if name == "runs.plan_run" and args:
        from apps.runs.limits import plan_run_queue

        return {"queue": plan_run_queue(args[0])}
    return {"queue": ROUTES.get(name, INTERACTIVE)}


app.conf.task_routes = (route_task,)


@worker_process_init.connect
def limit_pool_process_memory(**_: Any) -> None:
    """Cap each pool process's data segment at ``WORKER_MAX_MEMORY_MB``: past it an allocation
    raises MemoryError, which the task turns into a failure a manager can read, instead of the
    machine swapping or the kernel killing the worker."""
    from django.conf import settings

    limit = settings.WORKER_MAX_MEMORY_MB * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))


# Periodic jobs (no django-celery-beat: it pins Django < 6.1, see PITFALLS). One beat process runs
# them: `celery worker -B` under scripts/start.sh, the `beat` service under compose.
app.conf.beat_schedule = {
    # Also sends runs whose message could not be published while the broker was down.
    "sweep-stale-runs": {"task": "runs.sweep_stale_runs", "schedule": 60.0},
    "sweep-stale-exports": {"task": "reports.sweep_stale_exports", "schedule": 60.0},
    # Webhook deliveries whose message was lost are sent again; those out of attempts fail.
    "sweep-webhook-deliveries": {"task": "webhooks.sweep_deliveries", "schedule": 60.0},
    "sweep-forecasts": {"task": "tracking.sweep_forecasts", "schedule": 60.0},
}


def _soft_time_limit_reached(signum: int, frame: Any) -> None:
    raise SoftTimeLimitExceeded("soft time limit reached")


@task_prerun.connect
def arm_soft_time_limit(task: Any = None, **_: Any) -> None:
    """Raise SoftTimeLimitExceeded in the task once ``task_soft_time_limit`` has passed, from a
    timer of the process that runs it. Celery's own limits did not fire here (a 4 s hard limit
    let a 20 s run finish, prefork pool, filesystem broker and Redis alike: see
    tests/runs/test_worker_limits.py), so the soft one is enforced here as well."""
    limit = getattr(task, "soft_time_limit", None) or app.conf.task_soft_time_limit
    if limit and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGALRM, _soft_time_limit_reached)
        signal.setitimer(signal.ITIMER_REAL, float(limit))


@task_postrun.connect
def disarm_soft_time_limit(**_: Any) -> None:
    if threading.current_thread() is threading.main_thread():
        signal.setitimer(signal.ITIMER_REAL, 0)
