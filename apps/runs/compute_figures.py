"""The compute charts of a training plan's main run: memory per GPU of the chosen layout, the
chosen layout against the runners-up, and throughput against the GPU count. Layout names are
shortened (``layout_label``) and wrapped to the room their bar has (a narrower set on phones);
hover has them whole. RAG and ICL plans have no main run: every builder returns None."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from django.utils.translation import gettext as _

from apps.runs.figure_style import (
    HALF_PX,
    LIMIT_COLOUR,
    MEMORY_COLOURS,
    NARROW_PX,
    add_level,
    count_axis,
    number_text,
    percent_text,
    room,
    tick_room,
    titled,
    value_axis,
    wrap_label,
)
from apps.runs.figure_style import layout as _layout

# The share of the chart's width the layouts' names may take beside their bars.
LABEL_SHARE = 0.4


def memory_label(kind: str) -> str:
    return {
        "weights": _("weights"),
        "gradients": _("gradients"),
        "optimizer states": _("optimizer states"),
        "activations": _("activations"),
        "buffers and reserves": _("buffers and reserves"),
    }.get(kind, kind)


def layout_label(layout: str) -> str:
    """A layout as the charts show it: the core's description without ``recompute=none`` (the
    usual case), other recomputation as ``RC-full``/``RC-selective``."""
    parts = []
    for part in layout.split():
        if part == "recompute=none":
            continue
        parts.append(part.replace("recompute=", "RC-"))
    return " ".join(parts)


def memory_breakdown(report: dict[str, Any]) -> go.Figure | None:
    """Memory per GPU of the chosen layout, stacked by kind, against the GPU's capacity."""
    main = report.get("main_run")
    if not main:
        return None
    fig = go.Figure()
    gib = "GiB"
    for i, (kind, value) in enumerate(main["memory_breakdown_gib"].items()):
        name = memory_label(kind)
        fig.add_trace(
            go.Bar(
                x=[main["layout"]],
                y=[value],
                name=name,
                marker_color=MEMORY_COLOURS[i % 5],
                hovertemplate=f"{name}: %{{y:.1f}} {gib}<extra></extra>",
            )
        )
    capacity = report["plan"]["gpu_memory_gib"]
    add_level(fig, capacity, _("GPU memory %(gib)s GiB") % {"gib": f"{capacity:.0f}"}, dash="dash")
    short = layout_label(main["layout"])
    return _layout(
        fig,
        narrow={"layout": {"xaxis.ticktext": [wrap_label(short, tick_room(NARROW_PX), 3)]}},
        barmode="stack",
        xaxis={
            "title": {"text": _("Layout")},
            "tickmode": "array",
            "tickvals": [main["layout"]],
            "ticktext": [wrap_label(short, tick_room(HALF_PX), 3)],
        },
        yaxis=value_axis(titled(_("Memory per GPU"), gib), [main["memory_gib"], capacity]),
    )


def layouts_compared(report: dict[str, Any]) -> go.Figure | None:
    """The chosen layout (✓, dark, on top) and the runners-up: step time as horizontal bars,
    each bar's MFU written on it. Horizontal, so the layouts' names — shortened
    (``layout_label``) and wrapped to two or three lines — read at any width; hover has them
    whole. No second axis: MFU is a number per layout, not a scale."""
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
    y = [r["layout"] for r in rows]
    steps = [r["step_time_s"] for r in rows]
    hover = [
        [r["layout"] + (" ✓" if i == 0 else ""), f"{r['step_time_s']:.2f}", percent_text(r["mfu"])]
        for i, r in enumerate(rows)
    ]
    template = _("%(layout)s: %(step)s s per step, MFU %(mfu)s") % {
        "layout": "%{customdata[0]}",
        "step": "%{customdata[1]}",
        "mfu": "%{customdata[2]}",
    }
    fig = go.Figure(
        go.Bar(
            y=y,
            x=steps,
            orientation="h",
            name=_("Step time"),
            marker_color=["#1f77b4"] + ["#aec7e8"] * (len(rows) - 1),
            customdata=hover,
            hovertemplate=template + "<extra></extra>",
            showlegend=False,
        )
    )
    fig.add_trace(
        go.Scatter(
            y=y,
            x=[0] * len(rows),
            name="MFU",
            mode="text",
            text=[f"MFU {percent_text(r['mfu'])}" for r in rows],
            textposition="middle right",
            textfont={"size": 11, "color": ["#fff"] + ["#222"] * (len(rows) - 1)},
            hoverinfo="skip",
            showlegend=False,
        )
    )

    def ticks(width_px: float) -> list[str]:
        chars = room(width_px, LABEL_SHARE)
        return [
            wrap_label(("✓ " if i == 0 else "") + layout_label(r["layout"]), chars, 3)
            for i, r in enumerate(rows)
        ]

    order = y[::-1]
    return _layout(
        fig,
        60 * len(rows) + 130,
        narrow={"layout": {"yaxis.ticktext": ticks(NARROW_PX)[::-1]}},
        xaxis=value_axis(titled(_("Step time"), _("s")), steps, target=4),
        yaxis={
            "title": {"text": _("Layout")},
            "categoryorder": "array",
            "categoryarray": order,
            "tickmode": "array",
            "tickvals": order,
            "ticktext": ticks(HALF_PX)[::-1],
        },
    )


def scaling(report: dict[str, Any]) -> go.Figure | None:
    """Throughput and MFU of the main run against the GPU count (¼× to 4× the plan), on round
    GPU counts, with the plan's own count marked."""
    points = report.get("scaling") or []
    if not points:
        return None
    x = [p["gpu_count"] for p in points]
    tokens = [p["tokens_per_s"] for p in points]
    per_s = _("tokens/s")
    fig = go.Figure(
        go.Scatter(
            x=x,
            y=tokens,
            name=_("Throughput"),
            mode="lines+markers",
            line={"color": "#1f77b4"},
            customdata=[number_text(t) for t in tokens],
            hovertemplate=_("%(count)s GPUs: %(what)s")
            % {"count": "%{x:,}", "what": "%{customdata} " + per_s}
            + "<extra></extra>",
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
            hovertemplate=_("%(count)s GPUs: %(what)s")
            % {"count": "%{x:,}", "what": "MFU %{y:.0%}"}
            + "<extra></extra>",
        )
    )
    chosen = report["plan"].get("gpu_count")
    here = next((p for p in points if p["gpu_count"] == chosen), None)
    if here is not None:
        label = _("Plan: %(count)s GPUs") % {"count": f"{chosen:,}"}
        fig.add_trace(
            go.Scatter(
                x=[chosen],
                y=[here["tokens_per_s"]],
                name=label,
                mode="markers",
                marker={
                    "symbol": "diamond",
                    "size": 14,
                    "color": LIMIT_COLOUR,
                    "line": {"width": 1, "color": "#333"},
                },
                hovertemplate=label + "<extra></extra>",
            )
        )
        fig.add_shape(
            type="line",
            xref="x",
            x0=chosen,
            x1=chosen,
            yref="paper",
            y0=0,
            y1=1,
            line={"color": LIMIT_COLOUR, "dash": "dot", "width": 1.5},
        )
    return _layout(
        fig,
        xaxis=count_axis(titled(_("Cluster size"), _("GPUs")), x),
        yaxis=value_axis(titled(_("Throughput"), per_s), tokens),
        yaxis2=value_axis(
            titled("MFU", "%"), [p["mfu"] for p in points], percent=True, second=True
        ),
    )
