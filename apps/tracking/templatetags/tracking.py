"""Tags of tracking: ``{% run_approval run as approval %}`` (the latest approval of a run, or
None: the badge on its dashboard), ``{% scenario_alerts scenario as alerts %}`` (the
probabilities of its latest forecast above its program's alert threshold: the banner) and a
report's spend by category and in total."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from apps.programs.models import Scenario
from apps.runs.figure_style import category_label
from apps.runs.models import PlanRun
from apps.tracking.dashboard import spend_total as report_spend_total
from apps.tracking.forecasting import alerts_active
from apps.tracking.models import ActualReport, ApprovedBaseline
from apps.tracking.selectors import baseline_of_run
from llmplanner.simulation.program import CATEGORIES

register = template.Library()


@register.simple_tag
def run_approval(run: PlanRun) -> ApprovedBaseline | None:
    return baseline_of_run(run=run)


@register.simple_tag
def scenario_alerts(scenario: Scenario) -> list[dict[str, Any]]:
    return alerts_active(scenario=scenario)


@register.filter
def spend_lines(report: ActualReport) -> list[tuple[str, str]]:
    """A report's spend as (category in the active language, amount), in the core's order."""
    return [(category_label(c), report.spend[c]) for c in CATEGORIES if c in report.spend]


@register.filter
def spend_total(report: ActualReport) -> Decimal:
    return report_spend_total(report)
