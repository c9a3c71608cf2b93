import datetime as dt
from decimal import Decimal

import factory

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
from tests.accounts.factories import OrganizationFactory, UserFactory


class GPUTypeFactory(factory.django.DjangoModelFactory):
    """The seeded catalog row for ``key`` (the catalogs are seeded after migrate)."""

    class Meta:
        model = GPUType
        django_get_or_create = ("key",)

    key = "h100-80gb"
    name = "H100 SXM 80GB"
    price_cny_per_gpu_hour = Decimal("16.00")
    price_usd_per_gpu_hour = Decimal("2.99")
    precisions = ["bf16", "fp16", "fp32", "fp8", "tf32"]


class RoleTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoleTemplate
        django_get_or_create = ("key",)

    key = "algorithm_researcher"
    name = "Algorithm researcher"
    core_role = "algorithm_researcher"
    monthly_cost_cny = Decimal("39607")


class ModelPresetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelPreset
        django_get_or_create = ("key",)

    key = "llama2-7b"
    name = "Llama-2 7B"
    params = 6_738_415_616
    active_params = 6_738_415_616
    layers = 32
    hidden = 4096
    heads = 32
    ffn_hidden = 11008


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Program

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Program {n}")
    deadline = dt.date(2027, 12, 31)
    budget_cap = Decimal("30000000")
    created_by = factory.SubFactory(UserFactory)


class ScenarioFactory(factory.django.DjangoModelFactory):
    """A from-scratch 7B on 2T tokens; add lines with the line factories."""

    class Meta:
        model = Scenario

    program = factory.SubFactory(ProgramFactory)
    name = factory.Sequence(lambda n: f"Scenario {n}")
    strategy = "from_scratch"
    start_date = dt.date(2027, 1, 4)
    model_preset = factory.SubFactory(ModelPresetFactory)
    training_tokens = 2 * 10**12


class GPUBudgetLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GPUBudgetLine

    scenario = factory.SubFactory(ScenarioFactory)
    purpose = "training"
    gpu_type = factory.SubFactory(GPUTypeFactory)
    gpu_count = 256
    start_date = dt.date(2027, 2, 1)
    months = Decimal(3)


class TeamLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeamLine

    scenario = factory.SubFactory(ScenarioFactory)
    role = factory.SubFactory(RoleTemplateFactory)
    headcount = Decimal(2)


class DatasetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dataset

    scenario = factory.SubFactory(ScenarioFactory)
    name = factory.Sequence(lambda n: f"Dataset {n}")
    tokens = 10**12
    licence = "cleared"


class ScenarioActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScenarioActivity

    scenario = factory.SubFactory(ScenarioFactory)
    actor = factory.SubFactory(UserFactory)
    action = "updated"
    summary = "a change"
