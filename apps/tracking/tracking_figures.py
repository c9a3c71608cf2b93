"""The tracking dashboard's charts (issue 19), in the plan charts' style (``figure_style``):

- ``burnup``: tokens trained by date — the approved plan's P10–P90 band and P50, the forecast's
  band and P50 from the last report on, the reported tokens as points, the deadline;
- ``spend``: money spent to date — the approved plan's cumulative P50 and P90 by month, the
  reported spend as points, the forecast's estimate at completion, the budget cap;
- ``forecast_history``: how the forecast finish date (P50, P90) moved with each report, beside
  the approved finish and the deadline.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

import plotly.graph_objects as go
from django.utils.translation import gettext as _

from apps.runs.figure_style import (
    LIMIT_COLOUR,
    add_cap,
    add_deadline,
    date_axis,
    money_text,
    number_text,
    titled,
    value_axis,
)
from apps.runs.figure_style import layout as _layout
from apps.runs.timeline_figures import deadline_date

PLAN_COLOUR = "#1f77b4"
FORECAST_COLOUR = "#ff7f0e"
ACTUAL_COLOUR = "#2ca02c"
BAND_PLAN = "rgba(31,119,180,0.15)"
BAND_FORECAST = "rgba(255,127,14,0.18)"


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _narrow(label: str, dates: list[dt.date]) -> dict[str, Any]:
    """Fewer date ticks on a phone (``layout.meta.narrow``, applied by figures.js)."""
    axis = date_axis(label, dates, target=3)
    return {"layout": {"xaxis.tickvals": axis.get("tickvals"), "xaxis.ticktext": axis["ticktext"]}}


def _band(
    fig: go.Figure, x: list[str], low: list[Any], high: list[Any], name: str, colour: str
) -> None:
    """A P10–P90 band: the upper edge, then the lower one filled up to it."""
    fig.add_trace(
        go.Scatter(x=x, y=high, mode="lines", line={"width": 0}, hoverinfo="skip", showlegend=False)
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=low,
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor=colour,
            name=name,
            hoverinfo="skip",
        )
    )


def burnup(
    forecast: dict[str, Any], actuals: list[dict[str, Any]], report: dict[str, Any]
) -> go.Figure:
    burn = forecast["burnup"]
    dates = burn["dates"]
    fig = go.Figure()
    planned, ahead = burn["planned"], burn["forecast"]
    _band(fig, dates, planned["p10"], planned["p90"], _("Plan P10–P90"), BAND_PLAN)
    fig.add_trace(
        go.Scatter(
            x=dates,
            y=planned["p50"],
            mode="lines",
            name=_("Plan P50"),
            line={"color": PLAN_COLOUR},
            hovertemplate="%{x}: %{customdata}<extra></extra>",
            customdata=[number_text(v) for v in planned["p50"]],
        )
    )
    shown = [i for i, v in enumerate(ahead["p50"]) if v is not None]
    if shown:
        x = [dates[i] for i in shown]
        _band(
            fig,
            x,
            [ahead["p10"][i] for i in shown],
            [ahead["p90"][i] for i in shown],
            _("Forecast P10–P90"),
            BAND_FORECAST,
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=[ahead["p50"][i] for i in shown],
                mode="lines",
                name=_("Forecast P50"),
                line={"color": FORECAST_COLOUR, "dash": "dash"},
                hovertemplate="%{x}: %{customdata}<extra></extra>",
                customdata=[number_text(ahead["p50"][i]) for i in shown],
            )
        )
    if actuals:
        fig.add_trace(
            go.Scatter(
                x=[a["date"] for a in actuals],
                y=[a["tokens_trained"] for a in actuals],
                mode="lines+markers",
                name=_("Reported"),
                line={"color": ACTUAL_COLOUR},
                hovertemplate="%{x}: %{customdata}<extra></extra>",
                customdata=[number_text(a["tokens_trained"]) for a in actuals],
            )
        )
    every = [dt.date.fromisoformat(d) for d in dates] + [
        dt.date.fromisoformat(a["date"]) for a in actuals
    ]
    deadline = deadline_date(report)
    if deadline and deadline <= max(every) + dt.timedelta(days=60):
        add_deadline(fig, deadline.isoformat(), deadline.isoformat())
        every.append(deadline)
    values = planned["p90"] + [v for v in ahead["p90"] if v is not None]
    return _layout(
        fig,
        narrow=_narrow(_("date"), every),
        xaxis=date_axis(_("date"), every),
        yaxis=value_axis(titled(_("main-run tokens"), _("tokens")), values),
        showlegend=True,
    )


def _month_end(label: str) -> dt.date:
    year, month = (int(p) for p in label.split("-")[:2])
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def spend(
    report: dict[str, Any], actuals: list[dict[str, Any]], forecast: dict[str, Any] | None
) -> go.Figure:
    """Cumulative spend: the plan's by month end, the reported totals, the forecast total."""
    currency = report["plan"]["currency"]
    monthly = report.get("monthly") or {}
    fig = go.Figure()
    values: list[float] = []
    every: list[dt.date] = []
    if monthly.get("calendar") and monthly.get("cumulative_p50"):
        ends = [_month_end(m).isoformat() for m in monthly["labels"]]
        every += [dt.date.fromisoformat(e) for e in ends]
        for key, name, dash in (
            ("cumulative_p50", _("Plan P50"), "solid"),
            ("cumulative_p90", _("Plan P90"), "dot"),
        ):
            line = monthly.get(key) or []
            values += line
            fig.add_trace(
                go.Scatter(
                    x=ends,
                    y=line,
                    mode="lines",
                    name=name,
                    line={"color": PLAN_COLOUR, "dash": dash},
                    hovertemplate="%{x}: %{customdata}<extra></extra>",
                    customdata=[money_text(v, currency) for v in line],
                )
            )
    if actuals:
        totals = [a["spend_total"] for a in actuals]
        values += totals
        every += [dt.date.fromisoformat(a["date"]) for a in actuals]
        fig.add_trace(
            go.Scatter(
                x=[a["date"] for a in actuals],
                y=totals,
                mode="lines+markers",
                name=_("Reported"),
                line={"color": ACTUAL_COLOUR},
                hovertemplate="%{x}: %{customdata}<extra></extra>",
                customdata=[money_text(v, currency) for v in totals],
            )
        )
    if forecast:
        finish = forecast["finish_date_p50"]
        eac = forecast["cost"]["p50"]
        values += [eac, forecast["cost"]["p90"]]
        every.append(dt.date.fromisoformat(finish))
        fig.add_trace(
            go.Scatter(
                x=[finish],
                y=[eac],
                mode="markers",
                marker={"color": FORECAST_COLOUR, "size": 11, "symbol": "diamond"},
                error_y={
                    "type": "data",
                    "array": [forecast["cost"]["p90"] - eac],
                    "arrayminus": [0],
                    "color": FORECAST_COLOUR,
                },
                name=_("Forecast total (P50 to P90)"),
                hovertemplate="%{x}: %{customdata}<extra></extra>",
                customdata=[money_text(eac, currency)],
            )
        )
    cap = report["plan"].get("budget_cap")
    if cap:
        values += add_cap(fig, cap, currency, values=values)
    return _layout(
        fig,
        narrow=_narrow(_("date"), every),
        xaxis=date_axis(_("date"), every),
        yaxis=value_axis(titled(_("spent to date"), currency), values),
        showlegend=True,
    )


