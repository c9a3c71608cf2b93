"""Dates of a plan stay within 2000-01-01 … 2099-12-31, the simulation core's window: a GPU line
starting ``0001-01-01`` was accepted (and only the core, much later, could say why the plan
broke). Refused by the model fields' validator, so the web forms, the API and the JSON/YAML
import all name the field."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from apps.accounts.services import api_token_create
from apps.programs import rules
from apps.programs.documents import DocumentError, document_dump, document_parse, scenario_document
from apps.programs.forms import (
    DatasetForm,
    GPUBudgetLineForm,
    ProgramForm,
    StrategyForm,
    TeamLineForm,
)
from apps.programs.models import RoleTemplate
from apps.programs.services import program_create_from_blueprint
from llmplanner.simulation import planspec
from tests.programs.test_forms import gpu_data, strategy_data
from tests.security.test_hostile_common import snapshot

pytestmark = pytest.mark.django_db

OUTSIDE = ["0001-01-01", "1999-12-31", "2100-01-01", "9999-12-31"]
WINDOW_MESSAGE = "must be from 2000-01-01 to 2099-12-31"


def test_the_window_is_the_cores():
    assert (rules.FIRST_DATE, rules.LAST_DATE) == (planspec.FIRST_DATE, planspec.LAST_DATE)


@pytest.mark.parametrize(
    ("date", "inside"),
    [
        (dt.date(1, 1, 1), False),
        (dt.date(1999, 12, 31), False),
        (dt.date(2000, 1, 1), True),
        (dt.date(2099, 12, 31), True),
        (dt.date(2100, 1, 1), False),
    ],
)
def test_the_rule_bounds_dates_to_the_window(date, inside):
    finding = rules.check_date_window(date)
    assert (finding is None) is inside
    if finding is not None:
        assert WINDOW_MESSAGE in finding.message


@pytest.mark.parametrize("date", OUTSIDE)
def test_the_gpu_line_form_names_a_start_date_outside_the_window(scenario, date):
    form = GPUBudgetLineForm(gpu_data(start_date=date), scenario=scenario)
    assert not form.is_valid()
    assert WINDOW_MESSAGE in " ".join(form.errors["start_date"])


def test_the_team_line_form_names_each_date_outside_the_window(scenario):
    data = {
        "version": 1,
        "role": RoleTemplate.objects.get(key="legal").pk,
        "headcount": "1",
        "allocation_pct": 50,
        "start_date": "0001-01-01",
        "end_date": "2100-01-01",
    }
    form = TeamLineForm(data, scenario=scenario)
    assert not form.is_valid()
    assert WINDOW_MESSAGE in " ".join(form.errors["start_date"])
    assert WINDOW_MESSAGE in " ".join(form.errors["end_date"])


def test_the_dataset_form_names_a_ready_date_outside_the_window(scenario):
    data = {
        "version": 1,
        "name": "Web",
        "tokens": "1.2T",
        "stage": "pretrain",
        "kind": "general",
        "language": "en",
        "source": "web",
        "licence": "cleared",
        "quality": "medium",
        "cleaning": "raw",
        "cost": "0",
        "ready_date": "0001-01-01",
    }
    form = DatasetForm(data, scenario=scenario)
    assert not form.is_valid()
    assert WINDOW_MESSAGE in " ".join(form.errors["ready_date"])


def test_the_program_form_names_a_deadline_outside_the_window(program):
    data = {
        "name": program.name,
        "deadline": "2100-06-30",
        "currency": "CNY",
        "usd_to_cny": "7.2",
        "loaded_at": program.updated_at.isoformat(),
    }
    form = ProgramForm(data, instance=program)
    assert not form.is_valid()
    assert WINDOW_MESSAGE in " ".join(form.errors["deadline"])


def test_the_strategy_form_names_a_scenario_start_outside_the_window(scenario):
    form = StrategyForm(strategy_data(start_date="0001-01-01"), instance=scenario)
    assert not form.is_valid()
    assert WINDOW_MESSAGE in " ".join(form.errors["start_date"])


@pytest.mark.parametrize("date", ["0001-01-01", "2100-01-01"])
def test_the_api_refuses_a_gpu_line_start_outside_the_window_naming_the_field(
    client, owner, organization, date
):
    program = program_create_from_blueprint(
        user=owner, organization=organization, key="cpt-7b-domain"
    )
    line = program.scenarios.get().budget_lines.first()
    token = api_token_create(user=owner, organization=organization, name="t", scope="write")[1]
    before = snapshot()
    response = client.patch(
        reverse("api:budget-line-detail", args=[line.pk]),
        {"start_date": date},
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}", "If-Match": "*"},
    )
    assert response.status_code == 400, response.content[:500]
    error = response.json()["error"]
    assert WINDOW_MESSAGE in " ".join(error["fields"]["start_date"])
    assert snapshot() == before


def test_the_import_names_each_date_outside_the_window(owner, organization):
    program = program_create_from_blueprint(
        user=owner, organization=organization, key="cpt-7b-domain"
    )
    document = scenario_document(program.scenarios.get())
    body = document["scenario"]
    body["start_date"] = "0001-01-01"
    body["gpu_budget"][0]["start_date"] = "0001-01-01"
    body["team"][0]["end_date"] = "2100-01-01"
    body["data"][0]["ready_date"] = "1999-12-31"
    document.setdefault("program", {})["deadline"] = "9999-12-31"
    for fmt in ("json", "yaml"):
        with pytest.raises(DocumentError) as caught:
            document_parse(document_dump(document, fmt))
        problems = {path: message for path, _line, message in caught.value.errors}
        for path in (
            "scenario.start_date",
            "scenario.gpu_budget[0].start_date",
            "scenario.team[0].end_date",
            "scenario.data[0].ready_date",
            "program.deadline",
        ):
            assert WINDOW_MESSAGE in problems.get(path, ""), (fmt, path, problems)
