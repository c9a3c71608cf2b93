"""The PDF of a plan run: its context, its identity (content hash) and its rendering.

Rendering: the dashboard's plotly figures (``apps.runs.plan_figures.dashboard_figures``) drawn
to inline SVG by ``apps.reports.svg``, the HTML template ``reports/pdf/document.html`` and its
print CSS, laid out to PDF by WeasyPrint (Pango fonts; Noto Sans CJK for Chinese) — no browser.
The GPT-3 template's document renders in about a second on two cores (``scripts/bench_pdf.py``).

Everything shown comes from the run's stored report and input snapshot plus the names on the
cover, so the same run gives the same numbers in every export; ``content_hash`` covers exactly
those, the paper, the language and a fingerprint of the templates and renderer code. The report's
sentences (stage and gate names, risks, data checks) are shown in the document's language
(``apps.runs.report_text.localize_report``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from apps.reports.assumptions import assumption_rows, role_names
from apps.reports.svg import figure_to_svg
from apps.runs import plan_figures, report_tables
from apps.runs.models import PlanRun
from apps.runs.report_text import localize_report

# WeasyPrint logs every layout step at INFO; a worker's log needs none of that.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

# CSS page size and height of each paper (the cover fills its first page).
PAPER_SIZES = {"a4": ("A4", "297mm"), "letter": ("letter", "279.4mm")}
# Files whose change changes the document for the same run: part of every content hash.
FINGERPRINT_GLOBS = (
    "templates/reports/pdf/*",
    "apps/reports/document.py",
    "apps/reports/assumptions.py",
    "apps/reports/svg/*.py",
    "apps/runs/*_figures.py",
    "apps/runs/figure_style.py",
    "apps/runs/report_tables.py",
    "apps/runs/report_text.py",
    "apps/programs/templatetags/planning.py",
    "apps/programs/quantities.py",
    "apps/tracking/calibration.py",
    "locale/zh_Hans/LC_MESSAGES/django.mo",
)
CHART_WIDTH_PX = 700


@dataclass(frozen=True)
class RenderedPdf:
    content: bytes
    page_count: int
    seconds: float


@lru_cache(maxsize=1)
def renderer_fingerprint() -> str:
    """A digest of the templates and code that shape the document (once per process)."""
    digest = hashlib.sha256()
    base = Path(settings.BASE_DIR)
    for pattern in FINGERPRINT_GLOBS:
        for path in sorted(base.glob(pattern)):
            digest.update(str(path.relative_to(base)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _approval(run: PlanRun) -> dict[str, Any] | None:
    """Who approved the run as its scenario's baseline and when (``apps.tracking``), and when a
    later approval superseded it; None if it was never approved. Part of the cover, hence of the
    content hash: an export made before the approval is not reused after it."""
    from apps.tracking.selectors import baseline_of_run  # tracking sits above reports

    if run._state.adding:  # a run never saved (rendered without a database) has no approval
        return None
    baseline = baseline_of_run(run=run)
    if baseline is None:
        return None
    superseded = baseline.superseded_at
    return {
        "by": baseline.approved_by_name,
        "on": timezone.localdate(baseline.approved_at).isoformat(),
        "superseded_on": timezone.localdate(superseded).isoformat() if superseded else None,
    }


def _approval_dates(approval: dict[str, Any] | None) -> dict[str, Any] | None:
    if approval is None:
        return None
    return {
        **approval,
        "on": _date(approval["on"]),
        "superseded_on": _date(approval["superseded_on"]),
    }


def _calibration(run: PlanRun) -> dict[str, Any]:
    """Where the run's efficiency came from (``apps.tracking.calibration``): part of the cover,
    hence of the content hash (a refit that changes the intervals shown changes the document)."""
    from apps.tracking.calibration import run_calibration  # tracking sits above reports

    return run_calibration(run)


def cover_of(run: PlanRun) -> dict[str, Any]:
    """The names and dates on the cover (live rows: a renamed scenario shows its new name)."""
    scenario = run.scenario
    program = scenario.program
    finished = run.finished_at or run.created_at
    return {
        "approval": _approval(run),
        "calibration": _calibration(run),
        "organization": program.organization.name,
        "program": program.name,
        "goal": program.goal,
        "scenario": scenario.name,
        "is_baseline": scenario.is_baseline,
        "scenario_version": run.scenario_version,
        "run_id": run.pk,
        "run_date": finished.date().isoformat(),
    }


def content_hash(*, run: PlanRun, paper: str, language: str) -> str:
    """Identifies the document an export of ``run`` would be: equal hashes, equal documents."""
    payload = {
        "report": run.result,
        "inputs": run.inputs,
        "cover": cover_of(run),
        "paper": paper,
        "language": language,
        "renderer": renderer_fingerprint(),
    }
    encoded = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _headlines(report: dict[str, Any]) -> dict[str, Any]:
    plan, totals = report["plan"], report["totals"]
    main = report.get("main_run") or {}
    cap = plan.get("budget_cap")
    start = _date(plan.get("start_date"))
    deadline_days = plan.get("deadline_days")
    return {
        "cost": totals["cost"],
        "cap": cap,
        "cap_headroom_p90": (cap - totals["cost"]["p90"]) if cap else None,
        "p_over_budget": totals.get("p_over_budget"),
        "finish": totals["finish_days"],
        "finish_date_p50": _date(totals.get("finish_date_p50")),
        "finish_date_p90": _date(totals.get("finish_date_p90")),
        "deadline_days": deadline_days,
        "deadline_date": start + dt.timedelta(days=int(deadline_days))
        if start and deadline_days
        else None,
        "p_miss_deadline": totals.get("p_miss_deadline"),
        "gpu_hours": totals["gpu_hours"],
        "layout": main.get("layout"),
        "mfu": main.get("mfu"),
        "effective_time": (main.get("goodput") or {}).get("effective_training_time"),
        "top_risks": report["risks"][:3],
    }


def _team_rows(report: dict[str, Any]) -> tuple[list[dict[str, Any]], float]:
    names = role_names()
    rows = []
    for line in report.get("team") or []:
        monthly = line["headcount"] * line["monthly_cost"] * line["allocation"]
        rows.append(
            {
                **line,
                "name": names.get(line["role"], line["role"]),
                "monthly": monthly,
                "start": _date(line.get("start_date")),
                "end": _date(line.get("end_date")),
            }
        )
    return rows, sum(r["monthly"] for r in rows)


def _flatten(value: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every scalar of the inputs with its path: ``cluster.gpu_count``, ``team[2].headcount``."""
    if isinstance(value, dict):
        return [
            item
            for key in value
            for item in _flatten(value[key], f"{path}.{key}" if path else str(key))
        ]
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        return [item for i, v in enumerate(value) for item in _flatten(v, f"{path}[{i}]")]
    if isinstance(value, list):
        return [(path, ", ".join(str(v) for v in value))]
    return [(path, value)]


