"""The portfolio's two charts, built server-side from ``apps.portfolio.months`` and drawn by
``static/js/figures.js``: GPUs per month stacked by program against what is booked, and spend per
month stacked by program with the cumulative total.

The conventions are ``apps.runs.figure_style``'s: titles with their unit (``titled``), round
ticks in the active language (``value_axis``), amounts in hover as the cards write them
(``money_text``), month labels that fit a phone (``layout(narrow=…)``) and the escaping of user
text. A program's name is user text: it reaches the hover as the trace's name
(``%{fullData.name}``, escaped with the rest), never inside the template. A program keeps its
colour from one chart to the other.

The page takes them as JSON through ``chart_json``, which remembers the last few it drew (see
there): with 200 programs, building the two is most of the page's time.
"""

from __future__ import annotations

import hashlib
import math
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from apps.portfolio.months import GpuMonths, SpendMonths
from apps.runs.figure_style import (
    HALF_PX,
    NARROW_PX,
    layout,
    money_text,
    number_text,
    shorten,
    titled,
    value_axis,
)

PROGRAM_COLOURS = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
    "#aec7e8",
]
AXIS_PX = 70  # room a value axis takes on either side
LEGEND_CHARS = 28  # a program's name in the legend on a phone


def program_colour(index: int) -> str:
    return PROGRAM_COLOURS[index % len(PROGRAM_COLOURS)]


def _every(months: list[str], width_px: float) -> list[str]:
    """The month labels to tick: as many as fit ``width_px`` (a label needs ~9 characters)."""
    fit = max(2, int((width_px - 2 * AXIS_PX) / (9 * 7.0)))
    return months[:: max(1, math.ceil(len(months) / fit))]


def _month_axis(months: list[str]) -> dict[str, object]:
    # Calendar months (2027-03) as categories, never re-parsed as dates; a label every few
    # months keeps them level (turned labels run into the legend).
    wide = _every(months, HALF_PX)
    return {
        "title": {"text": titled(_("Month"), _("year-month"))},
        "type": "category",
        "tickmode": "array",
        "tickvals": wide,
        "ticktext": wide,
    }


def _narrow(months: list[str], names: list[str]) -> dict[str, object]:
    """What a phone shows instead: fewer month labels, programs' names shortened."""
    ticks = _every(months, NARROW_PX)
    return {
        "layout": {"xaxis.tickvals": ticks, "xaxis.ticktext": ticks},
        "data": [{"name": shorten(name, LEGEND_CHARS)} for name in names],
    }


def _gpu_count(value: float) -> str:
    """A count of GPUs for hover text ("64 GPUs"; the axis unit "GPUs" is a title, not a count)."""
    n = round(value)
    return ngettext("%(n)s GPU", "%(n)s GPUs", n) % {"n": number_text(n)}


def _bars(
    data: GpuMonths | SpendMonths, customdata: Callable[[float], str], hover: str
) -> list[dict[str, Any]]:
    """A bar trace per program, as plain dicts: the figure checks them once (``go.Figure(data=…)``),
    not once as ``go.Bar`` and again in ``add_trace`` — with 200 programs that was most of the
    page's time. ``customdata`` is called once per distinct value (most months repeat one)."""
    texts: dict[float, str] = {}

    def text(value: float) -> str:
        if value not in texts:
            texts[value] = customdata(value)
        return texts[value]

    return [
        {
            "type": "bar",
            "x": data.months,
            "y": series.values,
            "name": series.name,
            "marker": {"color": program_colour(series.index)},
            "customdata": [text(v) for v in series.values],
            "hovertemplate": hover,
        }
        for series in data.programs
    ]


