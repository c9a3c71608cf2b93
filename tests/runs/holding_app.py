"""The project's Celery app with a switch that holds every plan run and sweep chunk right after
its claim.

For the killed-worker tests only: ``celery -A tests.runs.holding_app worker`` with
``LLMPLANNER_TEST_HOLD_FILE`` set to a path. While that file exists, a run the worker claims stays
``running`` (claimed, counted as an attempt, nothing computed) until the file is removed or the
worker dies, so a test kills the worker mid-run by construction instead of hoping that a run is
slow enough. The production app, ``llmplanner.celery``, has no such switch; it lives only here.

Start such a worker with ``tests.runs.worker_process.holding_worker_options``; the test process
never imports this module (its signal handler would then apply to tasks run in the test process).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from celery.signals import task_prerun

from llmplanner.celery import app

__all__ = ["app"]

POLL_S = 0.05


@task_prerun.connect
def hold_plan_runs_after_their_claim(**_: Any) -> None:
    """Wrap the core calls of ``plan_run_execute`` and ``sweep_chunk_execute`` (made after the
    claim), once per process."""
    from apps.runs import services

    hold_file = Path(os.environ["LLMPLANNER_TEST_HOLD_FILE"])
    for name in ("run_plan", "run_sweep"):
        compute = getattr(services, name)
        if getattr(compute, "held", False):
            continue

        def held(*args: Any, _compute: Any = compute, **kwargs: Any) -> Any:
            while hold_file.exists():
                time.sleep(POLL_S)
            return _compute(*args, **kwargs)

        held.held = True  # type: ignore[attr-defined]
        setattr(services, name, held)
