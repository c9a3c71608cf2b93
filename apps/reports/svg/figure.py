"""One plotly figure → one ``<svg>`` element: axes from the data, margins from the labels."""

from __future__ import annotations

import math
from typing import Any

import plotly.graph_objects as go

from apps.reports.svg.axes import Axis, as_list, as_number, shorten, text_width, wrap_label
from apps.reports.svg.draw import (
    AXIS_COLOUR,
    GRID_COLOUR,
    Canvas,
    Frame,
    Trace,
    bar_base,
    dash,
    draw_bars,
    draw_fill,
    draw_scatter,
    draw_shapes,
    marker,
)
from apps.runs.figure_style import plain_text

FONT_FAMILY = "'Noto Sans CJK SC', 'Noto Sans', 'DejaVu Sans', sans-serif"
# plotly's default colorway (template "plotly"), for a trace that names no colour.
DEFAULT_COLORWAY = [
    "#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A",
    "#19d3f3", "#FF6692", "#B6E880", "#FF97FF", "#FECB52",
]  # fmt: skip
TRACE_TYPES = ("bar", "scatter")
# Pixels per tick wanted along each axis.
Y_TICK_PX, X_TICK_PX = 55, 90


class UnsupportedFigure(ValueError):
    """The figure uses a trace type this renderer does not draw."""


def _displayed(value: Any) -> Any:
    """Every string of a figure's spec as plotly displays it (tags dropped, entities decoded):
    the figure builders escape user text for plotly (``figure_style.escape_figure_text``), and
    this renderer writes plain text, escaped for XML where it is drawn."""
    if isinstance(value, str):
        return plain_text(value)
    if isinstance(value, dict):
        return {k: _displayed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_displayed(v) for v in value]
    return value


def figure_to_svg(
    fig: go.Figure, width: int = 680, height: int | None = None, element_id: str = "chart"
) -> str:
    """The figure as a standalone ``<svg>`` of ``width`` × ``height`` px (the figure's own
    layout height by default); it scales with CSS through its ``viewBox``. ``element_id`` keeps
    ids unique when several charts share one HTML document."""
    spec = _displayed(fig.to_plotly_json())
    layout = dict(spec.get("layout") or {})
    template = (layout.pop("template", None) or {}).get("layout") or {}
    colorway = as_list(layout.get("colorway") or template.get("colorway")) or DEFAULT_COLORWAY
    height = int(height or layout.get("height") or 320)
    font_size = as_number((layout.get("font") or {}).get("size")) or 12.0
    tick_size = round(font_size * 0.92, 2)

    traces = _traces(spec.get("data") or [], colorway)
    axes = _axes(traces, layout)
    barmode = str(layout.get("barmode") or "group")
    _autorange(traces, axes, layout, barmode, width, height)

    # Margins depend on the tick labels, whose number depends on the plot's size: settle twice.
    x_axis = axes["x"]
    y_axes = [a for name, a in axes.items() if name[0] == "y"]
    legend = _legend_items(traces, layout)
    top, plot_h = 14.0, height * 0.7
    for _ in range(2):
        for axis in y_axes:
            axis.set_ticks(plot_h / Y_TICK_PX)
        left = max(
            _side_width([a for a in y_axes if a.visible and not a.on_right], tick_size, font_size),
            36.0,
        )
        right = _side_width([a for a in y_axes if a.visible and a.on_right], tick_size, font_size)
        plot_w = width - left - right
        x_axis.set_ticks(plot_w / X_TICK_PX)
        labels, label_h, rotate = _x_labels(x_axis, plot_w, left, tick_size)
        legend_rows = _legend_rows(legend, width - 20, font_size, _vertical(layout))
        bottom = (
            label_h
            + (font_size + 10 if x_axis.title else 4)
            + sum(_row_height(row, font_size) for row in legend_rows)
        )
        plot_h = max(height - top - bottom - 4, 60.0)
    frame = Frame(width, height, left, top, plot_w, plot_h)

    canvas = Canvas(width=width)
    canvas.add(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{FONT_FAMILY}" class="chart">'
    )
    canvas.add(
        f'<clipPath id="{element_id}-plot"><rect x="{left:.1f}" y="{top - 2:.1f}" '
        f'width="{plot_w:.1f}" height="{plot_h + 4:.1f}"/></clipPath>'
    )
    _draw_axes(canvas, frame, axes, labels, rotate, tick_size, font_size)
    canvas.add(f'<g clip-path="url(#{element_id}-plot)">')
    bargap = as_number(layout.get("bargap"))
    bars = [t for t in traces if t.kind == "bar"]
    draw_bars(canvas, frame, bars, axes, barmode, 0.2 if bargap is None else bargap)
    below: dict[tuple[str, str], Trace] = {}
    for t in traces:
        if t.kind == "scatter":
            axes_of = (t.xaxis, t.yaxis)
            draw_fill(canvas, frame, t, below.get(axes_of), axes[t.xaxis], axes[t.yaxis])
            below[axes_of] = t
    for t in traces:
        if t.kind == "scatter":
            draw_scatter(canvas, frame, t, axes[t.xaxis], axes[t.yaxis], font_size)
    canvas.add("</g>")
    draw_shapes(canvas, frame, layout, axes, font_size)
    _draw_legend(
        canvas,
        legend_rows,
        width,
        top + plot_h + label_h + (font_size + 10 if x_axis.title else 4) + 4,
        font_size,
        _vertical(layout),
    )
    canvas.add("</svg>")
    return "".join(canvas.parts)


