"""Reads of approved baselines and actuals.

Scoping: the pages and the API fetch the scenario (or run) through their own scoped selectors
first (``apps.programs.selectors.scenario_get``, ``apps.api.access``), so another
organization's is a 404 before anything here runs; these then read that scenario's rows.

The hook for the forecast: ``baseline_current(scenario)`` is the plan being executed,
``actuals_for(baseline)`` what has happened since, oldest first.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.utils import timezone

from apps.programs.models import Scenario
from apps.runs.models import PlanRun
from apps.tracking.models import ActualReport, ApprovedBaseline

MAIN_STAGE = "main"


def baseline_list(*, scenario: Scenario) -> QuerySet[ApprovedBaseline]:
    """Every baseline the scenario had, newest approval first (each knows its successor)."""
    return (
        ApprovedBaseline.objects.filter(scenario=scenario)
        .select_related("successor", "run")
        .order_by("-approved_at", "-id")
    )


def baseline_current(*, scenario: Scenario) -> ApprovedBaseline | None:
    """The scenario's approved baseline in force (the one no later approval superseded), or
    None when nothing has been approved."""
    return (
        ApprovedBaseline.objects.filter(scenario=scenario, successor__isnull=True)
        .select_related("run")
        .first()
    )


def baseline_of_run(*, run: PlanRun) -> ApprovedBaseline | None:
    """The latest approval of ``run`` (current or superseded), or None if it was never approved:
    what the run's dashboard badge and its PDF say."""
    return (
        ApprovedBaseline.objects.filter(run=run)
        .select_related("successor")
        .order_by("-approved_at", "-id")
        .first()
    )


def baseline_start(baseline: ApprovedBaseline) -> dt.date:
    """The first date a report may carry: the approved plan's start date when it has one, else
    the day it was approved (in the site's time zone)."""
    start = (baseline.inputs or {}).get("start_date")
    if start:
        return dt.date.fromisoformat(start)
    return timezone.localdate(baseline.approved_at)


def actual_report_list(*, scenario: Scenario) -> QuerySet[ActualReport]:
    """The scenario's reports by date, then in the order they were posted; withdrawn ones too
    (``withdrawn_at``), for the record."""
    return (
        ActualReport.objects.filter(scenario=scenario)
        .select_related("created_by")
        .order_by("date", "created_at", "id")
    )


def actuals_for(
    baseline: ApprovedBaseline, *, stage: str | None = MAIN_STAGE
) -> list[ActualReport]:
    """The reports of ``stage`` (the main run's; None: every stage's) to compare with
    ``baseline``, oldest first (by date, then the order they were posted).

    All of the scenario's reports, whichever baseline was current when each was posted
    (``report.baseline``): a re-approval re-plans the same training, whose cumulative figures
    carry on. Every figure is cumulative from its stage's start (tokens, GPU-hours,
    interruptions, loss spikes; spend per category, the program's, in
    ``report.spend_currency``), so the last report of a stage alone says where it stands; a
    spend category a report leaves out was not reported that day. A withdrawn report is not
    read.
    """
    reports = ActualReport.objects.filter(scenario_id=baseline.scenario_id, withdrawn_at=None)
    if stage is not None:
        reports = reports.filter(stage=stage)
    return list(reports.order_by("date", "created_at", "id"))


def run_for_approval(*, scenario: Scenario, run_id: int) -> PlanRun | None:
    """The run ``run_id`` of the scenario's organization, or None (another organization's run is
    as unknown as a missing one); ``baseline_approve`` says whether it may be approved."""
    return PlanRun.objects.filter(
        organization_id=scenario.program.organization_id, pk=run_id
    ).first()
