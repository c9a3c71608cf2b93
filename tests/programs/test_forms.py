import pytest

from apps.programs.forms import (
    DatasetForm,
    GPUBudgetLineForm,
    ImportForm,
    StrategyForm,
    TargetModelForm,
    TeamLineForm,
)
from apps.programs.models import GPUType, RoleTemplate, Scenario

pytestmark = pytest.mark.django_db


def gpu_data(**overrides):
    data = {
        "version": 1,
        "purpose": "training",
        "gpu_type": GPUType.objects.get(key="h100-80gb").pk,
        "gpu_count": 64,
        "mode": "rent",
        "months": "3",
        "delivery_risk": "standard",
        "reliability_class": "standard",
        "checkpoint_storage_gbps": "20",
    }
    data.update(overrides)
    return data


def test_it_names_the_rule_when_a_line_has_zero_gpus(scenario):
    form = GPUBudgetLineForm(gpu_data(gpu_count=0), scenario=scenario)
    assert not form.is_valid()
    assert form.errors["gpu_count"] == [
        "A budget line needs at least one GPU (a line with zero GPUs buys no compute)"
    ]


def test_it_names_the_rule_when_gpus_do_not_fill_whole_servers(scenario):
    form = GPUBudgetLineForm(gpu_data(gpu_count=12), scenario=scenario)
    assert "12 GPUs do not fill whole servers of 8" in form.errors["gpu_count"][0]


def test_it_rejects_a_budget_line_that_ends_before_it_starts(scenario):
    form = GPUBudgetLineForm(gpu_data(months="0"), scenario=scenario)
    assert "This line ends before it starts" in form.errors["months"][0]


def test_it_rejects_a_training_gpu_without_the_scenarios_precision(scenario):
    v100 = GPUType.objects.get(key="v100-32gb").pk
    form = GPUBudgetLineForm(gpu_data(gpu_type=v100), scenario=scenario)
    assert form.errors["gpu_type"] == [
        "V100 SXM2 32GB has no bf16 tensor cores (GPU catalog: vendor datasheets)"
    ]
    serving = GPUBudgetLineForm(gpu_data(gpu_type=v100, purpose="serving"), scenario=scenario)
    assert serving.is_valid(), serving.errors


def test_it_rejects_a_precision_the_training_gpus_lack(scenario):
    line = scenario.budget_lines.get()
    line.gpu_type = GPUType.objects.get(key="a100-80gb")
    line.save()
    form = TargetModelForm(
        {
            "version": 1,
            "model_preset": scenario.model_preset_id,
            "training_tokens": "2T",
            "precision": "fp8",
            "global_batch_tokens": "4,194,304",
        },
        instance=Scenario.objects.get(pk=scenario.pk),
    )
    assert "A100 SXM 80GB has no fp8 tensor cores" in form.errors["precision"][0]


def test_it_reads_token_counts_as_people_write_them(scenario):
    form = TargetModelForm(
        {
            "version": 1,
            "model_preset": scenario.model_preset_id,
            "training_tokens": "3000亿",
            "precision": "bf16",
            "global_batch_tokens": "4M",
        },
        instance=Scenario.objects.get(pk=scenario.pk),
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["training_tokens"] == 3 * 10**11
    bad = TargetModelForm(
        {
            "version": 1,
            "model_preset": "",
            "training_tokens": "lots",
            "precision": "bf16",
            "global_batch_tokens": "4M",
        },
        instance=Scenario.objects.get(pk=scenario.pk),
    )
    assert "300B" in bad.errors["training_tokens"][0]
    assert "Choose a preset" in bad.errors["model_preset"][0]


def test_it_shows_counts_compactly_only_when_that_is_exact(scenario):
    form = TargetModelForm(instance=Scenario.objects.get(pk=scenario.pk))
    assert 'value="2T"' in str(form["training_tokens"])
    assert 'value="4,194,304"' in str(form["global_batch_tokens"])


def strategy_data(**overrides):
    form = StrategyForm(instance=Scenario(strategy="from_scratch"))
    data = {name: form[name].value() for name in form.fields}
    data = {k: ("" if v is None else v) for k, v in data.items() if v is not False}
    data.update({"version": 1, "rag_corpus_tokens": "2B"})
    data.update(overrides)
    return data


def test_it_reads_ladders_and_no_ladder(scenario):
    form = StrategyForm(strategy_data(ladder="8B, 1B"), instance=scenario)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["ladder"] == [10**9, 8 * 10**9]
    form = StrategyForm(strategy_data(ladder="none"), instance=scenario)
    assert form.is_valid() and form.cleaned_data["ladder"] == []
    form = StrategyForm(strategy_data(ladder=""), instance=scenario)
    assert form.is_valid() and form.cleaned_data["ladder"] is None
    form = StrategyForm(strategy_data(ladder="big, bigger"), instance=scenario)
    assert "ladder" in form.errors


def test_it_requires_the_scenario_version(scenario):
    form = StrategyForm(strategy_data(version=""), instance=scenario)
    assert "version" in form.errors


def test_it_rejects_a_team_line_that_ends_before_it_starts(scenario):
    form = TeamLineForm(
        {
            "version": 1,
            "role": RoleTemplate.objects.get(key="legal").pk,
            "headcount": "1",
            "allocation_pct": 50,
            "start_date": "2027-05-01",
            "end_date": "2027-04-01",
        },
        scenario=scenario,
    )
    assert "ends before it starts" in form.errors["end_date"][0]


def test_it_offers_role_templates_with_their_salaries(scenario):
    form = TeamLineForm(scenario=scenario)
    assert "Algorithm researcher · 39,607 CNY" in str(form["role"])


def test_it_validates_a_dataset_line(scenario):
    form = DatasetForm(
        {
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
        },
        scenario=scenario,
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["tokens"] == 1_200_000_000_000
    assert "source" in DatasetForm({"version": 1, "source": "tv"}, scenario=scenario).errors


def test_it_needs_a_file_or_pasted_text_to_import():
    assert not ImportForm({"text": "  "}).is_valid()
    assert ImportForm({"text": "format: x"}).is_valid()
