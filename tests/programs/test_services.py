import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command

from apps.common.errors import ApplicationError
from apps.programs import services
from apps.programs.documents import DocumentError
from apps.programs.models import GPUBudgetLine, GPUType, Program, Scenario, ScenarioActivity
from tests.programs.factories import DatasetFactory, GPUBudgetLineFactory, ScenarioFactory

pytestmark = pytest.mark.django_db


def gpu(key="h100-80gb"):
    return GPUType.objects.get(key=key)


@pytest.mark.parametrize("strategy", ["from_scratch", "cpt", "sft", "rag", "icl"])
def test_it_creates_a_program_with_a_baseline_scenario_of_each_strategy(
    owner, organization, strategy
):
    program = services.program_create(
        user=owner, organization=organization, name="P", strategy=strategy
    )
    scenario = program.scenarios.get()
    assert scenario.is_baseline and scenario.strategy == strategy
    assert scenario.activities.get().action == "created"
    assert scenario.budget_lines.exists() == (strategy in ("from_scratch", "cpt", "sft"))


def test_it_refuses_viewers_and_outsiders(viewer, outsider, organization, scenario):
    for user in (viewer, outsider):
        with pytest.raises(services.EditDenied):
            services.program_create(user=user, organization=organization, name="P")
        with pytest.raises(services.EditDenied):
            services.scenario_rename(user=user, scenario=scenario, name="x")


def test_it_updates_a_scenario_and_records_who_changed_what(owner, scenario):
    services.scenario_update(
        user=owner,
        scenario=scenario,
        expected_version=1,
        values={"training_tokens": 3 * 10**12, "precision": "fp8"},
    )
    scenario.refresh_from_db()
    assert scenario.version == 2 and scenario.training_tokens == 3 * 10**12
    activity = scenario.activities.get()
    assert activity.actor == owner and activity.version == 2
    assert {c["field"] for c in activity.changes} == {"training_tokens", "precision"}
    assert {"field": "precision", "old": "bf16", "new": "fp8"} in activity.changes


def test_it_refuses_a_stale_version_and_names_who_changed_the_scenario(owner, editor, scenario):
    services.line_update(
        user=editor,
        line=scenario.budget_lines.get(),
        expected_version=1,
        values={"gpu_count": 512},
    )
    with pytest.raises(services.ConflictError) as caught:
        services.scenario_update(
            user=owner, scenario=scenario, expected_version=1, values={"full_runs": 3}
        )
    assert editor.username in caught.value.message
    assert "Nothing was saved" in caught.value.message
    scenario.refresh_from_db()
    assert scenario.full_runs == 1 and scenario.version == 2


def test_it_saves_nothing_when_the_core_rejects_the_plan(owner, scenario):
    # A V100 has no BF16: the core refuses the cluster, so the new line must not stay.
    with pytest.raises(ApplicationError, match="simulation core cannot use this plan"):
        services.line_create(
            user=owner,
            scenario=scenario,
            kind="gpus",
            expected_version=1,
            values={
                "purpose": "training",
                "gpu_type": gpu("v100-32gb"),
                "gpu_count": 4096,
                "months": Decimal(2),
            },
        )
    scenario.refresh_from_db()
    assert scenario.version == 1
    assert scenario.budget_lines.count() == 1
    assert not ScenarioActivity.objects.exists()


def test_it_validates_lines_with_the_domain_rules(owner, scenario):
    with pytest.raises(ApplicationError, match="at least one GPU"):
        services.line_create(
            user=owner,
            scenario=scenario,
            kind="gpus",
            expected_version=1,
            values={"gpu_type": gpu(), "gpu_count": 0, "months": Decimal(1)},
        )
    with pytest.raises(ApplicationError, match="ends before it starts"):
        services.line_create(
            user=owner,
            scenario=scenario,
            kind="gpus",
            expected_version=1,
            values={"gpu_type": gpu(), "gpu_count": 8, "months": Decimal(-1)},
        )


