"""Issue 14: changing a program's currency converts every amount of the program, of all its
scenarios (archived ones too) and of their lines at the program's rate, in one transaction,
recorded in History; it never relabels (¥450K must not become $450K)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.contrib.admin.sites import site
from django.db import models, transaction
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from apps.accounts.services import api_token_create
from apps.common.errors import ApplicationError
from apps.programs import services
from apps.programs.admin import ProgramAdmin
from apps.programs.currency import MONEY_FIELDS, NOT_MONEY_FIELDS, convert_amount
from apps.programs.models import (
    Dataset,
    GPUBudgetLine,
    GPUType,
    ModelPreset,
    Program,
    RoleTemplate,
    Scenario,
    ScenarioActivity,
    TeamLine,
)
from apps.programs.models.scenarios import BUDGET_CAP_MAX
from apps.reports.assumptions import assumption_rows
from tests.fuzzing import examples
from tests.programs.factories import (
    DatasetFactory,
    GPUBudgetLineFactory,
    ProgramFactory,
    ScenarioFactory,
    TeamLineFactory,
)

pytestmark = pytest.mark.django_db

RATE = Decimal("7.2")
# Half a cent of the intermediate currency, times the rate, plus half a cent: how far a CNY amount
# can move on a round trip through USD stored with two decimals (USD → CNY → USD is exact).
ROUND_TRIP = Decimal("0.005") * RATE + Decimal("0.005")
# Catalogs are not in a program's currency: a GPU type has a price in each currency, a role
# template a CNY salary converted when read; a model preset has no amounts.
CATALOGS = {GPUType, RoleTemplate, ModelPreset}
MONEY_WORDS = ("cost", "price", "budget", "salary", "monthly", "amount", "cny", "usd")


@pytest.fixture
def plan(organization, owner):
    """A CNY program at 7.2 with a baseline and an archived scenario, every line kind filled
    (a GPU line and a team line left on the catalog price and the template salary too)."""
    program = ProgramFactory(
        organization=organization, currency="CNY", usd_to_cny=RATE, budget_cap=Decimal("30000000")
    )
    a = ScenarioFactory(
        program=program,
        name="A: baseline",
        is_baseline=True,
        sft_cost_per_sample=Decimal("3.50"),
        serving_price_per_million_tokens=Decimal("14"),
        rag_embedding_price_per_million_tokens=Decimal("0.70"),
        rag_vector_db_monthly=Decimal("3000"),
    )
    b = ScenarioFactory(
        program=program,
        name="B: archived",
        archived_at=timezone.now(),
        sft_cost_per_sample=Decimal("1.23"),
    )
    lines = {
        "a_gpu": GPUBudgetLineFactory(scenario=a, price_per_gpu_hour=Decimal("16.00")),
        "a_gpu_catalog": GPUBudgetLineFactory(scenario=a, price_per_gpu_hour=None, gpu_count=64),
        "a_team": TeamLineFactory(scenario=a, monthly_cost=Decimal("39607")),
        "a_team_template": TeamLineFactory(scenario=a, monthly_cost=None),
        "a_data": DatasetFactory(scenario=a, name="Licensed corpus", cost=Decimal("450000")),
        "b_gpu": GPUBudgetLineFactory(scenario=b, price_per_gpu_hour=Decimal("12.50")),
        "b_team": TeamLineFactory(scenario=b, monthly_cost=Decimal("25000")),
        "b_data": DatasetFactory(scenario=b, name="Labelled Q&A", cost=Decimal("1000")),
    }
    return program, a, b, lines


def amounts(program: Program) -> dict[tuple[str, int, str], Decimal | None]:
    """Every money field of the program, its scenarios and their lines, read from the database."""
    out: dict[tuple[str, int, str], Decimal | None] = {}
    for model, names in MONEY_FIELDS.items():
        if model is Program:
            rows = Program.objects.filter(pk=program.pk)
        elif model is Scenario:
            rows = Scenario.objects.filter(program=program)
        else:
            rows = model.objects.filter(scenario__program=program)
        for row in rows.values("pk", *names):
            for name in names:
                out[(model.__name__, row["pk"], name)] = row[name]
    return out


def snapshot(program: Program) -> tuple:
    """Everything a switch may touch: the program's row, scenario versions, amounts, history."""
    return (
        Program.objects.filter(pk=program.pk).values("currency", "usd_to_cny", "name").get(),
        sorted(Scenario.objects.filter(program=program).values_list("pk", "version")),
        amounts(program),
        ScenarioActivity.objects.filter(scenario__program=program).count(),
    )


