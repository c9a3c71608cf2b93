"""The status report of a scenario in execution: a short PDF of one succeeded forecast against
the approved baseline — cover, the forecast's headline figures, the variance by cost category,
what changed the forecast, the tracking dashboard's three charts and the reports it was computed
from. Its figures are the Tracking page's (``apps.tracking.dashboard``), its charts drawn by the
same SVG renderer as the plan's (``apps.reports.svg``) and laid out by WeasyPrint with the plan's
print styles (``reports/pdf/_styles.html``).

``status_content_hash`` covers everything shown — the forecast, the baseline, the reports up to
the forecast's last one, the forecasts before it, the names on the cover, the program's alert
threshold — and the paper, the language and a fingerprint of the templates and code that shape
it, so an export of an unchanged status reuses the file and any change renders a new one.
"""

from __future__ import annotations

import hashlib
import json
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from apps.reports.document import (
    CHART_WIDTH_PX,
    PAPER_SIZES,
    RenderedPdf,
    renderer_fingerprint,
)
from apps.reports.svg import figure_to_svg
from apps.tracking.dashboard import (
    actual_points,
    forecast_figures,
    forecast_summary,
    history_points,
    history_until,
    reports_until,
    spend_total,
)
from apps.tracking.forecasting import forecast_history
from apps.tracking.models import ActualReport, Forecast
from apps.tracking.selectors import actuals_for

# Beyond the plan's renderer (``document.FINGERPRINT_GLOBS``): what shapes only this document.
STATUS_GLOBS = (
    "apps/reports/status_document.py",
    "apps/tracking/dashboard.py",
    "apps/tracking/tracking_figures.py",
    "apps/runs/delta_table.py",
)


@lru_cache(maxsize=1)
def status_fingerprint() -> str:
    digest = hashlib.sha256(renderer_fingerprint().encode())
    base = Path(settings.BASE_DIR)
    for pattern in STATUS_GLOBS:
        for path in sorted(base.glob(pattern)):
            digest.update(str(path.relative_to(base)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _sources(forecast: Forecast) -> tuple[list[ActualReport], list[Forecast]]:
    """The baseline's reports and succeeded forecasts, both cut at this forecast."""
    baseline = forecast.baseline
    reports = reports_until(actuals_for(baseline, stage=None), forecast)
    history = history_until(forecast_history(baseline=baseline), forecast)
    return reports, history


def status_cover(forecast: Forecast) -> dict[str, Any]:
    """The names and dates on the cover (live rows: a renamed scenario shows its new name)."""
    baseline = forecast.baseline
    scenario = forecast.scenario
    program = scenario.program
    return {
        "organization": program.organization.name,
        "program": program.name,
        "goal": program.goal,
        "scenario": scenario.name,
        "run_id": baseline.run_id,
        "approved_by": baseline.approved_by_name,
        "approved_on": timezone.localdate(baseline.approved_at).isoformat(),
        "note": baseline.note,
        "as_of": (forecast.answer or {}).get("as_of"),
        "threshold": program.alert_threshold,
    }


def _report_rows(reports: list[ActualReport]) -> list[dict[str, Any]]:
    return [
        {
            "date": r.date,
            "stage": r.stage,
            "progress": r.progress,
            "tokens_trained": r.tokens_trained,
            "elapsed_days": r.elapsed_days,
            "gpu_hours": r.gpu_hours,
            "interruptions": r.interruptions,
            "spend": spend_total(r) if r.spend else None,
            "currency": r.spend_currency,
        }
        for r in reports
    ]


def status_content_hash(*, forecast: Forecast, paper: str, language: str) -> str:
    """Identifies the status report an export of ``forecast`` would be (module docstring)."""
    reports, history = _sources(forecast)
    payload = {
        "kind": "status",
        "forecast": forecast.pk,
        "answer": forecast.answer,
        "result": forecast.result,
        "baseline": forecast.baseline_id,
        "baseline_report": forecast.baseline.pdf_sha256,
        "reports": actual_points(reports) + [{"id": r.pk} for r in reports],
        "table": _report_rows(reports),
        "history": history_points(history),
        "cover": status_cover(forecast),
        "paper": paper,
        "language": language,
        "renderer": status_fingerprint(),
    }
    encoded = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()


def render_status_html(forecast: Forecast, *, paper: str, language: str) -> str:
    """The status report as HTML with its charts inline, in ``language``."""
    reports, history = _sources(forecast)
    with translation.override(language):
        cover = status_cover(forecast)
        figures = forecast_figures(forecast, reports, history)
        summary = forecast_summary(forecast, program=forecast.scenario.program)
        names = {row["key"]: row["name"] for row in summary["stages"]}
        context = {
            "cover": cover,
            "summary": summary,
            "reports": [
                {**row, "stage_name": names.get(row["stage"], row["stage"])}
                for row in _report_rows(reports)
            ],
            "charts": {
                name: mark_safe(figure_to_svg(fig, width=CHART_WIDTH_PX, element_id=name))  # noqa: S308 — our own SVG, labels escaped
                for name, fig in figures.items()
            },
            "approved_on": forecast.baseline.approved_at,
            "paper": paper,
            "page_size": PAPER_SIZES[paper][0],
            "page_height": PAPER_SIZES[paper][1],
            "language": language,
            "title": _("Status report: %(program)s — %(scenario)s")
            % {"program": cover["program"], "scenario": cover["scenario"]},
        }
        return render_to_string("reports/pdf/status.html", context)


def render_status_pdf(forecast: Forecast, *, paper: str, language: str) -> RenderedPdf:
    """The status report's PDF: HTML → WeasyPrint. Raises on a forecast without an answer."""
    import weasyprint  # heavy (Pango via cffi): loaded where PDFs are made

    if not forecast.answer or not forecast.result:
        raise ValueError(f"forecast {forecast.pk} has no result to report")
    started = time.perf_counter()
    html = render_status_html(forecast, paper=paper, language=language)
    document = weasyprint.HTML(string=html, base_url=str(settings.BASE_DIR)).render()
    content = document.write_pdf()
    return RenderedPdf(
        content=content, page_count=len(document.pages), seconds=time.perf_counter() - started
    )
