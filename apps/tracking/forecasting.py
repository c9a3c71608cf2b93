"""The re-forecast of a scenario in execution: its approved baseline and actual reports handed to
the core (``llmplanner.simulation.forecast``), and the core's answer shaped for the API and the
tracking page.

The core simulates the approved inputs again with the approved run's trials and seed (the same
worlds as the approved report), conditions the main run on the last report and re-simulates what
follows; money reported as spent is fact. Money leaves here as decimal strings in the program's
currency (the reports store it so, ``ActualReport.spend``).
"""

from __future__ import annotations

import datetime as dt
import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone
from kombu.exceptions import KombuError

from apps.api.money import convert
from apps.api.money import money as api_money
from apps.common.health import broker_status_forget
from apps.programs.models import Scenario
from apps.runs.fairness import org_dispatch
from apps.runs.models import RunStatus
from apps.tracking.models import ActualReport, Alert, AlertKind, ApprovedBaseline, Forecast
from apps.tracking.selectors import actuals_for, baseline_current
from llmplanner.simulation.errors import ValidationError
from llmplanner.simulation.forecast import Actuals, forecast
from llmplanner.simulation.planspec import parse_plan
from llmplanner.simulation.program import CATEGORIES

logger = logging.getLogger(__name__)

# A forecast not started this long after it was queued (its message lost, the broker down) is
# sent again by the sweeper; one running without finishing this long is retried, at most
# ``MAX_ATTEMPTS`` times.
RESEND_AFTER = timedelta(minutes=2)
STALE_MARGIN = timedelta(minutes=2)  # beyond the task's own time limit
MAX_ATTEMPTS = 3


def money(value: float) -> str:
    """A decimal string rounded to the cent, as every amount of the API (``apps.api.money``)."""
    return api_money(value, "")["amount"]


def core_actuals(report: Any, currency: str | None = None, usd_to_cny: float = 7.2) -> Actuals:
    """An ``ActualReport`` as the core reads it: spend as floats in ``currency`` (the approved
    plan's), converted at the plan's rate when the report was stored in the other one (the
    program's currency changed after the approval)."""
    stored = getattr(report, "spend_currency", None) or currency
    return Actuals(
        date=report.date,
        tokens_trained=float(report.tokens_trained),
        elapsed_days=float(report.elapsed_days),
        gpu_hours=float(report.gpu_hours),
        interruptions=int(report.interruptions),
        loss_spikes=int(report.loss_spikes),
        observed_mfu=float(report.observed_mfu) if report.observed_mfu is not None else None,
        stage=report.stage,
        progress=float(report.progress) if report.progress is not None else None,
        spend={
            c: convert(float(Decimal(str(v))), stored, currency or stored, usd_to_cny)
            for c, v in (report.spend or {}).items()
        },
    )


def first_day(baseline_inputs: dict[str, Any], approved_on: dt.date) -> dt.date:
    """Before any report, the forecast's day: the plan's start day (its own, or its lines'
    earliest date; the approval day when it has none — the core then refuses it by name)."""
    return parse_plan(baseline_inputs).start_date or approved_on


def latest_by_stage(reports: list[ActualReport], last: ActualReport) -> list[ActualReport]:
    """Of ``reports`` (oldest first) up to ``last``, each stage's latest, oldest first."""
    end = next(i for i, r in enumerate(reports) if r.pk == last.pk)
    by_stage: dict[str, ActualReport] = {}
    for report in reports[: end + 1]:
        by_stage.pop(report.stage, None)
        by_stage[report.stage] = report
    return list(by_stage.values())


def _stage(report: dict[str, Any], key: str) -> dict[str, Any]:
    return next((s for s in report.get("stages") or [] if s.get("key") == key), {})


