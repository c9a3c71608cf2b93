"""Filters of the PDF: shares as percentages and plain decimals, in the active language."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def percent(value: Any, digits: int = 0) -> str:
    """0.597 → 60% (``|percent:1`` → 59.7%); blank values → —."""
    if value in (None, ""):
        return "—"
    # Round first: Django's number_format cuts the decimals off (0.5997 → "59.9").
    return f"{number_format(round(float(value) * 100, int(digits)), int(digits))}%"


@register.filter
def decimal(value: Any, digits: int = 1) -> str:
    """A plain number with ``digits`` decimals; blank values → —."""
    if value in (None, ""):
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return number_format(round(float(value), int(digits)), int(digits))


@register.filter
def plain(value: Any) -> str:
    """An input value as written in the appendix: numbers without float noise."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() and abs(value) >= 1e4 else f"{value:g}"
    return str(value)


@register.filter
def days(value: Any) -> str:
    """A whole number of days with its noun: "1 day", "12 days" (1 天 / 12 天 in Chinese)."""
    from django.utils.translation import ngettext

    if value in (None, ""):
        return "—"
    n = round(float(value))
    return ngettext("%(n)s day", "%(n)s days", n) % {"n": number_format(n, 0)}
