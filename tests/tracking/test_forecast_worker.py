"""The forecast on a real Celery worker process (the configured broker, the test database):
the first request queues it, the worker computes it, the next request reads it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.services import api_token_create
from apps.runs.models import RunStatus
from apps.tracking.models import Forecast
from apps.tracking.services import baseline_approve
from tests.runs.worker_process import database_url_of_test_db, running_worker, wait_for

from .conftest import ApiClient, succeeded_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(django_db_blocker, tmp_path):
    with django_db_blocker.unblock():
        database_url = database_url_of_test_db()
    with running_worker(database_url, tmp_path) as process:
        yield process.node


def test_a_forecast_is_computed_by_a_real_worker(worker, owner, organization, scenario):
    baseline = baseline_approve(user=owner, scenario=scenario, run=succeeded_run(owner, scenario))
    token = api_token_create(user=owner, organization=organization, name="erp", scope="read")[1]
    api = ApiClient(token)
    url = reverse("api:scenario-forecast", args=[scenario.pk])

    assert api.get(url).status_code == 202
    assert wait_for(
        lambda: Forecast.objects.filter(baseline=baseline, status=RunStatus.SUCCEEDED).exists(),
        timeout_s=60,
    ), Forecast.objects.values("status", "error").first()
    row = Forecast.objects.get(baseline=baseline)
    assert row.worker == worker
    body = api.get(url).json()
    assert body["status"] == "succeeded" and body["baseline_id"] == baseline.pk
    assert body["finish_date_p50"] == baseline.report["totals"]["finish_date_p50"]
