"""A what-if over GPU types prices each type at the catalog's price for it (in the plan's
currency), not at the price of the scenario's own GPU — so an H100 rental and a TPU v5p
reservation compare in one what-if (issue 17)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.programs.models import GPUType
from apps.runs.services import sweep_variant_prices
from tests.runs.test_sweep_save_variant import blueprint_scenario, finished_sweep, index_of

pytestmark = pytest.mark.django_db


def _costs(owner, scenario, axes):
    sweep = finished_sweep(owner, scenario, axes)
    return {p["variant"]["gpu_type"]: p for p in sweep.points}, sweep


def test_each_gpu_type_is_priced_from_the_catalog(owner, organization):
    scenario = blueprint_scenario(owner, organization, "cpt-7b-domain")  # CNY, 64 × A800
    axes = {"gpu_type": ["a800-80gb", "h100-80gb", "tpu-v5p"]}
    first, sweep = _costs(owner, scenario, axes)
    assert all(p["ok"] for p in first.values()), first
    prices = sweep_variant_prices(sweep)
    assert prices["tpu-v5p"] == float(GPUType.objects.get(key="tpu-v5p").price_cny_per_gpu_hour)

    GPUType.objects.filter(key="tpu-v5p").update(price_cny_per_gpu_hour=Decimal("1.00"))
    second, _ = _costs(owner, scenario, axes)
    # The TPU's point follows the TPU's catalog price; the others do not move.
    assert second["tpu-v5p"]["cost_p50"] < first["tpu-v5p"]["cost_p50"]
    assert second["h100-80gb"]["cost_p50"] == pytest.approx(first["h100-80gb"]["cost_p50"])
    assert second["a800-80gb"]["cost_p50"] == pytest.approx(first["a800-80gb"]["cost_p50"])
    assert index_of(sweep, {"gpu_type": "tpu-v5p"}) == 2


def test_an_fp8_what_if_on_h100_moves_the_sft_line_too_and_saves_what_it_simulated(
    owner, organization
):
    # The screenshot pass: every FP8 variant of the CPT demo (training and SFT lines on A800)
    # failed with "clusters.1.gpu_type: A800 SXM 80GB does not support fp8" — only the main
    # line moved to the variant's GPU.
    from apps.programs.plan_adapter import scenario_to_plan_dict
    from apps.runs.services import sweep_variant_save
    from llmplanner.simulation.sweep import apply_variant

    scenario = blueprint_scenario(owner, organization, "cpt-7b-domain")
    assert scenario.budget_lines.filter(gpu_type__key="a800-80gb").count() == 2
    variant = {"gpu_type": "h100-80gb", "precision": "fp8"}
    sweep = finished_sweep(owner, scenario, {k: [v] for k, v in variant.items()})
    assert sweep.points[0]["ok"], sweep.points[0].get("error")
    saved = sweep_variant_save(user=owner, sweep=sweep, index=0)
    copy = saved.scenario if hasattr(saved, "scenario") else saved
    assert set(copy.budget_lines.values_list("gpu_type__key", flat=True)) == {"h100-80gb"}
    simulated = apply_variant(sweep.inputs, variant, sweep_variant_prices(sweep))
    mine = scenario_to_plan_dict(copy)
    assert [p["gpu_type"] for p in mine["clusters"]] == [
        p["gpu_type"] for p in simulated["clusters"]
    ]
