"""Benchmark of the portfolio (issue 18): prints figures, asserts nothing.

    .venv/bin/python scripts/bench_portfolio.py [--json] [--programs 200] [--requests 60]

It works in a throwaway folder (its own SQLite database), so it never touches your data. The
core computes one real report per template once (``demo_runs_load``, as a first visit does);
then ``--programs`` programs (the templates in turn) in one organization each get three
scenarios (the baseline and two clones), and every scenario a succeeded run whose report is its
template's, its dates moved by 0–11 months so the programs spread over the calendar and its
costs scaled (×0.5–1.5) so no two draw the same bars. Server
time of each page, in-process (Django's test client; the API with a Bearer token), one request
to warm up, then ``--requests`` of each:

- ``portfolio_page_p50_ms`` / ``_p95_ms``: the home page ``/`` (table and both charts);
- ``portfolio_page_changed_…``: the same, each request after a program was renamed
  (``--requests`` ÷ 3 of them), so its charts are drawn afresh, not remembered;
- ``portfolio_api_p50_ms`` / ``_p95_ms``: ``GET /api/v1/portfolio/``;
- ``portfolio_budget_json_…`` / ``portfolio_budget_xlsx_…``: ``GET /api/v1/portfolio/budget/``;
- ``dashboard_p50_ms`` / ``_p95_ms``: the dashboard of a CPT-7B run (the template
  ``bench_runs.py`` shows) in the same database.

``*_queries`` count the SQL statements of one request (``CaptureQueriesContext``), with 10
programs (``…_queries_at_10``) and with all of them: the same count means no query per program.
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.bench_runs import _django  # noqa: E402

DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
SCENARIOS_PER_PROGRAM = 3
DASHBOARD_TEMPLATE = "cpt-7b-domain"
FEW_PROGRAMS = 10


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + months
    return index // 12, index % 12 + 1


def shifted(value: Any, months: int) -> Any:
    """``value`` (a report) with every ISO date and calendar month label ``months`` later."""
    if isinstance(value, dict):
        return {k: shifted(v, months) for k, v in value.items()}
    if isinstance(value, list):
        return [shifted(v, months) for v in value]
    if isinstance(value, str):
        if m := DAY.match(value):
            year, month = _add_months(int(m[1]), int(m[2]), months)
            day = min(int(m[3]), calendar.monthrange(year, month)[1])
            return dt.date(year, month, day).isoformat()
        if m := MONTH.match(value):
            year, month = _add_months(int(m[1]), int(m[2]), months)
            return f"{year:04d}-{month:02d}"
    return value


def _scaled(value: Any, factor: float) -> Any:
    if isinstance(value, dict):
        return {k: _scaled(v, factor) for k, v in value.items()}
    if isinstance(value, list):
        return [_scaled(v, factor) for v in value]
    return value * factor if isinstance(value, float) else value


def varied(report: dict[str, Any], months: int, factor: float) -> dict[str, Any]:
    """``report`` ``months`` later (``shifted``), its money (the totals' costs and the monthly
    budget) times ``factor``, so that no two programs draw the same bars."""
    out = shifted(report, months)
    out["monthly"] = {
        k: _scaled(v, factor) if k not in ("labels", "categories", "percentiles") else v
        for k, v in out["monthly"].items()
    }
    totals = out["totals"]
    totals["cost"] = _scaled(totals["cost"], factor)
    totals["cost_by_category"] = _scaled(totals["cost_by_category"], factor)
    return out


def _reports() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(inputs, report) of each template, computed by the core in an organization of its own
    (another user's: the portfolio measured never shows these programs)."""
    from apps.accounts.models import Membership, Organization, User
    from apps.programs.blueprints import blueprint_list
    from apps.programs.services import program_create_from_blueprint
    from apps.runs.models import PlanRun
    from apps.runs.services import demo_runs_load

    organization = Organization.objects.create(name="Templates", slug="templates")
    user = User.objects.create_user(username="templates", password="bench-password-123")
    Membership.objects.create(organization=organization, user=user, role="owner")
    out = []
    for blueprint in blueprint_list():
        program = program_create_from_blueprint(
            user=user, organization=organization, key=blueprint.key
        )
        [run] = demo_runs_load(user=user, programs=[program])
        if run.status != PlanRun.Status.SUCCEEDED:
            raise SystemExit(f"the core failed on the {blueprint.key} template: {run.error}")
        out.append((run.inputs, run.result))
    return out


