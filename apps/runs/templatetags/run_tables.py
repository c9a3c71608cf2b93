"""``{% run_months report currency %}`` and ``{% run_pools report currency %}``: the run
dashboard's budget-by-month table and its GPU pools and storage policy, built from the stored
report by ``apps.runs.report_tables`` — the same rows the PDF shows."""

from __future__ import annotations

from typing import Any

from django import template

from apps.runs import labels, report_tables

register = template.Library()


@register.inclusion_tag("runs/_months.html")
def run_months(report: dict[str, Any], currency: str) -> dict[str, Any]:
    return {"months": report_tables.month_table(report), "currency": currency}


@register.inclusion_tag("runs/_pools.html")
def run_pools(report: dict[str, Any], currency: str) -> dict[str, Any]:
    return {
        "pools": report_tables.pool_rows(report),
        "storage": report_tables.storage_summary(report),
        "currency": currency,
    }


@register.filter
def axis_label(axis: str) -> str:
    """A what-if axis by its name in the active language (``gpu_count`` → "GPU count")."""
    from django.utils.translation import gettext as _

    names = {
        "gpu_count": _("GPU count"),
        "gpu_type": _("GPU type"),
        "precision": _("Precision"),
        "strategy": _("Strategy"),
    }
    return names.get(axis, axis)


@register.filter
def axis_values(values: list[Any], axis: str) -> str:
    """The values of a what-if axis as people write them: "256, 512", "H100 SXM 80GB"."""
    return ", ".join(labels.axis_value(axis, v) for v in values)


@register.filter
def variant_label(variant: dict[str, Any]) -> str:
    """A variant as a plan would be named: "128 × H100 SXM 80GB · BF16"."""
    return labels.variant_label(variant)
