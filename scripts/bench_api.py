"""Benchmark of the finance API (issue 7): prints figures, asserts nothing.

    .venv/bin/python scripts/bench_api.py [--json]

It works in a throwaway folder (its own SQLite database), so it never touches your data. With 200
programs (the CPT-7B template) in the database and one finished run, it times 60 requests each of
the program list, the scenario list, the budget as JSON and the budget as XLSX, through the WSGI
stack in-process (Django's test client with a Bearer token), and prints p50 and p95 in ms.

It also times what untrusted documents cost the scenario import (the page, signed in, in-process):
``import_bomb_<name>_ms``, the refusal of each structure bomb of ``tests/security/bombs.py``
(nesting 10,000 deep, a billion laughs …), the slowest as ``import_bomb_slowest_ms``; and
``document_900_bad_lines_ms``, ``document_parse`` naming the line of each of 900 bad GPU lines.
The security tests check that these are refused and how; how fast is this script's figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

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
    results.update(bench_import(user, scenario))
    return results


def bench_import(user, scenario) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Milliseconds to refuse each structure bomb on the import page, and to report 900 bad
    lines of a document (each error with its line)."""
    from django.test import Client
    from django.urls import reverse

    from apps.programs.documents import DocumentError, document_parse, scenario_document
    from tests.security.bombs import STRUCTURE_BOMBS, with_bad_gpu_lines

    client = Client()
    client.force_login(user)
    url = reverse("programs:scenario_import", args=[scenario.program_id])
    results: dict[str, float] = {}
    for name, text, _ in STRUCTURE_BOMBS:
        body = urlencode({"text": text})  # as a browser posts the form's text area
        start = time.perf_counter()
        response = client.post(url, body, content_type="application/x-www-form-urlencoded")
        results[f"import_bomb_{name}_ms"] = (time.perf_counter() - start) * 1000
        if response.status_code == 302:
            raise SystemExit(f"the {name} bomb was imported: a bug, see tests/security")
    results["import_bomb_slowest_ms"] = max(results.values())
    text = with_bad_gpu_lines(json.loads(json.dumps(scenario_document(scenario))))
    start = time.perf_counter()
    try:
        document_parse(text)
    except DocumentError:
        results["document_900_bad_lines_ms"] = (time.perf_counter() - start) * 1000
    else:
        raise SystemExit("the document with 900 bad lines was accepted: a bug")
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
            print(f"{key:32s} {value:10.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