def switch(owner, program: Program, **values):
    return services.program_update(user=owner, program=Program.objects.get(pk=program.pk), **values)


# --- converting -------------------------------------------------------------------------------


def test_cny_to_usd_converts_every_amount_of_every_scenario_and_line(owner, plan):
    program, a, b, lines = plan
    switch(owner, program, currency="USD")

    program.refresh_from_db()
    assert program.currency == "USD" and program.usd_to_cny == RATE
    assert program.budget_cap == Decimal("4166666.67")  # 30,000,000 / 7.2
    a.refresh_from_db()
    assert a.sft_cost_per_sample == Decimal("0.49")  # 3.50 / 7.2 = 0.486
    assert a.serving_price_per_million_tokens == Decimal("1.94")  # 14 / 7.2 = 1.944
    assert a.rag_embedding_price_per_million_tokens == Decimal("0.10")  # 0.70 / 7.2 = 0.0972
    assert a.rag_vector_db_monthly == Decimal("416.67")  # 3000 / 7.2
    b.refresh_from_db()  # archived, with the model's defaults for the stage prices
    assert b.is_archived and b.sft_cost_per_sample == Decimal("0.17")  # 1.23 / 7.2 = 0.171
    assert b.serving_price_per_million_tokens == Decimal("1.94")  # 14 / 7.2
    assert b.rag_vector_db_monthly == Decimal("416.67")

    def line(key):
        return type(lines[key]).objects.get(pk=lines[key].pk)

    assert line("a_gpu").price_per_gpu_hour == Decimal("2.22")  # 16 / 7.2 = 2.222
    assert line("a_team").monthly_cost == Decimal("5500.97")  # 39,607 / 7.2 = 5500.972
    assert line("a_data").cost == Decimal("62500.00")  # ¥450K is $62.5K, not $450K
    assert line("b_gpu").price_per_gpu_hour == Decimal("1.74")  # 12.50 / 7.2 = 1.736
    assert line("b_team").monthly_cost == Decimal("3472.22")  # 25,000 / 7.2
    assert line("b_data").cost == Decimal("138.89")  # 1000 / 7.2
    # Empty means "the catalog's price" / "the template's salary": looked up in USD from now on.
    catalog, template = line("a_gpu_catalog"), line("a_team_template")
    assert catalog.price_per_gpu_hour is None and template.monthly_cost is None
    assert catalog.effective_price() == Decimal("2.99")  # the catalog's USD price
    assert template.effective_monthly_cost() == Decimal("5501")


def test_a_second_switch_back_returns_the_original_amounts_within_rounding(owner, plan):
    program = plan[0]
    original = amounts(program)
    switch(owner, program, currency="USD")
    in_usd = amounts(program)
    switch(owner, program, currency="CNY")
    back = amounts(program)
    assert Program.objects.get(pk=program.pk).currency == "CNY"
    filled = [key for key, value in original.items() if value is not None]
    assert len(filled) == 15  # the cap, 4 + 4 scenario amounts, 8 lines less the two left empty
    moved = []
    for key in original:
        if original[key] is None:
            assert back[key] is None and in_usd[key] is None, key
            continue
        assert abs(back[key] - original[key]) <= ROUND_TRIP, (key, original[key], back[key])
        if back[key] != original[key]:
            moved.append(key)
    assert back[("Dataset", plan[3]["a_data"].pk, "cost")] == Decimal("450000")  # exact
    assert moved, "every amount came back exactly: the round trip test is too easy"
    # Starting from USD, the round trip is exact: CNY keeps enough digits to come back.
    switch(owner, program, currency="USD")
    switch(owner, program, currency="CNY")
    switch(owner, program, currency="USD")
    assert amounts(program) == in_usd


def test_it_converts_at_the_new_rate_when_the_same_save_changes_it(owner, plan):
    program, a, _b, lines = plan
    switch(owner, program, currency="USD", usd_to_cny=Decimal("8"))
    assert Program.objects.get(pk=program.pk).usd_to_cny == Decimal("8")
    assert Dataset.objects.get(pk=lines["a_data"].pk).cost == Decimal("56250.00")  # 450K / 8
    assert GPUBudgetLine.objects.get(pk=lines["a_gpu"].pk).price_per_gpu_hour == Decimal("2.00")
    activity = a.activities.first()
    assert activity.summary.startswith("currency CNY → USD at 8:")


