"""``{% run_months report currency %}`` and ``{% run_pools report currency %}``: the run
dashboard's budget-by-month table and its GPU pools and storage policy, built from the stored
report by ``apps.runs.report_tables`` — the same rows the PDF shows."""

from __future__ import annotations

from typing import Any

from django import template

from apps.runs import report_tables

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
