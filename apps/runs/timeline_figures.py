"""The plan's time charts — the Gantt of stages and gates, the finish distribution — on one
time axis: calendar dates when the plan has a start date (the report's own dates; day offsets
otherwise computed the core's way, start + round(days)), days from the start without one. Both
draw the deadline when the plan has one."""

from __future__ import annotations

import datetime as dt
from typing import Any

import plotly.graph_objects as go
from django.utils.translation import gettext as _

from apps.runs.figure_style import (
    DAY_MS,
    FULL_PX,
    NARROW_PX,
    STREAM_COLOURS,
    add_deadline,
    date_axis,
    room,
    titled,
    value_axis,
    wrap_label,
)
from apps.runs.figure_style import layout as _layout

# Stages the Gantt leaves out: they span the whole program (salaries, storage), not a piece of
# work. GPU pools (``cluster``, ``pool_2``, …) stay: a bar is the window the pool is held.
GANTT_SKIPPED = ("team", "storage")
# The share of the Gantt's width its stage names may take, and a row's height (px) per line.
GANTT_LABEL_SHARE = 0.35
GANTT_ROW_PX = 18


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
    from the start. Stage names are wrapped to two lines (a narrower set on phones); hover has
    them whole.
    """
    stages = [s for s in report["stages"] if s["key"] not in GANTT_SKIPPED]
    start = plan_start(report)
    names = [s["name"] for s in stages][::-1]
    fig = go.Figure()
    extent: list[Any] = []
    for s in stages:
        b, p50, p90 = s["start_days"]["p50"], s["finish_days"]["p50"], s["finish_days"]["p90"]
        colour = STREAM_COLOURS.get(s["stream"], "#888")
        if start is None:
            p50_text = _("%(stage)s: day %(start)s – %(finish)s (P50)") % {
                "stage": s["name"],
                "start": f"{b:.0f}",
                "finish": f"{p50:.0f}",
            }
            p90_text = _("%(stage)s: finish day %(day)s (P90)") % {
                "stage": s["name"],
                "day": f"{p90:.0f}",
            }
            bars = (
                (b, max(p50 - b, 0.2), 1.0, p50_text),
                (p50, max(p90 - p50, 0.0), 0.3, p90_text),
            )
            extent += [b, p90]
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
            extent += [d0, d90]
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
                name=_("Gate (P50, whisker to P90)"),
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [g["p90_day"] - g["p50_day"] for g in gates],
                    "arrayminus": [0] * len(gates),
                },
                text=[g["name"] for g in gates],
                hovertemplate=_("%(gate)s: day %(day)s (P50)")
                % {"gate": "%{text}", "day": "%{x:.0f}"}
                + "<extra></extra>",
            )
        )
        extent += [g["p90_day"] for g in gates]
    else:
        p50_dates = [_gate_date(g, "p50", start) for g in gates]
        p90_dates = [_gate_date(g, "p90", start) for g in gates]
        fig.add_trace(
            go.Scatter(
                y=gate_y,
                x=[d.isoformat() for d in p50_dates],
                mode="markers",
                marker={"symbol": "diamond", "size": 10, "color": "#111"},
                name=_("Gate (P50, whisker to P90)"),
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
                hovertemplate=_("%(gate)s: %(p50)s (P50), %(p90)s (P90)")
                % {"gate": "%{text}", "p50": "%{x|%Y-%m-%d}", "p90": "%{customdata}"}
                + "<extra></extra>",
            )
        )
        extent += p90_dates
    extent += _deadline(fig, report, start, extent)
    labels = (_("Date"), _("Time"))
    wide = [wrap_label(n, room(FULL_PX, GANTT_LABEL_SHARE), 2) for n in names]
    narrow = [wrap_label(n, room(NARROW_PX, GANTT_LABEL_SHARE), 2) for n in names]
    return _layout(
        fig,
        _gantt_height(wide),
        narrow={
            "below": FULL_PX,
            "layout": {"yaxis.ticktext": narrow, "height": _gantt_height(narrow)}
            | _time_ticks(labels, extent, start, target=2),
        },
        barmode="overlay",
        xaxis=_time_axis(labels, extent, start),
        yaxis={
            "title": {"text": _("Stage")},
            "categoryorder": "array",
            "categoryarray": names,
            "tickmode": "array",
            "tickvals": names,
            "ticktext": wide,
        },
    )


def _time_axis(
    labels: tuple[str, str], extent: list[Any], start: dt.date | None, target: int = 6
) -> dict[str, Any]:
    """Calendar dates with a start date (titled ``labels[0]``), else days from the start
    (``labels[1]``)."""
    if start is not None:
        return date_axis(labels[0], extent, target)
    return value_axis(titled(labels[1], _("days from start")), extent, zero=False, target=target)


def _time_ticks(
    labels: tuple[str, str], extent: list[Any], start: dt.date | None, target: int
) -> dict[str, Any]:
    """The time axis's ticks for a narrow screen (fewer), as ``narrow`` layout paths."""
    axis = _time_axis(labels, extent, start, target)
    return {"xaxis.tickvals": axis.get("tickvals"), "xaxis.ticktext": axis.get("ticktext")}


