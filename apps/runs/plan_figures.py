"""Plotly figures of a simulated plan, built from the core's report (``simulation.report``).

One code path for every chart: the dashboard renders these figures with plotly.js, the PDF export
renders the same figure objects to images. Each builder takes the report dict stored on a run and
returns a ``go.Figure``; nothing here queries the database. The shared look is in
``figure_style``, the time charts (Gantt, finish distribution) in ``timeline_figures``.
"""

from __future__ import annotations

import math
from typing import Any

import plotly.graph_objects as go
from django.utils.translation import gettext as _

from apps.runs.figure_style import (
    CATEGORY_COLOURS,
    MEMORY_COLOURS,
    STREAM_COLOURS,
    category_label,
)
from apps.runs.figure_style import layout as _layout
from apps.runs.timeline_figures import (
    deadline_date,
    finish_distribution,
    gantt,
    plan_start,
)

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
    "layouts_compared",
    "memory_breakdown",
    "monthly_spend",
    "plan_start",
    "risk_heatmap",
    "scaling",
    "sweep_chart",
]


def cost_breakdown(report: dict[str, Any]) -> go.Figure:
    """Total cost by category: P50 bars with whiskers to P90."""
    cats = report["totals"]["cost_by_category"]
    cur = report["plan"]["currency"]
    keys = [k for k, v in cats.items() if v["p90"] > 0]
    fig = go.Figure(
        go.Bar(
            x=[category_label(k) for k in keys],
            y=[cats[k]["p50"] for k in keys],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [cats[k]["p90"] - cats[k]["p50"] for k in keys],
                "arrayminus": [0] * len(keys),
            },
            marker_color=[CATEGORY_COLOURS[k] for k in keys],
            hovertemplate="%{x}: %{y:,.0f} " + cur + " (P50)<extra></extra>",
        )
    )
    return _layout(fig, yaxis_title=f"{cur} (P50, whisker to P90)")


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


def monthly_spend(report: dict[str, Any]) -> go.Figure:
    """Spend per month stacked by category (each month's own P50), and the cumulative P50/P90
    of the spend (percentiles of the running total, not sums of monthly percentiles) against
    the budget cap. The x axis is the report's month labels as categories."""
    m = report["monthly"]
    cur = report["plan"]["currency"]
    labels = list(m["labels"])
    fig = go.Figure()
    per_month = _("P50 of the month")
    # Outside the f-strings below: makemessages does not find a gettext call inside one.
    month, cumulative = _("month"), _("cumulative")
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
                marker_color=CATEGORY_COLOURS[key],
                hovertemplate=f"%{{x}} · {name}: %{{y:,.0f}} {cur} ({per_month})<extra></extra>",
            )
        )
    cum50, cum90 = cumulative_spend(report)
    exact = m.get("cumulative_p50") is not None
    name50 = _("Cumulative P50") if exact else _("Cumulative (sum of monthly P50s)")
    fig.add_trace(
        go.Scatter(
            x=labels,
            y=cum50,
            name=name50,
            yaxis="y2",
            line={"color": "#333"},
            hovertemplate=f"%{{x}}: {name50} %{{y:,.0f}} {cur}<extra></extra>",
        )
    )
    if cum90 is not None:
        name90 = _("Cumulative P90")
        fig.add_trace(
            go.Scatter(
                x=labels,
                y=list(cum90),
                name=name90,
                yaxis="y2",
                line={"color": "#333", "dash": "dot"},
                hovertemplate=f"%{{x}}: {name90} %{{y:,.0f}} {cur}<extra></extra>",
            )
        )
    cap = report["plan"].get("budget_cap")
    if cap:
        fig.add_trace(
            go.Scatter(
                x=[labels[0], labels[-1]],
                y=[cap, cap],
                name=_("Budget cap"),
                yaxis="y2",
                mode="lines",
                line={"color": "#d62728", "dash": "dash"},
            )
        )
    return _layout(
        fig,
        360,
        barmode="stack",
        # The labels are the report's months (2027-03 or M1): categories, never re-parsed as
        # dates; a label every few months keeps them level (turned labels run into the legend).
        xaxis={"type": "category", "dtick": max(1, math.ceil(len(labels) / 8))},
        yaxis_title=f"{cur} / {month} ({per_month})",
        yaxis2={
            "title": f"{cur} {cumulative}",
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
        },
    )


def memory_breakdown(report: dict[str, Any]) -> go.Figure | None:
    """Memory per GPU of the chosen layout, stacked by kind, against the GPU's capacity."""
    main = report.get("main_run")
    if not main:
        return None
    fig = go.Figure()
    for i, (kind, gib) in enumerate(main["memory_breakdown_gib"].items()):
        fig.add_trace(
            go.Bar(x=[main["layout"]], y=[gib], name=_(kind), marker_color=MEMORY_COLOURS[i % 5])
        )
    capacity = report["plan"]["gpu_memory_gib"]
    fig.add_hline(
        y=capacity, line_dash="dash", line_color="#d62728", annotation_text=f"{capacity:.0f} GiB"
    )
    return _layout(fig, barmode="stack", yaxis_title=_("GiB per GPU"))