def baseline_figures(report: dict[str, Any], tokens: float | None) -> dict[str, Any]:
    """What the approved report promised (the API's ``baseline`` object)."""
    totals = report["totals"]
    main = _stage(report, "main")
    return {
        "finish_date_p50": totals.get("finish_date_p50"),
        "finish_date_p90": totals.get("finish_date_p90"),
        "finish_days_p50": totals["finish_days"]["p50"],
        "cost_p50": money(totals["cost"]["p50"]),
        "cost_p90": money(totals["cost"]["p90"]),
        "main_start_date_p50": main.get("start_date_p50"),
        "main_finish_date_p50": main.get("finish_date_p50"),
        "tokens": tokens,
        "p_miss_deadline": totals.get("p_miss_deadline"),
        "p_over_budget": totals.get("p_over_budget"),
    }


def answer(result: dict[str, Any], approved: dict[str, Any]) -> dict[str, Any]:
    """The forecast as ``GET /api/v1/scenarios/<id>/forecast/`` answers it: the core's result
    against the approved report. Variances are forecast P50 − approved P50."""
    totals = approved["totals"]
    main, posterior = result.get("main"), result.get("posterior")
    by_category = {
        c: money(
            result["cost_by_category"][c]["p50"]
            - (totals.get("cost_by_category") or {}).get(c, {}).get("p50", 0.0)
        )
        for c in CATEGORIES
    }
    return {
        "as_of": result["as_of"],
        "currency": result["currency"],
        "baseline": baseline_figures(approved, main["tokens"] if main else None),
        "finish_date_p50": result["finish_date_p50"],
        "finish_date_p90": result["finish_date_p90"],
        "cost_p50": money(result["cost"]["p50"]),
        "cost_p90": money(result["cost"]["p90"]),
        "p_miss_deadline": result["p_miss_deadline"],
        "p_over_budget": result["p_over_budget"],
        "observed": {
            "throughput_tokens_per_day": result["observed"]["throughput_tokens_per_day"],
            "effective_training_time": result["observed"]["effective_training_time"],
            "interruptions_per_day": result["observed"]["interruptions_per_day"],
            "loss_spikes_per_day": result["observed"]["loss_spikes_per_day"],
            "observed_mfu": result["observed"]["observed_mfu"],
        },
        "variance": {
            "finish_days": round(result["finish_days"]["p50"] - totals["finish_days"]["p50"], 1),
            "cost": money(result["cost"]["p50"] - totals["cost"]["p50"]),
            "by_category": by_category,
        },
        "estimate_at_completion": money(result["cost"]["p50"]),
        "estimate_at_completion_p90": money(result["cost"]["p90"]),
        "cost_to_complete": money(result["cost_to_complete"]["p50"]),
        "spent_to_date": money(result["spent_total"]),
        "spent_from_plan": result["spent_from_plan"],
        "main_run": {
            "tokens_trained": main["tokens_trained"],
            "remaining_tokens": main["remaining_tokens"],
            "finish_date_p50": main["finish_date_p50"],
            "finish_date_p90": main["finish_date_p90"],
        }
        if main
        else None,
        "posterior": {
            "throughput_multiplier": posterior["raw_multiplier"],
            "data_weight": posterior["data_weight"],
            "failures_per_day": posterior["failures_per_day"],
        }
        if posterior
        else None,
        "stages": [
            {
                "key": row["key"],
                "name": row["name"],
                "status": row["status"],
                "progress": row["progress"],
                "reported_on": row["reported_on"],
                "planned_finish_date_p50": row["planned_finish_date_p50"],
                "finish_date_p50": row["finish_date_p50"],
                "finish_date_p90": row["finish_date_p90"],
                "finish_days_variance": round(
                    row["finish_days_p50"] - row["planned_finish_days_p50"], 1
                ),
            }
            for row in result.get("stages") or []
        ],
        "drivers": [d["text"] for d in result["drivers"]],
    }


# ---- the stored forecasts ------------------------------------------------------------------


