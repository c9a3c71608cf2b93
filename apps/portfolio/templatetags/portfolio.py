"""Filters of the portfolio page."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def percent(value: Any) -> str:
    """A probability (0–1) as a whole percentage; a small but real one is "<1%", not "0%"."""
    if value is None or value == "":
        return "—"
    share = float(value) * 100
    if 0 < share < 1:
        return "<1%"
    if 99 < share < 100:
        return ">99%"
    return f"{share:.0f}%"


@register.filter
def localized_risk(risk: dict[str, Any] | None) -> dict[str, Any] | None:
    """A risk of a stored report with its sentences in the active language (the API keeps the
    core's English; ``apps.runs.report_text``)."""
    if not risk:
        return risk
    from apps.runs.report_text import localize_report

    return localize_report({"risks": [risk]})["risks"][0]
