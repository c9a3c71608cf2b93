"""The plan's time charts — the Gantt of stages and gates, the finish distribution — on one
time axis: calendar dates when the plan has a start date (the report's own dates; day offsets
otherwise computed the core's way, start + round(days)), days from the start without one."""

from __future__ import annotations

import datetime as dt
from typing import Any

import plotly.graph_objects as go
from django.utils.translation import gettext as _

from apps.runs.figure_style import DAY_MS, STREAM_COLOURS
from apps.runs.figure_style import layout as _layout

# Stages the Gantt leaves out: they span the whole program (salaries, storage), not a piece of
# work. GPU pools (``cluster``, ``pool_2``, …) stay: a bar is the window the pool is held.
GANTT_SKIPPED = ("team", "storage")


def plan_start(report: dict[str, Any]) -> dt.date | None:
    """The plan's start date, when it has one: day offsets then become calendar dates."""
    value = (report.get("plan") or {}).get("start_date")
    return dt.date.fromisoformat(value) if value else None


def day_date(start: dt.date, day: float) -> dt.date:
    """Day ``day`` of a program started on ``start``, rounded as the core dates its days."""
    return start + dt.timedelta(days=int(round(day)))


def _days_between(a: dt.date, b: dt.date) -> float:
    return float((b - a).days)


def gantt(report: dict[str, Any]) -> go.Figure:
    """Stages from P50 start to P50 finish, a lighter band to the P90 finish, gates as diamonds.

    With a start date the x axis is calendar dates (a bar's ``base`` is its start date and its
    length in milliseconds, plotly's date-axis unit; the dates are the report's own), else days
    from the start.
    """
    stages = [s for s in report["stages"] if s["key"] not in GANTT_SKIPPED]
    start = plan_start(report)
    names = [s["name"] for s in stages][::-1]
    fig = go.Figure()
    for s in stages:
        b, p50, p90 = s["start_days"]["p50"], s["finish_days"]["p50"], s["finish_days"]["p90"]
        colour = STREAM_COLOURS.get(s["stream"], "#888")
        if start is None:
            bars = (
                (b, max(p50 - b, 0.2), 1.0, f"{s['name']}: day {b:.0f}–{p50:.0f} (P50)"),
                (p50, max(p90 - p50, 0.0), 0.3, f"{s['name']}: P90 finish day {p90:.0f}"),
            )
        else:
            d0 = _stage_date(s, "start_date_p50", start, b)
            d50 = _stage_date(s, "finish_date_p50", start, p50)
            d90 = _stage_date(s, "finish_date_p90", start, p90)
            p50_text = _("%(stage)s: %(start)s – %(finish)s (P50)") % {
                "stage": s["name"],
                "start": d0.isoformat(),
                "finish": d50.isoformat(),
            }
            p90_text = _("%(stage)s: finish %(date)s (P90)") % {
                "stage": s["name"],
                "date": d90.isoformat(),
            }
            bars = (
                (d0.isoformat(), max(_days_between(d0, d50), 0.2) * DAY_MS, 1.0, p50_text),
                (d50.isoformat(), max(_days_between(d50, d90), 0.0) * DAY_MS, 0.3, p90_text),
            )
        for base, length, opacity, hover in bars:
            fig.add_trace(
                go.Bar(
                    y=[s["name"]],
                    x=[length],
                    base=[base],
                    orientation="h",
                    marker_color=colour,
                    opacity=opacity,
                    showlegend=False,
                    # The stage's name is user text: it reaches hover as data (escaped with
                    # the rest by ``layout``), never inside the template.
                    customdata=[hover],
                    hovertemplate="%{customdata}<extra></extra>",
                )
            )
    gates = report["milestones"]
    stage_names = {s["key"]: s["name"] for s in report["stages"]}
    gate_y = [stage_names.get(g["stage"], g["stage"]) for g in gates]
    if start is None:
        fig.add_trace(
            go.Scatter(
                y=gate_y,
                x=[g["p50_day"] for g in gates],
                mode="markers",
                marker={"symbol": "diamond", "size": 10, "color": "#111"},
                name=_("Gate (P50)"),
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [g["p90_day"] - g["p50_day"] for g in gates],
                    "arrayminus": [0] * len(gates),
                },
                text=[g["name"] for g in gates],
                hovertemplate="%{text}: day %{x:.0f} (P50)<extra></extra>",
            )
        )
    else:
        p50_dates = [_gate_date(g, "p50", start) for g in gates]
        p90_dates = [_gate_date(g, "p90", start) for g in gates]
        fig.add_trace(
            go.Scatter(
                y=gate_y,
                x=[d.isoformat() for d in p50_dates],
                mode="markers",
                marker={"symbol": "diamond", "size": 10, "color": "#111"},
                name=_("Gate (P50)"),
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [
                        max(_days_between(a, b), 0.0) * DAY_MS
                        for a, b in zip(p50_dates, p90_dates, strict=True)
                    ],
                    "arrayminus": [0] * len(gates),
                },
                text=[g["name"] for g in gates],
                customdata=[d.isoformat() for d in p90_dates],
                hovertemplate="%{text}: %{x|%Y-%m-%d} (P50), %{customdata} (P90)<extra></extra>",
            )
        )
    _deadline(fig, report, start)
    return _layout(
        fig,
        max(300, 28 * len(names) + 80),
        barmode="overlay",
        xaxis={"title": _("date"), "type": "date"} if start else {"title": _("days from start")},
        yaxis={"categoryorder": "array", "categoryarray": names},
    )