def test_a_rate_change_alone_converts_nothing(owner, plan):
    program = plan[0]
    before = amounts(program)
    switch(owner, program, usd_to_cny=Decimal("7.1"))
    assert amounts(program) == before


def test_a_tiny_positive_price_stays_a_price(owner, plan):
    program, _a, b, _lines = plan
    line = GPUBudgetLineFactory(scenario=b, price_per_gpu_hour=Decimal("0.01"))
    switch(owner, program, currency="USD")
    # 0.01 / 7.2 rounds to 0.00, which the field refuses (> 0): the smallest price instead.
    assert GPUBudgetLine.objects.get(pk=line.pk).price_per_gpu_hour == Decimal("0.01")
    assert convert_amount(Decimal(0), into="USD", usd_to_cny=RATE, places=2) == Decimal("0.00")
    assert convert_amount(Decimal("0.025"), into="CNY", usd_to_cny=Decimal(1), places=2) == (
        Decimal("0.03")  # half-up, not the banker's 0.02
    )


# --- history and versions ---------------------------------------------------------------------


def test_the_switch_is_one_history_entry_per_scenario_listing_each_amount(owner, plan):
    program, a, b, lines = plan
    versions = {s.pk: s.version for s in (a, b)}
    switch(owner, program, currency="USD")
    for scenario in (a, b):
        [entry] = ScenarioActivity.objects.filter(scenario=scenario)
        scenario.refresh_from_db()
        assert scenario.version == versions[scenario.pk] + 1 == entry.version
        assert entry.actor == owner and entry.action == "updated"
        assert {"field": "currency", "old": "CNY", "new": "USD"} in entry.changes
        amounts_listed = [c for c in entry.changes if c["field"] != "currency"]
        assert entry.summary == (
            f"currency CNY → USD at 7.2: {len(amounts_listed)} amounts converted"
        )
        assert {"field": "budget_cap", "old": "30000000.00", "new": "4166666.67"} in entry.changes
    a_entry = a.activities.get()
    data_label = f"{lines['a_data']} · cost"
    assert {"field": data_label, "old": "450000.00", "new": "62500.00"} in a_entry.changes
    assert {
        "field": "serving_price_per_million_tokens",
        "old": "14.00",
        "new": "1.94",
    } in a_entry.changes
    fields = [c["field"] for c in a_entry.changes]
    # The cap, the four stage prices, the GPU price, the salary, the data cost; never the lines
    # left on the catalog price or the template salary.
    assert len(fields) == 1 + 8 and a_entry.summary.endswith(": 8 amounts converted")
    assert sum("price_per_gpu_hour" in f for f in fields) == 1
    assert sum("monthly_cost" in f for f in fields) == 1


def test_the_history_tab_shows_the_converted_amounts(owner_client, owner, plan):
    program, a, _b, _lines = plan
    switch(owner, program, currency="USD")
    page = owner_client.get(reverse("programs:scenario_tab", args=[a.pk, "history"]))
    body = page.content.decode()
    assert "currency CNY → USD at 7.2: 8 amounts converted" in body
    assert "450000.00 → <strong>62500.00</strong>" in body
    assert "30000000.00 → <strong>4166666.67</strong>" in body


# --- refusals: nothing saved ------------------------------------------------------------------


def test_an_amount_too_big_for_its_field_in_the_new_currency_saves_nothing(owner, organization):
    program = ProgramFactory(organization=organization, currency="USD", budget_cap=None)
    scenario = ScenarioFactory(program=program, name="Big data", is_baseline=True)
    GPUBudgetLineFactory(scenario=scenario, price_per_gpu_hour=Decimal("2.50"))
    # 500 billion dollars fit the 14 digits of Dataset.cost; 3.6 trillion yuan do not.
    dataset = DatasetFactory(scenario=scenario, name="Everything", cost=Decimal("500000000000"))
    before = snapshot(program)
    with pytest.raises(ApplicationError) as caught:
        switch(owner, program, currency="CNY", name="Renamed too")
    error = caught.value
    key = f"scenarios.{scenario.pk}.datasets.{dataset.pk}.cost"
    assert list(error.extra["errors"]) == [key]
    assert "acquisition or labelling cost of Everything in scenario “Big data”" in error.message
    assert "500000000000.00 USD would be 3600000000000.00 CNY" in error.message
    assert "no more than 14 digits" in error.message
    assert snapshot(program) == before  # not the currency, the name, a price nor a version