def forecast_current(*, scenario: Scenario) -> Forecast | None:
    """The scenario's forecast as of its last report under its current baseline: the stored one,
    or a new one queued for a worker. None when nothing is approved."""
    baseline = baseline_current(scenario=scenario)
    if baseline is None:
        return None
    reports = actuals_for(baseline, stage=None)
    return forecast_queue(baseline=baseline, last_actual=reports[-1] if reports else None)


def forecast_queue(*, baseline: ApprovedBaseline, last_actual: ActualReport | None) -> Forecast:
    """The forecast of ``baseline`` as of ``last_actual``: the stored one, or a new one sent to
    a worker once the transaction commits. Every report saved by the API or the form queues
    its own, a CSV upload one for its last row: the history has a point per report or upload."""
    found = Forecast.objects.filter(baseline=baseline, last_actual=last_actual).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            made = Forecast.objects.create(
                organization=baseline.organization,
                scenario=baseline.scenario,
                baseline=baseline,
                last_actual=last_actual,
            )
            # It joins the organization's queue (``apps.runs.fairness``): sent at once when a
            # slot is free, else when one of its runs or forecasts finishes.
            organization_id = baseline.organization_id
            transaction.on_commit(lambda: org_dispatch(organization_id=organization_id))
    except IntegrityError:  # another request queued the same one a moment ago
        return Forecast.objects.get(baseline=baseline, last_actual=last_actual)
    return made


def forecast_send(*, forecast_id: int) -> bool:
    """Publish the forecast's task (the dispatcher, ``apps.runs.fairness.org_dispatch``, has
    marked it ``dispatched_at``); False when the broker is down — the sweeper sends it again
    after ``RESEND_AFTER``."""
    from apps.tracking.tasks import forecast_task  # tasks import this module

    try:
        forecast_task.delay(forecast_id)
    except (KombuError, OSError) as exc:
        logger.warning("forecast %s not sent, broker unreachable: %s", forecast_id, exc)
        broker_status_forget()
        return False
    return True


def _actuals(forecast_row: Forecast) -> tuple[list[Actuals], dt.date | None]:
    """The core's reports for a forecast — each stage's latest up to its last report — or, before
    any report, none and the day to forecast from."""
    baseline = forecast_row.baseline
    last = forecast_row.last_actual
    if last is None:
        return [], first_day(baseline.inputs, timezone.localdate(baseline.approved_at))
    plan = baseline.report["plan"]
    rate = float(plan.get("usd_to_cny") or 7.2)
    reports = latest_by_stage(actuals_for(baseline, stage=None), last)
    return [core_actuals(r, plan["currency"], rate) for r in reports], None


