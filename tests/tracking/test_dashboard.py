"""The tracking dashboard (issue 19): the Tracking page's forecast section — polled while a
worker computes it, its error when it fails, its numbers (the API's) when it succeeds, the
drivers in the reader's language, three charts — and the alert banner on the Tracking page and
the run's dashboard. Owner, viewer and outsider."""

from __future__ import annotations

import datetime as dt
import html
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from apps.programs.models import Program, Scenario
from apps.programs.templatetags.planning import money_compact
from apps.reports.templatetags.report_format import percent
from apps.runs.models import RunStatus
from apps.tracking.csv_format import HEADER
from apps.tracking.forecasting import forecast_current, forecast_execute
from apps.tracking.models import ActualReport, Forecast
from apps.tracking.services import baseline_approve
from tests.tracking.conftest import succeeded_run
from tests.tracking.test_forecast import (
    computed,
    main_stage,
    report_midway,
)

pytestmark = pytest.mark.django_db
SPEND = {
    "gpu_compute": "1200000.00",
    "storage": "30000.00",
    "people": "450000.00",
    "data": "80000.00",
    "inference": "0.00",
    "contingency": "0.00",
}


def tracking_url(scenario: Scenario) -> str:
    return reverse("tracking:scenario_tracking", args=[scenario.pk])


def fragment_url(scenario: Scenario) -> str:
    return reverse("tracking:forecast_status", args=[scenario.pk])


def api_url(scenario: Scenario) -> str:
    return reverse("api:scenario-forecast", args=[scenario.pk])


def shown(page: str, testid: str) -> str:
    """The text of the element marked ``data-testid=testid`` (tags dropped, entities decoded)."""
    match = re.search(rf'data-testid="{re.escape(testid)}"[^>]*>(.*?)</', page, re.S)
    assert match, testid
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()


@pytest.fixture
def reported(owner, early_baseline):
    """The plan started 300 days ago, a report halfway through its main run at half the planned
    throughput with the money spent so far, and its forecast computed."""
    report_midway(owner, early_baseline.scenario, early_baseline, share=0.5, spend=SPEND)
    return computed(early_baseline.scenario)


# --- the states of the forecast --------------------------------------------------------------


def test_a_queued_forecast_says_forecasting_and_polls_until_it_is_done(
    owner_client, early_baseline
):
    scenario = early_baseline.scenario
    page = owner_client.get(tracking_url(scenario)).content.decode()
    row = Forecast.objects.get(baseline=early_baseline)
    assert row.status == RunStatus.QUEUED  # the page queued it
    assert "Forecasting…" in page and 'data-testid="forecast-pending"' in page
    assert f'hx-get="{fragment_url(scenario)}"' in page and 'hx-trigger="every 2s"' in page
    fragment = owner_client.get(fragment_url(scenario)).content.decode()
    assert "Forecasting…" in fragment and f'hx-get="{fragment_url(scenario)}"' in fragment
    assert "<html" not in fragment  # the section alone, swapped into the page
    forecast_execute(forecast_id=row.pk, worker="test")
    done = owner_client.get(fragment_url(scenario)).content.decode()
    assert 'data-status="succeeded"' in done and "hx-get" not in done
    assert shown(done, "finish-p50") == early_baseline.report["totals"]["finish_date_p50"]
    assert done.count('data-testid="chart"') == 3 and "Forecasting…" not in done


def test_a_failed_forecast_shows_its_error_plainly(owner, owner_client, scenario):
    # A plan without a start date cannot be forecast: the core says so, by name.
    Scenario.objects.filter(pk=scenario.pk).update(start_date=None)
    scenario.budget_lines.update(start_date=None)
    scenario.team_lines.update(start_date=None, end_date=None)
    scenario.datasets.update(ready_date=None)
    scenario.refresh_from_db()
    baseline_approve(user=owner, scenario=scenario, run=succeeded_run(owner, scenario))
    row = forecast_current(scenario=scenario)
    forecast_execute(forecast_id=row.pk)
    row.refresh_from_db()
    assert row.status == RunStatus.FAILED
    page = owner_client.get(tracking_url(scenario)).content.decode()
    assert 'data-testid="forecast-failed"' in page and "hx-get" not in page
    assert "The forecast could not be computed" in page
    assert html.escape(row.error) in page and "start_date" in row.error


