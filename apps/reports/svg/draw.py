"""Drawing primitives of a static chart: the SVG canvas, traces, marks, bars, lines, shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from apps.reports.svg.axes import Axis, as_list, as_number, text_width

TEXT_COLOUR = "#333"
GRID_COLOUR = "#e4e4e4"
AXIS_COLOUR = "#888"
ERROR_BAR_COLOUR = "#444"
# plotly.js draws a dash pattern in multiples of max(line width, 3) px (components/drawing).
DASHES = {"dot": (1, 1), "dash": (3, 3), "longdash": (5, 5), "dashdot": (3, 1, 1, 1)}
# Until a colorscale is given: plotly's default (Viridis ends).
DEFAULT_SCALE = [(0.0, (68.0, 1.0, 84.0)), (1.0, (253.0, 231.0, 37.0))]

Box = tuple[float, float, float, float]


@dataclass
class Frame:
    """Where the plot area sits in the SVG, in px."""

    width: float
    height: float
    left: float
    top: float
    plot_w: float
    plot_h: float

    def px(self, axis: Axis, coordinate: float) -> float:
        return self.left + axis.unit(coordinate) * self.plot_w

    def py(self, axis: Axis, coordinate: float) -> float:
        return self.top + (1 - axis.unit(coordinate)) * self.plot_h

    def place(self, axis: Axis, coordinate: float) -> float:
        return self.px(axis, coordinate) if axis.name[0] == "x" else self.py(axis, coordinate)


@dataclass
class Canvas:
    """SVG elements in drawing order, and the boxes of labels placed so far (to avoid overlap)."""

    width: float = 10_000.0
    parts: list[str] = field(default_factory=list)
    label_boxes: list[Box] = field(default_factory=list)

    def add(self, element: str) -> None:
        self.parts.append(element)

    def text(
        self,
        x: float,
        y: float,
        text: str,
        size: float,
        anchor: str = "start",
        rotate: float = 0.0,
        baseline: str = "",
        colour: str = TEXT_COLOUR,
    ) -> None:
        """A label; ``baseline`` "middle" or "hanging" shifts it by hand (SVG renderers differ
        in ``dominant-baseline`` support). A line break is drawn as a space (``lines`` draws
        the lines of a label)."""
        text = text.replace("\n", " ")
        transform = f' transform="rotate({rotate:g} {x:.1f} {y:.1f})"' if rotate else ""
        shift = {"middle": 0.35, "hanging": 0.85}.get(baseline, 0.0) * size
        self.add(
            f'<text x="{x:.1f}" y="{y + shift:.1f}" font-size="{size:g}" text-anchor="{anchor}" '
            f'fill="{colour}"{transform}>{escape(text)}</text>'
        )

    def lines(
        self,
        x: float,
        y: float,
        text: str,
        size: float,
        anchor: str = "start",
        baseline: str = "",
        colour: str = TEXT_COLOUR,
    ) -> None:
        """A label of several lines (``\\n``): ``y`` is the first line's baseline ("hanging":
        its top; "middle": the block's middle; "": the last line's baseline, so the block
        stands on ``y``)."""
        rows = text.split("\n")
        step = size * 1.2
        if baseline == "middle":
            y -= step * (len(rows) - 1) / 2
        elif not baseline:
            y -= step * (len(rows) - 1)
        for i, row in enumerate(rows):
            self.text(x, y + i * step, row, size, anchor, baseline=baseline, colour=colour)

    def line(
        self, x1: float, y1: float, x2: float, y2: float, stroke: str, extra: str = ""
    ) -> None:
        ends = f'x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"'
        self.add(f'<line {ends} stroke="{stroke}"{extra}/>')

    def free(self, box: Box) -> bool:
        """True (and the box is reserved) when no placed label overlaps it."""
        x0, y0, x1, y1 = box
        for a0, b0, a1, b1 in self.label_boxes:
            if x0 < a1 and a0 < x1 and y0 < b1 and b0 < y1:
                return False
        self.label_boxes.append(box)
        return True


def parse_colour(text: str) -> tuple[float, float, float]:
    text = text.strip()
    if text.startswith("#"):
        digits = text[1:]
        if len(digits) == 3:
            digits = "".join(d * 2 for d in digits)
        return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))
    if text.startswith("rgb"):
        parts = [float(p) for p in text[text.index("(") + 1 : text.index(")")].split(",")[:3]]
        return (parts[0], parts[1], parts[2])
    return (128.0, 128.0, 128.0)


def scale_colours(numbers: list[float], scale: Any) -> list[str]:
    """Numbers through a plotly colorscale (``[[0, "rgb(…)"], …, [1, …]]``), min → 0, max → 1."""
    stops = [(float(s[0]), parse_colour(str(s[1]))) for s in as_list(scale)] or DEFAULT_SCALE
    lo, hi = min(numbers), max(numbers)
    out = []
    for n in numbers:
        t = 0.0 if hi == lo else (n - lo) / (hi - lo)
        rgb = stops[-1][1]
        for (t0, c0), (t1, c1) in zip(stops, stops[1:], strict=False):
            if t <= t1:
                f = 0.0 if t1 == t0 else min(max((t - t0) / (t1 - t0), 0.0), 1.0)
                rgb = tuple(a + (b - a) * f for a, b in zip(c0, c1, strict=True))  # type: ignore[assignment]
                break
        out.append("#{:02x}{:02x}{:02x}".format(*(round(c) for c in rgb)))
    return out


@dataclass
class Trace:
    """One trace of the figure's JSON, with the colour plotly would give it."""

    raw: dict[str, Any]
    colour: str

    @property
    def kind(self) -> str:
        return str(self.raw.get("type") or "scatter")

    @property
    def horizontal(self) -> bool:
        return self.kind == "bar" and self.raw.get("orientation") == "h"

    @property
    def xaxis(self) -> str:
        return str(self.raw.get("xaxis") or "x")

    @property
    def yaxis(self) -> str:
        return str(self.raw.get("yaxis") or "y")

    @property
    def mode(self) -> str:
        if self.kind == "bar":
            return "bar"
        # plotly.js: lines+markers below 20 points, lines from 20.
        default = "lines+markers" if len(self.values("x")) < 20 else "lines"
        return str(self.raw.get("mode") or default)

    @property
    def opacity(self) -> float:
        value = as_number(self.raw.get("opacity"))
        return 1.0 if value is None else value

    def values(self, name: str) -> list[Any]:
        return as_list(self.raw.get(name))

    def errors(self, name: str, count: int) -> tuple[list[float], list[float]]:
        """Plus and minus lengths of ``error_x``/``error_y`` (``type="data"`` arrays)."""
        spec = self.raw.get(name) or {}
        if spec.get("visible") is False or not as_list(spec.get("array")):
            return [0.0] * count, [0.0] * count
        plus = [as_number(v) or 0.0 for v in as_list(spec.get("array"))]
        # plotly.js: symmetric unless told, or unless an ``arrayminus`` is given.
        minus = (
            plus
            if spec.get("symmetric", "arrayminus" not in spec)
            else [as_number(v) or 0.0 for v in as_list(spec.get("arrayminus"))]
        )
        pad = [0.0] * count
        return (plus + pad)[:count], (minus + pad)[:count]

    def colours(self, count: int) -> list[str]:
        """One fill colour per point: from a list, a scalar, or numbers through the colorscale."""
        marker = self.raw.get("marker") or {}
        colour = marker.get("color")
        if colour is not None and not isinstance(colour, str):
            items = as_list(colour)
            numbers = [as_number(c) for c in items]
            if items and all(n is not None for n in numbers):
                return scale_colours(
                    [n for n in numbers if n is not None], marker.get("colorscale")
                )
            return ([str(c) for c in items] + [self.colour] * count)[: max(count, len(items))]
        return [str(colour or self.colour)] * count

    @property
    def line_width(self) -> float:
        """``line.width``: 2 px unless given; 0 draws no line (the edge of a band)."""
        value = as_number((self.raw.get("line") or {}).get("width"))
        return 2.0 if value is None else value

    @property
    def fill_colour(self) -> tuple[str, float]:
        """``fillcolor`` as an SVG colour and its opacity (plotly's default: the trace's colour
        at half opacity)."""
        text = str(self.raw.get("fillcolor") or "")
        if not text:
            return self.colour, 0.5
        if text.startswith("rgba"):
            parts = text[text.index("(") + 1 : text.index(")")].split(",")
            rgb = parse_colour(f"rgb({','.join(parts[:3])})")
            opacity = float(parts[3]) if len(parts) > 3 else 1.0
            return "#{:02x}{:02x}{:02x}".format(*(round(c) for c in rgb)), opacity
        return text, 1.0

    def sizes(self, count: int) -> list[float]:
        marker = self.raw.get("marker") or {}
        size = marker.get("size")
        if size is not None and not isinstance(size, (int, float)):
            values = [as_number(s) or 6.0 for s in as_list(size)]
            return (values + [6.0] * count)[:count]
        return [as_number(size) or 6.0] * count


