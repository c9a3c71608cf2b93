"""The re-forecast over the API and its alerts (issue 19): computed once per (baseline, last
report), conditioned on the reports, money spent kept as fact, alerts and webhooks when a
probability crosses the program's threshold."""

from __future__ import annotations

import datetime as dt
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.programs.models import Program, Scenario
from apps.programs.services import program_create_from_blueprint
from apps.runs.models import RunStatus
from apps.tracking.forecasting import (
    MAX_ATTEMPTS,
    alerts_active,
    forecast_current,
    forecast_execute,
    forecast_history,
    forecasts_sweep_stale,
)
from apps.tracking.models import Alert, Forecast
from apps.tracking.services import (
    actual_report_create,
    actual_report_withdraw,
    baseline_approve,
)
from apps.webhooks.models import Webhook, WebhookDelivery

from .conftest import succeeded_run

pytestmark = pytest.mark.django_db


def url(scenario: Scenario) -> str:
    return reverse("api:scenario-forecast", args=[scenario.pk])


def computed(scenario: Scenario) -> Forecast:
    """The scenario's current forecast, computed here as a worker would."""
    row = forecast_current(scenario=scenario)
    assert row is not None
    if row.status == RunStatus.QUEUED:
        forecast_execute(forecast_id=row.pk, worker="test")
        row.refresh_from_db()
    assert row.status == RunStatus.SUCCEEDED, row.error
    return row


def main_stage(report: dict) -> dict:
    return next(s for s in report["stages"] if s["key"] == "main")


def report_midway(
    owner, scenario, baseline, *, share: float, spend: dict | None = None, span: float = 0.5
):
    """A report ``span`` of the main run's P50 span after its start (halfway by default) at
    ``share`` of its planned net rate."""
    main = main_stage(baseline.report)
    start = dt.date.fromisoformat(main["start_date_p50"])
    finish = dt.date.fromisoformat(main["finish_date_p50"])
    elapsed = max(1, round((finish - start).days * span))
    date = start + timedelta(days=elapsed)
    assert date <= timezone.localdate(), "the plan must have started long enough ago"
    planned_rate = baseline.report["plan"]["tokens"] / max((finish - start).days, 1)
    report, _ = actual_report_create(
        user=owner,
        scenario=scenario,
        data={
            "date": date.isoformat(),
            "tokens_trained": share * planned_rate * elapsed,
            "elapsed_days": elapsed,
            "gpu_hours": 1000.0,
            "interruptions": 1,
            "loss_spikes": 0,
            "spend": spend or {},
        },
        source="api",
    )
    return report


def test_the_first_request_queues_the_forecast_and_the_next_reads_it(reader, early_baseline):
    scenario = early_baseline.scenario
    first = reader.get(url(scenario))
    assert first.status_code == 202 and first["Retry-After"] == "2"
    assert first.json() == {
        "status": "queued",
        "baseline_id": early_baseline.pk,
        "last_actual": None,
    }
    computed(scenario)
    body = reader.get(url(scenario)).json()
    assert body["status"] == "succeeded" and Forecast.objects.count() == 1
    # Before any report the forecast is the approved plan.
    totals = early_baseline.report["totals"]
    assert body["baseline"]["finish_date_p50"] == totals["finish_date_p50"]
    assert body["finish_date_p50"] == totals["finish_date_p50"]
    assert abs(body["variance"]["finish_days"]) <= 0.5
    assert abs(Decimal(body["variance"]["cost"])) <= Decimal(totals["cost"]["p50"]) * Decimal(
        "0.01"
    )
    assert body["spent_from_plan"] == [
        "gpu_compute", "storage", "people", "data", "inference", "contingency"
    ]  # fmt: skip


