"""The charts of many results side by side: the compare page's scenarios
(``compare_headlines``) and a what-if's variants (``sweep_chart``). Cost on the left axis with
the budget cap, finish on the right with the deadline — in calendar dates when the plan has a
start date, else in days from the start; names wrapped to the page's width (a narrower set on
phones). Neither chart is in the PDF."""

from __future__ import annotations

import datetime as dt
from typing import Any

import plotly.graph_objects as go
from django.utils.translation import gettext as _

from apps.runs.figure_style import (
    FULL_PX,
    LIMIT_COLOUR,
    NARROW_PX,
    add_cap,
    add_level,
    date_axis,
    money_text,
    percent_text,
    shorten,
    tick_room,
    titled,
    value_axis,
    wrap_label,
)
from apps.runs.figure_style import layout as _layout

# Names too long for two lines on a phone are cut to this many characters and turned.
ROTATED_CHARS, ROTATED_ANGLE = 18, -40


def _start(plan: dict[str, Any] | None) -> dt.date | None:
    value = (plan or {}).get("start_date")
    return dt.date.fromisoformat(value) if value else None


def _on(start: dt.date, days: float) -> dt.date:
    return start + dt.timedelta(days=int(round(days)))


def names_on_axis(
    names: list[str], max_lines: int = 4, y_axes: int = 2
) -> tuple[list[str], dict[str, Any]]:
    """The names wrapped for a full-width chart on a desktop, and the ``narrow`` layout for a
    phone: wrapped to two lines when they fit so, else cut to ``ROTATED_CHARS`` and turned.
    ``y_axes``: the y axes beside the plot, each taking room from the names."""
    wide = tick_room(FULL_PX, slots=len(names), y_axes=y_axes)
    narrow = tick_room(NARROW_PX, slots=len(names), y_axes=y_axes)
    if all(wrap_label(n, narrow, 99).count("\n") < 2 for n in names):
        phone: dict[str, Any] = {"xaxis.ticktext": [wrap_label(n, narrow, 2) for n in names]}
    else:
        phone = {
            "xaxis.ticktext": [shorten(n, ROTATED_CHARS) for n in names],
            "xaxis.tickangle": ROTATED_ANGLE,
        }
    return [wrap_label(n, wide, max_lines) for n in names], phone


def _limit_markers(fig: go.Figure, x: list[str], y: list[Any], name: str, yaxis: str) -> None:
    """Limits that differ between the results: a short red bar at each one's own value."""
    fig.add_trace(
        go.Scatter(
            x=x,
            y=y,
            name=name,
            yaxis=yaxis,
            mode="markers",
            marker={
                "symbol": "line-ew-open",
                "size": 36,
                "color": LIMIT_COLOUR,
                "line": {"width": 3, "color": LIMIT_COLOUR},
            },
            hoverinfo="skip",
        )
    )


def _cost_bars(
    fig: go.Figure, x: list[str], p50: list[float], p90: list[float], cur: str, extra: list[str]
) -> None:
    hover = _("%(what)s: cost P50 %(p50)s, P90 %(p90)s") % {
        "what": "%{x}",
        "p50": "%{customdata[0]}",
        "p90": "%{customdata[1]}",
    }
    data = [
        [money_text(a, cur), money_text(b, cur), e] for a, b, e in zip(p50, p90, extra, strict=True)
    ]
    for name, values in ((_("Cost P50"), p50), (_("Cost P90"), p90)):
        fig.add_trace(
            go.Bar(
                x=x,
                y=values,
                name=name,
                customdata=data,
                hovertemplate=hover + "%{customdata[2]}<extra></extra>",
            )
        )


def _finish_marks(
    fig: go.Figure, x: list[str], p50: list[Any], p90: list[Any], dated: bool
) -> None:
    shown = "%{y|%Y-%m-%d}" if dated else _("day %(day)s") % {"day": "%{y:.0f}"}
    for name, values, symbol in (
        (_("Finish P50"), p50, "diamond"),
        (_("Finish P90"), p90, "diamond-open"),
    ):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=[v.isoformat() if dated else v for v in values],
                name=name,
                yaxis="y2",
                mode="markers",
                marker={"size": 12, "symbol": symbol, "color": "#2ca02c"},
                hovertemplate=f"%{{x}}: {name} {shown}<extra></extra>",
            )
        )


def _limits(
    fig: go.Figure,
    x: list[str],
    caps: list[float | None],
    deadlines: list[Any],
    cur: str,
    dated: bool,
    costs: list[float],
) -> list[float]:
    """The budget cap on the cost axis and the deadline on the finish axis: one labelled line
    when every result has the same (the cap named in the legend when it is far above the
    ``costs``), a mark per result when they differ. Returns the caps the cost axis must
    reach."""
    reach: list[float] = []
    if any(caps):
        if len(set(caps)) == 1 and caps[0]:
            reach = add_cap(fig, caps[0], cur, "y", values=costs)
        else:
            _limit_markers(fig, x, caps, _("Budget cap"), "y")
            reach = [c for c in caps if c]
    if any(d is not None for d in deadlines):
        if len(set(deadlines)) == 1:
            when = (
                deadlines[0].isoformat()
                if dated
                else _("day %(day)s") % {"day": f"{deadlines[0]:.0f}"}
            )
            add_level(
                fig,
                deadlines[0].isoformat() if dated else deadlines[0],
                _("Deadline %(when)s") % {"when": when},
                "y2",
            )
        else:
            shown = [d.isoformat() if dated and d else d for d in deadlines]
            _limit_markers(fig, x, shown, _("Deadline"), "y2")
    return reach