def dash(pattern: Any, width: float) -> str:
    steps = DASHES.get(str(pattern or ""))
    if not steps:
        return ""
    unit = max(width, 3.0)
    return f' stroke-dasharray="{",".join(f"{s * unit:g}" for s in steps)}"'


def marker(x: float, y: float, symbol: str, size: float, fill: str, line: dict[str, Any]) -> str:
    """A marker of plotly's ``symbol`` centred at (x, y), ``size`` px across."""
    r = size / 2
    is_open = symbol.endswith("-open")
    symbol = symbol.removesuffix("-open")
    stroke = str(line.get("color") or (fill if is_open else "none"))
    width = as_number(line.get("width")) or (1.5 if is_open else 0.0)
    paint = f'fill="{"none" if is_open else fill}" stroke="{stroke}" stroke-width="{width:g}"'
    if symbol == "diamond":
        h = r * 1.3
        points = f"{x:.1f},{y - h:.1f} {x + r:.1f},{y:.1f} {x:.1f},{y + h:.1f} {x - r:.1f},{y:.1f}"
        return f'<polygon points="{points}" {paint}/>'
    if symbol == "square":
        box = f'x="{x - r:.1f}" y="{y - r:.1f}" width="{size:.1f}" height="{size:.1f}"'
        return f"<rect {box} {paint}/>"
    if symbol == "triangle-up":
        points = f"{x:.1f},{y - r:.1f} {x + r:.1f},{y + r:.1f} {x - r:.1f},{y + r:.1f}"
        return f'<polygon points="{points}" {paint}/>'
    if symbol == "x":
        return (
            f'<path d="M{x - r:.1f},{y - r:.1f}L{x + r:.1f},{y + r:.1f}M{x - r:.1f},{y + r:.1f}'
            f'L{x + r:.1f},{y - r:.1f}" stroke="{fill}" stroke-width="2"/>'
        )
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" {paint}/>'


