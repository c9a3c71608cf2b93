"""The Celery app. Workers run ``celery -A llmplanner.celery worker``.

Configuration is the ``CELERY_*`` block of ``llmplanner.settings``. The web process imports
this module from ``apps.common.apps.CommonConfig.ready()`` so that ``@shared_task`` binds to
this app there too (``llmplanner/__init__.py`` stays import-free on purpose).
"""

import os

from celery import Celery

import llmplanner.broker  # noqa: F401  registers the fsatomic:// transport with kombu

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "llmplanner.settings")

app = Celery("llmplanner")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic jobs (no django-celery-beat: it pins Django < 6.1, see PITFALLS). One beat process runs
# them: `celery worker -B` under scripts/start.sh, the `beat` service under compose.
app.conf.beat_schedule = {
    # Also sends runs whose message could not be published while the broker was down.
    "sweep-stale-runs": {"task": "runs.sweep_stale_runs", "schedule": 60.0},
    "sweep-stale-exports": {"task": "reports.sweep_stale_exports", "schedule": 60.0},
}
