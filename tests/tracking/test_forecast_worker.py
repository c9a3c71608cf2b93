"""The forecast on a real Celery worker process (the configured broker, the test database):
the first request queues it, the worker computes it, the next request reads it."""

from __future__ import annotations

import datetime as dt
import json

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


def test_reports_posted_by_a_job_are_forecast_by_the_worker(worker, owner, organization, early):
    # The training job posts a main-run report and a data-stage report with a write token; each
    # queues its own forecast, which the worker computes from every stage's latest report.
    baseline = baseline_approve(user=owner, scenario=early, run=succeeded_run(owner, early))
    token = api_token_create(user=owner, organization=organization, name="job", scope="write")[1]
    api = ApiClient(token)
    main = next(s for s in baseline.report["stages"] if s["key"] == "main")
    start = dt.date.fromisoformat(main["start_date_p50"])
    elapsed = 10
    date = (start + dt.timedelta(days=elapsed)).isoformat()
    planned = baseline.report["plan"]["tokens"] / 60  # a slow run: tokens a day
    body = {
        "date": date,
        "tokens_trained": planned * elapsed,
        "elapsed_days": elapsed,
        "gpu_hours": 1000,
        "interruptions": 1,
        "loss_spikes": 0,
    }
    url = reverse("api:scenario-actuals", args=[early.pk])
    posted = api.post(url, json.dumps(body), content_type="application/json",
                      headers={"Idempotency-Key": "job-1"})  # fmt: skip
    assert posted.status_code == 201, posted.content
    data = {"date": date, "stage": "data", "elapsed_days": 20, "progress": 1}
    second = api.post(url, json.dumps(data), content_type="application/json")
    assert second.status_code == 201, second.content
    last = second.json()["id"]
    assert wait_for(
        lambda: Forecast.objects.filter(
            baseline=baseline, last_actual_id=last, status=RunStatus.SUCCEEDED
        ).exists(),
        timeout_s=90,
    ), list(Forecast.objects.values("status", "error", "last_actual_id"))
    answer = api.get(reverse("api:scenario-forecast", args=[early.pk])).json()
    assert answer["last_actual"] == last and answer["as_of"] == date
    assert answer["main_run"]["tokens_trained"] == body["tokens_trained"]
    rows = {row["key"]: row for row in answer["stages"]}
    assert rows["data"]["status"] == "done" and rows["main"]["status"] == "running"
    assert Forecast.objects.get(last_actual_id=last).worker == worker
