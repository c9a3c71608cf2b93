"""Benchmark of the finance API (issue 7): prints figures, asserts nothing.

    .venv/bin/python scripts/bench_api.py [--json]

It works in a throwaway folder (its own SQLite database), so it never touches your data. With 200
programs (the CPT-7B template) in the database and one finished run, it times 60 requests each of
the program list, the scenario list, the budget as JSON and the budget as XLSX, through the WSGI
stack in-process (Django's test client with a Bearer token), and prints p50 and p95 in ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.bench_runs import _django  # noqa: E402

REQUESTS = 60


def bench(workdir: Path) -> dict[str, float]:
    org, user = _django(workdir)
    from django.test import Client

    from apps.accounts.services import api_token_create
    from apps.programs.services import program_create_from_blueprint
    from apps.runs.services import plan_run_create, plan_run_execute

    programs = [
        program_create_from_blueprint(
            user=user, organization=org, key="cpt-7b-domain", name=f"Program {i}"
        )
        for i in range(200)
    ]
    scenario = programs[0].scenarios.get()
    run = plan_run_create(user=user, scenario=scenario, trials=2000)
    plan_run_execute(run_id=run.pk, worker="bench")
    _, secret = api_token_create(user=user, organization=org, name="bench", scope="read")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    urls = {
        "programs_list": "/api/v1/programs/",
        "scenarios_list": "/api/v1/scenarios/",
        "budget_json": f"/api/v1/scenarios/{scenario.pk}/budget/",
        "budget_xlsx": f"/api/v1/scenarios/{scenario.pk}/budget/?format=xlsx",
    }
    results: dict[str, float] = {"programs_in_database": float(len(programs))}
    for name, url in urls.items():
        assert client.get(url).status_code == 200, url  # warm up
        times = []
        for _ in range(REQUESTS):
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, url
        times.sort()
        results[f"{name}_p50_ms"] = statistics.median(times)
        results[f"{name}_p95_ms"] = times[int(0.95 * len(times)) - 1]
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="llmplanner-bench-api-") as tmp:
        results = bench(Path(tmp))
    if args.json:
        print(json.dumps(results))
    else:
        for key, value in results.items():
            print(f"{key:28s} {value:10.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
