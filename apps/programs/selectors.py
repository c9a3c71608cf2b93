"""Reads of programs and scenarios, always scoped to the requesting user's organizations:
an object of another organization is a 404, never a 403 (its existence is not revealed)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Model, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from apps.accounts.models import Organization, User
from apps.accounts.selectors import membership_get
from apps.programs import rules
from apps.programs.findings import ShownFinding, by_path
from apps.programs.models import (
    Dataset,
    GPUBudgetLine,
    GPUType,
    ModelPreset,
    Program,
    Purpose,
    RoleTemplate,
    Scenario,
    ScenarioActivity,
    TeamLine,
)
from apps.programs.plan_adapter import main_budget_line, scenario_to_plan_dict

HOURS_PER_MONTH = 365.25 * 24 / 12


def program_list(*, user: User, archived: bool = False) -> QuerySet[Program]:
    """Programs of the user's organizations, active ones (or only archived ones)."""
    return (
        Program.objects.filter(
            organization__memberships__user=user, archived_at__isnull=not archived
        )
        .select_related("organization")
        .annotate(scenario_count=Count("scenarios", filter=Q(scenarios__archived_at__isnull=True)))
    )


def program_get(*, user: User, program_id: int) -> Program:
    return get_object_or_404(
        Program.objects.filter(organization__memberships__user=user).select_related("organization"),
        pk=program_id,
    )


def scenario_list(*, program: Program, archived: bool = False) -> QuerySet[Scenario]:
    return program.scenarios.filter(archived_at__isnull=not archived).select_related("model_preset")


def scenario_get(*, user: User, scenario_id: int) -> Scenario:
    return get_object_or_404(
        Scenario.objects.filter(program__organization__memberships__user=user).select_related(
            "program__organization", "model_preset"
        ),
        pk=scenario_id,
    )


LINE_QUERIES: dict[str, tuple[type[Model], str, tuple[str, ...]]] = {
    "gpus": (GPUBudgetLine, "budget_lines", ("gpu_type",)),
    "team": (TeamLine, "team_lines", ("role",)),
    "data": (Dataset, "datasets", ()),
}


def line_list(*, scenario: Scenario, kind: str) -> QuerySet[Any]:
    if kind not in LINE_QUERIES:
        raise Http404
    _, related, joins = LINE_QUERIES[kind]
    rows = getattr(scenario, related).all()
    return rows.select_related(*joins) if joins else rows


def line_totals(*, scenario: Scenario, kind: str) -> dict[str, Any] | None:
    """The footer of a team or data table: the team's people and monthly cost (headcount × monthly
    cost × allocation, as the core costs it), the inventory's tokens and cost; None for GPU
    lines (pools of different parts and windows do not add up)."""
    if kind == "team":
        lines = list(line_list(scenario=scenario, kind=kind))
        return {
            "lines": len(lines),
            "headcount": sum((line.headcount for line in lines), Decimal(0)),
            "monthly_cost": sum(
                (
                    line.headcount * line.effective_monthly_cost() * line.allocation_pct / 100
                    for line in lines
                ),
                Decimal(0),
            ),
        }
    if kind == "data":
        lines = list(line_list(scenario=scenario, kind=kind))
        return {
            "lines": len(lines),
            "tokens": sum(line.tokens for line in lines),
            "cost": sum((line.cost or Decimal(0) for line in lines), Decimal(0)),
        }
    return None


def line_get(*, scenario: Scenario, kind: str, line_id: int) -> Any:
    """A line of a scenario the caller already fetched with ``scenario_get`` (so: scoped)."""
    line = get_object_or_404(line_list(scenario=scenario, kind=kind), pk=line_id)
    line.scenario = scenario  # reuse the scoped, joined scenario
    return line


def can_edit(*, user: User, organization: Organization) -> bool:
    membership = membership_get(user=user, organization=organization)
    return membership is not None and membership.can_edit


