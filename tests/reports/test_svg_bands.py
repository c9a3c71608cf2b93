"""The SVG renderer draws what the tracking charts use (issue 19): a P10–P90 band as plotly
draws it (an edge with no line, the next trace filled up to it), and an error bar that only
goes up when only ``array`` is long (plotly.js makes it asymmetric when ``arrayminus`` is
given)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import plotly.graph_objects as go

from apps.reports.svg import figure_to_svg

SVG = "{http://www.w3.org/2000/svg}"


def band() -> go.Figure:
    x = ["2027-01-01", "2027-02-01", "2027-03-01"]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=[2, 4, 6], mode="lines", line={"width": 0}, showlegend=False))
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[1, 2, 3],
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor="rgba(31,119,180,0.15)",
            name="P10–P90",
        )
    )
    fig.add_trace(go.Scatter(x=x, y=[1.5, 3, 4.5], mode="lines", name="P50"))
    return fig


def test_a_band_is_filled_between_its_edges_and_its_edges_draw_no_line():
    root = ET.fromstring(figure_to_svg(band()))
    polygons = list(root.iter(f"{SVG}polygon"))
    fill = [p for p in polygons if p.get("fill") == "#1f77b4"]
    assert len(fill) == 1
    assert float(fill[0].get("fill-opacity")) == 0.15
    points = [tuple(map(float, p.split(","))) for p in fill[0].get("points").split()]
    assert len(points) == 6  # the lower edge forward, the upper edge back
    lower, upper = points[:3], points[3:][::-1]
    assert [x for x, _ in lower] == [x for x, _ in upper]
    assert all(lo_y > up_y for (_, lo_y), (_, up_y) in zip(lower, upper, strict=True))
    # Only the P50 draws a line; the band's swatch in the legend is a filled box.
    assert len(list(root.iter(f"{SVG}polyline"))) == 1
    swatches = [r for r in root.iter(f"{SVG}rect") if r.get("fill") == "#1f77b4"]
    assert len(swatches) == 1 and swatches[0].get("width") == "20"


def test_an_error_bar_with_arrayminus_is_asymmetric_unless_told():
    def whisker_span(**error: object) -> tuple[float, float]:
        """How far the first point's error bar reaches above and below its marker, in px."""
        fig = go.Figure(go.Scatter(x=[1, 2], y=[10, 20], mode="markers", error_y=error))
        root = ET.fromstring(figure_to_svg(fig))
        path = next(root.iter(f"{SVG}path")).get("d")
        ends = [float(v) for v in re.match(r"M[\d.]+,([\d.]+)V([\d.]+)", path).groups()]
        centre = float(next(root.iter(f"{SVG}circle")).get("cy"))
        return centre - min(ends), max(ends) - centre

    up, down = whisker_span(type="data", array=[5, 5], arrayminus=[0, 0])
    assert up > 10 and abs(down) < 0.5  # only up: P50 to P90
    up, down = whisker_span(type="data", array=[5, 5])
    assert up > 10 and abs(up - down) < 0.5  # symmetric
