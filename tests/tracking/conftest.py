"""Shared fixtures of the tracking tests: the CPT template started 40 days ago (so that reports
can carry dates between the plan's start and today) or 300 days ago (``early``: its main run is
in the past), and real runs computed in-process."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from apps.accounts.services import api_token_create
from apps.programs.models import Program, Scenario
from apps.programs.services import program_create_from_blueprint
from apps.runs.models import PlanRun
from apps.runs.services import plan_run_create, plan_run_execute
from apps.tracking.services import baseline_approve

START = timezone.localdate() - dt.timedelta(days=40)


class ApiClient(Client):
    """A test client that sends an organization token with every request."""

    def __init__(self, token: str, **kwargs: object) -> None:
        super().__init__(headers={"Authorization": f"Bearer {token}"}, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def no_broker():
    """Exports are rendered by calling the service; nothing goes to a broker."""
    with mock.patch("apps.reports.services.export_send_on_commit"):
        yield


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()
    yield
    cache.clear()


def succeeded_run(user, scenario: Scenario, **changes) -> PlanRun:
    """A run of ``scenario`` computed here and now, after ``changes`` to the scenario's fields."""
    if changes:
        Scenario.objects.filter(pk=scenario.pk).update(**changes)
        scenario.refresh_from_db()
    created = plan_run_create(user=user, scenario=scenario, trials=200, dispatch=False)
    run = plan_run_execute(run_id=created.pk, worker="test") or created
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    return run


@pytest.fixture
def scenario(owner, organization):
    program = program_create_from_blueprint(
        user=owner, organization=organization, key="cpt-7b-domain"
    )
    scenario = program.scenarios.get()
    Scenario.objects.filter(pk=scenario.pk).update(start_date=START)
    scenario.refresh_from_db()
    return scenario


@pytest.fixture
def run(owner, scenario):
    return succeeded_run(owner, scenario)


@pytest.fixture
def baseline(owner, scenario, run):
    return baseline_approve(user=owner, scenario=scenario, run=run, note="go")


@pytest.fixture
def write_token(owner, organization):
    return api_token_create(user=owner, organization=organization, name="job", scope="write")[1]


@pytest.fixture
def read_token(owner, organization):
    return api_token_create(user=owner, organization=organization, name="erp", scope="read")[1]


@pytest.fixture
def writer(write_token):
    return ApiClient(write_token)


@pytest.fixture
def reader(read_token):
    return ApiClient(read_token)


@pytest.fixture
def early(owner, scenario):
    """The plan started 300 days ago: its main run is in the past, reports can be dated in it."""
    Scenario.objects.filter(pk=scenario.pk).update(
        start_date=timezone.localdate() - dt.timedelta(days=300)
    )
    # Undated lines: every date follows the scenario's start.
    scenario.budget_lines.update(start_date=None)
    scenario.team_lines.update(start_date=None, end_date=None)
    scenario.datasets.update(ready_date=None)
    Program.objects.filter(pk=scenario.program_id).update(deadline=None)
    scenario.refresh_from_db()
    return scenario


@pytest.fixture
def early_baseline(owner, early):
    return baseline_approve(user=owner, scenario=early, run=succeeded_run(owner, early))