def gpu_demand(data: GpuMonths) -> go.Figure:
    """GPUs in use per month, stacked by program (each one's most at once in the month), and a
    line of the GPUs the programs have booked (rented or bought) in the month."""
    gpus = _("GPUs")
    hover = (
        _("%(month)s · %(what)s: %(amount)s in use")
        % {"month": "%{x}", "what": "%{fullData.name}", "amount": "%{customdata}"}
        + "<extra></extra>"
    )
    traces = _bars(data, _gpu_count, hover)
    names = [s.name for s in data.programs]
    if any(data.booked):
        booked = _("GPUs booked (rented or owned)")
        names.append(booked)
        traces.append(
            {
                "type": "scatter",
                "x": data.months,
                "y": data.booked,
                "name": booked,
                "mode": "lines+markers",
                "line": {"color": "#333", "dash": "dot"},
                "customdata": [number_text(v) for v in data.booked],
                "hovertemplate": _("%(month)s: %(what)s %(amount)s")
                % {"month": "%{x}", "what": booked, "amount": "%{customdata}"}
                + "<extra></extra>",
            }
        )
    stacked = [sum(column) for column in zip(*(s.values for s in data.programs), strict=True)]
    return layout(
        go.Figure(data=traces),
        380,
        narrow=_narrow(data.months, names),
        barmode="stack",
        xaxis=_month_axis(data.months),
        yaxis=value_axis(
            titled(_("In use, peak of the month"), gpus),
            stacked + list(data.booked),
            target=4,
        ),
    )


def portfolio_spend(data: SpendMonths) -> go.Figure:
    """Spend per month stacked by program (each month's own P50), and the cumulative total (the
    programs' cumulative P50s summed) on the right-hand axis."""
    cur = data.currency
    hover = (
        _("%(month)s · %(what)s: %(amount)s (%(which)s)")
        % {
            "month": "%{x}",
            "what": "%{fullData.name}",
            "amount": "%{customdata}",
            "which": _("P50 of the month"),
        }
        + "<extra></extra>"
    )
    traces = _bars(data, lambda v: money_text(v, cur), hover)
    total = _("Cumulative, all programs (sum of P50s)")
    traces.append(
        {
            "type": "scatter",
            "x": data.months,
            "y": data.cumulative_p50,
            "name": total,
            "yaxis": "y2",
            "mode": "lines",
            "line": {"color": "#333"},
            "customdata": [money_text(v, cur) for v in data.cumulative_p50],
            "hovertemplate": _("%(month)s: %(what)s %(amount)s")
            % {"month": "%{x}", "what": total, "amount": "%{customdata}"}
            + "<extra></extra>",
        }
    )
    stacked = [sum(column) for column in zip(*(s.values for s in data.programs), strict=True)]
    return layout(
        go.Figure(data=traces),
        380,
        narrow=_narrow(data.months, [s.name for s in data.programs] + [total]),
        barmode="stack",
        xaxis=_month_axis(data.months),
        yaxis=value_axis(titled(_("Spend per month, P50"), cur), stacked, target=4),
        yaxis2=value_axis(
            titled(_("Cumulative, all programs"), cur),
            data.cumulative_p50,
            target=4,
            second=True,
        ),
    )


# ---- drawn charts, remembered ------------------------------------------------------------

CHARTS_REMEMBERED = 16  # each is the JSON of one chart: ~0.1–0.3 MB with 200 programs
_drawn: OrderedDict[bytes, str] = OrderedDict()
_drawn_lock = threading.Lock()


def chart_json[Data: (GpuMonths, SpendMonths)](
    build: Callable[[Data], go.Figure], data: Data
) -> str:
    """``build(data).to_json()``, remembered for the last ``CHARTS_REMEMBERED`` charts this
    process drew.

    Plotly checks every value of every trace as it builds a figure — with 200 programs about
    100 ms for the two charts — while what they draw changes only when a run finishes or a
    program changes. The key is the data itself (pickled and hashed) with the chart and the
    active language, the only inputs of a chart besides the code: a hit is the JSON the build
    would give, byte for byte, and any change of a program's figures, name or place draws anew.
    Per process, so a new release (code, translations) starts empty."""
    key = hashlib.sha256(
        pickle.dumps((build.__module__, build.__qualname__, get_language(), data))
    ).digest()
    with _drawn_lock:
        drawn = _drawn.get(key)
        if drawn is not None:
            _drawn.move_to_end(key)
            return drawn
    drawn = build(data).to_json()
    with _drawn_lock:
        _drawn[key] = drawn
        while len(_drawn) > CHARTS_REMEMBERED:
            _drawn.popitem(last=False)
    return drawn