def layouts_compared(report: dict[str, Any]) -> go.Figure | None:
    """The chosen layout and the runners-up: step time and MFU."""
    main = report.get("main_run")
    if not main:
        return None
    rows = [
        {
            "layout": main["layout"],
            "step_time_s": sum(main["step_breakdown_s"].values()),
            "mfu": main["mfu"],
        }
    ]
    rows += main["alternatives"]
    fig = go.Figure(
        go.Bar(
            x=[r["layout"] for r in rows],
            y=[r["step_time_s"] for r in rows],
            name=_("step time (s)"),
            marker_color=["#1f77b4"] + ["#aec7e8"] * (len(rows) - 1),
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[r["layout"] for r in rows],
            y=[r["mfu"] for r in rows],
            name="MFU",
            yaxis="y2",
            mode="markers+lines",
            line={"color": "#2ca02c"},
        )
    )
    return _layout(
        fig,
        yaxis_title=_("seconds per step"),
        yaxis2={"overlaying": "y", "side": "right", "tickformat": ".0%", "rangemode": "tozero"},
    )


def scaling(report: dict[str, Any]) -> go.Figure | None:
    """Throughput and MFU of the main run against the GPU count (¼× to 4× the plan)."""
    points = report.get("scaling") or []
    if not points:
        return None
    x = [p["gpu_count"] for p in points]
    fig = go.Figure(
        go.Scatter(
            x=x, y=[p["tokens_per_s"] for p in points], name=_("tokens/s"), mode="lines+markers"
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[p["mfu"] for p in points],
            name="MFU",
            yaxis="y2",
            mode="lines+markers",
            line={"color": "#2ca02c"},
        )
    )
    return _layout(
        fig,
        xaxis={"title": _("GPUs"), "type": "log"},
        yaxis_title=_("tokens per second"),
        yaxis2={"overlaying": "y", "side": "right", "tickformat": ".0%", "rangemode": "tozero"},
    )


def risk_heatmap(report: dict[str, Any]) -> go.Figure:
    """Risks as points: likelihood × impact in days, sized by impact in money."""
    risks = report["risks"]
    biggest = max([r["impact_cost"] for r in risks] + [1.0])
    fig = go.Figure(
        go.Scatter(
            x=[r["likelihood"] for r in risks],
            y=[r["impact_days"] for r in risks],
            mode="markers+text",
            text=[r["title"] for r in risks],
            textposition="top center",
            textfont={"size": 10},
            marker={
                "size": [10 + 30 * r["impact_cost"] / biggest for r in risks],
                "color": [r["likelihood"] * (1 + r["impact_days"] / 30) for r in risks],
                "colorscale": "YlOrRd",
                "showscale": False,
                "line": {"width": 1, "color": "#333"},
            },
            hovertemplate="%{text}<br>likelihood %{x:.0%}, impact %{y:.0f} days<extra></extra>",
        )
    )
    return _layout(
        fig,
        380,
        xaxis={"title": _("likelihood"), "tickformat": ".0%", "range": [-0.05, 1.05]},
        yaxis_title=_("impact (days)"),
    )


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


def compare_headlines(reports: list[tuple[str, dict[str, Any]]]) -> go.Figure:
    """2–4 scenarios side by side: cost P50/P90 and finish P50/P90 (the compare page)."""
    names = [name for name, _r in reports]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(x=names, y=[r["totals"]["cost"]["p50"] for _n, r in reports], name=_("Cost P50"))
    )
    fig.add_trace(
        go.Bar(x=names, y=[r["totals"]["cost"]["p90"] for _n, r in reports], name=_("Cost P90"))
    )
    fig.add_trace(
        go.Scatter(
            x=names,
            y=[r["totals"]["finish_days"]["p50"] for _n, r in reports],
            name=_("Finish P50"),
            yaxis="y2",
            mode="markers",
            marker={"size": 12, "symbol": "diamond"},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=names,
            y=[r["totals"]["finish_days"]["p90"] for _n, r in reports],
            name=_("Finish P90"),
            yaxis="y2",
            mode="markers",
            marker={"size": 12, "symbol": "diamond-open"},
        )
    )
    return _layout(
        fig,
        barmode="group",
        yaxis_title=_("cost"),
        yaxis2={"title": _("days"), "overlaying": "y", "side": "right", "rangemode": "tozero"},
    )


def sweep_chart(points: list[dict[str, Any]], currency: str) -> go.Figure:
    """A sweep: cost P50 (bars, whisker to P90) and finish P50/P90 (diamonds) per variant."""
    ok = [p for p in points if p["ok"]]
    labels = [", ".join(f"{v}" for v in p["variant"].values()) for p in ok]
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=[p["cost_p50"] for p in ok],
            name=_("Cost P50"),
            marker_color="#1f77b4",
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [p["cost_p90"] - p["cost_p50"] for p in ok],
                "arrayminus": [0] * len(ok),
            },
        )
    )
    fig.add_trace(
        go.Scatter(
            x=labels,
            y=[p["finish_days_p50"] for p in ok],
            name=_("Finish P50 (days)"),
            yaxis="y2",
            mode="markers+lines",
            marker={"symbol": "diamond", "size": 10},
            line={"color": "#2ca02c"},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=labels,
            y=[p["finish_days_p90"] for p in ok],
            name=_("Finish P90 (days)"),
            yaxis="y2",
            mode="markers",
            marker={"symbol": "diamond-open", "size": 10, "color": "#2ca02c"},
        )
    )
    if any(p.get("mfu") is not None for p in ok):
        fig.add_trace(
            go.Scatter(
                x=labels,
                y=[p.get("mfu") for p in ok],
                name="MFU",
                yaxis="y3",
                mode="markers+lines",
                line={"color": "#9467bd", "dash": "dot"},
            )
        )
    return _layout(
        fig,
        380,
        yaxis_title=f"{currency}",
        xaxis_title=_("variant"),
        yaxis2={"title": _("days"), "overlaying": "y", "side": "right", "rangemode": "tozero"},
        yaxis3={
            "overlaying": "y",
            "side": "right",
            "position": 1.0,
            "tickformat": ".0%",
            "visible": False,
            "rangemode": "tozero",
        },
    )
