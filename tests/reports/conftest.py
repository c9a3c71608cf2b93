"""Shared fixtures of the PDF export tests: one simulated GPT-3 program (the core's example
plan, computed once per session) and runs that carry it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.utils import timezone

from apps.accounts.models import Organization
from apps.programs.models import Program, Scenario
from apps.programs.services import program_create_from_blueprint
from apps.runs.models import PlanRun, RunStatus
from llmplanner.simulation.report import run_plan

GPT3_PLAN = Path(settings.BASE_DIR) / "llmplanner/simulation/examples/plan-gpt3-175b.json"
TRIALS = 300


@pytest.fixture(scope="session")
def gpt3_plan() -> dict:
    return json.loads(GPT3_PLAN.read_text())


@pytest.fixture(scope="session")
def gpt3_report(gpt3_plan) -> dict:
    return run_plan(gpt3_plan, trials=TRIALS, seed=0)


def unsaved_run(report: dict, plan: dict, scenario_name: str = "A: 175B on 1,024 A100") -> PlanRun:
    """A run with its program and organization, never saved: documents render without a DB."""
    organization = Organization(name="Demo Lab", slug="demo-lab")
    program = Program(organization=organization, name="GPT-3-class 175B", goal="A 175B base model.")
    scenario = Scenario(program=program, name=scenario_name, is_baseline=True)
    return PlanRun(
        pk=41,
        organization=organization,
        scenario=scenario,
        scenario_version=3,
        status=RunStatus.SUCCEEDED,
        inputs=plan,
        result=report,
        trials=TRIALS,
        finished_at=dt.datetime(2027, 1, 4, 9, 30, tzinfo=dt.UTC),
    )


@pytest.fixture
def scenario(owner, organization):
    program = program_create_from_blueprint(
        user=owner, organization=organization, key="gpt3-175b-from-scratch"
    )
    return program.scenarios.get()


@pytest.fixture
def run(scenario, owner, gpt3_report, gpt3_plan):
    """A succeeded run of the organization, carrying the session's GPT-3 report."""
    now = timezone.now()
    return PlanRun.objects.create(
        organization=scenario.program.organization,
        scenario=scenario,
        scenario_version=scenario.version,
        created_by=owner,
        status=RunStatus.SUCCEEDED,
        inputs=gpt3_plan,
        input_hash="r" * 64,
        core_version=gpt3_report["core_version"],
        trials=TRIALS,
        result=gpt3_report,
        progress=100,
        started_at=now,
        finished_at=now,
    )


@pytest.fixture
def media(settings, tmp_path):
    """Exported files go to a folder of the test's own."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def enqueue():
    """The export task's enqueue, replaced: unit tests check what would be sent."""
    with mock.patch("apps.reports.services.export_send_on_commit") as delay:
        yield delay
