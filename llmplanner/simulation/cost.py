"""Money: GPU-hours and wall-clock days to CNY/USD, renting or buying.

Amounts are computed in floats and handed out as ``Decimal`` rounded to cents (the boundary the
web layer and finance tooling see). Anchors: renting ≈ 50,000 CNY per A100 GPU-year at volume
(seed 000); buying is straight-line depreciation of the server share over its useful life plus
power at the facility's PUE (Uptime Institute 2023 survey: average PUE ≈ 1.58; modern AI halls
1.1–1.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .errors import ValidationError, require_positive
from .hardware import GPUSpec

HOURS_PER_YEAR = 8766.0  # 365.25 days
CURRENCIES = ("CNY", "USD")


@dataclass(frozen=True)
class CostInputs:
    """How compute is paid for. ``price_per_gpu_hour`` (in ``currency``) overrides the catalog.

    ``utilisation``: share of the paid GPU time that does this plan's work (rented GPUs idle between
    experiments are paid all the same, seed 000); ``discount``: negotiated share off list price.
    """

    currency: str = "CNY"
    usd_to_cny: float = 7.2
    mode: str = "rent"  # rent | buy
    price_per_gpu_hour: float | None = None
    discount: float = 0.0
    utilisation: float = 1.0
    depreciation_years: float = 4.0
    power_price_per_kwh: float | None = None  # default 0.10 USD = 0.72 CNY (industrial tariff)
    pue: float = 1.3

    def validate(self) -> CostInputs:
        if self.currency not in CURRENCIES:
            raise ValidationError("cost.currency", f"must be one of {CURRENCIES}")
        if self.mode not in ("rent", "buy"):
            raise ValidationError("cost.mode", "must be 'rent' or 'buy'")
        require_positive("cost.usd_to_cny", self.usd_to_cny, maximum=1000)
        if self.price_per_gpu_hour is not None:
            require_positive("cost.price_per_gpu_hour", self.price_per_gpu_hour, maximum=10_000)
        if not (0.0 <= self.discount < 1.0) or self.discount != self.discount:
            raise ValidationError("cost.discount", "must be a fraction from 0 to below 1")
        require_positive("cost.utilisation", self.utilisation, maximum=1.0)
        require_positive("cost.depreciation_years", self.depreciation_years, maximum=20)
        require_positive("cost.pue", self.pue, maximum=5)
        if self.pue < 1.0:
            raise ValidationError("cost.pue", "cannot be below 1.0")
        if self.power_price_per_kwh is not None:
            require_positive("cost.power_price_per_kwh", self.power_price_per_kwh, maximum=100)
        return self

    def from_usd(self, usd: float) -> float:
        return usd * self.usd_to_cny if self.currency == "CNY" else usd


def money(value: float) -> Decimal:
    return Decimal(repr(float(value))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class CostBreakdown:
    currency: str
    gpu_hours: float  # productive GPU-hours of the plan
    paid_gpu_hours: float  # GPU-hours paid for (÷ utilisation)
    wall_clock_days: float
    price_per_gpu_hour: Decimal
    compute: Decimal  # rent, or depreciation when buying
    power: Decimal  # 0 when renting (included in the price)
    total: Decimal
    capex: Decimal  # purchase price of the cluster when buying, else 0

    def as_json(self) -> dict[str, object]:
        return {
            "currency": self.currency,
            "gpu_hours": self.gpu_hours,
            "paid_gpu_hours": self.paid_gpu_hours,
            "wall_clock_days": self.wall_clock_days,
            "price_per_gpu_hour": str(self.price_per_gpu_hour),
            "compute": str(self.compute),
            "power": str(self.power),
            "total": str(self.total),
            "capex": str(self.capex),
        }


def compute_cost(
    gpu: GPUSpec, gpu_count: int, wall_clock_hours: float, inputs: CostInputs
) -> CostBreakdown:
    """Cost of ``gpu_count`` GPUs busy for ``wall_clock_hours`` under ``inputs``."""
    require_positive("cluster.gpu_count", gpu_count, integer=True)
    if wall_clock_hours < 0 or wall_clock_hours != wall_clock_hours:
        raise ValidationError("wall_clock_hours", "must be a finite number ≥ 0")
    gpu_hours = gpu_count * wall_clock_hours
    paid = gpu_hours / inputs.utilisation
    if inputs.mode == "rent":
        if inputs.price_per_gpu_hour is not None:
            price = inputs.price_per_gpu_hour
        elif inputs.currency == "CNY":
            price = gpu.price_cny_per_gpu_hour
        else:
            price = gpu.price_usd_per_gpu_hour
        price *= 1.0 - inputs.discount
        compute, power, capex = paid * price, 0.0, 0.0
    else:
        capex_usd = gpu.capex_usd_per_gpu * gpu_count * (1.0 - inputs.discount)
        capex = inputs.from_usd(capex_usd)
        compute = capex * (paid / gpu_count) / (inputs.depreciation_years * HOURS_PER_YEAR)
        kwh_price = inputs.power_price_per_kwh
        if kwh_price is None:
            kwh_price = inputs.from_usd(0.10)
        power = paid * gpu.tdp_w / 1000.0 * inputs.pue * kwh_price
        price = (compute + power) / paid if paid else 0.0
    return CostBreakdown(
        currency=inputs.currency,
        gpu_hours=gpu_hours,
        paid_gpu_hours=paid,
        wall_clock_days=wall_clock_hours / 24.0,
        price_per_gpu_hour=money(price),
        compute=money(compute),
        power=money(power),
        total=money(compute) + money(power),
        capex=money(capex),
    )


def gpu_years(total_flops: float, peak_flops_per_gpu: float, utilisation: float) -> float:
    """GPU-years to execute ``total_flops`` at ``utilisation`` of a per-GPU peak (FLOP/s)."""
    require_positive("total_flops", total_flops)
    require_positive("utilisation", utilisation, maximum=1.0)
    return total_flops / (peak_flops_per_gpu * utilisation) / (HOURS_PER_YEAR * 3600.0)
