"""Tables of a simulated plan, read from the core's report: the months of the budget, the GPU
pools and the storage policy. One builder per table, shared by the run's dashboard
(``templatetags/report_tables.py``) and the PDF (``apps.reports.document``), so both show the
same numbers on the same months. Nothing here queries the database or computes a percentile.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from apps.runs.plan_figures import category_label, cumulative_spend


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def month_table(report: dict[str, Any]) -> dict[str, Any]:
    """The budget by month: the report's month labels, each month's own P50 per category and
    its total's P50/P90 (percentiles of that month alone), and the cumulative P50/P90 of the
    spend to the month's end (the report's ``cumulative_p50/p90``).

    ``exact`` is False for a report stored before the core gave cumulative percentiles: its
    cumulative P50 is then the running sum of the monthly P50s and its cumulative P90 None.
    """
    monthly = report["monthly"]
    keys = list(monthly["categories"])
    used = [i for i, _k in enumerate(keys) if any(row[i] for row in monthly["p90"])]
    cum50, cum90 = cumulative_spend(report)
    rows = []
    for m, label in enumerate(monthly["labels"]):
        rows.append(
            {
                "label": label,
                "values": [monthly["p50"][m][i] for i in used],
                "total_p50": monthly["total_p50"][m],
                "total_p90": monthly["total_p90"][m],
                "cumulative_p50": cum50[m],
                "cumulative_p90": cum90[m] if cum90 is not None else None,
            }
        )
    return {
        "categories": [(keys[i], category_label(keys[i])) for i in used],
        "rows": rows,
        "exact": monthly.get("cumulative_p50") is not None and cum90 is not None,
        "calendar": bool(monthly.get("calendar")),
    }


def purpose_label(purpose: str) -> str:
    return {
        "main": _("Main training"),
        "experiments": _("Experiments / ladder"),
        "finetune": _("SFT and alignment"),
        "serving": _("Serving"),
        "other": _("Other"),
    }.get(purpose, purpose)


def mode_label(mode: str) -> str:
    return {"rent": _("Rent"), "buy": _("Buy")}.get(mode, mode)


def months_text(months: float | None) -> str:
    """``3 months``, ``1 month``, ``1.5 months`` (a fraction reads as plural)."""
    if months is None:
        return ""
    months = float(months)
    number = int(months) if months.is_integer() else 2
    return ngettext("%(n)s month", "%(n)s months", number) % {"n": f"{months:g}"}


def pool_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per GPU pool of the report (none for a report stored before pools existed):
    purpose, GPUs, the window as booked (start and months; an open window has neither), when
    it is delivered (P50/P90: a date with a start date, else a day), what the window costs, how
    likely the stages outrun it and what the extension costs."""
    rows = []
    for pool in report.get("pools") or []:
        delivered = pool.get("delivered_day") or {}
        rows.append(
            {
                **pool,
                "purpose_label": purpose_label(pool["purpose"]),
                "mode_label": mode_label(pool.get("mode", "")),
                "booked": pool.get("window") == "booked",
                "months_text": months_text(pool.get("months")),
                "start": _date(pool.get("start_date")),
                "delivered_p50": _date(pool.get("delivered_date_p50")),
                "delivered_p90": _date(pool.get("delivered_date_p90")),
                "delivered_day_p50": delivered.get("p50"),
                "delivered_day_p90": delivered.get("p90"),
                "window_end_p50": _date(pool.get("window_end_date_p50")),
                "window_cost_p50": (pool.get("window_cost") or {}).get("p50"),
                "extension_cost_p50": (pool.get("extension_cost") or {}).get("p50"),
                "extension_days_p90": (pool.get("extension_days") or {}).get("p90"),
            }
        )
    return rows


STORAGE_SIZE_KEYS = ("checkpoint_tb", "weights_tb", "raw_data_tb", "tokenised_data_tb")


def storage_summary(report: dict[str, Any]) -> dict[str, Any] | None:
    """The storage policy the core costed and the sizes it costed it with (TB), or None for a
    report stored before the core stated a policy."""
    storage = report.get("storage")
    if not storage:
        return None
    names = {
        "checkpoint_tb": _("One checkpoint"),
        "weights_tb": _("Model weights"),
        "raw_data_tb": _("Raw datasets"),
        "tokenised_data_tb": _("Tokenised datasets"),
    }
    sizes = storage.get("sizes_tb") or {}
    order = [k for k in STORAGE_SIZE_KEYS if k in sizes] + [
        k for k in sizes if k not in STORAGE_SIZE_KEYS
    ]
    policy = storage.get("policy") or {}
    return {
        "policy": policy,
        "milestones": ", ".join(policy.get("milestone_checkpoints") or []),
        "sizes": [(names.get(k, k), sizes[k]) for k in order],
    }