def _finish_axis(values: list[Any], dated: bool) -> dict[str, Any]:
    """The finish axis from the start (a date among ``values``, or day 0), as the cost axis
    runs from zero: a finish shows how far into the program it falls."""
    if dated:
        axis = date_axis(_("Finish"), values, target=5)
    else:
        axis = value_axis(titled(_("Finish"), _("days from start")), values)
    return axis | {"overlaying": "y", "side": "right", "showgrid": False}


def compare_headlines(reports: list[tuple[str, dict[str, Any]]]) -> go.Figure:
    """2–4 scenarios side by side: cost P50/P90 (bars, in the program's currency, against the
    budget cap) and finish P50/P90 (diamonds, against the deadline)."""
    names = [name for name, _r in reports]
    plans = [r["plan"] for _n, r in reports]
    cur = plans[0]["currency"] if plans else ""
    fig = go.Figure()
    p50 = [r["totals"]["cost"]["p50"] for _n, r in reports]
    p90 = [r["totals"]["cost"]["p90"] for _n, r in reports]
    _cost_bars(fig, names, p50, p90, cur, [""] * len(names))
    starts = [_start(p) for p in plans]
    dated = bool(starts) and all(starts)
    finish = [r["totals"]["finish_days"] for _n, r in reports]
    f50: list[Any] = [f["p50"] for f in finish]
    f90: list[Any] = [f["p90"] for f in finish]
    deadlines: list[Any] = [p.get("deadline_days") for p in plans]
    if dated:
        f50 = [_on(s, d) for s, d in zip(starts, f50, strict=True) if s]
        f90 = [_on(s, d) for s, d in zip(starts, f90, strict=True) if s]
        deadlines = [
            s + dt.timedelta(days=int(d)) if s and d else None
            for s, d in zip(starts, deadlines, strict=True)
        ]
    _finish_marks(fig, names, f50, f90, dated)
    caps = [p.get("budget_cap") for p in plans]
    reach = _limits(fig, names, caps, deadlines, cur, dated, p90)
    wide, phone = names_on_axis(names)
    return _layout(
        fig,
        400,
        narrow={"below": FULL_PX, "layout": phone},
        barmode="group",
        xaxis={
            "title": {"text": _("Scenario")},
            "tickmode": "array",
            "tickvals": names,
            "ticktext": wide,
        },
        yaxis=value_axis(titled(_("Cost"), cur), p90 + reach),
        yaxis2=_finish_axis(
            f50 + f90 + [d for d in deadlines if d is not None] + [s for s in starts if s], dated
        ),
    )


def _axis_name(key: str) -> str:
    return {
        "gpu_count": _("GPUs"),
        "gpu_type": _("GPU type"),
        "precision": _("precision"),
        "strategy": _("strategy"),
    }.get(key, key)


def sweep_chart(
    points: list[dict[str, Any]], currency: str, plan: dict[str, Any] | None = None
) -> go.Figure:
    """A sweep: cost P50 (bars, whisker to P90) and finish P50/P90 (diamonds) per variant, MFU
    in the hover. With the base ``plan`` (the sweep's inputs): its budget cap, its deadline,
    and finish dates when it has a start date."""
    ok = [p for p in points if p["ok"]]
    keys = list(ok[0]["variant"]) if ok else []
    labels = [", ".join(f"{v}" for v in p["variant"].values()) for p in ok]
    mfu = [(" · MFU " + percent_text(p["mfu"])) if p.get("mfu") is not None else "" for p in ok]
    fig = go.Figure()
    p50 = [p["cost_p50"] for p in ok]
    p90 = [p["cost_p90"] for p in ok]
    hover = _("%(what)s: cost P50 %(p50)s, P90 %(p90)s") % {
        "what": "%{x}",
        "p50": "%{customdata[0]}",
        "p90": "%{customdata[1]}",
    }
    fig.add_trace(
        go.Bar(
            x=labels,
            y=p50,
            name=_("Cost P50, whisker to P90"),
            marker_color="#1f77b4",
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [b - a for a, b in zip(p50, p90, strict=True)],
                "arrayminus": [0] * len(ok),
            },
            customdata=[
                [money_text(a, currency), money_text(b, currency), m]
                for a, b, m in zip(p50, p90, mfu, strict=True)
            ],
            hovertemplate=hover + "%{customdata[2]}<extra></extra>",
        )
    )
    start = _start(plan)
    f50: list[Any] = [p["finish_days_p50"] for p in ok]
    f90: list[Any] = [p["finish_days_p90"] for p in ok]
    days = (plan or {}).get("deadline_days")
    deadline: Any = days
    if start is not None:
        f50, f90 = [_on(start, d) for d in f50], [_on(start, d) for d in f90]
        deadline = start + dt.timedelta(days=int(days)) if days else None
    _finish_marks(fig, labels, f50, f90, start is not None)
    cap = (plan or {}).get("budget_cap")
    reach = _limits(
        fig, labels, [cap] * len(labels), [deadline] * len(labels), currency, bool(start), p90
    )
    wide, phone = names_on_axis(labels, 3)
    variant = " · ".join(_axis_name(k) for k in keys) or _("variant")
    return _layout(
        fig,
        400,
        narrow={"below": FULL_PX, "layout": phone},
        xaxis={
            "title": {"text": _("Variant: %(axes)s") % {"axes": variant}},
            "tickmode": "array",
            "tickvals": labels,
            "ticktext": wide,
        },
        yaxis=value_axis(titled(_("Cost P50 / P90"), currency), p90 + reach),
        yaxis2=_finish_axis(
            f50 + f90 + ([deadline] if deadline else []) + ([start] if start else []),
            start is not None,
        ),
    )
