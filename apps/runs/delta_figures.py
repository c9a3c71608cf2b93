"""The compare page's charts of change against the baseline (issue 18), from a
``compare_deltas.Comparison``: the change of cost by category per scenario against the
baseline's headroom to the budget cap (``cost_change``), and the change of finish against its
slack to the deadline (``finish_change``). A bar above the dashed line is a scenario that would
break the limit (at P50) where the baseline keeps it.

The line is named in the legend rather than labelled on the plot: its name carries an amount
and must fit a phone's legend, where a label on the line would run into the bars. A headroom or
slack more than ``CAP_SCALE`` times the largest change is named, not drawn (stretching the axis
to it would flatten every bar), as is one when nothing changed. A category no scenario changes
is left out of the chart (the table says "no change"). Neither chart is in the PDF.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from apps.runs.compare_deltas import Comparison
from apps.runs.compare_figures import names_on_axis
from apps.runs.delta_table import days_text, money_change
from apps.runs.figure_style import (
    CAP_SCALE,
    CATEGORY_COLOURS,
    FULL_PX,
    LIMIT_COLOUR,
    NARROW_PX,
    category_label,
    money_text,
    room,
    titled,
    value_axis,
    wrap_label,
)
from apps.runs.figure_style import layout as _layout

TOTAL_COLOUR = "#333333"
MIN_DAYS = 5  # the least span of the finish axis
# A legend entry has the figure's width less its symbol (40 px).
LEGEND_CHARS = room(NARROW_PX - 40)


def _limit(
    fig: go.Figure, y: float, name: str, changes: list[float], off_scale: str
) -> tuple[list[float], str]:
    """A dashed red line across the plot at ``y``, named ``name`` in the legend — or, past
    ``CAP_SCALE`` × the largest change (or when nothing changed), only named (``off_scale``:
    the name then). Returns the values the axis must reach and the legend name wrapped for a
    phone."""
    largest = max((abs(c) for c in changes), default=0.0)
    drawn = bool(largest) and abs(y) <= CAP_SCALE * largest
    shown = name if drawn else off_scale
    fig.add_trace(
        go.Scatter(
            x=[None],
            y=[None],
            mode="lines",
            name=shown,
            line={"color": LIMIT_COLOUR, "dash": "dash", "width": 2},
            hoverinfo="skip",
            showlegend=True,
        )
    )
    phone = wrap_label(shown, LEGEND_CHARS, 2)
    if not drawn:
        return [], phone
    fig.add_shape(
        type="line",
        xref="paper",
        x0=0,
        x1=1,
        yref="y",
        y0=y,
        y1=y,
        line={"color": LIMIT_COLOUR, "dash": "dash", "width": 2},
    )
    return [y], phone


def _narrow(fig: go.Figure, names: list[str], limit_name: str | None) -> dict[str, Any]:
    """The phone's layout: the scenarios' names as ``names_on_axis`` wraps them, and the
    limit's legend entry (the last trace) on two lines."""
    _wide, phone = names_on_axis(names, y_axes=1)
    narrow: dict[str, Any] = {"below": FULL_PX, "layout": phone}
    if limit_name is not None:
        narrow["data"] = [{} for _trace in fig.data[:-1]] + [{"name": limit_name}]
    return narrow


def _x_axis(names: list[str], wide: list[str]) -> dict[str, Any]:
    return {
        "title": {"text": _("Scenario")},
        "tickmode": "array",
        "tickvals": names,
        "ticktext": wide,
    }


def _zero(axis: dict[str, Any]) -> dict[str, Any]:
    """A change axis: zero (no change) drawn as a line."""
    return axis | {"zeroline": True, "zerolinecolor": "#888888", "zerolinewidth": 1}


def _visible(changes: list[float]) -> list[float]:
    """The changes the axis is fitted to: those of at least 1 % of the largest. A smaller one
    is a sliver at any scale, and would add a whole tick step below zero (−10M for −4,509)."""
    largest = max((abs(c) for c in changes), default=0.0)
    return [c for c in changes if abs(c) >= 0.01 * largest]


def _days_span(changes: list[float]) -> list[float]:
    """Whole-day changes and, when all are under ``MIN_DAYS``, that many days on their side:
    the ticks then step by whole days, not by half a day."""
    if any(abs(c) >= MIN_DAYS for c in changes):
        return changes
    below = any(c < 0 for c in changes) and not any(c > 0 for c in changes)
    return [*changes, -MIN_DAYS if below else MIN_DAYS]


