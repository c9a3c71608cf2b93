"""Plotly figure objects → static SVG, for the PDF (WeasyPrint draws inline SVG itself).

Why a renderer of our own: the dashboard's charts (``apps.runs.plan_figures``) are plotly
``go.Figure`` objects, and the PDF's charts must be images of those same objects. Plotly's
static export (kaleido) drives a headless Chrome: ~3 s per chart and a ~350 MB browser
(PITFALLS.md), so eight charts alone would blow the 5 s budget. This package reads each figure's
data and layout (``fig.to_plotly_json()``) and draws them with plain SVG elements, a few
milliseconds per chart, with no browser and no second charting library: the figure objects stay
the one code path, and a change to a builder shows in the dashboard and the PDF alike.

It draws what the dashboard's figures use, and refuses what it does not know (a trace type
other than bar or scatter raises ``UnsupportedFigure``, so a new chart cannot silently vanish
from the PDF):

- ``bar``: vertical or horizontal (``orientation="h"``) with ``base``; ``barmode`` group, stack
  or overlay; per-bar colours, ``opacity``, asymmetric ``error_x``/``error_y``;
- ``scatter``: ``mode`` lines, markers, text and their combinations (plotly's default mode by
  point count), ``line.dash`` (``line.width`` 0: no line), ``fill`` "tonexty" (a band up to
  the trace before it) and "tozeroy" with ``fillcolor``, marker symbols (circle, diamond,
  square, triangle-up, x and the ``-open`` forms), per-point sizes, numeric colours through a
  ``colorscale``, ``textposition``;
- axes: linear, log, category (``categoryorder="array"``) and date (ISO dates or date-times;
  a bar's ``base`` a date and its length in milliseconds, ticks on days, months or years in
  ISO form), ``range``, ``rangemode``,
  ``tickformat`` percentages, overlaying y axes on either side, ``visible=False``;
- ``layout.shapes`` lines (what ``add_vline``/``add_hline`` make; refs ``x``, ``y``, ``paper``,
  ``x domain``, ``y domain``), ``layout.annotations`` as text, plotly's horizontal legend.

Deliberate differences from plotly.js, for paper: hover text is dropped; light grey grid lines
(the dashboard's transparent background leaves plotly's white grid invisible); long category
labels wrap at spaces; a point label that would overlap another moves to the other side of its
point or is left out (the report's tables carry every item); an annotation at the right edge
turns to the inside. Tick labels follow plotly's defaults (k, M, B; ``.0%``).
"""

from apps.reports.svg.figure import UnsupportedFigure, figure_to_svg

__all__ = ["UnsupportedFigure", "figure_to_svg"]