def forecast_execute(*, forecast_id: int, worker: str = "") -> Forecast | None:
    """Compute one forecast on a worker (claimed with a conditional UPDATE: a duplicate message
    does nothing), then raise its alerts."""
    now = timezone.now()
    claimed = Forecast.objects.filter(pk=forecast_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING,
        started_at=now,
        worker=worker[:200],
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    if not claimed:
        return None
    row = Forecast.objects.select_related("baseline__run", "last_actual", "scenario").get(
        pk=forecast_id
    )
    baseline = row.baseline
    try:
        reports, as_of = _actuals(row)
        result = forecast(
            baseline.inputs,
            reports,
            as_of=as_of,
            trials=baseline.run.trials,
            seed=baseline.run.seed,
        )
        shaped = answer(result, baseline.report)
    except ValidationError as exc:
        row = _finish(row, error=f"{exc.field}: {exc.message}")
        org_dispatch(organization_id=row.organization_id)
        return row
    except Exception:  # a bug must not leave the row running forever
        logger.exception("forecast %s failed", forecast_id)
        row = _finish(
            row,
            error=f"The forecast could not be computed (an error on our side, logged as "
            f"forecast {row.pk}); the next report will try again.",
        )
        org_dispatch(organization_id=row.organization_id)
        return row
    with transaction.atomic():  # the answer and its alerts together, or neither
        row = _finish(row, result=result, shaped=shaped)
        alerts_raise(forecast_row=row)
    org_dispatch(organization_id=row.organization_id)  # a slot is free: the next job goes
    return row


def _finish(
    row: Forecast,
    *,
    result: dict[str, Any] | None = None,
    shaped: dict[str, Any] | None = None,
    error: str = "",
) -> Forecast:
    row.result, row.answer, row.error = result, shaped, error
    row.status = RunStatus.SUCCEEDED if result is not None else RunStatus.FAILED
    row.finished_at = timezone.now()
    row.save(update_fields=["result", "answer", "error", "status", "finished_at", "updated_at"])
    return row


def forecasts_sweep_stale() -> dict[str, int]:
    """Periodic: send again forecasts whose message was lost; retry ones whose worker died,
    failing them after ``MAX_ATTEMPTS``."""
    now = timezone.now()
    resent = 0
    # Sent but never started (the message lost, the broker down when it was published). One
    # not sent yet waits in its organization's queue: ``org_dispatch_all`` sends it.
    lost = Forecast.objects.filter(dispatched_at__lt=now - RESEND_AFTER, status=RunStatus.QUEUED)
    for pk in lost.values_list("pk", flat=True)[:100]:
        resent += forecast_send(forecast_id=pk)
    stale_after = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT) + STALE_MARGIN
    stale = Forecast.objects.filter(status=RunStatus.RUNNING, started_at__lt=now - stale_after)
    failed = stale.filter(attempts__gte=MAX_ATTEMPTS).update(
        status=RunStatus.FAILED, error="worker lost", finished_at=now, updated_at=now
    )
    requeued = stale.filter(attempts__lt=MAX_ATTEMPTS).update(
        status=RunStatus.QUEUED, updated_at=now
    )
    return {"resent": resent, "failed": failed, "requeued": requeued}


def forecast_history(*, baseline: ApprovedBaseline) -> list[Forecast]:
    """The baseline's succeeded forecasts, oldest report first (one per report; not the ones
    of a withdrawn report)."""
    # The history plots each forecast's answer; the full result is read for one forecast only.
    rows = (
        Forecast.objects.filter(baseline=baseline, status=RunStatus.SUCCEEDED)
        .exclude(last_actual__withdrawn_at__isnull=False)
        .select_related("last_actual")
        .defer("result")
    )
    return sorted(rows, key=forecast_order)


def forecast_order(row: Forecast) -> tuple[bool, dt.date, int]:
    """Where a forecast sits in its baseline's history: by its report's date, then id; the one
    before any report first."""
    last = row.last_actual
    return (last is not None, last.date if last else dt.date.min, row.last_actual_id or 0)


# ---- alerts --------------------------------------------------------------------------------


def _previous_value(row: Forecast, kind: str) -> float | None:
    """What the last forecast before this one said (by report), else the approved report."""
    earlier = [f for f in forecast_history(baseline=row.baseline) if f.pk != row.pk]
    if row.last_actual is not None:
        earlier = [
            f
            for f in earlier
            if f.last_actual is None
            or (f.last_actual.date, f.last_actual_id) < (row.last_actual.date, row.last_actual_id)
        ]
    if earlier:
        return (earlier[-1].answer or {}).get(kind)
    return row.baseline.report["totals"].get(kind)