def _headroom_names(headroom: float, cur: str) -> tuple[str, str]:
    amount = money_text(abs(headroom), cur)
    if headroom >= 0:
        return (
            _("Headroom to the cap %(amount)s") % {"amount": amount},
            _("Cap headroom %(amount)s (off the scale)") % {"amount": amount},
        )
    return (
        _("Baseline over the cap by %(amount)s") % {"amount": amount},
        _("Over the cap by %(amount)s (off the scale)") % {"amount": amount},
    )


def cost_change(comparison: Comparison) -> go.Figure:
    """Each scenario's change of cost P50 from the baseline's, by category and in total (bars
    grouped per scenario, in the comparison's currency), and the baseline's headroom to the
    budget cap when the plan has a cap."""
    cur = comparison.currency
    scenarios = comparison.scenarios
    names = [s.name for s in scenarios]
    fig = go.Figure()
    hover = "%{x}<br>%{customdata[0]}: %{customdata[1]}<extra></extra>"
    changes: list[float] = []
    # A category no scenario changes is left out: the table says "no change".
    keys = [
        k
        for k in comparison.category_keys()
        if any(abs(s.categories[k].change or 0.0) >= 0.5 for s in scenarios)
    ]
    series = [
        (
            category_label(k),
            CATEGORY_COLOURS.get(k, "#888888"),
            [s.categories[k] for s in scenarios],
        )
        for k in keys
    ]
    series.append((_("Total"), TOTAL_COLOUR, [s.cost_p50 for s in scenarios]))
    for label, colour, deltas in series:
        values = [d.change or 0.0 for d in deltas]
        changes += values
        fig.add_trace(
            go.Bar(
                x=names,
                y=values,
                name=label,
                marker_color=colour,
                customdata=[[label, money_change(d, cur).text] for d in deltas],
                hovertemplate=hover,
            )
        )
    reach: list[float] = []
    phone_name = None
    headroom = comparison.baseline.headroom
    if headroom is not None:
        drawn, off = _headroom_names(headroom, cur)
        reach, phone_name = _limit(fig, headroom, drawn, changes, off)
    wide = names_on_axis(names, y_axes=1)[0]
    narrow = _narrow(fig, names, phone_name)
    narrow["layout"] |= {"height": 480}
    return _layout(
        fig,
        420,
        narrow=narrow,
        barmode="group",
        xaxis=_x_axis(names, wide),
        yaxis=_zero(value_axis(titled(_("Change in cost"), cur), _visible(changes) + reach)),
    )


def _slack_names(slack: float) -> tuple[str, str]:
    if slack >= 0:
        days = ngettext("%(n)s day", "%(n)s days", abs(round(slack))) % {"n": abs(round(slack))}
        return (
            _("Slack to the deadline %(days)s") % {"days": days},
            _("Deadline slack %(days)s (off the scale)") % {"days": days},
        )
    late = days_text(slack).lstrip("\u2212")
    return (
        _("Baseline late by %(days)s") % {"days": late},
        _("Late by %(days)s (off the scale)") % {"days": late},
    )


def finish_change(comparison: Comparison) -> go.Figure:
    """Each scenario's change of finish P50 and P90 from the baseline's, in days (bars grouped
    per scenario), and the baseline's slack to the deadline when the plan has one."""
    scenarios = comparison.scenarios
    names = [s.name for s in scenarios]
    fig = go.Figure()
    changes: list[float] = []
    hover = "%{x}<br>%{customdata[0]}: %{customdata[1]}<extra></extra>"
    for label, colour, deltas in (
        (_("Finish P50"), "#2ca02c", [s.finish_p50 for s in scenarios]),
        (_("Finish P90"), "#98df8a", [s.finish_p90 for s in scenarios]),
    ):
        values = [float(round(d.change or 0.0)) for d in deltas]
        changes += values
        fig.add_trace(
            go.Bar(
                x=names,
                y=values,
                name=label,
                marker_color=colour,
                customdata=[[label, days_text(v) if v else _("no change")] for v in values],
                hovertemplate=hover,
            )
        )
    reach: list[float] = []
    phone_name = None
    slack = comparison.baseline.slack_days
    if slack is not None:
        drawn, off = _slack_names(slack)
        reach, phone_name = _limit(fig, slack, drawn, changes, off)
    wide = names_on_axis(names, y_axes=1)[0]
    return _layout(
        fig,
        340,
        narrow=_narrow(fig, names, phone_name),
        barmode="group",
        xaxis=_x_axis(names, wide),
        yaxis=_zero(
            value_axis(titled(_("Change in finish"), _("days")), _days_span(changes) + reach)
        ),
    )