def _traces(data: list[dict[str, Any]], colorway: list[Any]) -> list[Trace]:
    traces = []
    for i, raw in enumerate(data):
        kind = raw.get("type") or "scatter"
        if kind not in TRACE_TYPES:
            raise UnsupportedFigure(f"trace type {kind!r} is not drawn by apps.reports.svg")
        if raw.get("visible") is False:
            continue
        colour = str(colorway[i % len(colorway)])
        marker_colour = (raw.get("marker") or {}).get("color")
        line_colour = (raw.get("line") or {}).get("color")
        if kind == "scatter" and line_colour:
            colour = str(line_colour)
        elif isinstance(marker_colour, str):
            colour = marker_colour
        traces.append(Trace(raw, colour))
    return traces


def _axes(traces: list[Trace], layout: dict[str, Any]) -> dict[str, Axis]:
    """Every axis a trace uses, plus x and y; an axis holding strings is a category axis."""
    values: dict[str, list[Any]] = {"x": [], "y": []}
    for t in traces:
        values.setdefault(t.xaxis, []).extend(t.values("x"))
        values.setdefault(t.yaxis, []).extend(t.values("y"))
    axes = {}
    for name, items in values.items():
        spec = dict(layout.get(("xaxis" if name[0] == "x" else "yaxis") + name[1:]) or {})
        axis = Axis(name, spec)
        if spec.get("type") in ("log", "category", "linear", "date"):
            axis.kind = spec["type"]
        elif any(isinstance(v, str) and as_number(v) is None for v in items):
            axis.kind = "category"
        if axis.kind == "category":
            order = []
            if spec.get("categoryorder") == "array":
                order = [str(c) for c in as_list(spec.get("categoryarray"))]
            for v in items:
                if v is not None and str(v) not in order:
                    order.append(str(v))
            axis.categories = order
        axes[name] = axis
    return axes


def _autorange(
    traces: list[Trace],
    axes: dict[str, Axis],
    layout: dict[str, Any],
    barmode: str,
    width: float,
    height: float,
) -> None:
    """Each axis's range from what lands on it: bars from their base (or zero), stacks summed,
    error bars, markers' size and labels, and line shapes placed in data coordinates."""
    extents: dict[str, list[float]] = {name: [] for name in axes}
    zero = dict.fromkeys(axes, False)
    pad_px = dict.fromkeys(axes, 0.0)
    stacks: dict[tuple[str, str, float, bool], float] = {}
    for t in traces:
        if t.kind == "bar":
            along = axes[t.xaxis if t.horizontal else t.yaxis]
            across = axes[t.yaxis if t.horizontal else t.xaxis]
            lengths = t.values("x" if t.horizontal else "y")
            positions = t.values("y" if t.horizontal else "x")
            plus, _minus = t.errors("error_x" if t.horizontal else "error_y", len(lengths))
            for j, (pos, length) in enumerate(zip(positions, lengths, strict=False)):
                value, c = as_number(length), across.position(pos)
                if value is None or c is None:
                    continue
                base = bar_base(t, j, along)
                if barmode == "stack" and base is None:
                    key = (along.name, across.name, c, value >= 0)
                    stacks[key] = stacks.get(key, 0.0) + value
                    extents[along.name].append(stacks[key])
                else:
                    start = base or 0.0
                    extents[along.name].extend([start, start + value + plus[j]])
                zero[along.name] = zero[along.name] or base is None
            pad_px[along.name] = max(pad_px[along.name], 8.0)
            continue
        xs, ys = t.values("x"), t.values("y")
        ex_plus, ex_minus = t.errors("error_x", len(xs))
        ey_plus, ey_minus = t.errors("error_y", len(ys))
        radius = max(t.sizes(len(xs)) or [6.0]) / 2 if "markers" in t.mode else 0.0
        label = (
            (as_number((t.raw.get("textfont") or {}).get("size")) or 12.0) + 4
            if "text" in t.mode
            else 0.0
        )
        for j, (xv, yv) in enumerate(zip(xs, ys, strict=False)):
            for axis, value, plus, minus in (
                (axes[t.xaxis], xv, ex_plus[j], ex_minus[j]),
                (axes[t.yaxis], yv, ey_plus[j], ey_minus[j]),
            ):
                number = axis.number(value)
                if axis.kind in ("linear", "date") and number is not None:
                    extents[axis.name].extend([number - minus, number + plus])
                elif axis.kind == "log" and number is not None and number > 0:
                    extents[axis.name].append(math.log10(number))
        pad_px[t.xaxis] = max(pad_px[t.xaxis], radius + 4)
        pad_px[t.yaxis] = max(pad_px[t.yaxis], radius + label + 4)
    for shape in as_list(layout.get("shapes")):
        for ref, keys in (("xref", ("x0", "x1")), ("yref", ("y0", "y1"))):
            axis = axes.get(str(shape.get(ref) or ref[0]))
            if axis is not None and axis.kind != "category":
                found = (axis.position(shape.get(k)) for k in keys)
                extents[axis.name].extend(p for p in found if p is not None)
    for name, axis in axes.items():
        length = width * 0.8 if name[0] == "x" else height * 0.6
        axis.autorange(
            extents[name], zero[name], max(0.05, pad_px[name] / length) if pad_px[name] else 0.0
        )


