"""Dated lines in the workspace (issue 14): a GPU line cannot start before the scenario, a moved
start date that would leave a line before it is refused naming the line, and a dataset's ready
date is entered in the data tab and reaches the core."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from apps.common.errors import ApplicationError
from apps.programs import services
from apps.programs.models import GPUType
from apps.programs.plan_adapter import scenario_plan

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def _gpu_line(start: str) -> dict:
    return {
        "version": 1,
        "purpose": "experiments",
        "gpu_type": GPUType.objects.get(key="h100-80gb").pk,
        "gpu_count": 8,
        "mode": "rent",
        "start_date": start,
        "months": "2",
        "delivery_risk": "standard",
        "reliability_class": "standard",
        "checkpoint_storage_gbps": "20",
    }


def test_a_gpu_line_before_the_scenario_start_is_refused_naming_its_start(owner_client, scenario):
    assert scenario.start_date == dt.date(2027, 1, 4)
    add = reverse("programs:line_add", args=[scenario.pk, "gpus"])
    body = owner_client.post(add, _gpu_line("2026-12-01"), **HTMX).content.decode()
    assert "Starts before the scenario" in body
    assert scenario.budget_lines.count() == 1
    owner_client.post(add, _gpu_line("2027-02-01"), **HTMX)
    assert scenario.budget_lines.count() == 2
    pools = scenario_plan(scenario).clusters
    assert [p.start_date for p in pools] == [dt.date(2027, 2, 1), dt.date(2027, 2, 1)]


def test_moving_the_scenario_start_past_a_line_is_refused_naming_the_line(owner, scenario):
    with pytest.raises(ApplicationError) as caught:
        services.scenario_update(
            user=owner,
            scenario=scenario,
            expected_version=1,
            values={"start_date": dt.date(2027, 3, 1)},
        )
    assert "GPU budget line 1 start_date" in caught.value.message
    scenario.refresh_from_db()
    assert scenario.start_date == dt.date(2027, 1, 4) and scenario.version == 1


def test_a_dataset_ready_date_is_entered_in_the_data_tab_and_reaches_the_core(
    owner_client, scenario
):
    add = reverse("programs:line_add", args=[scenario.pk, "data"])
    response = owner_client.post(
        add,
        {
            "version": 1,
            "name": "Court judgments",
            "tokens": "12B",
            "stage": "pretrain",
            "kind": "domain",
            "language": "zh",
            "source": "other",
            "licence": "cleared",
            "quality": "high",
            "cleaning": "cleaned",
            "cost": "0",
            "ready_date": "2027-04-15",
        },
        **HTMX,
    )
    assert response.status_code == 200
    dataset = scenario.datasets.get()
    assert dataset.ready_date == dt.date(2027, 4, 15)
    [parsed] = scenario_plan(scenario).data
    assert parsed.ready_date == dt.date(2027, 4, 15)
    page = owner_client.get(reverse("programs:scenario_tab", args=[scenario.pk, "data"]))
    assert "Ready on" in page.content.decode()


def test_the_overview_gpu_rent_is_what_the_run_pays_for_the_booked_windows(owner, organization):
    """Issue 14: the Overview said 477K of GPU rent and the run 312K; now both are the windows."""
    from apps.programs.plan_adapter import scenario_to_plan_dict
    from apps.programs.selectors import scenario_summary
    from apps.programs.services import program_create_from_blueprint
    from llmplanner.simulation.report import run_plan

    program = program_create_from_blueprint(
        user=owner, organization=organization, key="cpt-7b-domain"
    )
    scenario = program.scenarios.get()
    out = run_plan(scenario_to_plan_dict(scenario), trials=200, seed=0)
    booked = sum(p["window_cost"]["p50"] for p in out["pools"])
    assert len(out["pools"]) == scenario.budget_lines.count() == 2
    assert float(scenario_summary(scenario=scenario).gpu_line_cost) == pytest.approx(booked, abs=1)
    extension = sum(p["extension_cost"]["p50"] for p in out["pools"])
    gpu = out["totals"]["cost_by_category"]["gpu_compute"]["p50"]
    assert gpu == pytest.approx(booked + extension, rel=1e-6)
