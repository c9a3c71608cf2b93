"""The look every chart of a plan shares, and the one place for what charts have in common:
colours, the layout (legend below, fonts with CJK), text that fits (``wrap_label``), round ticks
in the active language's units (``value_axis``: k/M/B, or 万/亿 in Chinese), titles with units,
the budget cap and deadline lines — and the escaping of text (``escape_figure_text``, called by
``layout``).

**Room for text.** A chart is drawn from 300 px wide (a phone) to a desktop's half or full
column; the PDF draws it 700 px wide. Labels are sized for a width in characters (``room``:
``CHAR_PX`` per character, a CJK character counts twice). A figure whose labels need more room
than a phone gives carries a second set for narrow screens in ``layout.meta.narrow``
(``layout(..., narrow=…)``): ``static/js/figures.js`` applies it below ``below`` px; plotly.js
without it, the PDF and the tests see the wide set.

**Markup.** Plotly renders a subset of HTML in every text of a figure — tick labels, trace names,
hover, annotations, titles: ``<a href>`` becomes a clickable link, ``<span style>`` styles,
``<br>`` breaks — and decodes character entities in it. A scenario named
``<a href="https://evil.example/">Click</a>`` was a link in the compare chart's axis. Escaping
``& < >`` makes plotly show the characters as typed; a line break is written as ``\\n`` and
becomes ``<br>`` after escaping. Hover templates are ours alone: user text reaches hover through
``text``/``customdata`` (escaped), never through the template, where ``%{…}`` would also be
substituted.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

import plotly.graph_objects as go
from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from apps.programs.quantities import format_count

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
# Plotly measures a bar's length on a date axis in milliseconds.
DAY_MS = 86_400_000
MEMORY_COLOURS = ["#1f77b4", "#aec7e8", "#ff7f0e", "#2ca02c", "#c7c7c7"]
LIMIT_COLOUR = "#d62728"  # the budget cap and the deadline

# Widths a chart is drawn at (px of the figure): a phone, a desktop's half column (and the PDF's
# 700 px), a desktop's full column. Below ``HALF_PX`` the narrow labels apply.
NARROW_PX, HALF_PX, FULL_PX = 300, 480, 900
CHAR_PX = 7.0  # a Latin character of 12 px text, rounded up; a CJK one counts as two


def category_label(key: str) -> str:
    return {
        "gpu_compute": _("GPU compute"),
        "storage": _("Storage"),
        "people": _("People"),
        "data": _("Data"),
        "inference": _("Inference / serving"),
        "contingency": _("Contingency"),
    }.get(key, key)


# ---- text that fits --------------------------------------------------------------------------


def text_units(text: str) -> int:
    """Width of ``text`` in character units: a CJK (wide) character counts two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def room(width_px: float, share: float = 1.0, slots: int = 1) -> int:
    """Characters that fit on a line in one of ``slots`` equal parts of ``share`` of a chart
    ``width_px`` wide (at least 6)."""
    return max(6, int(width_px * share / max(slots, 1) / CHAR_PX))


# Pixels a y axis takes beside the plot (tick labels and title), and the plot's far margin.
AXIS_PX, EDGE_PX = 70, 20


def tick_room(width_px: float, slots: int = 1, y_axes: int = 1) -> int:
    """Characters a line of an x tick label may have: one of ``slots`` in the plot of a chart
    ``width_px`` wide with ``y_axes`` y axes beside it."""
    return room(width_px - AXIS_PX * y_axes - EDGE_PX, slots=slots)


def shorten(text: str, max_chars: int) -> str:
    """``text`` cut with an ellipsis to ``max_chars`` units."""
    if text_units(text) <= max_chars:
        return text
    while text and text_units(text) > max_chars - 1:
        text = text[:-1]
    return text.rstrip() + "…"


def _split_word(word: str, max_chars: int) -> list[str]:
    pieces = [""]
    for ch in word:
        if pieces[-1] and text_units(pieces[-1] + ch) > max_chars:
            pieces.append("")
        pieces[-1] += ch
    return pieces