def _first_gate(report: dict[str, Any]) -> dict[str, Any] | None:
    """The earliest go/no-go gate (P50): what the decision asked for commits to first."""
    gates = sorted(report.get("milestones") or [], key=lambda m: m["p50_day"])
    return gates[0] if gates else None


def document_context(run: PlanRun, *, paper: str) -> dict[str, Any]:
    """What ``reports/pdf/document.html`` shows, in the active language (no charts)."""
    report: dict[str, Any] = localize_report(run.result or {})
    inputs: dict[str, Any] = run.inputs or {}
    cover = cover_of(run)
    headlines = _headlines(report)
    team_rows, team_monthly = _team_rows(report)
    months = report_tables.month_table(report)
    stages = [
        {
            **s,
            "start_date": _date(s.get("start_date_p50")),
            "finish_date": _date(s.get("finish_date_p50")),
            "finish_date_p90_": _date(s.get("finish_date_p90")),
        }
        for s in report.get("stages", [])
        if s["key"] != "team"
    ]
    # Streams, levels and owners carry their labels from ``localize_report``.
    milestones = [
        {**m, "p50": _date(m.get("p50_date")), "p90": _date(m.get("p90_date"))}
        for m in report.get("milestones", [])
    ]
    risks = list(report.get("risks", []))
    checks = list(report.get("data_checks", []))
    data = inputs.get("data") or []
    main = report.get("main_run")
    return {
        "cover": cover,
        "run_date": _date(cover["run_date"]),
        "approval": _approval_dates(cover["approval"]),
        "calibration": _calibration_sentence(cover["calibration"]),
        "paper": paper,
        "page_size": PAPER_SIZES[paper][0],
        "page_height": PAPER_SIZES[paper][1],
        "report": report,
        "plan": report.get("plan", {}),
        "start_date": _date(report.get("plan", {}).get("start_date")),
        "inputs": inputs,
        "currency": report.get("plan", {}).get("currency", "CNY"),
        "headlines": headlines,
        "first_gate": _first_gate(report),
        "strategy_label": _strategy_label(report.get("plan", {}).get("strategy", "")),
        "stages": stages,
        "milestones": milestones,
        "risks": risks,
        "checks": checks,
        "team_rows": team_rows,
        "team_monthly": team_monthly,
        "people_cost": report["totals"]["cost_by_category"].get("people"),
        "data_rows": data,
        "data_tokens": sum(float(d.get("tokens") or 0) for d in data),
        "data_cost": sum(float(d.get("cost") or 0) for d in data),
        "main": main,
        "memory_rows": list((main or {}).get("memory_breakdown_gib", {}).items()),
        "step_rows": list((main or {}).get("step_breakdown_s", {}).items()),
        "cost_rows": [
            (plan_figures.category_label(k), v)
            for k, v in report["totals"]["cost_by_category"].items()
        ],
        "categories": months["categories"],
        "month_rows": months["rows"],
        "cumulative_exact": months["exact"],
        "pools": report_tables.pool_rows(report),
        "storage": report_tables.storage_summary(report),
        "team_dated": any(r["start"] or r["end"] for r in team_rows),
        "assumptions": assumption_rows(inputs, report),
        "input_rows": _flatten(inputs),
    }


