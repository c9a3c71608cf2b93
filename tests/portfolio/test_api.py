"""The finance API's portfolio: the programs with their figures, the budget by month × program
× category (JSON, CSV, XLSX) equal to each scenario's own budget, organization scoping and
bad query parameters refused with a 400 naming them."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse
from openpyxl import load_workbook

from apps.accounts.services import api_token_create
from apps.api.renderers import PORTFOLIO_HEADER
from llmplanner.simulation.program import CATEGORIES
from tests.api.conftest import ApiClient
from tests.portfolio.conftest import FOREIGN_NAME

pytestmark = pytest.mark.django_db

PORTFOLIO = "/api/v1/portfolio/"
BUDGET = "/api/v1/portfolio/budget/"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()
    yield
    cache.clear()


def token_client(user, organization, scope="read") -> ApiClient:
    return ApiClient(
        api_token_create(user=user, organization=organization, name="ERP", scope=scope)[1]
    )


@pytest.fixture
def reader(owner, organization):
    return token_client(owner, organization)


def cents(value: float) -> str:
    return str(Decimal(str(value)).quantize(Decimal("0.01")))


def test_the_addresses(db):
    assert reverse("api:portfolio") == PORTFOLIO
    assert reverse("api:portfolio-budget") == BUDGET


def test_it_lists_every_program_with_its_figures_as_decimal_strings(reader, cpt, unsimulated):
    data = reader.get(PORTFOLIO).json()
    program, run = cpt
    totals = run.result["totals"]
    assert data["currency"] == "CNY"
    entries = {e["program"]: e for e in data["programs"]}
    assert set(entries) == {program.pk, unsimulated.pk}
    entry = entries[program.pk]
    assert entry["status"] == "done" and entry["run"] == entry["latest_run"] == run.pk
    assert entry["scenario"] == run.scenario_id and entry["strategy"] == "cpt"
    assert entry["cost_p50"] == {"amount": cents(totals["cost"]["p50"]), "currency": "CNY"}
    assert entry["cost_p90"] == {"amount": cents(totals["cost"]["p90"]), "currency": "CNY"}
    assert entry["budget_cap"] == {"amount": cents(program.budget_cap), "currency": "CNY"}
    assert entry["deadline"] == program.deadline.isoformat()
    assert entry["finish_date_p90"] == totals["finish_date_p90"]
    assert entry["finish_days_p50"] == totals["finish_days"]["p50"]
    assert entry["p_over_budget"] == totals["p_over_budget"]
    assert entry["p_miss_deadline"] == totals["p_miss_deadline"]
    assert entry["top_risk"]["title"] == run.result["risks"][0]["title"]
    none = entries[unsimulated.pk]
    assert none["status"] == "no_run" and none["run"] is None and none["cost_p50"] is None
    assert none["budget_cap"] == {"amount": cents(unsimulated.budget_cap), "currency": "CNY"}
    assert data["totals"] == {
        "programs": 2,
        "simulated": 1,
        "cost_p50_sum": {"amount": cents(totals["cost"]["p50"]), "currency": "CNY"},
    }


def test_it_converts_every_amount_to_the_currency_asked(reader, cpt):
    cny = reader.get(PORTFOLIO).json()["programs"][0]
    usd = reader.get(PORTFOLIO, {"currency": "USD"}).json()["programs"][0]
    rate = Decimal(str(cpt[1].result["plan"]["usd_to_cny"]))
    assert usd["cost_p90"]["currency"] == usd["budget_cap"]["currency"] == "USD"
    assert abs(
        Decimal(cny["cost_p90"]["amount"]) / rate - Decimal(usd["cost_p90"]["amount"])
    ) < Decimal("0.01")


def test_another_organizations_token_never_sees_the_programs(outsider, cpt, foreign):
    organization = outsider.memberships.get().organization
    other = token_client(outsider, organization)
    listed = other.get(PORTFOLIO).json()
    assert [e["name"] for e in listed["programs"]] == [FOREIGN_NAME]
    for params in ({}, {"format": "csv"}):
        body = other.get(BUDGET, params).content.decode()
        assert cpt[0].name not in body and FOREIGN_NAME in body


def test_a_token_sees_its_own_organization_only_though_its_creator_has_two(
    owner, organization, cpt, second_organization_member
):
    other_org, other_program = second_organization_member
    first = token_client(owner, organization).get(PORTFOLIO).json()
    second = token_client(owner, other_org).get(PORTFOLIO).json()
    assert [e["program"] for e in first["programs"]] == [cpt[0].pk]
    assert [e["program"] for e in second["programs"]] == [other_program.pk]
    # A browser session sees all of the user's organizations.
    from tests.conftest import login

    both = login(owner).get(PORTFOLIO).json()
    assert {e["program"] for e in both["programs"]} == {cpt[0].pk, other_program.pk}


def test_no_token_is_a_401(client, cpt):
    for url in (PORTFOLIO, BUDGET):
        response = client.get(url)
        assert (
            response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"
        )


def test_the_budget_is_each_scenarios_own_budget_by_month_then_program(
    reader, cpt, sft, unsimulated
):
    data = reader.get(BUDGET).json()
    assert {p["program"] for p in data["programs"]} == {cpt[0].pk, sft[0].pk}
    assert data["not_simulated"] == [{"program": unsimulated.pk, "name": unsimulated.name}]
    for program, run in (cpt, sft):
        own = reader.get(reverse("api:scenario-budget", args=[run.scenario_id])).json()["rows"]
        mine = [
            {k: v for k, v in r.items() if k not in ("program", "program_name", "scenario", "run")}
            for r in data["rows"]
            if r["program"] == program.pk
        ]
        assert own and mine == own
        assert all(r["run"] == run.pk for r in data["rows"] if r["program"] == program.pk)
    order = [(r["month"], r["program_name"], CATEGORIES.index(r["category"])) for r in data["rows"]]
    assert order == sorted(order)
    total = sum(Decimal(r["p50"]["amount"]) for r in data["rows"])
    assert Decimal(data["totals"]["rows_p50_sum"]["amount"]) == total


def test_the_budget_filters_months_and_categories_like_a_scenarios(reader, cpt, sft):
    months = cpt[1].result["monthly"]["labels"]
    data = reader.get(
        BUDGET, {"month_from": months[1], "month_to": months[2], "category": "gpu_compute,people"}
    ).json()
    assert data["rows"]
    assert {r["month"] for r in data["rows"]} <= {months[1], months[2]}
    assert {r["category"] for r in data["rows"]} == {"gpu_compute", "people"}
    expected = [(m, c) for m in (months[1], months[2]) for c in ("gpu_compute", "people")]
    assert [
        (r["month"], r["category"]) for r in data["rows"] if r["program"] == cpt[0].pk
    ] == expected
    # A plan's own months (M1…) are not in a calendar range: an empty answer, not an error.
    response = reader.get(BUDGET, {"month_from": "M1", "month_to": "M3"})
    assert response.status_code == 200 and response.json()["rows"] == []
    assert reader.get(BUDGET, {"month_from": "2031-01"}).json()["rows"] == []


def test_the_budget_as_csv_for_a_spreadsheet(reader, cpt, sft):
    json_rows = reader.get(BUDGET, {"currency": "USD"}).json()["rows"]
    response = reader.get(BUDGET, {"format": "csv", "currency": "USD"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'attachment; filename="budget-portfolio.csv"' == response["Content-Disposition"]
    header, *rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert header == PORTFOLIO_HEADER
    assert len(rows) == len(json_rows) > 0
    for row, item in zip(rows, json_rows, strict=True):
        assert row[:6] == [
            item["month"],
            str(item["program"]),
            item["program_name"],
            str(item["scenario"]),
            str(item["run"]),
            item["category"],
        ]
        assert row[6:9] == [item["p50"]["amount"], item["p90"]["amount"], "USD"]
        assert row[9] == item["cumulative_p50"]["amount"]


def test_the_budget_as_xlsx_with_numbers_for_amounts(reader, cpt):
    json_rows = reader.get(BUDGET).json()["rows"]
    for response in (
        reader.get(BUDGET, {"format": "xlsx"}),
        reader.get(BUDGET, headers={"Accept": XLSX}),
    ):
        assert response.status_code == 200 and response["Content-Type"] == XLSX
        sheet = load_workbook(io.BytesIO(response.content)).active
        header, *rows = list(sheet.iter_rows(values_only=True))
        assert list(header) == PORTFOLIO_HEADER and len(rows) == len(json_rows)
        first = rows[0]
        assert first[0] == json_rows[0]["month"] and first[2] == cpt[0].name
        assert all(
            isinstance(v, (int, float, Decimal)) for v in (first[6], first[7], first[9], first[10])
        )
        assert Decimal(str(first[10])) == Decimal(json_rows[0]["cumulative_p90"]["amount"])


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        (PORTFOLIO, {"currency": "EUR"}, "currency"),
        (BUDGET, {"currency": "EUR"}, "currency"),
        (BUDGET, {"category": "snacks"}, "category"),
        (BUDGET, {"category": ","}, "category"),
        (BUDGET, {"month_from": "January"}, "month_from"),
        (BUDGET, {"month_to": "2027-1"}, "month_to"),
        (BUDGET, {"month_to": ""}, "month_to"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(reader, cpt, url, params, field):
    response = reader.get(url, params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert field in error["fields"] and field in error["message"]


def test_a_bad_parameter_in_a_spreadsheet_request_is_still_a_400_naming_it(reader, cpt):
    response = reader.get(BUDGET, {"format": "csv", "category": "snacks"})
    assert response.status_code == 400 and "category" in response.content.decode()


def test_the_schema_documents_both_operations(client, db):
    schema = client.get(reverse("api:schema"), {"format": "json"}).json()
    listed = schema["paths"][PORTFOLIO]["get"]
    budget = schema["paths"][BUDGET]["get"]
    assert listed["description"] and budget["description"]
    assert {p["name"] for p in budget["parameters"]} >= {
        "currency",
        "month_from",
        "month_to",
        "category",
        "format",
    }
    assert set(budget["responses"]["200"]["content"]) == {"application/json", "text/csv", XLSX}
    assert "400" in listed["responses"] and "401" in budget["responses"]


def test_an_unknown_format_names_the_ones_the_budget_answers(reader, cpt):
    response = reader.get(BUDGET, {"format": "pdf"})
    assert response.status_code == 404
    error = response.json()["error"]
    assert (
        error["code"] == "unknown_format"
        and "csv" in error["message"]
        and "xlsx" in error["message"]
    )


def test_an_empty_format_is_a_400_naming_it(reader, cpt):
    response = reader.get(BUDGET, {"format": ""})
    assert response.status_code == 400 and "format" in response.json()["error"]["fields"]
