import json
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.runs.figures import demo_job_round_trip_figure
from apps.runs.models import DemoJob
from tests.runs.factories import DemoJobFactory

pytestmark = pytest.mark.django_db


def test_it_plots_only_finished_jobs_oldest_first():
    pending = DemoJobFactory()
    later = timezone.now() + timedelta(seconds=1)
    first = DemoJobFactory(status=DemoJob.Status.SUCCEEDED, finished_at=later)
    second = DemoJobFactory(status=DemoJob.Status.SUCCEEDED, finished_at=later)
    figure = json.loads(demo_job_round_trip_figure([second, first, pending]))
    assert figure["data"][0]["type"] == "bar"
    assert figure["data"][0]["x"] == [f"#{first.pk}", f"#{second.pk}"]
    assert all(ms >= 0 for ms in figure["data"][0]["y"])


def test_it_plots_an_empty_chart_without_jobs():
    figure = json.loads(demo_job_round_trip_figure([]))
    assert figure["data"][0]["x"] in ([], None)