def test_a_failure_after_the_amounts_are_written_rolls_the_whole_switch_back(
    owner, plan, monkeypatch
):
    """One transaction: the core refusing the last scenario undoes the program, every amount,
    every version bump and every history entry written before it."""
    program, _a, b, _lines = plan
    checked = []
    real_check = services._check_core

    def refuse_the_archived_one(scenario):
        checked.append(scenario.pk)
        if scenario.pk == b.pk:
            raise ApplicationError("the core refuses B")
        real_check(scenario)

    monkeypatch.setattr(services, "_check_core", refuse_the_archived_one)
    before = snapshot(program)
    with pytest.raises(ApplicationError, match="the core refuses B"):
        switch(owner, program, currency="USD")
    assert checked == [plan[1].pk, b.pk]  # A was converted, bumped and recorded first
    assert snapshot(program) == before


def test_a_budget_cap_past_its_limit_is_refused_naming_it(owner, organization):
    program = ProgramFactory(
        organization=organization, currency="USD", budget_cap=Decimal("9000000000000")
    )
    ScenarioFactory(program=program, is_baseline=True)
    before = snapshot(program)
    with pytest.raises(ApplicationError) as caught:
        switch(owner, program, currency="CNY")
    assert list(caught.value.extra["errors"]) == ["budget_cap"]
    assert "budget cap of the program" in caught.value.message
    assert snapshot(program) == before


def test_a_budget_cap_changed_in_the_same_save_is_refused(owner, plan):
    program = plan[0]
    before = snapshot(program)
    with pytest.raises(ApplicationError, match="separate saves") as caught:
        switch(owner, program, currency="USD", budget_cap=Decimal("4000000"))
    assert list(caught.value.extra["errors"]) == ["budget_cap"]
    assert snapshot(program) == before
    # The cap as saved, sent back unchanged (what the edit form posts), is converted.
    switch(owner, program, currency="USD", budget_cap=Decimal("30000000.00"))
    assert Program.objects.get(pk=program.pk).budget_cap == Decimal("4166666.67")


def test_a_viewer_cannot_switch(viewer, plan):
    program = plan[0]
    before = snapshot(program)
    with pytest.raises(services.EditDenied):
        switch(viewer, program, currency="USD")
    assert snapshot(program) == before


@settings(
    max_examples=examples(25),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    cap=st.one_of(st.none(), st.decimals("0.01", str(BUDGET_CAP_MAX), places=2)),
    price=st.decimals("0.01", "99999999.99", places=2),
    salary=st.decimals("0.01", "9999999999.99", places=2),
    cost=st.decimals("0", "999999999999.99", places=2),
    rate=st.decimals("0.01", "1000", places=4),
    into=st.sampled_from(["USD", "CNY"]),
)
def test_any_switch_converts_each_amount_exactly_or_saves_nothing(
    owner, plan, cap, price, salary, cost, rate, into
):
    program, _a, _b, lines = plan
    with transaction.atomic():
        Program.objects.filter(pk=program.pk).update(
            budget_cap=cap, currency="USD" if into == "CNY" else "CNY", usd_to_cny=rate
        )
        GPUBudgetLine.objects.filter(pk=lines["a_gpu"].pk).update(price_per_gpu_hour=price)
        TeamLine.objects.filter(pk=lines["a_team"].pk).update(monthly_cost=salary)
        Dataset.objects.filter(pk=lines["a_data"].pk).update(cost=cost)
        before = snapshot(program)
        try:
            switch(owner, program, currency=into)
        except ApplicationError as exc:
            # --hypothesis-show-statistics: both outcomes occur (an overflow, the core's limits)
            event(f"refused: {sorted(exc.extra.get('errors', {'core': ''}))}")
            assert snapshot(program) == before
        else:
            event("converted")
            after = amounts(program)
            assert after.keys() == before[2].keys()
            for key, old in before[2].items():
                model = django_apps.get_model("programs", key[0])
                places = model._meta.get_field(key[2]).decimal_places
                expected = (
                    None
                    if old is None
                    else convert_amount(old, into=into, usd_to_cny=rate, places=places)
                )
                assert after[key] == expected, (key, old, after[key])
        transaction.set_rollback(True)


