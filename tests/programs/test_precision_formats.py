"""New compute formats reach the workspace: choices, the catalog's per-part formats, the form's
refusal naming the field, the plan the core gets, and the admin's core figures (issue 17)."""

import pytest

from apps.programs.catalogs import catalogs_seed
from apps.programs.forms import TargetModelForm
from apps.programs.models import GPUType, Scenario
from apps.programs.plan_adapter import scenario_plan, scenario_to_plan_dict

pytestmark = pytest.mark.django_db


def _form(scenario, precision):
    return TargetModelForm(
        {
            "version": scenario.version,
            "model_preset": scenario.model_preset_id,
            "training_tokens": "2T",
            "precision": precision,
            "global_batch_tokens": "4,194,304",
        },
        instance=Scenario.objects.get(pk=scenario.pk),
    )


def _train_on(scenario, key):
    line = scenario.budget_lines.get()
    line.gpu_type = GPUType.objects.get(key=key)
    line.save()


def test_mxfp8_is_refused_on_h100_naming_the_field(scenario):
    _train_on(scenario, "h100-80gb")
    form = _form(scenario, "mxfp8")
    assert not form.is_valid()
    assert "H100 SXM 80GB has no mxfp8 tensor cores" in form.errors["precision"][0]


@pytest.mark.parametrize(
    ("key", "precision"),
    [("b200-180gb", "mxfp8"), ("h100-80gb", "fp8-blockwise"), ("b200-180gb", "nvfp4")],
)
def test_a_format_the_part_runs_is_saved_and_reaches_the_core(scenario, key, precision):
    _train_on(scenario, key)
    form = _form(scenario, precision)
    assert form.is_valid(), form.errors
    form.save()
    scenario.refresh_from_db()
    assert scenario.precision == precision
    assert scenario_to_plan_dict(scenario)["training"]["precision"] == precision
    assert scenario_plan(scenario).precision == precision  # the core accepts it


def test_seeding_again_teaches_existing_parts_their_new_formats_and_keeps_prices():
    GPUType.objects.filter(key="b200-180gb").update(
        precisions=["bf16", "fp8"], price_usd_per_gpu_hour=4
    )
    catalogs_seed()
    b200 = GPUType.objects.get(key="b200-180gb")
    assert {"mxfp8", "nvfp4"} <= set(b200.precisions)
    assert b200.price_usd_per_gpu_hour == 4


def test_the_admin_shows_what_the_core_plans_a_part_with(admin_client):
    gb200 = GPUType.objects.get(key__startswith="gb200")
    page = admin_client.get(f"/admin/programs/gputype/{gb200.pk}/change/").content.decode()
    assert "scale-up 72 GPUs over NVLink" in page
    assert "TFLOP/s dense" in page


@pytest.mark.parametrize("key", ["tpu-v5p", "gaudi3-128gb", "gb200-nvl72"])
def test_a_plan_on_a_tpu_gaudi_or_nvl72_rack_simulates(scenario, key):
    from llmplanner.simulation.report import run_plan

    _train_on(scenario, key)
    report = run_plan(scenario_to_plan_dict(scenario), trials=20, seed=1)
    assert report["totals"]["cost"]["p50"] > 0
    assert report["totals"]["finish_days"]["p50"] > 0