def whisker(canvas: Canvas, centre: float, a: float, b: float, horizontal: bool) -> None:
    """An error bar from ``a`` to ``b`` along the value axis at ``centre``, capped at both ends."""
    cap = 4.0
    if horizontal:
        path = (
            f"M{a:.1f},{centre:.1f}H{b:.1f}M{a:.1f},{centre - cap:.1f}V{centre + cap:.1f}"
            f"M{b:.1f},{centre - cap:.1f}V{centre + cap:.1f}"
        )
    else:
        path = (
            f"M{centre:.1f},{a:.1f}V{b:.1f}M{centre - cap:.1f},{a:.1f}H{centre + cap:.1f}"
            f"M{centre - cap:.1f},{b:.1f}H{centre + cap:.1f}"
        )
    canvas.add(f'<path d="{path}" stroke="{ERROR_BAR_COLOUR}" stroke-width="1.5" fill="none"/>')


def spacing(axis: Axis, coordinates: list[float | None]) -> float:
    """Distance between neighbouring bars: 1 on a category axis, the smallest gap otherwise."""
    if axis.kind == "category":
        return 1.0
    values = sorted({c for c in coordinates if c is not None})
    gaps = [b - a for a, b in zip(values, values[1:], strict=False) if b > a]
    return min(gaps) if gaps else (axis.hi - axis.lo) * 0.1


