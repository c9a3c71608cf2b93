"""The portfolio's two charts, built server-side from ``apps.portfolio.months`` and drawn by
``static/js/figures.js``: GPUs per month stacked by program against what is booked, and spend per
month stacked by program with the cumulative total.

The conventions are ``apps.runs.figure_style``'s: titles with their unit (``titled``), round
ticks in the active language (``value_axis``), amounts in hover as the cards write them
(``money_text``), month labels that fit a phone (``layout(narrow=…)``) and the escaping of user
text. A program's name is user text: it reaches the hover as the trace's name
(``%{fullData.name}``, escaped with the rest), never inside the template. A program keeps its
colour from one chart to the other.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

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


def gpu_demand(data: GpuMonths) -> go.Figure:
    """GPUs in use per month, stacked by program (each one's most at once in the month), and a
    line of the GPUs the programs have booked (rented or bought) in the month."""
    fig = go.Figure()
    gpus = _("GPUs")
    for series in data.programs:
        fig.add_trace(
            go.Bar(
                x=data.months,
                y=series.values,
                name=series.name,
                marker_color=program_colour(series.index),
                customdata=[_gpu_count(v) for v in series.values],
                hovertemplate=_("%(month)s · %(what)s: %(amount)s in use")
                % {"month": "%{x}", "what": "%{fullData.name}", "amount": "%{customdata}"}
                + "<extra></extra>",
            )
        )
    names = [s.name for s in data.programs]
    if any(data.booked):
        booked = _("GPUs booked (rented or owned)")
        names.append(booked)
        fig.add_trace(
            go.Scatter(
                x=data.months,
                y=data.booked,
                name=booked,
                mode="lines+markers",
                line={"color": "#333", "dash": "dot"},
                customdata=[number_text(v) for v in data.booked],
                hovertemplate=_("%(month)s: %(what)s %(amount)s")
                % {"month": "%{x}", "what": booked, "amount": "%{customdata}"}
                + "<extra></extra>",
            )
        )
    stacked = [sum(column) for column in zip(*(s.values for s in data.programs), strict=True)]
    return layout(
        fig,
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
    fig = go.Figure()
    per_month = _("P50 of the month")
    for series in data.programs:
        fig.add_trace(
            go.Bar(
                x=data.months,
                y=series.values,
                name=series.name,
                marker_color=program_colour(series.index),
                customdata=[money_text(v, cur) for v in series.values],
                hovertemplate=_("%(month)s · %(what)s: %(amount)s (%(which)s)")
                % {
                    "month": "%{x}",
                    "what": "%{fullData.name}",
                    "amount": "%{customdata}",
                    "which": per_month,
                }
                + "<extra></extra>",
            )
        )
    total = _("Cumulative, all programs (sum of P50s)")
    fig.add_trace(
        go.Scatter(
            x=data.months,
            y=data.cumulative_p50,
            name=total,
            yaxis="y2",
            mode="lines",
            line={"color": "#333"},
            customdata=[money_text(v, cur) for v in data.cumulative_p50],
            hovertemplate=_("%(month)s: %(what)s %(amount)s")
            % {"month": "%{x}", "what": total, "amount": "%{customdata}"}
            + "<extra></extra>",
        )
    )
    stacked = [sum(column) for column in zip(*(s.values for s in data.programs), strict=True)]
    return layout(
        fig,
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
