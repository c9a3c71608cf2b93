"""Plotly figures of a simulated plan, built from the core's report (``simulation.report``).

One code path for every chart: the dashboard renders these figures with plotly.js, the PDF export
renders the same figure objects to SVG. Each builder takes the report dict stored on a run and
returns a ``go.Figure``; nothing here queries the database. The shared look, round ticks in the
active language, titles with units and the cap/deadline lines are in ``figure_style``; the time
charts (Gantt, finish distribution) in ``timeline_figures``; the compare and sweep charts in
``compare_figures``.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import plotly.graph_objects as go
from django.utils.translation import gettext as _

from apps.runs.compare_figures import compare_headlines, sweep_chart
from apps.runs.compute_figures import layout_label, layouts_compared, memory_breakdown, scaling
from apps.runs.figure_style import (
    CATEGORY_COLOURS,
    HALF_PX,
    NARROW_PX,
    STREAM_COLOURS,
    add_cap,
    add_deadline,
    category_label,
    money_text,
    room,
    titled,
    value_axis,
    wrap_label,
)
from apps.runs.figure_style import layout as _layout
from apps.runs.risk_figures import risk_heatmap
from apps.runs.timeline_figures import (
    deadline_date,
    deadline_text,
    finish_distribution,
    gantt,
    plan_start,
)
from llmplanner.simulation.program import DAYS_PER_MONTH

__all__ = [
    "CATEGORY_COLOURS",
    "STREAM_COLOURS",
    "category_label",
    "compare_headlines",
    "cost_breakdown",
    "cumulative_spend",
    "dashboard_figures",
    "deadline_date",
    "finish_distribution",
    "gantt",
    "layout_label",
    "layouts_compared",
    "memory_breakdown",
    "monthly_spend",
    "plan_start",
    "risk_heatmap",
    "scaling",
    "sweep_chart",
]

# Pixels a y axis takes beside the plot (tick labels and title), for the room left to labels.
AXIS_PX = 70


def _money_hover(values: list[float], currency: str) -> list[str]:
    return [money_text(v, currency) for v in values]


def cost_breakdown(report: dict[str, Any]) -> go.Figure:
    """Total cost by category: P50 bars with whiskers to P90, the total below them, and the
    budget cap when the plan has one. Horizontal, so category names read at any width."""
    cats = report["totals"]["cost_by_category"]
    cur = report["plan"]["currency"]
    total = report["totals"]["cost"]
    keys = [k for k, v in cats.items() if v["p90"] > 0]
    names = [category_label(k) for k in keys]
    total_name = _("Total")
    hover = _("%(what)s: P50 %(p50)s, P90 %(p90)s") % {
        "what": "%{y}",
        "p50": "%{customdata[0]}",
        "p90": "%{customdata[1]}",
    }
    fig = go.Figure()
    for ys, rows, colours in (
        (names, [cats[k] for k in keys], [CATEGORY_COLOURS.get(k, "#888") for k in keys]),
        ([total_name], [total], ["#333"]),
    ):
        fig.add_trace(
            go.Bar(
                y=ys,
                x=[r["p50"] for r in rows],
                orientation="h",
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [r["p90"] - r["p50"] for r in rows],
                    "arrayminus": [0] * len(rows),
                },
                marker_color=colours,
                customdata=[_money_hover([r["p50"], r["p90"]], cur) for r in rows],
                hovertemplate=hover + "<extra></extra>",
                showlegend=False,
            )
        )
    cap = report["plan"].get("budget_cap")
    values = [r["p90"] for r in cats.values()] + [total["p90"]]
    if cap:
        values += add_cap(fig, cap, cur, ref="x", values=values)
    order = [total_name, *names[::-1]]
    labels = [wrap_label(n, room(NARROW_PX, 0.3), 2) for n in order]
    return _layout(
        fig,
        max(300, 34 * len(order) + 120),
        barmode="overlay",
        xaxis=value_axis(titled(_("Cost P50 / P90"), cur), values, target=4),
        yaxis={
            "title": {"text": _("Category")},
            "categoryorder": "array",
            "categoryarray": order,
            "tickmode": "array",
            "tickvals": order,
            "ticktext": labels,
        },
    )


def cumulative_spend(report: dict[str, Any]) -> tuple[list[float], list[float] | None]:
    """The cumulative P50 and P90 lines of the monthly budget, from the report.

    ``monthly.cumulative_p50/p90`` are percentiles of each trial's spend to the end of the
    month (the last equals the total cost's P50/P90). A report stored before the core gave them
    has only per-month percentiles: the P50 line is then the running sum of the monthly P50s and
    there is no P90 line — summing monthly P90s would draw a spend no trial reaches.
    """
    monthly = report["monthly"]
    cum50 = monthly.get("cumulative_p50")
    if cum50 is None:
        cum50, running = [], 0.0
        for value in monthly["total_p50"]:
            running += value
            cum50.append(running)
    return list(cum50), monthly.get("cumulative_p90")


def _month_position(report: dict[str, Any], labels: list[str]) -> float | None:
    """Where the deadline falls on the monthly chart's category axis (month index, -0.5 at the
    start of the first month): in its calendar month by day, or at ``days / DAYS_PER_MONTH``
    on the core's equal months without a start date."""
    days = report["plan"].get("deadline_days")
    if not days:
        return None
    when = deadline_date(report)
    if when is None:
        return days / DAYS_PER_MONTH - 0.5
    key = f"{when.year}-{when.month:02d}"
    if key in labels:
        index = labels.index(key)
    else:  # after the last month shown: count months on from the first label
        first = dt.date.fromisoformat(labels[0] + "-01")
        index = (when.year - first.year) * 12 + when.month - first.month
    length = (
        dt.date(when.year + when.month // 12, when.month % 12 + 1, 1) - when.replace(day=1)
    ).days
    return index - 0.5 + (when.day - 1) / length


def _every(labels: list[str], width_px: float) -> list[str]:
    """Month labels to tick: as many as fit ``width_px`` (a label needs ~9 characters)."""
    fit = max(2, int((width_px - 2 * AXIS_PX) / (9 * 7.0)))
    return labels[:: max(1, math.ceil(len(labels) / fit))]


def monthly_spend(report: dict[str, Any]) -> go.Figure:
    """Spend per month stacked by category (each month's own P50), and the cumulative P50/P90
    of the spend (percentiles of the running total, not sums of monthly percentiles) against
    the budget cap; the deadline's month marked. The x axis is the report's month labels as
    categories (calendar months with a start date)."""
    m = report["monthly"]
    cur = report["plan"]["currency"]
    labels = list(m["labels"])
    fig = go.Figure()
    per_month = _("P50 of the month")
    for c, key in enumerate(m["categories"]):
        values = [row[c] for row in m["p50"]]
        if not any(values):
            continue
        name = category_label(key)
        fig.add_trace(
            go.Bar(
                x=labels,
                y=values,
                name=name,
                marker_color=CATEGORY_COLOURS.get(key, "#888"),
                customdata=_money_hover(values, cur),
                hovertemplate=_("%(month)s · %(what)s: %(amount)s (%(which)s)")
                % {"month": "%{x}", "what": name, "amount": "%{customdata}", "which": per_month}
                + "<extra></extra>",
            )
        )
    cum50, cum90 = cumulative_spend(report)
    exact = m.get("cumulative_p50") is not None
    lines = [(_("Cumulative P50") if exact else _("Cumulative (sum of monthly P50s)"), cum50, "")]
    if cum90 is not None:
        lines.append((_("Cumulative P90"), list(cum90), "dot"))
    for name, values, dash in lines:
        fig.add_trace(
            go.Scatter(
                x=labels,
                y=values,
                name=name,
                yaxis="y2",
                line={"color": "#333", "dash": dash or None},
                customdata=_money_hover(values, cur),
                hovertemplate=_("%(month)s: %(what)s %(amount)s")
                % {"month": "%{x}", "what": name, "amount": "%{customdata}"}
                + "<extra></extra>",
            )
        )
    cap = report["plan"].get("budget_cap")
    right = cum50 + list(cum90 or [])
    if cap:
        right += add_cap(fig, cap, cur, "y2", values=right)
    xaxis: dict[str, Any] = {"type": "category", "title": {"text": _month_title(report)}}
    deadline = _month_position(report, labels)
    if deadline is not None:
        add_deadline(fig, deadline, deadline_text(report), label_left=deadline > len(labels) / 2)
        xaxis["range"] = [-0.5, max(len(labels) - 0.5, deadline + 0.5)]
    stacked = [sum(row) for row in m["p50"]]
    wide, narrow = _every(labels, HALF_PX), _every(labels, NARROW_PX)
    return _layout(
        fig,
        400,
        narrow={"layout": {"xaxis.tickvals": narrow, "xaxis.ticktext": narrow, "height": 520}},
        barmode="stack",
        # The labels are the report's months (2027-03 or M1): categories, never re-parsed as
        # dates; a label every few months keeps them level (turned labels run into the legend).
        xaxis=xaxis | {"tickmode": "array", "tickvals": wide, "ticktext": wide},
        yaxis=value_axis(titled(_("Per month"), cur), stacked, target=4),
        yaxis2=value_axis(titled(_("cumulative"), cur), right, target=4, second=True),
    )


def _month_title(report: dict[str, Any]) -> str:
    if report["monthly"].get("calendar", plan_start(report) is not None):
        return titled(_("Month"), _("year-month"))
    return titled(_("Month"), _("months from start"))


def dashboard_figures(report: dict[str, Any]) -> dict[str, go.Figure]:
    """Every chart of the dashboard, by name (missing ones omitted: RAG/ICL have no layout)."""
    figures = {
        "cost_breakdown": cost_breakdown(report),
        "monthly_spend": monthly_spend(report),
        "gantt": gantt(report),
        "finish_distribution": finish_distribution(report),
        "memory_breakdown": memory_breakdown(report),
        "layouts_compared": layouts_compared(report),
        "scaling": scaling(report),
        "risk_heatmap": risk_heatmap(report),
    }
    return {k: v for k, v in figures.items() if v is not None}