def forecast_history(history: list[dict[str, Any]], report: dict[str, Any]) -> go.Figure:
    """Each report's forecast finish (P50, and P90 as a whisker) on the report's date."""
    fig = go.Figure()
    x = [h["as_of"] for h in history]
    p50 = [h["finish_date_p50"] for h in history]
    p90 = [h["finish_date_p90"] for h in history]
    fig.add_trace(
        go.Scatter(
            x=x,
            y=p90,
            mode="lines+markers",
            name=_("Forecast finish P90"),
            line={"color": FORECAST_COLOUR, "dash": "dot"},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=p50,
            mode="lines+markers",
            name=_("Forecast finish P50"),
            line={"color": FORECAST_COLOUR},
        )
    )
    approved = report["totals"].get("finish_date_p50")
    ys = [dt.date.fromisoformat(d) for d in p50 + p90]
    if approved:
        fig.add_hline(
            y=approved,
            line={"color": PLAN_COLOUR, "dash": "dash", "width": 2},
            annotation={"text": _("Approved %(when)s") % {"when": approved}},
            # Above its line at the right: under it, the lowest line's label would meet the
            # date ticks; at the left, the deadline's.
            annotation_position="top right",
        )
        ys.append(dt.date.fromisoformat(approved))
    deadline = deadline_date(report)
    if deadline:
        fig.add_hline(
            y=deadline.isoformat(),
            line={"color": LIMIT_COLOUR, "dash": "dash", "width": 2},
            annotation={"text": _("Deadline %(when)s") % {"when": deadline.isoformat()}},
            annotation_position="top left",
        )
        ys.append(deadline)
    reported = [dt.date.fromisoformat(d) for d in x]
    return _layout(
        fig,
        narrow=_narrow(_("report date"), reported),
        xaxis=date_axis(_("report date"), reported),
        yaxis=date_axis(_("forecast finish"), ys),
        showlegend=True,
    )