def bar_base(trace: Trace, j: int, along: Axis) -> float | None:
    """Where bar ``j`` starts, in the units of the axis it runs along (a date's milliseconds on
    a date axis); None when it has no ``base``."""
    bases = trace.values("base")
    if not bases:
        return None
    return along.number(bases[j] if j < len(bases) else bases[0] if len(bases) == 1 else None)


def draw_bars(
    canvas: Canvas,
    frame: Frame,
    bars: list[Trace],
    axes: dict[str, Axis],
    barmode: str,
    bargap: float,
) -> None:
    """Bars side by side (group), on top of each other (stack) or over each other (overlay)."""
    grouped = barmode == "group" and len(bars) > 1
    slots = len(bars) if grouped else 1
    stacks: dict[tuple[str, str, float, bool], float] = {}
    for slot, t in enumerate(bars):
        along = axes[t.xaxis if t.horizontal else t.yaxis]
        across = axes[t.yaxis if t.horizontal else t.xaxis]
        lengths = t.values("x" if t.horizontal else "y")
        coordinates = [across.position(p) for p in t.values("y" if t.horizontal else "x")]
        width = spacing(across, coordinates) * (1 - bargap) / slots
        offset = (slot - (slots - 1) / 2) * width if grouped else 0.0
        colours = t.colours(len(lengths))
        plus, minus = t.errors("error_x" if t.horizontal else "error_y", len(lengths))
        for j, (c, length) in enumerate(zip(coordinates, lengths, strict=False)):
            value = as_number(length)
            if c is None or value is None:
                continue
            base = bar_base(t, j, along)
            if barmode == "stack" and base is None:
                key = (along.name, across.name, c, value >= 0)
                base = stacks.get(key, 0.0)
                stacks[key] = base + value
            start = base or 0.0
            end = start + value
            a0 = frame.place(across, c + offset - width / 2)
            a1 = frame.place(across, c + offset + width / 2)
            v0 = frame.place(along, along.position(start) or along.lo)
            v1 = frame.place(along, along.position(end) or along.lo)
            if t.horizontal:
                x, y, w, h = min(v0, v1), min(a0, a1), abs(v1 - v0), abs(a1 - a0)
            else:
                x, y, w, h = min(a0, a1), min(v0, v1), abs(a1 - a0), abs(v1 - v0)
            canvas.add(
                f'<rect x="{x:.2f}" y="{y:.2f}" width="{max(w, 0.5):.2f}" '
                f'height="{max(h, 0.5):.2f}" fill="{colours[j]}" fill-opacity="{t.opacity:g}"/>'
            )
            if plus[j] or minus[j]:
                e0 = frame.place(along, along.position(end - minus[j]) or along.lo)
                e1 = frame.place(along, along.position(end + plus[j]) or along.lo)
                whisker(canvas, frame.place(across, c + offset), e0, e1, t.horizontal)


