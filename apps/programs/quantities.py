"""Large counts as people write them: ``300B``, ``2T``, ``1.5e12``, ``2,000,000``, ``3000亿``.

Parsing accepts English suffixes (K, M, B/G, T) and Chinese units (万 = 10⁴, 亿 = 10⁸, 万亿 = 10¹²)
in either language; formatting follows the active language (``format_count(2e12, "zh-hans")`` →
``2万亿``).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

SUFFIXES = {
    "": 1,
    "k": 10**3,
    "m": 10**6,
    "b": 10**9,
    "g": 10**9,
    "t": 10**12,
    "万": 10**4,
    "亿": 10**8,
    "万亿": 10**12,
}
_PATTERN = re.compile(r"^([0-9.]+(?:e[+-]?[0-9]+)?)\s*(k|m|b|g|t|万亿|万|亿)?$")


def parse_count(text: str) -> int:
    """A whole count from text; ``ValueError`` when it is not one."""
    cleaned = str(text).strip().lower().replace(",", "").replace("_", "").replace(" ", "")
    cleaned = cleaned.removesuffix("tokens").removesuffix("params")
    match = _PATTERN.match(cleaned)
    if not match:
        raise ValueError(text)
    try:
        number = Decimal(match.group(1)) * SUFFIXES[match.group(2) or ""]
    except InvalidOperation as exc:
        raise ValueError(text) from exc
    if number != number.to_integral_value():
        raise ValueError(text)
    return int(number)


def parse_count_list(text: str) -> list[int]:
    """``"1B, 8B, 64B"`` → ``[1e9, 8e9, 64e9]`` (commas between items need a space or ``;``)."""
    parts = [p for p in re.split(r"[;，；]|,\s+|\s+", str(text).strip()) if p]
    return [parse_count(p) for p in parts]


def _trim(value: float) -> str:
    text = f"{value:.3g}"
    if "e" in text:  # .3g switches to exponents from 1000 on
        text = f"{value:.0f}"
    return text


def format_count(value: float | int | None, language: str = "en") -> str:
    """Compact count in the language's units: 2T / 300B / 1.5M, or 2万亿 / 3000亿 / 150万."""
    if value is None:
        return ""
    value = float(value)
    if language.startswith("zh"):
        units = ((1e12, "万亿"), (1e8, "亿"), (1e4, "万"))
    else:
        units = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"))
    for size, suffix in units:
        if abs(value) >= size:
            return f"{_trim(value / size)}{suffix}"
    return _trim(value)


def group_digits(value: float | int | Decimal, language: str = "en", decimals: int = 0) -> str:
    """1234567 → ``1,234,567`` (both languages: Chinese finance writes the same grouping)."""
    return f"{value:,.{decimals}f}"
