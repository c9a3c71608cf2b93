import subprocess
import sys

from django.conf import settings

from apps.runs.tasks import demo_job_run
from llmplanner.celery import app


def test_it_speaks_json_only():
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_serializer == "json"
    assert app.conf.result_serializer == "json"


def test_it_redelivers_tasks_of_a_lost_worker():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_it_limits_task_time():
    assert 0 < app.conf.task_soft_time_limit < app.conf.task_time_limit


def test_it_keeps_results_on_rows_not_in_a_result_backend():
    assert app.conf.task_ignore_result is True


def test_it_binds_shared_tasks_to_the_project_app():
    assert demo_job_run.app is app
    assert "runs.demo_job_run" in app.tasks


def test_it_reads_the_broker_from_settings():
    assert app.conf.broker_url == settings.CELERY_BROKER_URL


def test_it_keeps_the_project_package_free_of_django_and_celery_imports():
    # `python -m llmplanner.simulation` must not pay for (or depend on) Django and Celery.
    code = "import sys, llmplanner; print(sorted({'django', 'celery'} & set(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
