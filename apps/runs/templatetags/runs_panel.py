"""``{% scenario_runs_panel scenario %}``: the scenario page's link to its simulation runs."""

from __future__ import annotations

from typing import Any

from django import template

from apps.programs.selectors import can_edit
from apps.runs.selectors import plan_run_latest, plan_run_recent
from llmplanner.simulation.hardware import CATALOG

register = template.Library()


@register.inclusion_tag("runs/_scenario_runs_panel.html", takes_context=True)
def scenario_runs_panel(context: dict[str, Any], scenario: Any) -> dict[str, Any]:
    request = context["request"]
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "scenario": scenario,
        "latest": plan_run_latest(scenario=scenario),
        "last": next(iter(plan_run_recent(scenario=scenario, limit=1)), None),
        "can_edit": can_edit(user=request.user, organization=scenario.program.organization),
        "sweep_gpu_choices": [(g.key, g.name) for g in CATALOG],
    }
