"""cost.py against numbers worked by hand (issue 15): every term of the bill, from its source.

Each test states its inputs, works the expected figure out in a comment from the sources the
module's docstrings name (the catalog's rental price, the seed 000 anchor of ≈ 50,000 CNY per
A100 GPU-year, straight-line depreciation, power = GPU-hours × TDP × PUE × tariff) and asserts
that figure, to the cent where the core hands out cents. Catalog figures used (hardware.py):

    A100 SXM 80GB: 5.71 CNY/GPU-h (seed 000), 400 W TDP, capex 25,000 USD per GPU
    H100 SXM:      40,000 USD per GPU (DGX H100 list ≈ 320,000 USD / 8), 700 W TDP

``scripts/mutation.py cost`` runs these with tests/simulation/test_cost.py.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from llmplanner.simulation import CostInputs, compute_cost, gpu_by_name, gpu_years


def test_renting_a100s_for_a_month_at_the_seed_anchor():
    # 1,024 A100 80GB for 30 days: 1,024 × 720 h = 737,280 GPU-hours, all paid (utilisation 1).
    # Catalog price 5.71 CNY/GPU-h (seed 000: 50,000 CNY / 8,766 h ≈ 5.70):
    # 737,280 × 5.71 = 737,280 × 5 + 737,280 × 0.71 = 3,686,400 + 523,468.80 = 4,209,868.80 CNY.
    cost = compute_cost(gpu_by_name("A100-80GB"), 1024, 720.0, CostInputs(currency="CNY"))
    assert cost.currency == "CNY"
    assert cost.gpu_hours == 737_280
    assert cost.paid_gpu_hours == 737_280
    assert cost.wall_clock_days == 30  # 720 h / 24
    assert cost.price_per_gpu_hour == Decimal("5.71")
    assert cost.compute == Decimal("4209868.80")
    assert cost.power == Decimal("0.00")  # power is in the rental price
    assert cost.capex == Decimal("0.00")  # nothing bought
    assert cost.total == Decimal("4209868.80")


def test_renting_at_a_quoted_price_pays_idle_hours_less_the_discount():
    # 4 GPUs for 25 h = 100 GPU-hours of work; at utilisation 0.5 the plan pays 100 / 0.5 = 200.
    # Quoted 10.00 CNY/GPU-h (overrides the catalog), 20% off: 10 × (1 − 0.2) = 8.00 CNY/GPU-h.
    # Rent: 200 × 8.00 = 1,600.00 CNY. Days: 25 / 24 = 1.041666…
    inputs = CostInputs(currency="CNY", price_per_gpu_hour=10.0, discount=0.2, utilisation=0.5)
    cost = compute_cost(gpu_by_name("H100"), 4, 25.0, inputs)
    assert cost.gpu_hours == 100
    assert cost.paid_gpu_hours == 200
    assert cost.wall_clock_days == pytest.approx(1.0416667, rel=1e-6)
    assert cost.price_per_gpu_hour == Decimal("8.00")
    assert cost.compute == Decimal("1600.00")
    assert cost.total == Decimal("1600.00")
    assert cost.capex == Decimal("0.00")


def test_buying_h100s_depreciates_the_discounted_price_and_pays_power_at_the_pue():
    # 8 H100 bought at 25% off: capex 8 × 40,000 × 0.75 = 240,000.00 USD.
    # Busy 1,000 h (8,000 GPU-hours). Straight-line over 4 years of 8,766 h = 35,064 h: each GPU
    # carries 1,000 / 35,064 of its price, so depreciation = 240,000 × 1,000 / 35,064
    # = 6,844.627 → 6,844.63 USD (35,064 × 6,844 = 239,978,016; remainder 21,984 / 35,064 = 0.627).
    # Power: 8,000 GPU-h × 0.700 kW × PUE 1.25 × 0.15 USD/kWh = 8,000 × 0.13125 = 1,050.00 USD.
    # Total 6,844.627 + 1,050 = 7,894.627 → 7,894.63; per GPU-hour 7,894.627 / 8,000 = 0.987 → 0.99.
    inputs = CostInputs(
        currency="USD",
        mode="buy",
        discount=0.25,
        depreciation_years=4,
        pue=1.25,
        power_price_per_kwh=0.15,
    )
    cost = compute_cost(gpu_by_name("H100"), 8, 1000.0, inputs)
    assert cost.currency == "USD"
    assert cost.capex == Decimal("240000.00")
    assert cost.compute == Decimal("6844.63")
    assert cost.power == Decimal("1050.00")
    assert cost.total == Decimal("7894.63")
    assert cost.price_per_gpu_hour == Decimal("0.99")


def test_buying_a100s_for_a_year_in_cny_with_the_default_tariff_and_pue():
    # 8 A100 80GB, one year of 8,766 h (70,128 GPU-hours), CNY at the default 7.2 CNY/USD.
    # Capex 8 × 25,000 USD × 7.2 = 1,440,000.00 CNY; one of 4 years' depreciation = 360,000.00.
    # Power at the defaults, PUE 1.3 and 0.10 USD/kWh = 0.72 CNY/kWh:
    # 70,128 × 0.4 kW = 28,051.2 kWh × 1.3 = 36,466.56 kWh × 0.72 = 26,255.9232 → 26,255.92 CNY.
    # Total 386,255.92 CNY; per GPU-hour 386,255.9232 / 70,128 = 5.5079 → 5.51 CNY (buying beats
    # the 5.71 rental anchor when the cluster is busy all year).
    cost = compute_cost(gpu_by_name("A100-80GB"), 8, 8766.0, CostInputs(currency="CNY", mode="buy"))
    assert cost.capex == Decimal("1440000.00")
    assert cost.compute == Decimal("360000.00")
    assert cost.power == Decimal("26255.92")
    assert cost.total == Decimal("386255.92")
    assert cost.price_per_gpu_hour == Decimal("5.51")
    assert cost.wall_clock_days == pytest.approx(365.25)  # 8,766 h / 24


def test_a_bought_cluster_used_zero_hours_costs_nothing_but_its_capex():
    # 0 h busy: 0 GPU-hours paid, so 0 depreciation, 0 kWh and no price per GPU-hour (0.00, not a
    # division by zero). The purchase itself still shows: 2 × 25,000 USD = 50,000.00 USD.
    cost = compute_cost(gpu_by_name("A100-80GB"), 2, 0.0, CostInputs(currency="USD", mode="buy"))
    assert cost.gpu_hours == 0
    assert cost.wall_clock_days == 0
    assert cost.compute == Decimal("0.00")
    assert cost.power == Decimal("0.00")
    assert cost.total == Decimal("0.00")
    assert cost.price_per_gpu_hour == Decimal("0.00")
    assert cost.capex == Decimal("50000.00")


@pytest.mark.parametrize(
    "price, hours, cents",
    [
        # 0.25 USD/GPU-h × 0.5 h = 0.125 USD: half a cent rounds up to 0.13 (half-even: 0.12).
        (0.25, 0.5, "0.13"),
        # 2.675 USD × 1 h: the float is 2.67499999…, but the amount as written is 2.675 → 2.68.
        (2.675, 1.0, "2.68"),
    ],
)
def test_amounts_round_half_up_to_the_cent_as_written(price, hours, cents):
    cost = compute_cost(
        gpu_by_name("A100-80GB"), 1, hours, CostInputs(currency="USD", price_per_gpu_hour=price)
    )
    assert cost.total == Decimal(cents)


def test_the_breakdown_as_json_carries_the_worked_figures_as_strings():
    # The quoted-price case above: 200 paid GPU-hours × 8.00 CNY = 1,600.00 CNY over 25 / 24 days.
    inputs = CostInputs(currency="CNY", price_per_gpu_hour=10.0, discount=0.2, utilisation=0.5)
    data = compute_cost(gpu_by_name("H100"), 4, 25.0, inputs).as_json()
    assert data.pop("wall_clock_days") == pytest.approx(1.0416667, rel=1e-6)
    assert data == {
        "currency": "CNY",
        "gpu_hours": 100.0,
        "paid_gpu_hours": 200.0,
        "price_per_gpu_hour": "8.00",
        "compute": "1600.00",
        "power": "0.00",
        "total": "1600.00",
        "capex": "0.00",
    }


def test_gpt3_at_half_the_a100_peak_takes_64_gpu_years():
    # GPT-3: 3.14e23 FLOPs (Brown et al. 2020, table D.1). A100 dense BF16 peak 312 TFLOP/s at
    # 50% → 1.56e14 FLOP/s per GPU: 3.14e23 / 1.56e14 = 2.01282e9 GPU-seconds; a GPU-year is
    # 8,766 h × 3,600 s = 31,557,600 s, so 2.01282e9 / 3.15576e7 = 63.782 GPU-years.
    assert gpu_years(3.14e23, 312e12, 0.5) == pytest.approx(63.7824, rel=1e-5)
