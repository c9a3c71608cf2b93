"""Benchmark of the PDF export (issue 8): prints figures, asserts nothing.

    .venv/bin/python scripts/bench_pdf.py [--json] [--repeat 5]

It works in a throwaway folder (its own SQLite database), so it never touches your data. It
creates the GPT-3-class 175B template's program, simulates it as *Run plan* does (2,000 trials,
seed 0), then times ``apps.reports.document.render_pdf`` — the worker's whole job but the file
write: the eight dashboard figures built and drawn to SVG, the template rendered, WeasyPrint's
layout and PDF — on A4, in English and in Chinese:

- ``pdf_gpt3_first_s``: the first render in a fresh process (fonts loaded, caches cold), English;
- ``pdf_gpt3_en_s`` / ``pdf_gpt3_zh_s``: the median of ``--repeat`` renders after that;
- ``pdf_gpt3_pages`` and ``pdf_gpt3_kb``: the English document's size;
- ``status_pdf_en_s`` / ``status_pdf_pages``: the run approved as the baseline and forecast
  (before any report, computed in-process), the median of ``--repeat`` renders of its status
  report (``apps.reports.status_document.render_status_pdf``).
Target: ≤ 5 s for the GPT-3 template on this 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="llmplanner-bench-pdf-") as tmp:
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "llmplanner.settings",
                "SECRET_KEY": "bench-only-secret",
                "DEBUG": "false",
                "VAR_DIR": tmp,
                "DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.sqlite3'}",
            }
        )
        results = bench(args.repeat)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for key, value in results.items():
            print(f"{key:22} {value}")
    return 0


def bench(repeat: int) -> dict[str, float]:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from unittest import mock

    from apps.accounts.models import Membership, Organization, User
    from apps.programs.services import program_create_from_blueprint
    from apps.reports.document import render_pdf
    from apps.runs.services import plan_run_create, plan_run_execute

    user = User.objects.create_user("bench", password="bench-only-password")
    organization = Organization.objects.create(name="Bench", slug="bench")
    Membership.objects.create(user=user, organization=organization, role="owner")
    program = program_create_from_blueprint(
        user=user, organization=organization, key="gpt3-175b-from-scratch"
    )
    with mock.patch("apps.runs.tasks.plan_run_task.delay_on_commit"):  # no broker: run inline
        run = plan_run_create(user=user, scenario=program.scenarios.get())
    run = plan_run_execute(run_id=run.pk, worker="bench")
    assert run is not None and run.result, run.error if run else "not claimed"

    started = time.perf_counter()
    first = render_pdf(run, paper="a4", language="en")
    first_s = time.perf_counter() - started

    def median_of(language: str) -> float:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            render_pdf(run, paper="a4", language=language)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    from apps.reports.status_document import render_status_pdf
    from apps.tracking.forecasting import forecast_current, forecast_execute
    from apps.tracking.services import baseline_approve

    baseline_approve(user=user, scenario=run.scenario, run=run)
    with mock.patch("apps.tracking.tasks.forecast_task.delay"):  # no broker: forecast inline
        row = forecast_current(scenario=run.scenario)
    assert row is not None
    forecast = forecast_execute(forecast_id=row.pk, worker="bench")
    assert forecast is not None and forecast.result, forecast.error if forecast else "not claimed"
    status_times, status = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        status = render_status_pdf(forecast, paper="a4", language="en")
        status_times.append(time.perf_counter() - started)
    assert status is not None

    return {
        "pdf_gpt3_first_s": round(first_s, 2),
        "pdf_gpt3_en_s": round(median_of("en"), 2),
        "pdf_gpt3_zh_s": round(median_of("zh-hans"), 2),
        "pdf_gpt3_pages": first.page_count,
        "pdf_gpt3_kb": round(len(first.content) / 1024),
        "status_pdf_en_s": round(statistics.median(status_times), 2),
        "status_pdf_pages": status.page_count,
    }


if __name__ == "__main__":
    sys.exit(main())