def draw_scatter(
    canvas: Canvas, frame: Frame, t: Trace, xa: Axis, ya: Axis, font_size: float
) -> None:
    """Lines (broken at missing points), error bars, markers and text labels of one trace."""
    xs, ys = t.values("x"), t.values("y")
    points: list[tuple[int, float, float] | None] = []
    for j, (xv, yv) in enumerate(zip(xs, ys, strict=False)):
        cx, cy = xa.position(xv), ya.position(yv)
        points.append(None if cx is None or cy is None else (j, frame.px(xa, cx), frame.py(ya, cy)))
    mode = t.mode
    if "lines" in mode and t.line_width > 0:
        line = t.raw.get("line") or {}
        width = t.line_width
        segment: list[str] = []
        for point in [*points, None]:
            if point is not None:
                segment.append(f"{point[1]:.1f},{point[2]:.1f}")
                continue
            if len(segment) > 1:
                canvas.add(
                    f'<polyline points="{" ".join(segment)}" fill="none" stroke="{t.colour}" '
                    f'stroke-width="{width:g}" stroke-opacity="{t.opacity:g}"'
                    f"{dash(line.get('dash'), width)}/>"
                )
            segment = []
    ex_plus, ex_minus = t.errors("error_x", len(xs))
    ey_plus, ey_minus = t.errors("error_y", len(ys))
    for point in points:
        if point is None:
            continue
        j, x, y = point
        if ex_plus[j] or ex_minus[j]:
            value = xa.number(xs[j]) or 0.0
            a, b = xa.position(value - ex_minus[j]), xa.position(value + ex_plus[j])
            if a is not None and b is not None:
                whisker(canvas, y, frame.px(xa, a), frame.px(xa, b), True)
        if ey_plus[j] or ey_minus[j]:
            value = ya.number(ys[j]) or 0.0
            a, b = ya.position(value - ey_minus[j]), ya.position(value + ey_plus[j])
            if a is not None and b is not None:
                whisker(canvas, x, frame.py(ya, a), frame.py(ya, b), False)
    sizes = t.sizes(len(xs))
    if "markers" in mode:
        spec = t.raw.get("marker") or {}
        colours = t.colours(len(xs))
        symbol = str(spec.get("symbol") or "circle")
        for point in points:
            if point is not None:
                j, x, y = point
                canvas.add(marker(x, y, symbol, sizes[j], colours[j], spec.get("line") or {}))
    if "text" in mode:
        draw_point_labels(canvas, t, points, sizes, font_size)


def _points(frame: Frame, t: Trace, xa: Axis, ya: Axis) -> list[tuple[float, float]]:
    out = []
    for xv, yv in zip(t.values("x"), t.values("y"), strict=False):
        cx, cy = xa.position(xv), ya.position(yv)
        if cx is not None and cy is not None:
            out.append((frame.px(xa, cx), frame.py(ya, cy)))
    return out


def draw_fill(
    canvas: Canvas, frame: Frame, t: Trace, below: Trace | None, xa: Axis, ya: Axis
) -> None:
    """The area of a trace with ``fill``: "tonexty" down to the trace drawn before it on the
    same axes (a band: its upper edge, then the lower edge filled up to it), "tozeroy" down to
    zero. Drawn under every line, as plotly.js does."""
    kind = str(t.raw.get("fill") or "none")
    edge = _points(frame, t, xa, ya)
    if kind == "tonexty" and below is not None:
        other = list(reversed(_points(frame, below, xa, ya)))
    elif kind == "tozeroy":
        zero = ya.position(0.0)
        if zero is None:
            return
        y0 = frame.py(ya, zero)
        other = [(x, y0) for x, _y in reversed(edge)]
    else:
        return
    if len(edge) < 2 or not other:
        return
    colour, opacity = t.fill_colour
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in edge + other)
    canvas.add(
        f'<polygon points="{points}" fill="{colour}" fill-opacity="{opacity:g}" stroke="none"/>'
    )


