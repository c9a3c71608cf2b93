"""The look every chart of a plan shares: colours per category and stream, category names, and
the layout (size, margins, transparent background, legend below, fonts with CJK) — and the one
place where text in a figure is made safe (``escape_figure_text``, called by ``layout``).

Plotly renders a subset of HTML in every text of a figure — tick labels, trace names, hover,
annotations, titles: ``<a href>`` becomes a clickable link, ``<span style>`` styles, ``<br>``
breaks — and decodes character entities in it. A scenario named
``<a href="https://evil.example/">Click</a>`` was a link in the compare chart's axis. Escaping
``& < >`` makes plotly show the characters as typed. Hover templates are ours alone: user text
reaches hover through ``text``/``customdata`` (escaped), never through the template, where
``%{…}`` would also be substituted.
"""

from __future__ import annotations

import html
import re
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
# Plotly measures a bar's length on a date axis in milliseconds.
DAY_MS = 86_400_000
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


# Trace fields whose strings plotly shows (category values, labels, names, hover text).
_TRACE_TEXT_FIELDS = ("x", "y", "text", "hovertext", "customdata", "labels", "name")
# Plotly's pseudo-HTML tags (plotly.js src/lib/svg_text_utils.js) and <br>.
_PLOTLY_TAG = re.compile(r"<\s*/?\s*(?:a|b|i|em|s|u|sub|sup|span|br)\b[^>]*>", re.IGNORECASE)
_BREAK = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)


def plot_text(value: Any) -> Any:
    """A string as plotly should show it literally (``& < >`` escaped); other values as they are;
    lists and tuples element by element."""
    if isinstance(value, str):
        return html.escape(value, quote=False)
    if isinstance(value, (list, tuple)):
        return type(value)(plot_text(v) for v in value)
    return value


def plain_text(value: str) -> str:
    """What plotly would display for ``value``, as plain text: its tags dropped (a ``<br>`` as a
    space), its entities decoded. The PDF's SVG renderer draws figures through this."""
    return html.unescape(_PLOTLY_TAG.sub("", _BREAK.sub(" ", value)))


def escape_figure_text(fig: go.Figure) -> go.Figure:
    """Escape every text of ``fig`` that plotly would render as markup: the traces' values,
    labels, names, hover text and custom data, and the layout's titles, tick texts and
    annotations. Hover templates are left alone (they are ours). Call once per figure —
    ``layout`` does."""
    for trace in fig.data:
        shown = trace.to_plotly_json()
        for name in _TRACE_TEXT_FIELDS:
            value = shown.get(name)
            if value is not None and not hasattr(value, "dtype"):  # numpy arrays hold numbers
                trace[name] = plot_text(value)
    spec = fig.layout.to_plotly_json()
    if fig.layout.title.text:
        fig.layout.title.text = plot_text(fig.layout.title.text)
    if fig.layout.legend.title.text:
        fig.layout.legend.title.text = plot_text(fig.layout.legend.title.text)
    for key in spec:
        if key.startswith(("xaxis", "yaxis")):
            axis = fig.layout[key]
            if axis.title.text:
                axis.title.text = plot_text(axis.title.text)
            if axis.ticktext is not None:
                axis.ticktext = plot_text(list(axis.ticktext))
            if axis.categoryarray is not None:
                axis.categoryarray = plot_text(list(axis.categoryarray))
    for annotation in fig.layout.annotations:
        if annotation.text:
            annotation.text = plot_text(annotation.text)
    return fig


def layout(fig: go.Figure, height: int = 320, **kwargs: Any) -> go.Figure:
    """The shared look, then every text escaped (see the module's docstring)."""
    settings: dict[str, Any] = {
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 30, "b": 50},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "legend": {"orientation": "h", "y": -0.2},
        "font": {"family": "system-ui, -apple-system, 'Noto Sans CJK SC', sans-serif", "size": 12},
    }
    fig.update_layout(**(settings | kwargs))
    return escape_figure_text(fig)
