"""scenario_to_plan_dict produces the core's plan format; parse_plan accepts it."""

import datetime as dt
import json
from decimal import Decimal

import pytest

from apps.programs.blueprints import blueprint_list
from apps.programs.models import Dataset, GPUBudgetLine, GPUType, Scenario, TeamLine
from apps.programs.plan_adapter import (
    LINE_FIELDS,
    chinchilla_tokens,
    main_budget_line,
    scenario_plan,
    scenario_to_plan_dict,
)
from apps.programs.services import program_create_from_blueprint
from llmplanner.simulation.planspec import parse_plan
from tests.programs.factories import (
    DatasetFactory,
    GPUBudgetLineFactory,
    GPUTypeFactory,
    RoleTemplateFactory,
    ScenarioFactory,
    TeamLineFactory,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("key", [b.key for b in blueprint_list()])
def test_the_core_parses_the_plan_of_every_demo_template(key, owner, organization):
    program = program_create_from_blueprint(user=owner, organization=organization, key=key)
    scenario = program.scenarios.get()
    plan = scenario_to_plan_dict(scenario)
    json.dumps(plan)  # plain JSON, nothing ORM-specific
    spec = parse_plan(plan)
    assert spec.strategy == scenario.strategy
    assert spec.currency == "CNY"
    assert len(spec.team) == scenario.team_lines.count()
    assert len(spec.data) == scenario.datasets.count()


def test_it_maps_program_strategy_model_and_training(scenario):
    plan = scenario_to_plan_dict(scenario)
    assert plan["strategy"] == "from_scratch"
    assert plan["model"] == {"preset": "llama2-7b"}
    assert plan["training"]["tokens"] == 2e12
    assert plan["start_date"] == "2027-01-04"
    assert plan["deadline_days"] == 361  # 2027-01-04 → 2027-12-31
    assert plan["budget_cap"] == 30_000_000
    assert plan["contingency"] == pytest.approx(0.1)
    assert plan["rlhf"] == {"method": "dpo", "preference_pairs": 50_000}
    assert "serving" not in plan and "rag" not in plan


def test_it_always_passes_the_price_from_the_admin_catalog(scenario):
    GPUType.objects.filter(key="h100-80gb").update(price_cny_per_gpu_hour=Decimal("9.50"))
    assert scenario_to_plan_dict(scenario)["clusters"][0]["price_per_gpu_hour"] == 9.5
    line = scenario.budget_lines.get()
    line.price_per_gpu_hour = Decimal("7.25")
    line.save()
    assert scenario_to_plan_dict(scenario)["clusters"][0]["price_per_gpu_hour"] == 7.25
    assert scenario_plan(scenario).cluster.cost.price_per_gpu_hour == 7.25


def test_every_line_is_a_pool_and_the_largest_training_line_is_the_main_one(scenario):
    GPUBudgetLineFactory(scenario=scenario, purpose="experiments", gpu_count=1024)
    big = GPUBudgetLineFactory(scenario=scenario, purpose="training", gpu_count=512)
    sft = GPUBudgetLineFactory(scenario=scenario, purpose="sft", gpu_count=16)
    assert main_budget_line(scenario) == big
    plan = scenario_to_plan_dict(scenario)
    assert "cluster" not in plan
    assert [p["purpose"] for p in plan["clusters"]] == ["main", "experiments", "main", "finetune"]
    assert plan["sft"]["gpu_count"] == sft.gpu_count
    spec = scenario_plan(scenario)
    assert spec.cluster.gpu_count == 512
    assert spec.pool("experiments").gpu_count == 1024
    assert spec.pool("finetune").gpu_count == 16


def test_it_uses_the_sft_line_as_the_cluster_of_an_sft_scenario(program):
    scenario = ScenarioFactory(program=program, strategy="sft", training_tokens=0)
    GPUBudgetLineFactory(scenario=scenario, purpose="training", gpu_count=64)
    sft = GPUBudgetLineFactory(scenario=scenario, purpose="sft", gpu_count=8)
    assert main_budget_line(scenario) == sft
    assert scenario_plan(scenario).cluster.gpu_count == 8


def test_it_maps_team_lines_to_core_roles_with_template_salaries(scenario):
    ops = RoleTemplateFactory(key="ai_operations", core_role="distributed_training_engineer")
    TeamLineFactory(scenario=scenario, role=ops, headcount=Decimal(1), allocation_pct=50)
    [line] = scenario_to_plan_dict(scenario)["team"]
    assert line == {
        "role": "distributed_training_engineer",
        "headcount": 1.0,
        "monthly_cost": 18457.0,
        "allocation": 0.5,
    }  # no dates entered: none passed (paid over the whole program)


def test_it_converts_template_salaries_into_a_usd_program(scenario):
    program = scenario.program
    program.currency, program.usd_to_cny = "USD", Decimal("7.2")
    program.save()
    TeamLineFactory(scenario=scenario)
    assert scenario_to_plan_dict(scenario)["team"][0]["monthly_cost"] == 5501.0  # 39,607 / 7.2


def test_it_maps_datasets_field_by_field(scenario):
    DatasetFactory(scenario=scenario, name="Web", kind="domain", source="qa", stage="pretrain")
    [row] = scenario_to_plan_dict(scenario)["data"]
    assert row["name"] == "Web" and row["kind"] == "domain" and row["source"] == "qa"
    assert row["tokens"] == 1e12


def test_it_gives_custom_architectures_to_the_core(program):
    scenario = ScenarioFactory(program=program, model_preset=None, custom_params_b=13)
    assert scenario_to_plan_dict(scenario)["model"] == {"params_b": 13}
    spec = scenario_plan(scenario)
    assert 11e9 < spec.model.total_params() < 15e9


def test_it_gives_no_cluster_and_no_model_for_an_icl_scenario(program):
    scenario = ScenarioFactory(
        program=program, strategy="icl", model_preset=None, training_tokens=0
    )
    plan = scenario_to_plan_dict(scenario)
    assert "cluster" not in plan and "clusters" not in plan and "model" not in plan
    assert plan["serving"]["requests_per_day"] == 5000
    assert scenario_plan(scenario).strategy == "icl"


def test_it_shows_the_chinchilla_figure_for_the_target_model(scenario):
    assert chinchilla_tokens(scenario) == pytest.approx(20 * 6.74e9, rel=0.01)
    scenario.model_preset = None
    assert chinchilla_tokens(Scenario(strategy="rag")) is None


def test_it_keeps_an_explicit_empty_ladder_as_no_ladder(scenario):
    scenario.ladder = []
    assert scenario_to_plan_dict(scenario)["ladder"] == []
    assert scenario_plan(scenario).ladder == ()
    scenario.ladder = None
    assert "ladder" not in scenario_to_plan_dict(scenario)
    assert scenario_plan(scenario).ladder  # the core's default ladder


def test_gpu_type_factory_reuses_the_seeded_row():
    assert GPUTypeFactory().pk == GPUType.objects.get(key="h100-80gb").pk


# --- every field of every line kind reaches the core (issue 14) ----------------------------


def _model_fields(model) -> set[str]:
    return {f.name for f in model._meta.concrete_fields}


def test_the_adapter_accounts_for_every_field_of_every_line_model():
    """A field added to a line model fails here until the adapter passes it on (and a test below
    checks it arrives) or lists it as bookkeeping."""
    for model, (passed, skipped) in LINE_FIELDS.items():
        assert _model_fields(model) == set(passed) | set(skipped), model.__name__
        assert not set(passed) & set(skipped)


def test_every_budget_line_field_reaches_the_core(scenario):
    scenario.budget_lines.all().delete()
    a100 = GPUType.objects.get(key="a100-80gb")
    GPUBudgetLineFactory(
        scenario=scenario,
        purpose="training",
        provider="Cloud A",
        gpu_type=a100,
        gpu_count=128,
        mode="buy",
        price_per_gpu_hour=Decimal("11.50"),
        start_date=dt.date(2027, 2, 15),
        months=Decimal("4.5"),
        delivery_risk="risky",
        reliability_class="hyperscaler",
        checkpoint_storage_gbps=55.0,
    )
    [pool] = scenario_to_plan_dict(scenario)["clusters"]
    assert pool == {
        "purpose": "main",
        "name": "Cloud A",
        "gpu_type": "a100-80gb",
        "gpu_count": 128,
        "mode": "buy",
        "price_per_gpu_hour": 11.5,
        "start_date": "2027-02-15",
        "months": 4.5,
        "provider_class": "risky",
        "reliability_class": "hyperscaler",
        "checkpoint_storage_gbps": 55.0,
    }
    covered = {"purpose", "provider", "gpu_type", "gpu_count", "mode", "price_per_gpu_hour"}
    covered |= {"start_date", "months", "delivery_risk", "reliability_class"}
    covered |= {"checkpoint_storage_gbps"}
    assert covered == set(LINE_FIELDS[GPUBudgetLine][0])
    spec = scenario_plan(scenario)
    [parsed] = spec.clusters
    assert (parsed.name, parsed.gpu.key, parsed.gpu_count) == ("Cloud A", "a100-80gb", 128)
    assert parsed.cost.mode == "buy" and parsed.cost.price_per_gpu_hour == 11.5
    assert parsed.start_date == dt.date(2027, 2, 15) and parsed.months == 4.5
    assert parsed.provider_class == "risky" and parsed.reliability_class == "hyperscaler"
    assert parsed.checkpoint_storage_gbps == 55.0


def test_every_team_line_field_reaches_the_core(scenario):
    role = RoleTemplateFactory(key="lawyer", core_role="legal")
    TeamLineFactory(
        scenario=scenario,
        role=role,
        headcount=Decimal("1.5"),
        monthly_cost=Decimal("31000"),
        allocation_pct=40,
        start_date=dt.date(2027, 3, 1),
        end_date=dt.date(2027, 8, 31),
    )
    [line] = scenario_to_plan_dict(scenario)["team"]
    assert line == {
        "role": "legal",
        "headcount": 1.5,
        "monthly_cost": 31000.0,
        "allocation": 0.4,
        "start_date": "2027-03-01",
        "end_date": "2027-08-31",
    }
    covered = {"role", "headcount", "monthly_cost", "allocation_pct", "start_date", "end_date"}
    assert covered == set(LINE_FIELDS[TeamLine][0])
    [parsed] = scenario_plan(scenario).team
    assert parsed.start_date == dt.date(2027, 3, 1) and parsed.end_date == dt.date(2027, 8, 31)
    assert (parsed.role, parsed.headcount, parsed.allocation) == ("legal", 1.5, 0.4)


def test_every_dataset_field_reaches_the_core(scenario):
    DatasetFactory(
        scenario=scenario,
        name="Judgments",
        tokens=12 * 10**9,
        language="zh",
        kind="domain",
        source="books",
        licence="restricted",
        quality="high",
        cleaning="deduplicated",
        cost=Decimal("450000"),
        stage="cpt",
        ready_date=dt.date(2027, 4, 1),
    )
    [row] = scenario_to_plan_dict(scenario)["data"]
    assert row == {
        "name": "Judgments",
        "tokens": 12e9,
        "language": "zh",
        "kind": "domain",
        "source": "books",
        "licence": "restricted",
        "quality": "high",
        "cleaning": "deduplicated",
        "cost": 450000.0,
        "stage": "cpt",
        "ready_date": "2027-04-01",
    }
    assert set(row) == set(LINE_FIELDS[Dataset][0])
    [parsed] = scenario_plan(scenario).data
    assert parsed.ready_date == dt.date(2027, 4, 1) and parsed.cost == 450000.0


def test_a_dated_budget_line_moves_the_main_run_and_the_bill(scenario):
    """The issue's case: a March pool bills nothing in January and the main run waits for it."""
    from llmplanner.simulation.report import run_plan

    scenario.budget_lines.all().delete()
    GPUBudgetLineFactory(
        scenario=scenario, gpu_count=256, start_date=dt.date(2027, 3, 1), months=Decimal(1)
    )
    plan = scenario_to_plan_dict(scenario)
    plan["ladder"] = []
    out = run_plan(plan, trials=100, seed=0)
    labels = out["monthly"]["labels"]
    c = out["monthly"]["categories"].index("gpu_compute")
    assert labels[:2] == ["2027-01", "2027-02"]
    assert out["monthly"]["p90"][0][c] == 0 and out["monthly"]["p90"][1][c] == 0
    main = next(s for s in out["stages"] if s["key"] == "main")
    assert main["start_days"]["p10"] >= (dt.date(2027, 3, 1) - dt.date(2027, 1, 4)).days


def test_a_scenario_without_a_start_keeps_its_deadline_from_the_first_dated_line(scenario):
    scenario.start_date = None
    scenario.save()
    plan = scenario_to_plan_dict(scenario)
    assert "start_date" not in plan and plan["deadline"] == "2027-12-31"
    spec = scenario_plan(scenario)
    line_start = scenario.budget_lines.get().start_date
    assert spec.start_date == line_start
    assert spec.deadline_days == (dt.date(2027, 12, 31) - line_start).days