def test_a_slow_report_moves_finish_later_and_cost_up_and_keeps_the_spend(
    owner, reader, early_baseline
):
    scenario = early_baseline.scenario
    before = computed(scenario).answer
    spend = {c: "1000.00" for c in ("gpu_compute", "storage", "people", "data", "inference")}
    spend["contingency"] = "0.00"
    report_midway(owner, scenario, early_baseline, share=0.3, spend=spend)
    after_row = computed(scenario)
    after = after_row.answer
    assert after_row.last_actual is not None and Forecast.objects.count() == 2
    assert after["finish_date_p90"] >= after["finish_date_p50"]
    assert (
        after["main_run"]["finish_date_p50"] > main_stage(early_baseline.report)["finish_date_p50"]
    )
    assert after["observed"]["throughput_tokens_per_day"] > 0
    assert 0 < after["posterior"]["throughput_multiplier"] < 1
    # Money spent is fact: 5,000 reported, nothing taken from the plan.
    assert after["spent_to_date"] == "5000.00" and after["spent_from_plan"] == []
    assert Decimal(after["estimate_at_completion"]) == pytest.approx(
        Decimal("5000.00") + Decimal(after["cost_to_complete"]), rel=Decimal("0.02")
    )
    main_start = after_row.last_actual.date - timedelta(days=after_row.last_actual.elapsed_days)
    assert re.fullmatch(
        rf"Throughput 3\d% of plan since {main_start.isoformat()} \(.*\)", after["drivers"][0]
    ), after["drivers"][0]
    assert after["as_of"] > before["as_of"]
    assert reader.get(url(scenario)).json()["last_actual"] == after_row.last_actual_id


def test_the_same_report_twice_keeps_one_forecast(owner, early_baseline):
    scenario = early_baseline.scenario
    report_midway(owner, scenario, early_baseline, share=0.5)
    first = computed(scenario)
    assert forecast_current(scenario=scenario) == first
    assert Forecast.objects.filter(baseline=early_baseline).count() == 1


def test_a_probability_crossing_the_threshold_alerts_and_posts_a_webhook(
    owner, organization, reader, client, early
):
    scenario = early
    # A deadline the plan meets (3 days after its finish P90) …
    first = succeeded_run(owner, scenario)
    finish_p90 = dt.date.fromisoformat(first.result["totals"]["finish_date_p90"])
    Program.objects.filter(pk=scenario.program_id).update(
        alert_threshold=10, deadline=finish_p90 + timedelta(days=3)
    )
    scenario.program.refresh_from_db()
    early_baseline = baseline_approve(
        user=owner, scenario=scenario, run=succeeded_run(owner, scenario)
    )
    hook = Webhook.objects.create(
        organization=organization,
        url="https://finance.example.com/hook",
        secret="whsec_test",
        events=["forecast.alert"],
        created_by=owner,
    )
    assert early_baseline.report["totals"]["p_miss_deadline"] <= 0.10
    computed(scenario)
    assert not Alert.objects.exists()
    # … then a report at 5% of the planned rate after six times the planned time: the main run
    # (a few days, off the critical path as planned) now holds up what follows it, and the
    # deadline is likely missed. A short or mild slip would not: the preference data, not the
    # main run, sets this plan's finish.
    report_midway(owner, scenario, early_baseline, share=0.05, span=6.0)
    row = computed(scenario)
    alerts = Alert.objects.filter(forecast=row)
    kinds = {a.kind for a in alerts}
    assert "p_miss_deadline" in kinds, row.answer["p_miss_deadline"]
    alert = alerts.get(kind="p_miss_deadline")
    assert alert.threshold == 0.10 and alert.value > 0.10
    delivery = WebhookDelivery.objects.get(webhook=hook, event="forecast.alert")
    assert delivery.payload["kind"] == "p_miss_deadline"
    assert delivery.payload["scenario"]["id"] == scenario.pk
    shown = reader.get(url(scenario)).json()["alerts"]
    assert "p_miss_deadline" in {a["kind"] for a in shown}
    assert alerts_active(scenario=scenario)
    # The portfolio shows it on the program's row, page and API.
    entry = next(
        p
        for p in reader.get(reverse("api:portfolio")).json()["programs"]
        if p["program"] == scenario.program_id
    )
    assert {a["kind"] for a in entry["alerts"]} == {a["kind"] for a in shown}
    client.force_login(owner)
    home = client.get(reverse("portfolio:home")).content.decode()
    tracking = reverse("tracking:scenario_tracking", args=[scenario.pk])
    assert 'data-testid="alert"' in home and tracking in home and "P(miss deadline)" in home
    # Another report still above: no second alert, no second post.
    report = row.last_actual
    actual_report_create(
        user=owner,
        scenario=scenario,
        data={
            "date": report.date.isoformat(),
            "tokens_trained": report.tokens_trained * 1.01,
            "elapsed_days": report.elapsed_days,
            "gpu_hours": report.gpu_hours,
            "interruptions": report.interruptions,
            "loss_spikes": report.loss_spikes,
        },
        source="api",
    )
    again = computed(scenario)
    assert again.pk != row.pk and not Alert.objects.filter(forecast=again).exists()
    assert WebhookDelivery.objects.filter(event="forecast.alert").count() == len(kinds)