def wrap_label(text: str, max_chars: int, max_lines: int = 3) -> str:
    """``text`` broken at spaces into lines of at most ``max_chars`` units (a longer word, or
    Chinese without spaces, is broken inside), joined by ``\\n``; past ``max_lines`` the last
    line ends in an ellipsis."""
    words = [piece for word in text.split() for piece in _split_word(word, max_chars)]
    lines: list[str] = []
    for word in words:
        if lines and text_units(f"{lines[-1]} {word}") <= max_chars:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    if len(lines) > max_lines:
        lines = lines[: max_lines - 1] + [shorten(" ".join(lines[max_lines - 1 :]), max_chars)]
    return "\n".join(lines)


# ---- numbers in the active language ----------------------------------------------------------

# Tick units: plotly's English (k, M, B) or Chinese (万 = 10⁴, 亿 = 10⁸).
_EN_UNITS = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))
_ZH_UNITS = ((1e12, "万亿"), (1e8, "亿"), (1e4, "万"))


def chinese() -> bool:
    return (translation.get_language() or "").lower().startswith("zh")


def number_text(value: float) -> str:
    """A number for hover and labels, as the dashboard's cards write it (22.1M / 2210万)."""
    return format_count(value, translation.get_language() or "en")


def money_text(value: float, currency: str) -> str:
    return f"{number_text(value)} {currency}"


def percent_text(value: float) -> str:
    return f"{value * 100:.0f}%"


def tick_text(value: float, step: float) -> str:
    """A tick label in the language's units, with the decimals the step needs: 2.5M, 10M;
    2500万, 1.5亿."""
    if value == 0:
        return "0"
    magnitude = max(abs(value), abs(step))
    scale, suffix = 1.0, ""
    for size, name in _ZH_UNITS if chinese() else _EN_UNITS:
        if magnitude >= size:
            scale, suffix = size, name
            break
    digits = 0
    while digits < 4 and abs(step / scale * 10**digits - round(step / scale * 10**digits)) > 1e-6:
        digits += 1
    text = f"{value / scale:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text + suffix


def round_step(span: float, target: int, percent: bool = False) -> float:
    """1, 2, 2.5 or 5 × 10ⁿ giving about ``target`` intervals over ``span``; a percentage axis
    steps by whole percents."""
    raw = span / max(target, 1)
    if percent:
        return next((s for s in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5) if raw <= s), 1.0)
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    return next((f * magnitude for f in (1, 2, 2.5, 5) if raw <= f * magnitude), 10 * magnitude)


def round_ticks(lo: float, hi: float, target: int = 5, percent: bool = False) -> list[float]:
    """Round tick values from at or below ``lo`` to at or above ``hi``."""
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    step = round_step(hi - lo, target, percent)
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [round(i * step, 10) for i in range(first, last + 1)]


def _finite(values: Iterable[Any]) -> list[float]:
    out = []
    for v in values:
        if isinstance(v, (int, float)) and math.isfinite(v):
            out.append(float(v))
    return out


def value_axis(
    title: str,
    values: Iterable[Any],
    *,
    percent: bool = False,
    zero: bool = True,
    target: int = 5,
    second: bool = False,
    pad: float = 0.04,
) -> dict[str, Any]:
    """A value axis with round ticks labelled in the active language (``tick_text``; whole
    percents with ``percent``) over ``values`` — with zero when ``zero`` — and ``title``; its
    range ends on round ticks unless a value sits within ``pad`` (a share of the span) of the
    edge (a marker would be cut). ``second``: a right-hand axis over ``y``, without its own
    grid."""
    numbers = _finite(values) or [0.0, 1.0]
    lo, hi = min(numbers), max(numbers)
    if zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    ticks = round_ticks(lo, hi, target, percent)
    pad = (ticks[-1] - ticks[0]) * pad
    bottom = ticks[0] - (pad if lo - ticks[0] < pad and not (zero and ticks[0] == 0) else 0)
    top = ticks[-1] + (pad if ticks[-1] - hi < pad and not (zero and ticks[-1] == 0) else 0)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else abs(ticks[0]) or 1.0
    axis: dict[str, Any] = {
        "title": {"text": title},
        "tickmode": "array",
        "tickvals": ticks,
        "ticktext": [percent_text(t) if percent else tick_text(t, step) for t in ticks],
        "range": [bottom, top],
        "zeroline": False,
    }
    if second:
        axis |= {"overlaying": "y", "side": "right", "showgrid": False}
    return axis