def _stage_date(stage: dict[str, Any], key: str, start: dt.date, day: float) -> dt.date:
    """A stage's date as the report gives it (older reports: computed the core's way)."""
    value = stage.get(key)
    return dt.date.fromisoformat(value) if value else day_date(start, day)


def _gate_date(gate: dict[str, Any], which: str, start: dt.date) -> dt.date:
    value = gate.get(f"{which}_date")
    return dt.date.fromisoformat(value) if value else day_date(start, gate[f"{which}_day"])


def deadline_date(report: dict[str, Any]) -> dt.date | None:
    """The deadline as a date: start + deadline_days (whole days, as the PDF writes it)."""
    start, days = plan_start(report), report["plan"].get("deadline_days")
    return start + dt.timedelta(days=int(days)) if start and days else None


def _deadline(fig: go.Figure, report: dict[str, Any], start: dt.date | None) -> None:
    days = report["plan"].get("deadline_days")
    if not days:
        return
    when = deadline_date(report)
    fig.add_vline(
        x=when.isoformat() if start and when else days,
        line_dash="dash",
        line_color="#d62728",
        annotation_text=_("Deadline"),
    )


def finish_distribution(report: dict[str, Any]) -> go.Figure:
    """Histogram of the finish over the trials with its cumulative distribution: in calendar
    dates when the plan has a start date (bin centres as date-times, so narrow bins stay
    apart), else in days from the start."""
    h = report["histograms"]["finish_days"]
    edges, counts = h["edges"], h["counts"]
    centres: list[Any] = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
    start = plan_start(report)
    if start is not None:
        origin = dt.datetime.combine(start, dt.time())
        centres = [
            (origin + dt.timedelta(days=c)).isoformat(sep=" ", timespec="minutes") for c in centres
        ]
    total = max(sum(counts), 1)
    cdf, run = [], 0
    for c in counts:
        run += c
        cdf.append(run / total)
    x_hover = "%{x|%Y-%m-%d}" if start else _("day") + " %{x:.0f}"
    fig = go.Figure(
        go.Bar(
            x=centres,
            y=counts,
            name=_("Trials"),
            marker_color="#1f77b4",
            hovertemplate=f"{x_hover}: %{{y}}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=centres,
            y=cdf,
            name=_("Cumulative share"),
            yaxis="y2",
            line={"color": "#333"},
            hovertemplate=f"{x_hover}: %{{y:.0%}}<extra></extra>",
        )
    )
    _deadline(fig, report, start)
    return _layout(
        fig,
        xaxis={"title": _("finish date"), "type": "date"}
        if start
        else {"title": _("finish (days from start)")},
        yaxis_title=_("trials"),
        yaxis2={"overlaying": "y", "side": "right", "range": [0, 1], "tickformat": ".0%"},
    )
