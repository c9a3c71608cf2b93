"""Money at the API boundary: a decimal string with its currency code, never a float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any


def money(amount: Any, currency: str) -> dict[str, str]:
    value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return {"amount": str(value), "currency": currency}


def convert(amount: float, from_currency: str, to_currency: str, usd_to_cny: float) -> float:
    if from_currency == to_currency:
        return amount
    return amount * usd_to_cny if to_currency == "CNY" else amount / usd_to_cny