def _populate(user, organization, reports, first: int, last: int) -> None:  # type: ignore[no-untyped-def]
    """Programs ``first`` … ``last - 1``: three scenarios each, each with a succeeded run."""
    from django.utils import timezone

    from apps.programs.blueprints import blueprint_list
    from apps.programs.services import program_create_from_blueprint, scenario_clone
    from apps.runs.models import PlanRun
    from llmplanner.simulation import __version__ as CORE_VERSION

    keys = [b.key for b in blueprint_list()]
    runs = []
    for i in range(first, last):
        program = program_create_from_blueprint(
            user=user, organization=organization, key=keys[i % len(keys)], name=f"Program {i:03d}"
        )
        baseline = program.scenarios.get()
        scenarios = [baseline] + [
            scenario_clone(user=user, scenario=baseline, name=f"Variant {n}")
            for n in range(1, SCENARIOS_PER_PROGRAM)
        ]
        inputs, report = reports[i % len(reports)]
        report = varied(report, i % 12, 0.5 + (i * 0.618) % 1)
        now = timezone.now()
        for n, scenario in enumerate(scenarios):
            runs.append(
                PlanRun(
                    organization=organization,
                    scenario=scenario,
                    scenario_version=scenario.version,
                    created_by=user,
                    status=PlanRun.Status.SUCCEEDED,
                    progress=100,
                    phase="done",
                    inputs=inputs,
                    input_hash=f"bench-{i}-{n}",
                    core_version=CORE_VERSION,
                    trials=1000,
                    result=report,
                    worker="bench",
                    attempts=1,
                    started_at=now,
                    finished_at=now,
                )
            )
    PlanRun.objects.bulk_create(runs)


def _queries(client, url: str) -> int:  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured)


def _timed(client, url: str, requests: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """p50 and p95 of ``requests`` GETs in ms, after one to warm up."""
    assert client.get(url).status_code == 200, url
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, url
    times.sort()
    return statistics.median(times), times[max(0, int(0.95 * len(times)) - 1)]


def _timed_after_change(client, organization, requests: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """p50 and p95 of the home page in ms, each request after one of its programs was renamed:
    both charts change, so neither is drawn from ``figures.chart_json``'s memory."""
    from apps.portfolio import figures
    from apps.programs.models import Program

    program = Program.objects.filter(organization=organization).order_by("id").first()
    assert program is not None
    remembered = len(figures._drawn)
    times = []
    for n in range(requests):
        Program.objects.filter(pk=program.pk).update(name=f"{program.name} (renamed {n})")
        start = time.perf_counter()
        response = client.get("/")
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    Program.objects.filter(pk=program.pk).update(name=program.name)
    drawn = len(figures._drawn) - remembered
    assert drawn == min(2 * requests, figures.CHARTS_REMEMBERED - remembered), drawn
    times.sort()
    return statistics.median(times), times[max(0, int(0.95 * len(times)) - 1)]


def bench(workdir: Path, programs: int, requests: int) -> dict[str, float]:
    os.environ["API_RATE_LIMIT"] = "100000/min"  # server time is measured, not the budget
    organization, user = _django(workdir)
    from django.test import Client
    from django.urls import reverse

    from apps.accounts.services import api_token_create
    from apps.programs.blueprints import blueprint_list
    from apps.runs.models import PlanRun

    started = time.perf_counter()
    reports = _reports()
    page = Client()
    page.force_login(user)
    _, secret = api_token_create(user=user, organization=organization, name="bench", scope="read")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    urls = {
        "portfolio_page": (page, "/"),
        "portfolio_api": (api, "/api/v1/portfolio/"),
        "portfolio_budget_json": (api, "/api/v1/portfolio/budget/"),
        "portfolio_budget_xlsx": (api, "/api/v1/portfolio/budget/?format=xlsx"),
    }
    few = min(FEW_PROGRAMS, programs)
    _populate(user, organization, reports, 0, few)
    results: dict[str, float] = {}
    for name, (client, url) in urls.items():
        client.get(url)  # the first request of a process imports and fills caches
        results[f"{name}_queries_at_{few}"] = float(_queries(client, url))
    _populate(user, organization, reports, few, programs)
    results["programs"] = float(programs)
    results["runs_in_database"] = float(PlanRun.objects.count())
    results["setup_s"] = time.perf_counter() - started
    for name, (client, url) in urls.items():
        results[f"{name}_queries"] = float(_queries(client, url))
        p50, p95 = _timed(client, url, requests)
        results[f"{name}_p50_ms"], results[f"{name}_p95_ms"] = p50, p95
    changed = _timed_after_change(page, organization, max(1, requests // 3))
    results["portfolio_page_changed_p50_ms"], results["portfolio_page_changed_p95_ms"] = changed
    keys = [b.key for b in blueprint_list()]
    run = PlanRun.objects.get(  # a baseline of the template bench_runs.py's dashboard shows
        scenario__program__name=f"Program {keys.index(DASHBOARD_TEMPLATE):03d}",
        scenario__is_baseline=True,
        scenario__program__organization=organization,
    )
    dashboard = reverse("runs:plan_run_detail", args=[run.pk])
    results["dashboard_p50_ms"], results["dashboard_p95_ms"] = _timed(page, dashboard, requests)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--programs", type=int, default=200)
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="llmplanner-bench-portfolio-") as tmp:
        results = bench(Path(tmp), args.programs, args.requests)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for key, value in results.items():
            print(f"{key:40s} {value:10.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
