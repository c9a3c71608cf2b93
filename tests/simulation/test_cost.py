"""Money: the seed anchors and the rent/buy arithmetic."""

from __future__ import annotations

from decimal import Decimal

import pytest

from llmplanner.simulation import (
    CostInputs,
    ValidationError,
    compute_cost,
    gpu_by_name,
    gpu_years,
    preset,
)
from llmplanner.simulation.cost import HOURS_PER_YEAR

GPT3_TOKENS = 300e9  # Brown et al. 2020


def _gpt3_flops() -> float:
    return 6 * preset("gpt3-175b").total_params() * GPT3_TOKENS  # 6·N·D (Kaplan 2020): ≈ 3.15e23


def test_gpt3_costs_400_to_500_a100_years_at_the_utilisation_the_seed_implies():
    # Seed 000 counts 400–500 A100 card-years at "perfect utilisation", which matches the
    # ≈ 23–28 TFLOP/s per card of the well-known 355 V100-year estimate — about 7.5% of the A100's
    # 312 TFLOP/s dense BF16 peak. The planner must reproduce the figure at that utilisation.
    years = gpu_years(_gpt3_flops(), gpu_by_name("A100").peak_flops("bf16"), utilisation=0.075)
    assert 400 <= years <= 500


def test_gpt3_costs_about_25m_cny_at_50k_cny_per_gpu_year():
    years = gpu_years(_gpt3_flops(), gpu_by_name("A100").peak_flops("bf16"), utilisation=0.075)
    hours = years * HOURS_PER_YEAR
    cost = compute_cost(gpu_by_name("A100"), 1, hours, CostInputs(currency="CNY"))
    # 50,000 CNY per GPU-year (seed 000) is the catalog's 5.71 CNY per GPU-hour.
    assert float(cost.total) == pytest.approx(years * 50_000, rel=0.01)
    assert 20e6 <= float(cost.total) <= 26e6


def test_at_real_mfu_gpt3_takes_tens_not_hundreds_of_a100_years():
    years = gpu_years(_gpt3_flops(), gpu_by_name("A100").peak_flops("bf16"), utilisation=0.45)
    assert 60 <= years <= 80


def test_renting_charges_paid_hours_at_the_discounted_price():
    gpu = gpu_by_name("H100")
    cost = compute_cost(gpu, 8, 100.0, CostInputs(currency="USD", discount=0.5, utilisation=0.8))
    assert cost.gpu_hours == 800
    assert cost.paid_gpu_hours == pytest.approx(1000)
    assert cost.total == Decimal("1495.00")  # 1000 h × $2.99 × 0.5
    assert isinstance(cost.total, Decimal)


def test_buying_depreciates_capex_and_pays_power():
    gpu = gpu_by_name("A100-80GB")
    inputs = CostInputs(
        currency="USD", mode="buy", depreciation_years=4, pue=1.5, power_price_per_kwh=0.10
    )
    cost = compute_cost(gpu, 8, HOURS_PER_YEAR, inputs)  # one year
    assert float(cost.compute) == pytest.approx(8 * 25_000 / 4, rel=1e-6)
    assert float(cost.power) == pytest.approx(8 * HOURS_PER_YEAR * 0.4 * 1.5 * 0.10, rel=1e-6)
    assert cost.capex == Decimal("200000.00")


def test_cny_and_usd_follow_the_exchange_rate_when_buying():
    gpu = gpu_by_name("H100")
    usd = compute_cost(gpu, 8, 1000, CostInputs(currency="USD", mode="buy"))
    cny = compute_cost(gpu, 8, 1000, CostInputs(currency="CNY", mode="buy", usd_to_cny=7.0))
    assert float(cny.compute) == pytest.approx(7.0 * float(usd.compute), rel=1e-6)


@pytest.mark.parametrize(
    "field, kwargs",
    [
        ("cost.currency", {"currency": "EUR"}),
        ("cost.discount", {"discount": 1.5}),
        ("cost.discount", {"discount": float("nan")}),
        ("cost.utilisation", {"utilisation": 0}),
        ("cost.usd_to_cny", {"usd_to_cny": -7}),
        ("cost.pue", {"pue": 0.5}),
        ("cost.mode", {"mode": "lease"}),
        # Each bound just past its limit, and each positive input at zero.
        ("cost.usd_to_cny", {"usd_to_cny": 1000.5}),
        ("cost.price_per_gpu_hour", {"price_per_gpu_hour": 0}),
        ("cost.price_per_gpu_hour", {"price_per_gpu_hour": 10_000.5}),
        ("cost.discount", {"discount": 1.0}),
        ("cost.utilisation", {"utilisation": 1.5}),
        ("cost.depreciation_years", {"depreciation_years": 0}),
        ("cost.depreciation_years", {"depreciation_years": 20.5}),
        ("cost.pue", {"pue": 0}),
        ("cost.pue", {"pue": 5.5}),
        ("cost.power_price_per_kwh", {"power_price_per_kwh": 0}),
        ("cost.power_price_per_kwh", {"power_price_per_kwh": 100.5}),
    ],
)
def test_it_rejects_bad_cost_inputs_naming_the_field(field, kwargs):
    with pytest.raises(ValidationError) as err:
        CostInputs(**kwargs).validate()
    assert err.value.field == field


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"currency": "EUR"}, "must be one of ('CNY', 'USD')"),
        ({"mode": "lease"}, "must be 'rent' or 'buy'"),
        ({"discount": 1.0}, "must be a fraction from 0 to below 1"),
        ({"pue": 0.9}, "cannot be below 1.0"),
    ],
)
def test_cost_input_errors_say_what_is_allowed(kwargs, message):
    # The web layer shows the message beside the form field: it must say what to enter.
    with pytest.raises(ValidationError) as err:
        CostInputs(**kwargs).validate()
    assert err.value.message == message


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"mode": "buy", "currency": "USD"},
        # Every bound itself is allowed.
        {"usd_to_cny": 1000},
        {"price_per_gpu_hour": 10_000},
        {"discount": 0.0, "utilisation": 1.0},
        {"depreciation_years": 20},
        {"pue": 1.0},
        {"pue": 5},
        {"power_price_per_kwh": 100},
    ],
)
def test_valid_cost_inputs_pass_validation(kwargs):
    inputs = CostInputs(**kwargs)
    assert inputs.validate() is inputs


@pytest.mark.parametrize(
    "gpu_count, hours, field",
    [
        (0, 10.0, "cluster.gpu_count"),
        (2.5, 10.0, "cluster.gpu_count"),
        (8, -1.0, "wall_clock_hours"),
        (8, float("nan"), "wall_clock_hours"),
    ],
)
def test_compute_cost_rejects_a_bad_cluster_or_duration(gpu_count, hours, field):
    with pytest.raises(ValidationError) as err:
        compute_cost(gpu_by_name("H100"), gpu_count, hours, CostInputs())
    assert err.value.field == field
    if field == "wall_clock_hours":
        assert err.value.message == "must be a finite number ≥ 0"


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"total_flops": 0, "utilisation": 0.5}, "total_flops"),
        ({"total_flops": 1e23, "utilisation": 0}, "utilisation"),
        ({"total_flops": 1e23, "utilisation": 1.5}, "utilisation"),
    ],
)
def test_gpu_years_rejects_bad_inputs_naming_them(kwargs, field):
    with pytest.raises(ValidationError) as err:
        gpu_years(peak_flops_per_gpu=312e12, **kwargs)
    assert err.value.field == field