# --- the edit form -----------------------------------------------------------------------------


def form_post(client: Client, program: Program, **changes) -> dict[str, str]:
    url = reverse("programs:program_edit", args=[program.pk])
    page = client.get(url).content.decode()
    loaded_at = page.split('name="loaded_at" value="')[1].split('"')[0]
    program.refresh_from_db()
    data = {
        "name": program.name,
        "goal": program.goal,
        "deadline": program.deadline.isoformat() if program.deadline else "",
        "budget_cap": str(program.budget_cap or ""),
        "currency": program.currency,
        "usd_to_cny": str(program.usd_to_cny),
        "loaded_at": loaded_at,
        **changes,
    }
    return client.post(url, data)


def test_the_edit_form_says_the_amounts_will_be_converted_and_at_what_rate(owner_client, plan):
    page = owner_client.get(reverse("programs:program_edit", args=[plan[0].pk])).content.decode()
    assert "Changing the currency converts every amount of this program" in page
    assert "1 USD = 7.2 CNY" in page


def test_the_edit_form_converts(owner_client, owner, plan):
    program, a, _b, lines = plan
    response = form_post(owner_client, program, currency="USD")
    assert response.status_code == 302, response.context["form"].errors
    program.refresh_from_db()
    assert program.currency == "USD" and program.budget_cap == Decimal("4166666.67")
    assert Dataset.objects.get(pk=lines["a_data"].pk).cost == Decimal("62500.00")
    assert TeamLine.objects.get(pk=lines["a_team"].pk).monthly_cost == Decimal("5500.97")
    assert a.activities.get().actor == owner


def test_the_edit_form_shows_a_refusal_next_to_the_budget_cap(owner_client, plan):
    program = plan[0]
    before = snapshot(program)
    response = form_post(owner_client, program, currency="USD", budget_cap="4000000")
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "separate saves" in " ".join(errors["budget_cap"])
    assert snapshot(program) == before


def test_the_edit_form_shows_an_overflow_naming_the_field(owner_client, organization):
    program = ProgramFactory(organization=organization, currency="USD", budget_cap=None)
    scenario = ScenarioFactory(program=program, name="Big", is_baseline=True)
    GPUBudgetLineFactory(scenario=scenario, price_per_gpu_hour=Decimal("2.50"))
    DatasetFactory(scenario=scenario, name="Everything", cost=Decimal("500000000000"))
    before = snapshot(program)
    response = form_post(owner_client, program, currency="CNY")
    assert response.status_code == 200
    body = response.content.decode()
    assert "acquisition or labelling cost of Everything" in body and "Nothing was saved" in body
    assert snapshot(program) == before


# --- the API ----------------------------------------------------------------------------------


def test_the_api_reads_the_converted_amounts_and_cannot_relabel(owner, organization, plan):
    program, a, _b, lines = plan
    token = api_token_create(user=owner, organization=organization, name="ERP", scope="write")[1]
    api = Client(headers={"Authorization": f"Bearer {token}"})
    detail = reverse("api:program-detail", args=[program.pk])
    # Programs are read-only in the API: no PATCH can set a currency without converting.
    refused = api.patch(detail, {"currency": "USD"}, content_type="application/json")
    assert refused.status_code == 405
    assert Program.objects.get(pk=program.pk).currency == "CNY"

    switch(owner, program, currency="USD")
    assert api.get(detail).json()["budget_cap"] == {"amount": "4166666.67", "currency": "USD"}
    gpu = api.get(reverse("api:budget-line-detail", args=[lines["a_gpu"].pk])).json()
    assert gpu["price_per_gpu_hour"] == {"amount": "2.22", "currency": "USD"}
    team = api.get(reverse("api:team-line-detail", args=[lines["a_team"].pk])).json()
    assert team["monthly_cost"] == {"amount": "5500.97", "currency": "USD"}
    data = api.get(reverse("api:dataset-detail", args=[lines["a_data"].pk])).json()
    assert data["cost"] == {"amount": "62500.00", "currency": "USD"}
    log = api.get(reverse("api:scenario-activity", args=[a.pk])).json()["results"]
    assert log and log[0]["summary"] == "currency CNY → USD at 7.2: 8 amounts converted"


