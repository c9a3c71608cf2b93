"""Plotly figures for the runs pages, built in Python and rendered by plotly.min.js."""

from collections.abc import Sequence

import plotly.graph_objects as go

from apps.runs.models import DemoJob


def demo_job_round_trip_figure(jobs: Sequence[DemoJob]) -> str:
    """Bar chart of round-trip times (ms) of finished jobs, oldest first, as Plotly JSON."""
    finished = [job for job in reversed(jobs) if job.round_trip_ms is not None]
    figure = go.Figure(
        go.Bar(
            x=[f"#{job.pk}" for job in finished],
            y=[job.round_trip_ms for job in finished],
            marker_color="#1f77b4",
            hovertemplate="job %{x}: %{y:.0f} ms<extra></extra>",
        )
    )
    figure.update_layout(
        height=260,
        margin={"l": 50, "r": 10, "t": 10, "b": 40},
        yaxis_title="round trip (ms)",
        xaxis_type="category",
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
    )
    return figure.to_json()