def activity_list(*, scenario: Scenario) -> QuerySet[ScenarioActivity]:
    return scenario.activities.select_related("actor")


def gpu_type_list() -> QuerySet[GPUType]:
    return GPUType.objects.filter(is_active=True)


def role_template_list() -> QuerySet[RoleTemplate]:
    return RoleTemplate.objects.filter(is_active=True)


def model_preset_list() -> QuerySet[ModelPreset]:
    return ModelPreset.objects.filter(is_active=True)


def scenario_findings(*, scenario: Scenario) -> dict[str, list[ShownFinding]]:
    """Everything the domain rules say about the scenario, keyed by field path.

    Paths: plan fields (``training.tokens``, ``team``, ``data.pretrain``) and lines
    (``data.<id>.licence``, ``gpus.<id>.months``, ``gpus``). Key ``""`` lists all of them.
    """
    plan = scenario_to_plan_dict(scenario)
    found = rules.check_plan(plan)
    dataset_ids = list(scenario.datasets.values_list("pk", flat=True))
    remapped = []
    for finding in found:
        parts = finding.path.split(".")
        if parts[0] == "data" and len(parts) == 3 and parts[1].isdigit():
            parts[1] = str(dataset_ids[int(parts[1])])
            finding = rules.Finding(finding.rule, ".".join(parts), finding.params)
        remapped.append(finding)
    lines = list(scenario.budget_lines.select_related("gpu_type"))
    for line in lines:
        late = rules.check_deadline(line.start_date, float(line.months), scenario.program.deadline)
        if late:
            remapped.append(rules.Finding(late.rule, f"gpus.{line.pk}.months", late.params))
    training_purposes = {
        "from_scratch": Purpose.TRAINING,
        "cpt": Purpose.TRAINING,
        "sft": Purpose.SFT,
    }
    wanted = training_purposes.get(scenario.strategy)
    if wanted and not any(line.purpose in (wanted, Purpose.TRAINING) for line in lines):
        remapped.append(rules.Finding("no_training_gpus", "gpus"))
    return by_path(remapped)


@dataclass(frozen=True)
class ScenarioSummary:
    """Sums of the scenario's inputs (not a simulation): what is budgeted, in the currency."""

    currency: str
    chain: list[str]
    main_line: GPUBudgetLine | None
    gpu_lines: int
    budgeted_gpu_hours: float
    gpu_line_cost: Decimal
    headcount: Decimal
    team_monthly_cost: Decimal
    data_tokens: dict[str, int]
    data_cost: Decimal


def scenario_summary(*, scenario: Scenario) -> ScenarioSummary:
    lines = list(scenario.budget_lines.select_related("gpu_type"))
    rented = [line for line in lines if line.mode == "rent"]
    hours = sum(line.gpu_count * float(line.months) * HOURS_PER_MONTH for line in lines)
    cost = sum(
        (
            line.effective_price()
            * line.gpu_count
            * line.months
            * Decimal(str(round(HOURS_PER_MONTH, 2)))
            for line in rented
        ),
        Decimal(0),
    )
    team = list(scenario.team_lines.select_related("role"))
    data_tokens: dict[str, int] = {}
    data_cost = Decimal(0)
    for d in scenario.datasets.all():
        data_tokens[d.stage] = data_tokens.get(d.stage, 0) + d.tokens
        data_cost += d.cost
    return ScenarioSummary(
        currency=scenario.program.currency,
        chain=scenario.stage_chain(),
        main_line=main_budget_line(scenario, lines),
        gpu_lines=len(lines),
        budgeted_gpu_hours=hours,
        gpu_line_cost=cost.quantize(Decimal(1)),
        headcount=sum((t.headcount for t in team), Decimal(0)),
        team_monthly_cost=sum(
            (t.headcount * t.effective_monthly_cost() * t.allocation_pct / 100 for t in team),
            Decimal(0),
        ).quantize(Decimal(1)),
        data_tokens=data_tokens,
        data_cost=data_cost,
    )