def _side_width(side_axes: list[Axis], tick_size: float, font_size: float) -> float:
    """Room for the tick labels and titles of the y axes on one side."""
    if not side_axes:
        return 14.0
    widest = max(
        (text_width(label, tick_size) for a in side_axes for _, label in a.ticks), default=0
    )
    return widest + 10 + (font_size + 10 if any(a.title for a in side_axes) else 0)


def _x_labels(
    axis: Axis, plot_w: float, left: float, size: float
) -> tuple[list[tuple[float, list[str]]], float, float]:
    """The x tick labels as lines, their height, and their rotation: long category names wrap
    at spaces; when a word is too long they turn 30° and are shortened to stay on the chart."""
    line_h = size + 2
    if axis.kind != "category" or not axis.ticks:
        ticks = axis.ticks
        widest = max((text_width(label, size) for _, label in ticks), default=0)
        while len(ticks) > 2 and widest > plot_w / len(ticks) * 0.9:
            ticks = ticks[::2]
        axis.ticks = ticks
        return [(c, [label]) for c, label in ticks], line_h + 8, 0.0
    slot = plot_w / len(axis.ticks) * 0.95
    wrapped = [wrap_label(label, slot, size) for _, label in axis.ticks]
    if all(w is not None and len(w) <= 3 for w in wrapped):
        lines = [w for w in wrapped if w is not None]
        return (
            [(c, w) for (c, _), w in zip(axis.ticks, lines, strict=True)],
            max(len(w) for w in lines) * line_h + 8,
            0.0,
        )
    # Turned 30°: a label reaches left by its width × cos 30°; the first must stay on the chart.
    longest = min(220.0, (left + plot_w / len(axis.ticks) / 2 - 4) / math.cos(math.radians(30)))
    labels = [(c, [shorten(label, longest, size)]) for c, label in axis.ticks]
    widest = max(text_width(lines[0], size) for _, lines in labels)
    return labels, widest * 0.5 + size + 10, -30.0