def test_without_an_approval_there_is_no_forecast_section(owner_client, scenario):
    page = owner_client.get(tracking_url(scenario)).content.decode()
    assert 'id="forecast"' not in page and not Forecast.objects.exists()


# --- the numbers -----------------------------------------------------------------------------


def test_the_page_shows_the_numbers_the_api_answers_for_the_same_forecast(
    owner_client, reader, reported
):
    scenario = reported.scenario
    answer = reader.get(api_url(scenario)).json()
    assert answer["status"] == "succeeded" and answer["last_actual"] == reported.last_actual_id
    page = owner_client.get(tracking_url(scenario)).content.decode()
    currency = answer["currency"]
    assert shown(page, "finish-p50") == answer["finish_date_p50"]
    assert shown(page, "finish-p90") == answer["finish_date_p90"]
    assert shown(page, "eac-p50") == money_compact(answer["estimate_at_completion"], currency)
    assert shown(page, "eac-p90") == money_compact(answer["cost_p90"], currency)
    assert shown(page, "spent") == money_compact(answer["spent_to_date"], currency)
    assert Decimal(answer["spent_to_date"]) == sum(Decimal(v) for v in SPEND.values())
    assert shown(page, "to-complete") == money_compact(answer["cost_to_complete"], currency)
    # About half the planned throughput was reported: the card says it as the driver does.
    assert answer["drivers"] and all(html.escape(d) in page for d in answer["drivers"])
    share = re.match(r"Throughput (\d+%) of plan since ", answer["drivers"][0])
    assert share and 40 <= int(share.group(1)[:-1]) <= 60, answer["drivers"][0]
    assert shown(page, "throughput-share") == f"{share.group(1)} of plan"
    # The change of finish against the approved P50, in days, signed and coloured.
    card = page[page.index('data-testid="card-finish"') : page.index('data-testid="card-eac"')]
    days = (
        dt.date.fromisoformat(answer["finish_date_p50"])
        - dt.date.fromisoformat(answer["baseline"]["finish_date_p50"])
    ).days
    expected = {
        days > 0: f'class="delta delta-up">+{days} day',
        days < 0: f'class="delta delta-down">\u2212{-days} day',
        days == 0: 'class="delta delta-same">no change',
    }[True]
    assert expected in card, (days, card)
    # The variance table: every category, and the total change is the API's.
    table = page[page.index('data-testid="variance"') :]
    table = table[: table.index("</table>")]
    labels = ("GPU compute", "Storage", "People", "Data", "Inference / serving", "Contingency")
    for label in labels:
        assert f">{label}<" in table, label
    total = Decimal(answer["variance"]["cost"])
    assert money_compact(abs(total), currency) in table.split("<tfoot>")[1]
    assert page.count('data-testid="chart"') == 3 and 'data-testid="status-pdf"' in page


def test_a_probability_above_the_threshold_is_highlighted(owner_client, reported):
    scenario = reported.scenario
    value = reported.answer["p_over_budget"] or reported.answer["p_miss_deadline"]
    # This plan has neither a deadline nor a cap: both are written as missing, not as 0%.
    assert value is None
    page = owner_client.get(tracking_url(scenario)).content.decode()
    assert "no deadline set" in page and "over-threshold" not in page


def test_the_chinese_page_shows_the_drivers_in_chinese(owner_client, reported):
    owner_client.cookies["django_language"] = "zh-hans"
    page = owner_client.get(tracking_url(reported.scenario)).content.decode()
    main_start = reported.result["main"]["start_date"]
    english = reported.answer["drivers"][0]
    share = re.match(r"Throughput (\d+%) of plan", english).group(1)
    assert english not in page
    assert re.search(rf"自 {main_start} 起吞吐量为计划的 {share}", page), "no Chinese driver"
    assert "预测完成" in page and "各成本类别的偏差" in page


# --- who sees what ---------------------------------------------------------------------------


def test_a_viewer_sees_the_forecast_but_no_report_forms(viewer_client, reported):
    page = viewer_client.get(tracking_url(reported.scenario)).content.decode()
    assert shown(page, "finish-p50") == reported.answer["finish_date_p50"]
    assert 'data-testid="actual-form"' not in page and 'data-testid="csv-form"' not in page
    # A document is a read: a viewer may take the status report, as the plan's PDF.
    assert 'data-testid="status-pdf"' in page


