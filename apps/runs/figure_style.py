"""The look every chart of a plan shares: colours per category and stream, category names, and
the layout (size, margins, transparent background, legend below, fonts with CJK)."""

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


def layout(fig: go.Figure, height: int = 320, **kwargs: Any) -> go.Figure:
    settings: dict[str, Any] = {
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 30, "b": 50},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "legend": {"orientation": "h", "y": -0.2},
        "font": {"family": "system-ui, -apple-system, 'Noto Sans CJK SC', sans-serif", "size": 12},
    }
    fig.update_layout(**(settings | kwargs))
    return fig
