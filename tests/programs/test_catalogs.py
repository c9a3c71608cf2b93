import pytest
from django.core.exceptions import ValidationError
from django.utils.html import escape

from apps.programs.catalogs import catalogs_seed
from apps.programs.models import GPUType, ModelPreset, RoleTemplate, Scenario
from llmplanner.simulation.architecture import PRESETS
from llmplanner.simulation.hardware import CATALOG
from tests.programs.factories import ScenarioFactory

pytestmark = pytest.mark.django_db


def test_it_seeds_every_gpu_and_preset_of_the_core_and_the_role_templates():
    assert set(GPUType.objects.values_list("key", flat=True)) == {g.key for g in CATALOG}
    assert set(ModelPreset.objects.values_list("key", flat=True)) == set(PRESETS)
    assert RoleTemplate.objects.get(key="algorithm_researcher").monthly_cost_cny == 39607
    assert RoleTemplate.objects.get(key="ai_operations").monthly_cost_cny == 18457


def test_it_keeps_prices_edited_in_the_admin_when_seeding_again():
    GPUType.objects.filter(key="a800-80gb").update(price_cny_per_gpu_hour=4)
    assert catalogs_seed() == {"gpu_types": 0, "role_templates": 0, "model_presets": 0}
    assert GPUType.objects.get(key="a800-80gb").price_cny_per_gpu_hour == 4


def test_it_recreates_a_deleted_catalog_row():
    GPUType.objects.filter(key="h20-96gb").delete()
    assert catalogs_seed()["gpu_types"] == 1


def test_it_refuses_a_gpu_type_the_core_does_not_know():
    gpu = GPUType(key="tpu-v5", name="TPU", price_cny_per_gpu_hour=1, price_usd_per_gpu_hour=1)
    with pytest.raises(ValidationError, match="unknown GPU type"):
        gpu.full_clean()


def test_it_knows_which_precisions_each_gpu_has():
    assert "bf16" not in GPUType.objects.get(key="v100-32gb").precisions
    assert "fp8" in GPUType.objects.get(key="h100-80gb").precisions


@pytest.mark.parametrize(
    ("url", "model", "row"),
    [
        ("/admin/programs/gputype/", GPUType, "h100-80gb"),
        ("/admin/programs/roletemplate/", RoleTemplate, "algorithm_researcher"),
        ("/admin/programs/modelpreset/", ModelPreset, "llama3-8b"),
        ("/admin/programs/scenario/", Scenario, None),  # None: the scenario made by the test
    ],
)
def test_the_admin_lists_the_catalogs(admin_client, url, model, row):
    scenario = ScenarioFactory()
    response = admin_client.get(url)
    assert response.status_code == 200
    assert response.context["cl"].result_count == model.objects.count() > 0
    assert escape(row or scenario.name) in response.content.decode()