def count_axis(title: str, counts: Iterable[Any], *, max_ticks: int = 7) -> dict[str, Any]:
    """A log axis of GPU counts ticked at powers of two (every other one when there are more
    than ``max_ticks``), never at plotly's 2-3-…-9 minor labels."""
    numbers = [n for n in _finite(counts) if n > 0] or [1.0, 2.0]
    lo, hi = min(numbers), max(numbers)
    ticks = [2**k for k in range(math.floor(math.log2(lo)), math.ceil(math.log2(hi)) + 1)]
    ticks = [t for t in ticks if lo <= t <= hi] or sorted(set(numbers))
    while len(ticks) > max_ticks:
        ticks = ticks[::2]
    span = math.log10(hi) - math.log10(lo) or 1.0
    return {
        "title": {"text": title},
        "type": "log",
        "tickmode": "array",
        "tickvals": ticks,
        "ticktext": [f"{t:,.0f}" for t in ticks],
        "range": [math.log10(lo) - span * 0.06, math.log10(hi) + span * 0.06],
    }


def date_axis(label: str, dates: Iterable[dt.date], target: int = 6) -> dict[str, Any]:
    """A calendar axis over ``dates`` ticked on first days of months (every 1, 2, 3, 4, 6, 12 or 24)
    or, over a short span, on days — labelled in ISO form (2027-03, 2027-03-15), the same in
    every language and in the PDF; its title is ``label`` with that form as the unit."""
    days = sorted(dates)
    if not days:
        return {"title": {"text": label}, "type": "date"}
    lo, hi = days[0], days[-1]
    span = max((hi - lo).days, 1)
    pad = dt.timedelta(days=max(1, round(span * 0.03)))
    if span <= 45:
        fmt, candidates = "%Y-%m-%d", [_day_ticks(lo, hi, step) for step in (1, 2, 7, 14, 21, 28)]
    else:
        fmt, candidates = "%Y-%m", [_month_ticks(lo, hi, m) for m in (1, 2, 3, 4, 6, 12, 24)]
    # The finest step giving two to ``target`` ticks (else the count nearest ``target``).
    fitting = [c for c in candidates if 2 <= len(c) <= target]
    ticks = fitting[0] if fitting else min(candidates, key=lambda c: abs(len(c) - target))
    unit = _("year-month-day") if fmt == "%Y-%m-%d" else _("year-month")
    return {
        "title": {"text": titled(label, unit)},
        "type": "date",
        "tickmode": "array",
        "tickvals": [t.isoformat() for t in ticks],
        "ticktext": [t.strftime(fmt) for t in ticks],
        "range": [(lo - pad).isoformat(), (hi + pad).isoformat()],
    }


def _day_ticks(lo: dt.date, hi: dt.date, step: int) -> list[dt.date]:
    return [lo + dt.timedelta(days=i) for i in range(0, (hi - lo).days + 1, step)]


def _month_ticks(lo: dt.date, hi: dt.date, months: int) -> list[dt.date]:
    """First days of months from ``lo`` to ``hi``, every ``months`` (aligned to January)."""
    index = lo.year * 12 + lo.month - 1 + (1 if lo.day > 1 else 0)
    index += -index % months
    ticks = []
    while (tick := dt.date(index // 12, index % 12 + 1, 1)) <= hi:
        ticks.append(tick)
        index += months
    return ticks


def titled(label: str, unit: str) -> str:
    """An axis title with its unit: "Cost (CNY)" (the label's first letter capitalised)."""
    return _("%(label)s (%(unit)s)") % {"label": capfirst(label), "unit": unit}


# ---- the budget cap and the deadline -------------------------------------------------------


# A cap more than this many times the largest value plotted is named, not drawn: stretching
# the axis to it would flatten every bar (a 150M cap over a 22M plan).
CAP_SCALE = 2.5


def add_cap(
    fig: go.Figure,
    cap: float,
    currency: str,
    ref: str = "y",
    values: Iterable[Any] | None = None,
) -> list[float]:
    """The budget cap, labelled: a dashed line across the plot at ``cap`` on the value axis
    ``ref`` — a y axis, or an x axis (``"x"``) for horizontal bars, then labelled above. When
    the cap is past ``CAP_SCALE`` × the largest of ``values`` it is named in the legend
    instead ("Budget cap 150M CNY (off the scale)"). Returns the values the axis must reach
    (the cap, or nothing)."""
    amount = money_text(cap, currency)
    numbers = _finite(values or [])
    if numbers and cap > CAP_SCALE * max(numbers):
        # Named in the legend (a line with no points), where it runs into no other label.
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="lines",
                name=_("Cap %(amount)s (off the scale)") % {"amount": amount},
                line={"color": LIMIT_COLOUR, "dash": "dash", "width": 2},
                hoverinfo="skip",
                showlegend=True,
            )
        )
        fig.update_layout(showlegend=True)
        return []
    text = _("Budget cap %(amount)s") % {"amount": amount}
    if ref.startswith("x"):
        _vertical(fig, cap, text, ref, label_left=True, dash="dash")
    else:  # under its line: above it, near the plot's top, it would meet the deadline's label
        add_level(fig, cap, text, ref, dash="dash", left=False, below=True)
    return [cap]


