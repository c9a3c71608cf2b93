from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from apps.accounts.models import User
from apps.programs.models import Scenario
from apps.runs.models import PlanRun, RunStatus, Sweep


def plan_run_list(*, user: User) -> QuerySet[PlanRun]:
    """Runs of the organizations the user belongs to (a 404 for everyone else's)."""
    return PlanRun.objects.filter(organization__memberships__user=user).select_related(
        "scenario__program", "created_by"
    )


def plan_run_get(*, user: User, run_id: int) -> PlanRun:
    return get_object_or_404(plan_run_list(user=user), pk=run_id)


def plan_run_latest(*, scenario: Scenario) -> PlanRun | None:
    """The scenario's latest successful run — what its dashboard shows."""
    return (
        PlanRun.objects.filter(scenario=scenario, status=RunStatus.SUCCEEDED)
        .order_by("-created_at", "-id")
        .first()
    )


def plan_run_recent(*, scenario: Scenario, limit: int = 10) -> list[PlanRun]:
    return list(
        PlanRun.objects.filter(scenario=scenario)
        .defer("result", "inputs")
        .order_by("-created_at", "-id")[:limit]
    )


def sweep_get(*, user: User, sweep_id: int) -> Sweep:
    return get_object_or_404(
        Sweep.objects.filter(organization__memberships__user=user).select_related(
            "scenario__program"
        ),
        pk=sweep_id,
    )