def draw_point_labels(
    canvas: Canvas,
    t: Trace,
    points: list[tuple[int, float, float] | None],
    sizes: list[float],
    font_size: float,
) -> None:
    """Text beside the points (``textposition`` "top/middle/bottom left/center/right", in
    ``textfont.color``, one or one per point); a label that would overlap another goes to the
    other side of its point, or is left out (the PDF's tables carry every item; a pile of text
    carries none)."""
    texts = t.values("text")
    font = t.raw.get("textfont") or {}
    size = as_number(font.get("size")) or font_size
    colours = font.get("color") or TEXT_COLOUR
    colours = as_list(colours) if not isinstance(colours, str) else [colours] * len(texts)
    position = str(t.raw.get("textposition") or "middle center").split()
    wanted, across = position[0], (position[1] if len(position) > 1 else "center")
    for point in points:
        if point is None or point[0] >= len(texts) or not str(texts[point[0]]):
            continue
        j, x, y = point
        label = str(texts[j])
        half = text_width(label, size) / 2
        radius = sizes[j] / 2
        if across == "right":
            x += radius + 3 + half
        elif across == "left":
            x -= radius + 3 + half
        order = {"top": ("top", "bottom"), "bottom": ("bottom", "top")}.get(wanted, ("middle",))
        for side in order:
            if side == "top":
                baseline_y = y - radius - 3
            elif side == "bottom":
                baseline_y = y + radius + 3 + size * 0.85
            else:
                baseline_y = y + size * 0.35
            x_left = min(max(x - half, 2.0), canvas.width - 2 * half - 2)
            box = (x_left, baseline_y - size * 0.9, x_left + 2 * half, baseline_y + size * 0.2)
            if canvas.free(box):
                colour = str(colours[j]) if j < len(colours) else TEXT_COLOUR
                canvas.text(x_left + half, baseline_y, label, size, "middle", colour=colour)
                break


def draw_shapes(
    canvas: Canvas, frame: Frame, layout: dict[str, Any], axes: dict[str, Axis], font_size: float
) -> None:
    """Line shapes (``add_vline``/``add_hline``) and text annotations."""

    def resolve(value: Any, ref: str, horizontal: bool, note: bool = False) -> float | None:
        number = as_number(value)
        if ref == "paper" or ref.endswith(" domain"):
            if number is None:
                return None
            if horizontal:
                return frame.left + number * frame.plot_w
            return frame.top + (1 - number) * frame.plot_h
        axis = axes.get(ref)
        coordinate = axis.place(value, annotation=note) if axis is not None else None
        if axis is None or coordinate is None:
            return None
        return frame.px(axis, coordinate) if horizontal else frame.py(axis, coordinate)

    for shape in as_list(layout.get("shapes")):
        if shape.get("type", "line") != "line":
            continue
        xref, yref = str(shape.get("xref") or "x"), str(shape.get("yref") or "y")
        x0, x1 = resolve(shape.get("x0"), xref, True), resolve(shape.get("x1"), xref, True)
        y0, y1 = resolve(shape.get("y0"), yref, False), resolve(shape.get("y1"), yref, False)
        if x0 is None or x1 is None or y0 is None or y1 is None:
            continue
        line = shape.get("line") or {}
        width = as_number(line.get("width")) or 2.0
        canvas.add(
            f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" '
            f'stroke="{line.get("color") or "#444"}" stroke-width="{width:g}"'
            f"{dash(line.get('dash'), width)}/>"
        )
    for note in as_list(layout.get("annotations")):
        xref, yref = str(note.get("xref") or "x"), str(note.get("yref") or "y")
        x = resolve(note.get("x"), xref, True, note=True)
        y = resolve(note.get("y"), yref, False, note=True)
        if x is None or y is None:
            continue
        text = str(note.get("text") or "")
        size = as_number((note.get("font") or {}).get("size")) or font_size
        colour = str((note.get("font") or {}).get("color") or TEXT_COLOUR)
        anchor = {"left": "start", "right": "end"}.get(str(note.get("xanchor")), "middle")
        w = text_width(text, size)
        # Keep it on the page: a label at the right edge turns to the line's other side.
        if anchor == "start" and x + 3 + w > frame.width - 2:
            anchor = "end"
        elif anchor == "end" and x - 3 - w < 2:
            anchor = "start"
        x += {"start": 3, "end": -3}.get(anchor, 0)
        baseline = {"top": "hanging", "middle": "middle"}.get(str(note.get("yanchor")), "")
        y += 2 if baseline == "hanging" else -2 if not baseline else 0
        canvas.lines(x, y, text, size, anchor, baseline=baseline, colour=colour)