def alerts_raise(*, forecast_row: Forecast) -> list[Alert]:
    """An alert for each probability the forecast moved above the program's threshold (from at
    or below it), posted to the organization's ``forecast.alert`` webhooks."""
    from apps.webhooks.services import webhook_emit

    if forecast_row.answer is None:
        return []
    # Only the forecast of the baseline's latest report decides a crossing, under a lock on the
    # scenario: forecasts of a CSV's rows finishing out of order, or a report back-filled between
    # two others, never alert a second time for one crossing.
    Scenario.objects.select_for_update().filter(pk=forecast_row.scenario_id).first()
    reports = actuals_for(forecast_row.baseline, stage=None)
    latest_id = reports[-1].pk if reports else None
    if forecast_row.last_actual_id != latest_id:
        return []
    program = forecast_row.scenario.program
    threshold = program.alert_threshold / 100
    made = []
    for kind in AlertKind.values:
        value = forecast_row.answer.get(kind)
        if value is None or value <= threshold:
            continue
        previous = _previous_value(forecast_row, kind)
        if previous is not None and previous > threshold:
            continue  # already above: alerted when it crossed
        with transaction.atomic():
            alert, created = Alert.objects.get_or_create(
                forecast=forecast_row,
                kind=kind,
                defaults={
                    "organization": forecast_row.organization,
                    "scenario": forecast_row.scenario,
                    "value": value,
                    "previous": previous,
                    "threshold": threshold,
                },
            )
            if created:
                webhook_emit(
                    organization=forecast_row.organization,
                    event="forecast.alert",
                    payload=alert_payload(alert),
                )
                made.append(alert)
    return made


def alert_payload(alert: Alert) -> dict[str, Any]:
    forecast_row = alert.forecast
    scenario = alert.scenario
    answer_ = forecast_row.answer or {}
    return {
        "program": {"id": scenario.program_id, "name": scenario.program.name},
        "scenario": {"id": scenario.pk, "name": scenario.name},
        "kind": alert.kind,
        "value": alert.value,
        "previous": alert.previous,
        "threshold": alert.threshold,
        "as_of": answer_.get("as_of"),
        "finish_date_p50": answer_.get("finish_date_p50"),
        "finish_date_p90": answer_.get("finish_date_p90"),
        "estimate_at_completion": answer_.get("estimate_at_completion"),
        "currency": answer_.get("currency"),
        "forecast": f"/api/v1/scenarios/{scenario.pk}/forecast/",
    }


def alerts_active(*, scenario: Scenario) -> list[dict[str, Any]]:
    """The probabilities above the program's threshold in the scenario's latest succeeded
    forecast under its current baseline: what the run page and the Tracking page show."""
    return alerts_by_scenario({scenario.pk: scenario.program.alert_threshold}).get(scenario.pk, [])


def alerts_by_scenario(thresholds: dict[int, int]) -> dict[int, list[dict[str, Any]]]:
    """``alerts_active`` of many scenarios (id → its program's threshold in percent) in two
    queries, whatever their number (the portfolio's): each current baseline's latest succeeded
    forecast (``forecast_order``) found by a subquery, then only those answers read."""
    latest_forecast = (
        Forecast.objects.filter(baseline=OuterRef("pk"), status=RunStatus.SUCCEEDED)
        .exclude(last_actual__withdrawn_at__isnull=False)
        .order_by(
            F("last_actual__date").desc(nulls_last=True), F("last_actual_id").desc(nulls_last=True)
        )
        .values("pk")[:1]
    )
    current = dict(
        ApprovedBaseline.objects.filter(scenario__in=list(thresholds), successor__isnull=True)
        .annotate(latest=Subquery(latest_forecast))
        .exclude(latest=None)
        .values_list("latest", "scenario_id")
    )
    answers = Forecast.objects.filter(pk__in=list(current)).values_list("pk", "answer")
    out: dict[int, list[dict[str, Any]]] = {}
    for forecast_id, answer_ in answers:
        answer_ = answer_ or {}
        scenario_id = current[forecast_id]
        threshold = thresholds[scenario_id] / 100
        found = [
            {
                "kind": kind,
                "label": AlertKind(kind).label,
                "value": answer_[kind],
                "threshold": threshold,
                "as_of": answer_.get("as_of"),
            }
            for kind in AlertKind.values
            if answer_.get(kind) is not None and answer_[kind] > threshold
        ]
        if found:
            out[scenario_id] = found
    return out
