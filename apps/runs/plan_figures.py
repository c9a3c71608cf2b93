"""Plotly figures of a simulated plan, built from the core's report (``simulation.report``).

One code path for every chart: the dashboard renders these figures with plotly.js, the PDF export
renders the same figure objects to images. Each builder takes the report dict stored on a run and
returns a ``go.Figure``; nothing here queries the database.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from django.utils.translation import gettext as _

CATEGORY_COLOURS = {
    "gpu_compute": "#1f77b4",
    "storage": "#9467bd",
    "people": "#2ca02c",
    "data": "#ff7f0e",
    "inference": "#17becf",
    "contingency": "#7f7f7f",
}
STREAM_COLOURS = {
    "data": "#ff7f0e",
    "algorithm": "#2ca02c",
    "engineering": "#1f77b4",
    "operations": "#17becf",
}
MEMORY_COLOURS = ["#1f77b4", "#aec7e8", "#ff7f0e", "#2ca02c", "#c7c7c7"]


def category_label(key: str) -> str:
    return {
        "gpu_compute": _("GPU compute"),
        "storage": _("Storage"),
        "people": _("People"),
        "data": _("Data"),
        "inference": _("Inference / serving"),
        "contingency": _("Contingency"),
    }.get(key, key)


def _layout(fig: go.Figure, height: int = 320, **kwargs: Any) -> go.Figure:
    fig.update_layout(
        height=height,
        margin={"l": 60, "r": 20, "t": 30, "b": 50},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        legend={"orientation": "h", "y": -0.2},
        font={"family": "system-ui, -apple-system, 'Noto Sans CJK SC', sans-serif", "size": 12},
        **kwargs,
    )
    return fig


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


def monthly_spend(report: dict[str, Any]) -> go.Figure:
    """Spend per month stacked by category (P50), cumulative P50/P90 against the budget cap."""
    m = report["monthly"]
    cur = report["plan"]["currency"]
    fig = go.Figure()
    for c, key in enumerate(m["categories"]):
        values = [row[c] for row in m["p50"]]
        if not any(values):
            continue
        fig.add_trace(
            go.Bar(
                x=m["labels"],
                y=values,
                name=category_label(key),
                marker_color=CATEGORY_COLOURS[key],
            )
        )
    cum50, cum90, a, b = [], [], 0.0, 0.0
    for p50, p90 in zip(m["total_p50"], m["total_p90"], strict=True):
        a, b = a + p50, b + p90
        cum50.append(a)
        cum90.append(b)
    fig.add_trace(
        go.Scatter(
            x=m["labels"], y=cum50, name=_("Cumulative P50"), yaxis="y2", line={"color": "#333"}
        )
    )
    fig.add_trace(
        go.Scatter(
            x=m["labels"],
            y=cum90,
            name=_("Cumulative P90"),
            yaxis="y2",
            line={"color": "#333", "dash": "dot"},
        )
    )
    cap = report["plan"].get("budget_cap")
    if cap:
        fig.add_trace(
            go.Scatter(
                x=[m["labels"][0], m["labels"][-1]],
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
        yaxis_title=f"{cur} / {_('month')}",
        yaxis2={
            "title": f"{cur} {_('cumulative')}",
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
        },
    )


def gantt(report: dict[str, Any]) -> go.Figure:
    """Stages from P50 start to P50 finish, a lighter band to the P90 finish, gates as diamonds."""
    stages = [s for s in report["stages"] if s["key"] != "team"]
    names = [s["name"] for s in stages][::-1]
    fig = go.Figure()
    for s in stages:
        start, p50, p90 = s["start_days"]["p50"], s["finish_days"]["p50"], s["finish_days"]["p90"]
        colour = STREAM_COLOURS.get(s["stream"], "#888")
        fig.add_trace(
            go.Bar(
                y=[s["name"]],
                x=[max(p50 - start, 0.2)],
                base=[start],
                orientation="h",
                marker_color=colour,
                showlegend=False,
                hovertemplate=f"{s['name']}: day %{{base:.0f}}–{p50:.0f} (P50)<extra></extra>",
            )
        )
        fig.add_trace(
            go.Bar(
                y=[s["name"]],
                x=[max(p90 - p50, 0.0)],
                base=[p50],
                orientation="h",
                marker_color=colour,
                opacity=0.3,
                showlegend=False,
                hovertemplate=f"{s['name']}: P90 finish day {p90:.0f}<extra></extra>",
            )
        )
    gates = report["milestones"]
    stage_names = {s["key"]: s["name"] for s in stages}
    fig.add_trace(
        go.Scatter(
            y=[stage_names.get(g["stage"], g["stage"]) for g in gates],
            x=[g["p50_day"] for g in gates],
            mode="markers",
            marker={"symbol": "diamond", "size": 10, "color": "#111"},
            name=_("Gate (P50)"),
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [g["p90_day"] - g["p50_day"] for g in gates],
                "arrayminus": [0] * len(gates),
            },
            text=[g["name"] for g in gates],
            hovertemplate="%{text}: day %{x:.0f} (P50)<extra></extra>",
        )
    )
    deadline = report["plan"].get("deadline_days")
    if deadline:
        fig.add_vline(
            x=deadline, line_dash="dash", line_color="#d62728", annotation_text=_("Deadline")
        )
    return _layout(
        fig,
        max(300, 28 * len(names) + 80),
        barmode="overlay",
        xaxis_title=_("days from start"),
        yaxis={"categoryorder": "array", "categoryarray": names},
    )


def finish_distribution(report: dict[str, Any]) -> go.Figure:
    """Histogram of finish days over the trials with its cumulative distribution."""
    h = report["histograms"]["finish_days"]
    edges, counts = h["edges"], h["counts"]
    centres = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
    total = max(sum(counts), 1)
    cdf, run = [], 0
    for c in counts:
        run += c
        cdf.append(run / total)
    fig = go.Figure(go.Bar(x=centres, y=counts, name=_("Trials"), marker_color="#1f77b4"))
    fig.add_trace(
        go.Scatter(x=centres, y=cdf, name=_("Cumulative share"), yaxis="y2", line={"color": "#333"})
    )
    deadline = report["plan"].get("deadline_days")
    if deadline:
        fig.add_vline(
            x=deadline, line_dash="dash", line_color="#d62728", annotation_text=_("Deadline")
        )
    return _layout(
        fig,
        xaxis_title=_("finish (days from start)"),
        yaxis_title=_("trials"),
        yaxis2={"overlaying": "y", "side": "right", "range": [0, 1], "tickformat": ".0%"},
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