def _gantt_height(labels: list[str]) -> int:
    lines = sum(max(1, label.count("\n") + 1) for label in labels)
    return max(300, GANTT_ROW_PX * lines + 10 * len(labels) + 130)


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


def deadline_text(report: dict[str, Any]) -> str:
    """The deadline as the charts name it: its date, or its day without a start date."""
    when = deadline_date(report)
    if when is not None:
        return when.isoformat()
    return _("day %(day)s") % {"day": f"{report['plan']['deadline_days']:.0f}"}


def _deadline(
    fig: go.Figure, report: dict[str, Any], start: dt.date | None, extent: list[Any]
) -> list[Any]:
    """Draw the deadline on the time axis (labelled on the side with room); returns the point to
    keep inside the axis's range (nothing without a deadline)."""
    days = report["plan"].get("deadline_days")
    if not days:
        return []
    when = deadline_date(report)
    x: Any = when if start and when else float(days)
    lo, hi = min([*extent, x]), max([*extent, x])
    label_left = x >= lo + (hi - lo) / 2
    add_deadline(
        fig, x.isoformat() if isinstance(x, dt.date) else x, deadline_text(report),
        label_left=label_left,
    )  # fmt: skip
    return [x]


def finish_distribution(report: dict[str, Any]) -> go.Figure:
    """Histogram of the finish over the trials with its cumulative distribution: in calendar
    dates when the plan has a start date (bin centres as date-times, so narrow bins stay
    apart), else in days from the start; the deadline when the plan has one."""
    h = report["histograms"]["finish_days"]
    edges, counts = h["edges"], h["counts"]
    centres: list[Any] = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
    start = plan_start(report)
    extent: list[Any] = [edges[0], edges[-1]]
    if start is not None:
        origin = dt.datetime.combine(start, dt.time())
        moments = [origin + dt.timedelta(days=c) for c in centres]
        centres = [m.isoformat(sep=" ", timespec="minutes") for m in moments]
        extent = [day_date(start, edges[0]), day_date(start, edges[-1])]
    total = max(sum(counts), 1)
    cdf, run = [], 0
    for c in counts:
        run += c
        cdf.append(run / total)
    x_hover = "%{x|%Y-%m-%d}" if start else _("day %(day)s") % {"day": "%{x:.0f}"}
    fig = go.Figure(
        go.Bar(
            x=centres,
            y=counts,
            name=_("Trials"),
            marker_color="#1f77b4",
            hovertemplate=_("%(when)s: %(count)s trials") % {"when": x_hover, "count": "%{y}"}
            + "<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=centres,
            y=cdf,
            name=_("Cumulative share"),
            yaxis="y2",
            line={"color": "#333"},
            hovertemplate=_("%(when)s: %(share)s finished") % {"when": x_hover, "share": "%{y:.0%}"}
            + "<extra></extra>",
        )
    )
    extent += _deadline(fig, report, start, extent)
    label = (_("finish date"), _("Finish"))
    return _layout(
        fig,
        340,
        narrow={"layout": _time_ticks(label, extent, start, target=2)},
        xaxis=_time_axis(label, extent, start),
        yaxis=value_axis(titled(_("Trials"), _("count")), counts),
        yaxis2=value_axis(
            titled(_("Cumulative share"), "%"), [0.0, 1.0], percent=True, second=True
        ),
        bargap=0.05,
    )