def test_it_adds_changes_and_removes_lines_with_history(owner, scenario):
    line = services.line_create(
        user=owner,
        scenario=scenario,
        kind="data",
        expected_version=1,
        values={"name": "Web", "tokens": 10**12, "stage": "pretrain"},
    )
    services.line_update(user=owner, line=line, expected_version=2, values={"tokens": 2 * 10**12})
    services.line_delete(user=owner, line=line, expected_version=3)
    actions = list(scenario.activities.order_by("id").values_list("action", flat=True))
    assert actions == ["line_added", "line_changed", "line_removed"]
    assert scenario.activities.get(action="line_changed").changes == [
        {"field": "tokens", "old": 10**12, "new": 2 * 10**12}
    ]


def test_it_clones_a_scenario_with_all_its_lines(owner, scenario):
    DatasetFactory(scenario=scenario)
    copy = services.scenario_clone(user=owner, scenario=scenario)
    assert copy.name == f"{scenario.name} (copy)" and not copy.is_baseline
    assert copy.budget_lines.count() == 1 and copy.datasets.count() == 1
    assert copy.activities.get().action == "cloned"


def test_it_keeps_one_baseline_per_program(owner, program):
    first = ScenarioFactory(program=program, is_baseline=True)
    second = ScenarioFactory(program=program)
    services.scenario_set_baseline(user=owner, scenario=second)
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.is_baseline and not first.is_baseline


def test_it_renames_archives_and_restores_a_scenario(owner, scenario):
    services.scenario_rename(user=owner, scenario=scenario, name="  B: H800  ")
    services.scenario_archive(user=owner, scenario=scenario)
    assert Scenario.objects.get(pk=scenario.pk).is_archived
    with pytest.raises(ApplicationError):
        services.scenario_set_baseline(user=owner, scenario=scenario)
    services.scenario_archive(user=owner, scenario=scenario, archive=False)
    scenario.refresh_from_db()
    assert scenario.name == "B: H800" and not scenario.is_archived


def test_it_archives_a_program(owner, program):
    services.program_archive(user=owner, program=program)
    assert Program.objects.get(pk=program.pk).is_archived


def test_a_program_change_is_recorded_on_each_scenario_and_checked(owner, scenario):
    services.program_update(
        user=owner, program=scenario.program, deadline=dt.date(2028, 6, 30), name="Renamed"
    )
    activity = scenario.activities.get()
    assert {c["field"] for c in activity.changes} == {"deadline", "name"}


def test_it_creates_a_program_from_each_template(owner, organization):
    program = services.program_create_from_blueprint(
        user=owner, organization=organization, key="gpt3-175b-from-scratch"
    )
    scenario = program.scenarios.get()
    assert program.name == "GPT-3-class 175B from scratch" and program.organization == organization
    assert scenario.is_baseline
    assert scenario.budget_lines.filter(gpu_count=1024, gpu_type__key="a800-80gb").exists()
    with pytest.raises(ApplicationError, match="Unknown template"):
        services.program_create_from_blueprint(user=owner, organization=organization, key="x")


def test_the_demo_data_shows_all_five_templates_and_loads_idempotently(settings):
    settings.DEBUG = True
    call_command("load_demo")
    call_command("load_demo")
    names = set(Program.objects.values_list("name", flat=True))
    assert names == {
        "GPT-3-class 175B from scratch",
        "7B domain model by continued pretraining",
        "SFT of a 7B on 10k instructions",
        "RAG over a domain knowledge base",
        "ICL with a long-context API model",
    }
    assert set(Scenario.objects.values_list("strategy", flat=True)) == {
        "from_scratch",
        "cpt",
        "sft",
        "rag",
        "icl",
    }


def test_an_import_that_fails_saves_nothing(owner, program):
    before = GPUBudgetLine.objects.count(), Scenario.objects.count()
    with pytest.raises(DocumentError):
        services.scenario_import(user=owner, program=program, text="format: nope\n")
    assert (GPUBudgetLine.objects.count(), Scenario.objects.count()) == before


def test_gpu_line_factory_makes_a_valid_line(scenario):
    GPUBudgetLineFactory(scenario=scenario).full_clean()