def add_deadline(
    fig: go.Figure, x: Any, when: str, *, xref: str = "x", label_left: bool = True
) -> None:
    """The deadline: a dashed line over the plot's height at ``x``, labelled above the plot
    (left of the line when ``label_left``, which suits a deadline on the right half)."""
    text = _("Deadline %(when)s") % {"when": when}
    _vertical(fig, x, text, xref, label_left=label_left, dash="dash")


def _vertical(fig: go.Figure, x: Any, text: str, xref: str, *, label_left: bool, dash: str) -> None:
    fig.add_shape(
        type="line",
        xref=xref,
        x0=x,
        x1=x,
        yref="paper",
        y0=0,
        y1=1,
        line={"color": LIMIT_COLOUR, "dash": dash, "width": 2},
    )
    fig.add_annotation(
        xref=xref,
        x=x,
        xanchor="right" if label_left else "left",
        yref="paper",
        y=1,
        yanchor="bottom",
        showarrow=False,
        font={"color": LIMIT_COLOUR, "size": 11},
        text=text,
    )


def add_level(
    fig: go.Figure,
    y: Any,
    text: str,
    yref: str = "y",
    dash: str = "dot",
    left: bool = True,
    below: bool = False,
) -> None:
    """A labelled limit across the plot at ``y`` on the axis ``yref`` (a GPU's memory; the
    deadline on a chart whose y axis is time): the label sits on the line (under it with
    ``below``), at the plot's left or right end."""
    fig.add_shape(
        type="line",
        xref="paper",
        x0=0,
        x1=1,
        yref=yref,
        y0=y,
        y1=y,
        line={"color": LIMIT_COLOUR, "dash": dash, "width": 2},
    )
    fig.add_annotation(
        xref="paper",
        x=0 if left else 1,
        xanchor="left" if left else "right",
        yref=yref,
        y=y,
        yanchor="top" if below else "bottom",
        showarrow=False,
        font={"color": LIMIT_COLOUR, "size": 11},
        text=text,
    )


# ---- markup --------------------------------------------------------------------------------

# Trace fields whose strings plotly shows (category values, labels, names, hover text).
_TRACE_TEXT_FIELDS = ("x", "y", "text", "hovertext", "customdata", "labels", "name")
# Plotly's pseudo-HTML tags (plotly.js src/lib/svg_text_utils.js) and <br>.
_PLOTLY_TAG = re.compile(r"<\s*/?\s*(?:a|b|i|em|s|u|sub|sup|span|br)\b[^>]*>", re.IGNORECASE)
_BREAK = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)


def plot_text(value: Any) -> Any:
    """A string as plotly should show it literally (``& < >`` escaped, a ``\\n`` as a line
    break); other values as they are; lists and tuples element by element."""
    if isinstance(value, str):
        return html.escape(value, quote=False).replace("\n", "<br>")
    if isinstance(value, (list, tuple)):
        return type(value)(plot_text(v) for v in value)
    return value


def plain_text(value: str) -> str:
    """What plotly would display for ``value``, as plain text: its tags dropped (a ``<br>`` as a
    line break, ``\\n``), its entities decoded. The PDF's SVG renderer draws figures through
    this."""
    return html.unescape(_PLOTLY_TAG.sub("", _BREAK.sub("\n", value)))