def test_an_approval_posts_the_baseline_approved_webhook(owner, organization, scenario, run):
    hook = Webhook.objects.create(
        organization=organization,
        url="https://finance.example.com/hook",
        secret="whsec_test",
        events=["baseline.approved"],
        created_by=owner,
    )
    baseline = baseline_approve(user=owner, scenario=scenario, run=run, note="board 3 March")
    delivery = WebhookDelivery.objects.get(webhook=hook)
    assert delivery.event == "baseline.approved"
    assert delivery.payload["baseline"] == baseline.pk and delivery.payload["note"] == (
        "board 3 March"
    )
    assert Decimal(delivery.payload["cost_p50"]) == Decimal(
        f"{run.result['totals']['cost']['p50']:.2f}"
    )


def test_a_plan_without_a_start_date_cannot_be_forecast(owner, reader, scenario):
    Scenario.objects.filter(pk=scenario.pk).update(start_date=None)
    scenario.budget_lines.update(start_date=None)
    scenario.team_lines.update(start_date=None, end_date=None)
    scenario.datasets.update(ready_date=None)
    scenario.refresh_from_db()
    run = succeeded_run(owner, scenario)
    assert not run.inputs.get("start_date")
    baseline_approve(user=owner, scenario=scenario, run=run)
    row = forecast_current(scenario=scenario)
    forecast_execute(forecast_id=row.pk)
    answer = reader.get(url(scenario))
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "forecast_failed"
    assert "start_date" in answer.json()["error"]["message"]


def test_without_an_approval_the_forecast_is_a_409(reader, scenario):
    answer = reader.get(url(scenario))
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "no_approved_baseline"