def _draw_axes(
    canvas: Canvas,
    frame: Frame,
    axes: dict[str, Axis],
    labels: list[tuple[float, list[str]]],
    rotate: float,
    tick_size: float,
    font_size: float,
) -> None:
    left, top, plot_w, plot_h = frame.left, frame.top, frame.plot_w, frame.plot_h
    x_axis, y_axis = axes["x"], axes["y"]
    for coordinate, _label in y_axis.ticks:
        y = frame.py(y_axis, coordinate)
        canvas.line(left, y, left + plot_w, y, GRID_COLOUR)
    if x_axis.kind != "category":
        for coordinate, _label in x_axis.ticks:
            x = frame.px(x_axis, coordinate)
            canvas.line(x, top, x, top + plot_h, GRID_COLOUR)
    for name, axis in axes.items():
        if name[0] != "y" or not axis.visible:
            continue
        edge = left + plot_w if axis.on_right else left
        for coordinate, label in axis.ticks:
            x = edge + (6 if axis.on_right else -6)
            anchor = "start" if axis.on_right else "end"
            y = frame.py(axis, coordinate)
            canvas.lines(x, y, label, tick_size, anchor, baseline="middle")
        if axis.title:
            # Turned ±90°, glyphs stand on the side away from the plot: keep them inside the SVG.
            x = frame.width - 4 - font_size * 0.9 if axis.on_right else 4 + font_size * 0.9
            canvas.text(
                x,
                top + plot_h / 2,
                axis.title,
                font_size,
                "middle",
                rotate=90 if axis.on_right else -90,
            )
    base = top + plot_h
    canvas.line(left, base, left + plot_w, base, AXIS_COLOUR)
    for coordinate, lines in labels:
        x = frame.px(x_axis, coordinate)
        if rotate:
            canvas.text(x, base + 6, lines[0], tick_size, "end", rotate=rotate, baseline="hanging")
            continue
        for i, line in enumerate(lines):
            # The first and last labels stay on the chart (a tick at the plot's right end).
            half = text_width(line, tick_size) / 2
            cx = min(max(x, half + 2), frame.width - half - 2)
            canvas.text(
                cx, base + 6 + i * (tick_size + 2), line, tick_size, "middle", baseline="hanging"
            )
    if x_axis.title:
        label_h = max((len(lines) for _, lines in labels), default=1) * (tick_size + 2) + 8
        if rotate:
            label_h = (
                max(text_width(lines[0], tick_size) for _, lines in labels) * 0.5 + tick_size + 10
            )
        canvas.text(
            left + plot_w / 2,
            base + label_h + 2,
            x_axis.title,
            font_size,
            "middle",
            baseline="hanging",
        )


def _legend_items(traces: list[Trace], layout: dict[str, Any]) -> list[tuple[str, Trace]]:
    """plotly's rule: a legend when asked, or by default when there are two traces or more."""
    shown = layout.get("showlegend")
    if shown is False or (shown is None and len(traces) < 2):
        return []
    return [
        (str(t.raw["name"]), t)
        for t in traces
        if t.raw.get("showlegend") is not False and t.raw.get("name")
    ]


LegendRow = list[tuple[tuple[str, Trace], float]]


def _vertical(layout: dict[str, Any]) -> bool:
    """plotly's ``legend.orientation="v"``: one item a row, from the left."""
    return (layout.get("legend") or {}).get("orientation") == "v"


def _row_height(row: LegendRow, size: float) -> float:
    """A legend row's height: its tallest item's lines (a name may have line breaks)."""
    lines = max((label.count("\n") + 1 for (label, _t), _w in row), default=1)
    return size + 8 + (lines - 1) * size * 1.2


def _legend_rows(
    items: list[tuple[str, Trace]], width: float, size: float, vertical: bool = False
) -> list[LegendRow]:
    rows: list[LegendRow] = []
    row: LegendRow = []
    used = 0.0
    for item in items:
        w = 26 + text_width(item[0], size) + 16
        if row and (vertical or used + w > width):
            rows.append(row)
            row, used = [], 0.0
        row.append((item, w))
        used += w
    if row:
        rows.append(row)
    return rows


def _draw_legend(
    canvas: Canvas,
    rows: list[LegendRow],
    width: float,
    y: float,
    size: float,
    vertical: bool = False,
) -> None:
    for row in rows:
        x = 10.0 if vertical else max(10.0, (width - sum(w for _item, w in row)) / 2)
        middle = y + size * 0.55
        for (label, t), w in row:
            _swatch(canvas, t, x, middle)
            canvas.lines(x + 26, middle - size * 0.5, label, size, baseline="hanging")
            x += w
        y += _row_height(row, size)


def _swatch(canvas: Canvas, t: Trace, x: float, y: float) -> None:
    if t.kind == "bar":
        canvas.add(
            f'<rect x="{x:.1f}" y="{y - 6:.1f}" width="20" height="12" '
            f'fill="{t.colours(1)[0]}" fill-opacity="{t.opacity:g}"/>'
        )
        return
    if t.raw.get("fill") in ("tonexty", "tozeroy"):
        colour, opacity = t.fill_colour
        canvas.add(
            f'<rect x="{x:.1f}" y="{y - 6:.1f}" width="20" height="12" '
            f'fill="{colour}" fill-opacity="{opacity:g}"/>'
        )
    if "lines" in t.mode and t.line_width > 0:
        line = t.raw.get("line") or {}
        width = t.line_width
        canvas.add(
            f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{x + 20:.1f}" y2="{y:.1f}" stroke="{t.colour}" '
            f'stroke-width="{width:g}"{dash(line.get("dash"), width)}/>'
        )
    if "markers" in t.mode:
        spec = t.raw.get("marker") or {}
        symbol = str(spec.get("symbol") or "circle")
        canvas.add(marker(x + 10, y, symbol, 8, t.colours(1)[0], spec.get("line") or {}))
