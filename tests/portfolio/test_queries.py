"""The portfolio reads in a fixed number of queries, whatever the number of programs: the page,
the API's portfolio and its budget ask the same with 6 programs as with 3 (a query per program
would add 3), and the programs of each kind — simulated with a second scenario, never run, a
newer run that failed — are all there."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.services import api_token_create
from apps.programs.services import scenario_clone
from apps.runs.models import PlanRun, RunStatus
from apps.runs.services import plan_run_create
from tests.api.conftest import ApiClient
from tests.portfolio.conftest import program, simulate

pytestmark = pytest.mark.django_db

PAGE, PORTFOLIO, BUDGET = "/", "/api/v1/portfolio/", "/api/v1/portfolio/budget/"


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()
    yield
    cache.clear()


def add_three(owner, organization, n: int) -> None:
    """A simulated program with a second scenario, one never run, one whose newer run failed."""
    done = program(owner, organization, "cpt-7b-domain", name=f"Done {n}")
    simulate(owner, done)
    scenario_clone(user=owner, scenario=done.scenarios.get(), name="B: another try")
    program(owner, organization, "rag-domain-knowledge-base", name=f"Never run {n}")
    failed = program(owner, organization, "sft-7b-10k-instructions", name=f"Failed {n}")
    run = simulate(owner, failed)
    newer = plan_run_create(user=owner, scenario=run.scenario, trials=50, dispatch=False)
    PlanRun.objects.filter(pk=newer.pk).update(status=RunStatus.FAILED, error="worker lost")


def counted(client, url: str) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(queries), response


def test_the_portfolio_asks_as_many_queries_for_6_programs_as_for_3(
    owner_client, owner, organization
):
    api = ApiClient(api_token_create(user=owner, organization=organization, name="ERP")[1])
    clients = {PAGE: owner_client, PORTFOLIO: api, BUDGET: api}
    add_three(owner, organization, 1)
    for url, client in clients.items():
        client.get(url)  # the first request of a test fills per-process caches
    at_3 = {url: counted(client, url)[0] for url, client in clients.items()}
    add_three(owner, organization, 2)
    at_6 = {url: counted(client, url) for url, client in clients.items()}

    assert {url: n for url, (n, _response) in at_6.items()} == at_3
    page = at_6[PAGE][1].content.decode()
    assert page.count('<tr id="program-') == 6 and page.count('data-testid="cost-p50"') == 4
    assert page.count('data-testid="no-figures"') == 2 and page.count("status-failed") == 2
    portfolio = at_6[PORTFOLIO][1].json()
    assert portfolio["totals"] == portfolio["totals"] | {"programs": 6, "simulated": 4}
    assert (
        sorted(p["status"] for p in portfolio["programs"])
        == ["done"] * 2 + ["failed"] * 2 + ["no_run"] * 2
    )
    budget = at_6[BUDGET][1].json()
    assert len(budget["programs"]) == 4 and len(budget["not_simulated"]) == 2
    assert {row["program"] for row in budget["rows"]} == {p["program"] for p in budget["programs"]}