def test_another_organizations_forecast_is_a_404(early_baseline, client, django_user_model):
    from apps.accounts.services import api_token_create
    from tests.accounts.factories import MembershipFactory

    stranger = MembershipFactory(role="owner")
    token = api_token_create(
        user=stranger.user, organization=stranger.organization, name="x", scope="read"
    )[1]
    answer = client.get(url(early_baseline.scenario), headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 404


def test_the_sweeper_resends_lost_forecasts_and_fails_dead_ones(early_baseline):
    row = forecast_current(scenario=early_baseline.scenario)
    long_ago = timezone.now() - timedelta(minutes=30)
    # One waiting in its organization's queue (never sent) is not the sweeper's: the dispatcher's.
    Forecast.objects.filter(pk=row.pk).update(created_at=long_ago, dispatched_at=None)
    assert forecasts_sweep_stale()["resent"] == 0
    # One sent long ago and never started (its message lost) is sent again.
    Forecast.objects.filter(pk=row.pk).update(dispatched_at=long_ago)
    assert forecasts_sweep_stale()["resent"] == 1
    row.refresh_from_db()
    assert row.status == RunStatus.QUEUED
    Forecast.objects.filter(pk=row.pk).update(
        status=RunStatus.RUNNING, started_at=long_ago, attempts=MAX_ATTEMPTS
    )
    assert forecasts_sweep_stale()["failed"] == 1
    row.refresh_from_db()
    assert row.status == RunStatus.FAILED and row.error == "worker lost"


def test_the_portfolio_reads_approved_budgets_with_baseline_approved(
    owner, reader, scenario, run, baseline
):
    # A newer run of the scenario with another plan: the latest figures move, the approved not.
    newer = succeeded_run(owner, scenario, contingency_pct=30)
    assert newer.result["totals"]["cost"]["p50"] != run.result["totals"]["cost"]["p50"]
    table = reverse("api:portfolio")
    budget = reverse("api:portfolio-budget")

    def entry(body: dict) -> dict:
        return next(p for p in body["programs"] if p["program"] == scenario.program_id)

    assert entry(reader.get(table).json())["run"] == newer.pk
    assert entry(reader.get(table, {"baseline": "approved"}).json())["run"] == run.pk
    approved = reader.get(budget, {"baseline": "approved"}).json()
    assert entry(approved)["run"] == run.pk
    assert {r["run"] for r in approved["rows"]} == {run.pk}
    latest = reader.get(budget).json()
    assert {r["run"] for r in latest["rows"]} == {newer.pk}
    assert reader.get(budget, {"baseline": "signed"}).status_code == 400


def test_without_an_approval_the_approved_portfolio_has_no_figures(reader, scenario, run):
    body = reader.get(reverse("api:portfolio-budget"), {"baseline": "approved"}).json()
    assert {"program": scenario.program_id, "name": scenario.program.name} in body["not_simulated"]
    assert body["rows"] == []


def test_every_saved_report_queues_its_own_forecast(owner, early_baseline):
    """The history has a point per report, however it came: the API, a form, a CSV's rows."""
    scenario = early_baseline.scenario
    first = report_midway(owner, scenario, early_baseline, share=0.5, span=0.25)
    second = report_midway(owner, scenario, early_baseline, share=0.5, span=0.5)
    queued = Forecast.objects.filter(baseline=early_baseline)
    assert set(queued.values_list("last_actual", flat=True)) == {first.pk, second.pk}
    assert all(f.status == RunStatus.QUEUED for f in queued)
    # Asking again returns the stored one, never a second row for the same report.
    assert forecast_current(scenario=scenario).last_actual_id == second.pk
    assert queued.count() == 2


def test_spend_stored_in_the_other_currency_is_converted_to_the_plans():
    from types import SimpleNamespace

    from apps.tracking.forecasting import core_actuals

    report = SimpleNamespace(
        date=dt.date(2027, 3, 1),
        tokens_trained=1e9,
        elapsed_days=2.0,
        gpu_hours=10.0,
        interruptions=0,
        loss_spikes=0,
        observed_mfu=None,
        spend={"people": "100.00"},
        spend_currency="USD",  # the program switched to USD after a CNY plan was approved
        stage="main",
        progress=None,
    )
    assert core_actuals(report, "CNY", 7.0).spend == {"people": 700.0}
    assert core_actuals(report, "USD", 7.0).spend == {"people": 100.0}


def test_forecasts_finishing_out_of_order_alert_once(owner, organization, early):
    scenario = early
    first = succeeded_run(owner, scenario)
    finish_p90 = dt.date.fromisoformat(first.result["totals"]["finish_date_p90"])
    Program.objects.filter(pk=scenario.program_id).update(
        alert_threshold=10, deadline=finish_p90 + timedelta(days=3)
    )
    scenario.program.refresh_from_db()
    baseline = baseline_approve(user=owner, scenario=scenario, run=succeeded_run(owner, scenario))
    earlier = report_midway(owner, scenario, baseline, share=0.05, span=3.0)
    later = report_midway(owner, scenario, baseline, share=0.05, span=6.0)
    by_report = {f.last_actual_id: f for f in Forecast.objects.filter(baseline=baseline)}
    # The later report's forecast finishes first and alerts; the earlier one's then does not.
    forecast_execute(forecast_id=by_report[later.pk].pk)
    forecast_execute(forecast_id=by_report[earlier.pk].pk)
    assert Alert.objects.filter(kind="p_miss_deadline").count() == 1
    assert Alert.objects.get(kind="p_miss_deadline").forecast_id == by_report[later.pk].pk


def test_a_late_data_stage_holds_back_the_main_run_and_the_finish(owner, reader, early_baseline):
    # The data mix, planned done on its P50 date, is reported a quarter done on that day: the
    # forecast reads its pace (the share done weighs a quarter against the plan), the main run
    # waits for it, and the program finishes later.
    scenario = early_baseline.scenario
    before = computed(scenario).answer
    data = next(s for s in early_baseline.report["stages"] if s["key"] == "data")
    start = dt.date.fromisoformat(data["start_date_p50"])
    finish = dt.date.fromisoformat(data["finish_date_p50"])
    elapsed = (finish - start).days
    actual_report_create(
        user=owner,
        scenario=scenario,
        data={
            "date": finish.isoformat(),
            "stage": "data",
            "elapsed_days": elapsed,
            "progress": 0.25,
        },
        source="api",
    )
    after = computed(scenario).answer
    rows = {row["key"]: row for row in after["stages"]}
    assert rows["data"]["status"] == "running" and rows["data"]["progress"] == 0.25
    assert rows["data"]["finish_date_p50"] > data["finish_date_p50"]
    assert rows["data"]["finish_days_variance"] > 0
    assert rows["main"]["finish_date_p50"] > main_stage(early_baseline.report)["finish_date_p50"]
    assert after["finish_date_p50"] > before["finish_date_p50"]
    assert after["main_run"]["tokens_trained"] == 0
    assert any(d.startswith("Data mix build: 25% done after") for d in after["drivers"])
    page = reader.get(url(scenario)).json()
    assert [r["key"] for r in page["stages"]][:2] == ["data", "burn_in"]


def test_an_sft_program_without_a_main_run_is_tracked_by_its_stages(owner, organization):
    program = program_create_from_blueprint(
        user=owner, organization=organization, key="sft-7b-10k-instructions"
    )
    scenario = program.scenarios.get()
    Scenario.objects.filter(pk=scenario.pk).update(
        start_date=timezone.localdate() - dt.timedelta(days=100)
    )
    scenario.budget_lines.update(start_date=None)
    scenario.team_lines.update(start_date=None, end_date=None)
    scenario.datasets.update(ready_date=None)
    scenario.refresh_from_db()
    baseline = baseline_approve(user=owner, scenario=scenario, run=succeeded_run(owner, scenario))
    assert computed(scenario).answer["main_run"] is None
    sft = next(s for s in baseline.report["stages"] if s["key"] == "sft")
    day = dt.date.fromisoformat(sft["start_date_p50"]) + timedelta(days=2)
    assert day <= timezone.localdate()
    actual_report_create(
        user=owner,
        scenario=scenario,
        data={"date": day.isoformat(), "stage": "sft", "elapsed_days": 2, "progress": 1},
        source="api",
    )
    after = computed(scenario).answer
    rows = {row["key"]: row for row in after["stages"]}
    assert rows["sft"]["status"] == "done" and rows["sft"]["finish_date_p50"] == day.isoformat()
    assert after["main_run"] is None and after["posterior"] is None
    assert after["observed"]["throughput_tokens_per_day"] is None


def test_withdrawing_the_latest_report_brings_back_the_forecast_before_it(owner, early_baseline):
    scenario = early_baseline.scenario
    first = report_midway(owner, scenario, early_baseline, share=0.9, span=0.3)
    before = computed(scenario)
    assert before.last_actual_id == first.pk
    wrong = report_midway(owner, scenario, early_baseline, share=0.6, span=0.5)
    slow = computed(scenario)
    assert slow.last_actual_id == wrong.pk
    assert slow.answer["main_run"]["finish_date_p50"] > before.answer["main_run"]["finish_date_p50"]
    actual_report_withdraw(user=owner, report=wrong, note="wrong job id")
    back = computed(scenario)
    assert back.pk == before.pk  # the stored forecast of the report before: nothing recomputed
    history = forecast_history(baseline=early_baseline)
    assert wrong.pk not in [h.last_actual_id for h in history]


def test_a_forecast_waits_for_a_free_slot_of_its_organization(
    owner, early_baseline, settings, django_capture_on_commit_callbacks
):
    # Forecasts share the organization's interactive budget with its plan runs (fairness): with
    # one slot held by a run, a report's forecast waits unsent, and goes when the run finishes.
    from unittest import mock

    from apps.runs.services import plan_run_create, plan_run_execute

    settings.ORG_MAX_IN_FLIGHT = 1
    scenario = early_baseline.scenario
    with (
        mock.patch("apps.tracking.tasks.forecast_task.delay") as forecasts,
        mock.patch("apps.runs.tasks.plan_run_task.delay") as runs,
    ):
        with django_capture_on_commit_callbacks(execute=True):
            run = plan_run_create(user=owner, scenario=scenario, trials=100, seed=5)
        assert runs.call_count == 1
        with django_capture_on_commit_callbacks(execute=True):
            row = forecast_current(scenario=scenario)
        assert row is not None
        row.refresh_from_db()
        assert row.dispatched_at is None and forecasts.call_count == 0
        plan_run_execute(run_id=run.pk, worker="test")
        row.refresh_from_db()
        assert row.dispatched_at is not None
        assert forecasts.call_args.args == (row.pk,)
