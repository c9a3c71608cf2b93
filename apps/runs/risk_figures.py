"""The risk map: the report's risks as numbered points, likelihood × impact in days.

Risk names are long ("Cluster delivered late or below spec (hardware lottery)") and many risks
sit near each other, so the points carry their numbers only — the register's order — and the
names are in a numbered legend below the plot (wrapped to its width; a narrower set on phones)
and in each point's hover. Points drawn on top of each other share one label ("5, 6", "7–11")
above them (below, near the top of the plot) — more of them on a phone, whose labels are in
``layout.meta.narrow``.
"""

from __future__ import annotations

from typing import Any

import plotly.colors
import plotly.graph_objects as go
from django.utils.translation import gettext as _

from apps.runs.figure_style import (
    HALF_PX,
    NARROW_PX,
    money_text,
    room,
    titled,
    value_axis,
    wrap_label,
)
from apps.runs.figure_style import layout as _layout

SCALE = plotly.colors.get_colorscale("YlOrRd")
# Points whose centres are closer than this (px) share one label: a number is ~12 px wide and
# the smallest marker 18 px across.
NEAR_PX = 20
# Legend: px a line of a name takes, and the px for the plot above it (and its least height).
LEGEND_LINE_PX, PLOT_PX = 19, 300
# The legend's symbol and gap before a name; the y axis beside the plot (px).
SYMBOL_PX, Y_AXIS_PX = 40, 90
# Likelihood axis: the ticks, and a range wide enough for the markers at 0 and 100 %.
LIKELIHOOD_TICKS = [0, 0.2, 0.4, 0.6, 0.8, 1.0]
LIKELIHOOD_RANGE = [-0.08, 1.08]


def clusters(risks: list[dict[str, Any]], y_range: list[float], width_px: float) -> list[list[int]]:
    """Indexes of risks drawn on top of each other in a chart ``width_px`` wide, grouped in
    rank order: a risk joins the group of any risk nearer than ``NEAR_PX`` (on a phone more
    risks share a label than on a desktop)."""
    x_px = (width_px - Y_AXIS_PX) / (LIKELIHOOD_RANGE[1] - LIKELIHOOD_RANGE[0])
    y_px = (PLOT_PX - 70) / ((y_range[1] - y_range[0]) or 1.0)
    groups: list[list[int]] = []
    for i, r in enumerate(risks):
        near = [
            g
            for g in groups
            if any(
                abs(r["likelihood"] - risks[j]["likelihood"]) * x_px < NEAR_PX
                and abs(r["impact_days"] - risks[j]["impact_days"]) * y_px < NEAR_PX
                for j in g
            )
        ]
        merged = sorted([i, *(j for g in near for j in g)])
        groups = [g for g in groups if g not in near] + [merged]
    return sorted(groups)


def point_labels(
    risks: list[dict[str, Any]], y_range: list[float], width_px: float
) -> list[dict[str, Any]]:
    """Each risk's label at a width, as trace settings: its number inside its marker; for a
    group, "2, 5" or "7–11" above (below, near the top) its first risk, and nothing on the
    others."""
    top = y_range[1] - 0.2 * (y_range[1] - y_range[0])
    out: list[dict[str, Any]] = [{"text": [""], "textposition": "middle center"} for _r in risks]
    for group in clusters(risks, y_range, width_px):
        first = group[0]
        out[first]["text"] = [numbers_text([i + 1 for i in group])]
        if len(group) > 1:
            high = risks[first]["impact_days"] > top
            out[first]["textposition"] = "bottom center" if high else "top center"
    return out


def numbers_text(numbers: list[int]) -> str:
    """Risk numbers as one label: "2, 5", runs of three or more as "7–11"."""
    parts: list[str] = []
    run: list[int] = []
    for n in [*sorted(numbers), None]:
        if n is not None and run and n == run[-1] + 1:
            run.append(n)
            continue
        if run:
            parts += [f"{run[0]}–{run[-1]}"] if len(run) > 2 else [str(m) for m in run]
        run = [n] if n is not None else []
    return ", ".join(parts)


