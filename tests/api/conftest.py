from __future__ import annotations

from unittest import mock

import pytest
from django.core.cache import cache
from django.test import Client

from apps.accounts.services import api_token_create
from apps.programs.services import program_create_from_blueprint
from apps.runs.services import plan_run_create, plan_run_execute
from tests.accounts.factories import MembershipFactory


class ApiClient(Client):
    """A test client that sends an organization token with every request."""

    def __init__(self, token: str | None = None, **kwargs: object) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        super().__init__(headers=headers, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def fresh_throttle():
    """Request budgets live in the cache; ids repeat between tests, so each test starts afresh."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def no_broker():
    """Runs and exports are executed by calling the task's function; nothing goes to a broker."""
    with (
        mock.patch("apps.runs.tasks.plan_run_task.delay"),
        mock.patch("apps.reports.services.export_send_on_commit"),
    ):
        yield


@pytest.fixture
def scenario(owner, organization):
    program = program_create_from_blueprint(
        user=owner, organization=organization, key="cpt-7b-domain"
    )
    return program.scenarios.get()


@pytest.fixture
def run(owner, scenario):
    created = plan_run_create(user=owner, scenario=scenario, trials=200)
    return plan_run_execute(run_id=created.pk, worker="test")


@pytest.fixture
def read_token(owner, organization):
    return api_token_create(user=owner, organization=organization, name="ERP read", scope="read")[1]


@pytest.fixture
def write_token(owner, organization):
    return api_token_create(user=owner, organization=organization, name="ERP write", scope="write")[
        1
    ]


@pytest.fixture
def reader(read_token):
    return ApiClient(read_token)


@pytest.fixture
def writer(write_token):
    return ApiClient(write_token)


@pytest.fixture
def other_org_token(db):
    """A token of another organization, which has a program of its own."""
    membership = MembershipFactory(role="owner")
    program_create_from_blueprint(
        user=membership.user, organization=membership.organization, key="sft-7b-10k-instructions"
    )
    return api_token_create(
        user=membership.user, organization=membership.organization, name="other", scope="write"
    )[1]


@pytest.fixture
def outsider_api(other_org_token):
    return ApiClient(other_org_token)