def _calibration_sentence(calibration: dict[str, Any]) -> str:
    from apps.tracking.calibration import calibration_sentence

    return calibration_sentence(calibration)


def _strategy_label(key: str) -> str:
    from apps.programs.models import Strategy

    try:
        return str(Strategy(key).label)
    except ValueError:
        return key


def render_html(run: PlanRun, *, paper: str, language: str) -> str:
    """The document as HTML with its charts inline, in ``language``."""
    with translation.override(language):
        context = document_context(run, paper=paper)
        figures = plan_figures.dashboard_figures(context["report"])
        context["charts"] = {
            name: mark_safe(figure_to_svg(fig, width=CHART_WIDTH_PX, element_id=name))  # noqa: S308 — our own SVG, labels escaped
            for name, fig in figures.items()
        }
        context["language"] = language
        context["title"] = _("Plan: %(program)s — %(scenario)s") % {
            "program": context["cover"]["program"],
            "scenario": context["cover"]["scenario"],
        }
        return render_to_string("reports/pdf/document.html", context)


def render_pdf(run: PlanRun, *, paper: str, language: str) -> RenderedPdf:
    """The run's PDF: HTML → WeasyPrint. Raises on a run without a report."""
    import weasyprint  # heavy (Pango via cffi): loaded where PDFs are made, not by every view

    if not run.result:
        raise ValueError(f"run {run.pk} has no report to export")
    started = time.perf_counter()
    html = render_html(run, paper=paper, language=language)
    document = weasyprint.HTML(string=html, base_url=str(settings.BASE_DIR)).render()
    content = document.write_pdf()
    return RenderedPdf(
        content=content, page_count=len(document.pages), seconds=time.perf_counter() - started
    )