def test_another_organization_gets_404_and_queues_nothing(outsider_client, early_baseline):
    scenario = early_baseline.scenario
    assert outsider_client.get(tracking_url(scenario)).status_code == 404
    assert outsider_client.get(fragment_url(scenario)).status_code == 404
    post = outsider_client.post(reverse("tracking:status_export", args=[scenario.pk]))
    assert post.status_code == 404
    assert not Forecast.objects.exists()


# --- a new report queues its forecast at once -------------------------------------------------


def test_a_report_saved_on_the_page_queues_its_forecast(owner, owner_client, early_baseline):
    scenario = early_baseline.scenario
    main = main_stage(early_baseline.report)
    start = dt.date.fromisoformat(main["start_date_p50"])
    form = {
        "date": (start + timedelta(days=4)).isoformat(),
        "tokens_trained": "2000000000",
        "elapsed_days": "4",
        "gpu_hours": "3000",
        "interruptions": "1",
        "loss_spikes": "0",
        "currency": "CNY",
    }
    response = owner_client.post(reverse("tracking:actual_add", args=[scenario.pk]), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    report = ActualReport.objects.get()
    assert Forecast.objects.filter(last_actual=report, status=RunStatus.QUEUED).exists()
    rows = [
        f"{(start + timedelta(days=8)).isoformat()},4000000000,8,6000,1,0",
        f"{(start + timedelta(days=12)).isoformat()},6000000000,12,9000,2,0",
    ]
    upload = SimpleUploadedFile(
        "a.csv", ("\n".join([",".join(HEADER[:6]), *rows]) + "\n").encode(), "text/csv"
    )
    response = owner_client.post(
        reverse("tracking:actuals_import", args=[scenario.pk]), {"file": upload, "currency": "CNY"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    last = ActualReport.objects.order_by("-date").first()
    assert Forecast.objects.filter(last_actual=last).exists()


# --- alerts ----------------------------------------------------------------------------------


@pytest.fixture
def at_risk(owner, early):
    """An approved plan with a deadline on its own finish P50 (so about half of its trials miss
    it), forecast before any report."""
    first = succeeded_run(owner, early)
    finish_p50 = dt.date.fromisoformat(first.result["totals"]["finish_date_p50"])
    Program.objects.filter(pk=early.program_id).update(deadline=finish_p50, alert_threshold=20)
    early.program.refresh_from_db()
    baseline = baseline_approve(user=owner, scenario=early, run=succeeded_run(owner, early))
    row = computed(early)
    assert row.answer["p_miss_deadline"] > 0.2
    return baseline, row


def test_the_alert_banner_shows_on_the_tracking_page_and_the_run_dashboard(owner_client, at_risk):
    baseline, row = at_risk
    with translation.override("en"):
        expected = (
            f"Forecast as of {row.answer['as_of']}: P(miss deadline) "
            f"{percent(row.answer['p_miss_deadline'])} — above this program's 20% alert "
            "threshold"
        )
    dashboard = reverse("runs:plan_run_detail", args=[baseline.run_id])
    for url in (tracking_url(baseline.scenario), dashboard):
        page = html.unescape(owner_client.get(url).content.decode())
        assert 'data-testid="forecast-alerts"' in page, url
        assert expected in page, url
    page = owner_client.get(dashboard).content.decode()
    assert f'href="{tracking_url(baseline.scenario)}" data-testid="alerts-tracking"' in page
    tracking = owner_client.get(tracking_url(baseline.scenario)).content.decode()
    assert 'data-testid="card-p_miss_deadline"' in tracking
    assert re.search(r'class="card over-threshold" data-testid="card-p_miss_deadline"', tracking)


def test_no_banner_below_the_threshold(owner_client, at_risk):
    baseline, row = at_risk
    Program.objects.filter(pk=baseline.scenario.program_id).update(alert_threshold=99)
    assert row.answer["p_miss_deadline"] < 0.99
    dashboard = reverse("runs:plan_run_detail", args=[baseline.run_id])
    for url in (tracking_url(baseline.scenario), dashboard):
        page = owner_client.get(url).content.decode()
        assert 'data-testid="forecast-alerts"' not in page, url
        assert "alert threshold" not in page.split('data-testid="forecast"')[0], url
    tracking = owner_client.get(tracking_url(baseline.scenario)).content.decode()
    assert "over-threshold" not in tracking and "alert threshold 99%" in tracking