# --- the PDF's assumptions ----------------------------------------------------------------------


def salary_rows(rows):
    found = {r["topic"]: r["value"] for r in rows if r["topic"].startswith("Salary: ")}
    assert found, "no salary rows"
    return found


def test_the_assumptions_list_salaries_in_a_usd_reports_currency():
    usd = salary_rows(assumption_rows({}, {"plan": {"currency": "USD", "usd_to_cny": 7.2}}))
    assert usd["Salary: Algorithm researcher"] == (
        "$5,501 per month (¥39,607 at 1 USD = 7.2 CNY)"  # 39,607 / 7.2 = 5,500.97
    )
    assert all(value.startswith("$") for value in usd.values()), usd
    cny = salary_rows(assumption_rows({}, {"plan": {"currency": "CNY", "usd_to_cny": 7.2}}))
    assert cny["Salary: Algorithm researcher"] == "¥39,607 per month"


def test_a_switched_programs_report_lists_usd_salaries(owner, plan):
    from apps.programs.plan_adapter import scenario_to_plan_dict
    from llmplanner.simulation.report import run_plan

    program, a, _b, _lines = plan
    switch(owner, program, currency="USD", usd_to_cny=Decimal("8"))
    inputs = scenario_to_plan_dict(Scenario.objects.get(pk=a.pk))
    report = run_plan(inputs, trials=20, seed=0)
    assert report["plan"]["currency"] == "USD"
    rows = salary_rows(assumption_rows(inputs, report))
    assert rows["Salary: Algorithm researcher"].startswith("$4,951 per month")  # 39,607 / 8


# --- the list of amounts ------------------------------------------------------------------------


def unclassified(model: type[models.Model], fields) -> list[str]:
    """Decimal fields (and any field named like money) in neither list of ``currency``."""
    known = set(MONEY_FIELDS.get(model, ())) | set(NOT_MONEY_FIELDS.get(model, ()))
    return [
        f.name
        for f in fields
        if (
            isinstance(f, models.DecimalField)
            or (
                isinstance(f, (models.FloatField, models.IntegerField))
                and any(word in f.name for word in MONEY_WORDS)
            )
        )
        and f.name not in known
    ]


def test_every_decimal_field_of_a_plan_is_either_converted_or_declared_not_money():
    plan_models = [
        m for m in django_apps.get_app_config("programs").get_models() if m not in CATALOGS
    ]
    assert Program in plan_models and Dataset in plan_models
    for model in plan_models:
        assert unclassified(model, model._meta.concrete_fields) == [], (
            f"{model.__name__}: add the field to MONEY_FIELDS (it is converted when the "
            "program's currency changes) or to NOT_MONEY_FIELDS in apps/programs/currency.py"
        )
    for model, names in {**MONEY_FIELDS, **NOT_MONEY_FIELDS}.items():
        assert set(MONEY_FIELDS.get(model, ())).isdisjoint(NOT_MONEY_FIELDS.get(model, ()))
        for name in names:  # a listed field that was renamed or removed fails here
            assert isinstance(model._meta.get_field(name), models.DecimalField), (model, name)


def test_the_check_catches_a_new_amount():
    fresh = models.DecimalField(max_digits=12, decimal_places=2)
    fresh.name = "insurance_monthly"
    fees = models.FloatField()
    fees.name = "legal_cost_usd"
    fields = [*Dataset._meta.concrete_fields, fresh, fees]
    assert unclassified(Dataset, fields) == ["insurance_monthly", "legal_cost_usd"]


def test_the_admin_cannot_relabel_a_programs_currency(owner):
    request = RequestFactory().get("/")
    request.user = owner
    admin = ProgramAdmin(Program, site)
    assert "currency" in admin.get_readonly_fields(request, Program(name="x"))
    assert "currency" not in admin.get_form(request, Program(name="x")).base_fields


def test_a_deadline_change_still_records_the_program_change(owner, plan):
    program, a, _b, _lines = plan
    switch(owner, program, deadline=dt.date(2028, 6, 30))
    entry = a.activities.get()
    assert entry.summary == f"program {program.name}"
    assert [c["field"] for c in entry.changes] == ["deadline"]