def _escape_axis(axis: Any) -> None:
    if axis.title.text:
        axis.title.text = plot_text(axis.title.text)
    if axis.ticktext is not None:
        axis.ticktext = plot_text(list(axis.ticktext))
    if axis.categoryarray is not None:
        axis.categoryarray = plot_text(list(axis.categoryarray))
    if axis.type in (None, "category", "-") and axis.tickvals is not None:
        axis.tickvals = plot_text(list(axis.tickvals))  # category values: escaped as in x/y


def escape_figure_text(fig: go.Figure) -> go.Figure:
    """Escape every text of ``fig`` that plotly would render as markup: the traces' values,
    labels, names, hover text and custom data, and the layout's titles, tick texts and
    annotations, and the narrow screens' variants in ``layout.meta``. Hover templates are left
    alone (they are ours). Call once per figure — ``layout`` does."""
    for trace in fig.data:
        shown = trace.to_plotly_json()
        for name in _TRACE_TEXT_FIELDS:
            value = shown.get(name)
            if value is None or hasattr(value, "dtype"):  # numpy arrays hold numbers
                continue
            escaped = plot_text(value)
            if escaped != value:  # setting a value has plotly check it all again: only if new
                trace[name] = escaped
    spec = fig.layout.to_plotly_json()
    if fig.layout.title.text:
        fig.layout.title.text = plot_text(fig.layout.title.text)
    if fig.layout.legend.title.text:
        fig.layout.legend.title.text = plot_text(fig.layout.legend.title.text)
    for key in spec:
        if key.startswith(("xaxis", "yaxis")):
            _escape_axis(fig.layout[key])
    for annotation in fig.layout.annotations:
        if annotation.text:
            annotation.text = plot_text(annotation.text)
    meta = spec.get("meta")
    if isinstance(meta, dict) and isinstance(meta.get("narrow"), dict):
        fig.layout.meta = meta | {"narrow": _escape_narrow(meta["narrow"])}
    return fig


def _escape_narrow(narrow: dict[str, Any]) -> dict[str, Any]:
    def escape(key: str, value: Any) -> Any:
        shows_text = key.endswith(("ticktext", "text", "name", "tickvals"))
        return plot_text(value) if shows_text else value

    out = dict(narrow)
    out["layout"] = {k: escape(k, v) for k, v in (narrow.get("layout") or {}).items()}
    out["data"] = [
        {k: escape(k, v) for k, v in (item or {}).items()} for item in narrow.get("data") or []
    ]
    return out


# The legend sits below everything, at the bottom of the figure (``yref="container"``): plotly
# then makes room for it under the tick labels and the axis title, which a legend placed in the
# plot's coordinates (``y=-0.2``) ran into.
LEGEND = {"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0}


def layout(
    fig: go.Figure, height: int = 320, narrow: dict[str, Any] | None = None, **kwargs: Any
) -> go.Figure:
    """The shared look, then every text escaped (see the module's docstring). ``narrow``: what
    changes below ``HALF_PX`` — ``{"layout": {"xaxis.ticktext": […], "height": …},
    "data": [{"name": …}, …]}`` (dotted paths, one dict per trace)."""
    settings: dict[str, Any] = {
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 30, "b": 10},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "legend": LEGEND,
        "font": {"family": "system-ui, -apple-system, 'Noto Sans CJK SC', sans-serif", "size": 12},
    }
    if narrow:
        settings["meta"] = {"narrow": {"below": HALF_PX} | narrow}
    _update_layout(fig, settings | kwargs)
    return escape_figure_text(fig)


def _update_layout(fig: go.Figure, values: dict[str, Any]) -> None:
    """``fig.update_layout(**values)``, in a third of the time: a property the layout does not
    have yet is set whole (plotly checks it once), rather than merged key by key into an empty
    one — the same layout, its keys perhaps in another order. From the first property the layout
    has already (``xaxis`` for ``xaxis_title`` too) on, the rest merge as ``update_layout``
    merges, in their order."""
    present = fig.layout.to_plotly_json()
    merged: dict[str, Any] = {}
    for key, value in values.items():
        if merged or key in present or key.split("_", 1)[0] in present:
            merged[key] = value
        else:
            fig.layout[key] = value
    if merged:
        fig.update_layout(**merged)
