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