def _colour(score: float) -> str:
    return plotly.colors.sample_colorscale(SCALE, [min(0.1 + 0.9 * score, 0.999)])[0]


def risk_heatmap(report: dict[str, Any]) -> go.Figure:
    """Risks as numbered points sized by impact in money and coloured by rank score
    (likelihood × (1 + impact days / 30), the register's order); the numbered names in the
    legend, every figure in hover."""
    risks = report["risks"]
    cur = report["plan"]["currency"]
    biggest = max([r["impact_cost"] for r in risks] + [1.0])
    scores = [r["likelihood"] * (1 + r["impact_days"] / 30) for r in risks]
    top = max(scores + [1e-9])
    y_axis = value_axis(
        titled(_("Impact"), _("days")), [r["impact_days"] for r in risks], zero=False, pad=0.1
    )
    wide_labels = point_labels(risks, y_axis["range"], HALF_PX)
    narrow_labels = point_labels(risks, y_axis["range"], NARROW_PX)
    hover = _("likelihood %(p)s · impact %(days)s days, %(cost)s") % {
        "p": "%{x:.0%}",
        "days": "%{y:.0f}",
        "cost": "%{customdata[1]}",
    }
    wide_chars, narrow_chars = room(HALF_PX - SYMBOL_PX), room(NARROW_PX - SYMBOL_PX)
    fig = go.Figure()
    wide_names, narrow_names = [], []
    for i, r in enumerate(risks):
        number = f"{i + 1}  "
        wide_names.append(number + wrap_label(r["title"], wide_chars - len(number), 3))
        narrow_names.append(number + wrap_label(r["title"], narrow_chars - len(number), 3))
        dark = scores[i] / top > 0.6
        for labels in (wide_labels[i], narrow_labels[i]):
            inside = labels["textposition"] == "middle center"
            labels["textfont.color"] = "#fff" if dark and inside else "#222"
        fig.add_trace(
            go.Scatter(
                x=[r["likelihood"]],
                y=[r["impact_days"]],
                mode="markers+text",
                name=wide_names[-1],
                text=wide_labels[i]["text"],
                textposition=wide_labels[i]["textposition"],
                textfont={"size": 10, "color": wide_labels[i]["textfont.color"]},
                cliponaxis=False,
                marker={
                    "size": 18 + 14 * r["impact_cost"] / biggest,
                    "color": _colour(scores[i] / top),
                    "line": {"width": 1, "color": "#333"},
                },
                customdata=[[f"{i + 1}. {r['title']}", money_text(r["impact_cost"], cur)]],
                hovertemplate="%{customdata[0]}<br>" + hover + "<extra></extra>",
            )
        )
    return _layout(
        fig,
        _height(wide_names),
        narrow={
            "layout": {"height": _height(narrow_names)},
            "data": [
                {"name": n} | labels for n, labels in zip(narrow_names, narrow_labels, strict=True)
            ],
        },
        showlegend=True,
        legend={
            "orientation": "v",
            "yref": "container",
            "y": 0,
            "yanchor": "bottom",
            "x": 0,
            "itemsizing": "constant",
            # plotly.js caps a legend below the plot at half the figure and scrolls the rest;
            # the figure's height is made for the whole list.
            "maxheight": 0.9,
        },
        xaxis={
            "title": {"text": titled(_("Likelihood"), "%")},
            "tickmode": "array",
            "tickvals": LIKELIHOOD_TICKS,
            "ticktext": [f"{t * 100:.0f}%" for t in LIKELIHOOD_TICKS],
            "range": LIKELIHOOD_RANGE,
            "zeroline": False,
        },
        yaxis=y_axis,
    )


def _height(names: list[str]) -> int:
    return PLOT_PX + LEGEND_LINE_PX * sum(n.count("\n") + 1 for n in names)
