"""Benchmarks of plan runs through real workers (issue 6): prints figures, asserts nothing.

    .venv/bin/python scripts/bench_runs.py [--json] [--redis redis://127.0.0.1:6379/12]

It works in a throwaway folder (its own SQLite database and embedded broker), so it never touches
your data:
- ``submit_to_result_s``: median of 10 runs (each a new seed, so none is reused) from the "Run
  plan" POST to the result stored by the worker, on the embedded filesystem broker;
- ``dashboard_p50_ms`` / ``dashboard_p95_ms``: server time of the run dashboard with 200 programs
  in the database (Django test client in-process, 60 requests);
- with the embedded broker down (its folder replaced by a file, as ``tests/faults`` breaks it),
  each request checking the broker afresh (the per-process cached state dropped first):
  ``dashboard_broker_down_p50_ms`` / ``_max_ms`` (20 requests, the page with its banner) and
  ``submit_broker_down_p50_ms`` / ``_max_ms`` (5 *Run plan* POSTs, saved and queued). A page must
  not wait on a dead broker; the fault tests check what the pages say, this how fast they say it;
- with ``--redis``: an 8-variant sweep of the GPT-3 template (5,000 trials each, one variant per
  chunk) on 1 and then 2 local workers on Redis, and the speed-up.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# The Redis sweep benchmark in its own process: two sweeps of at most 600 s each, and set-up.
SWEEP_BENCH_TIMEOUT_S = 1800


def setup_environment(workdir: Path, redis_url: str | None) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "llmplanner.settings",
            "SECRET_KEY": "bench-only-secret",
            "DEBUG": "false",
            "VAR_DIR": str(workdir),
            "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
            "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
        }
    )
    os.environ.pop("CELERY_BROKER_URL", None)
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
    else:
        os.environ.pop("REDIS_URL", None)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--redis", help="Redis URL for the sweep benchmark (1 vs 2 workers)")
    parser.add_argument("--sweep-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    results: dict[str, float] = {}
    if args.sweep_only:  # a process of its own: Django's settings are fixed once loaded
        with tempfile.TemporaryDirectory(prefix="llmplanner-bench-redis-") as tmp:
            print(json.dumps(bench_sweep_redis(Path(tmp), args.redis)))
        return 0
    with tempfile.TemporaryDirectory(prefix="llmplanner-bench-") as tmp:
        results.update(bench_embedded(Path(tmp)))
    if args.redis:
        out = subprocess.run(
            [sys.executable, __file__, "--sweep-only", "--redis", args.redis],
            capture_output=True, text=True, check=True, timeout=SWEEP_BENCH_TIMEOUT_S,
        )  # fmt: skip
        results.update(json.loads(out.stdout.strip().splitlines()[-1]))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for key, value in results.items():
            print(f"{key:32s} {value:.4g}")
    return 0


def _django(workdir: Path, redis_url: str | None = None):  # type: ignore[no-untyped-def]
    setup_environment(workdir, redis_url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from apps.accounts.models import Membership, Organization, User

    org = Organization.objects.create(name="Bench")
    user = User.objects.create_user(username="bench", password="bench-password-123")
    Membership.objects.create(organization=org, user=user, role="owner")
    return org, user


def bench_embedded(workdir: Path) -> dict[str, float]:
    org, user = _django(workdir)
    from django.test import Client
    from django.urls import reverse

    from apps.programs.services import program_create_from_blueprint
    from apps.runs.models import PlanRun
    from tests.runs.worker_process import Worker, wait_for

    programs = [
        program_create_from_blueprint(
            user=user, organization=org, key="cpt-7b-domain", name=f"Program {i}"
        )
        for i in range(200)
    ]
    scenario = programs[0].scenarios.get()
    client = Client()
    client.force_login(user)
    worker = Worker(os.environ["DATABASE_URL"], workdir / "worker.log", "bench")
    latencies = []
    try:
        for i in range(10):
            # A new name changes the inputs, so no submission reuses a stored result.
            type(scenario).objects.filter(pk=scenario.pk).update(name=f"Benchmark {i}")
            start = time.perf_counter()
            client.post(reverse("runs:plan_run_start", args=[scenario.pk]))
            run_id = PlanRun.objects.latest("id").pk
            wait_for(lambda: PlanRun.objects.get(pk=run_id).is_finished, 60, 0.02)  # noqa: B023
            latencies.append(time.perf_counter() - start)
    finally:
        worker.stop()
    run = PlanRun.objects.filter(status="succeeded").latest("id")
    url = reverse("runs:plan_run_detail", args=[run.pk])
    client.get(url)  # warm up
    times = []
    for _ in range(60):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    times.sort()
    return {
        "submit_to_result_s": statistics.median(latencies),
        "submit_to_result_max_s": max(latencies),
        "programs_in_database": float(len(programs)),
        "dashboard_p50_ms": statistics.median(times),
        "dashboard_p95_ms": times[int(0.95 * len(times)) - 1],
        **bench_broker_down(workdir, client, url, scenario),
    }


def bench_broker_down(workdir: Path, client, url: str, scenario) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Milliseconds of the run dashboard and of a *Run plan* POST with the broker down."""
    from django.conf import settings
    from django.urls import reverse

    from apps.common.health import broker_status_forget
    from apps.runs.models import PlanRun

    banner = "Background workers are unreachable"
    folder = Path(settings.BROKER_DIR)
    aside = workdir / "broker-aside"
    shutil.move(folder, aside)
    folder.write_text("not a folder")
    pages, submits = [], []
    try:
        for _ in range(20):
            broker_status_forget()  # this request checks the broker, as the first after 5 s does
            start = time.perf_counter()
            response = client.get(url)
            pages.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200 and banner in response.content.decode()
        for i in range(5):
            type(scenario).objects.filter(pk=scenario.pk).update(name=f"Broker down {i}")
            broker_status_forget()
            start = time.perf_counter()
            response = client.post(reverse("runs:plan_run_start", args=[scenario.pk]))
            submits.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 302, response.status_code
            assert PlanRun.objects.latest("id").status == "queued"
    finally:
        folder.unlink()
        shutil.move(aside, folder)
    return {
        "dashboard_broker_down_p50_ms": statistics.median(pages),
        "dashboard_broker_down_max_ms": max(pages),
        "submit_broker_down_p50_ms": statistics.median(submits),
        "submit_broker_down_max_ms": max(submits),
    }


def bench_sweep_redis(workdir: Path, redis_url: str) -> dict[str, float]:
    import redis as redis_client

    redis_client.Redis.from_url(redis_url).flushdb()
    org, user = _django(workdir, redis_url)
    from apps.programs.services import program_create_from_blueprint
    from apps.runs.models import Sweep
    from apps.runs.services import sweep_create
    from tests.runs.worker_process import Worker, wait_for

    blueprint = "gpt3-175b-from-scratch"
    scenario = program_create_from_blueprint(
        user=user, organization=org, key=blueprint
    ).scenarios.get()
    axes = {"gpu_count": [512, 1024, 2048, 4096], "precision": ["bf16", "fp16"]}
    out: dict[str, float] = {}
    for n_workers in (1, 2):
        workers = [
            Worker(os.environ["DATABASE_URL"], workdir / f"w{n_workers}-{i}.log", f"sweep{i}")
            for i in range(n_workers)
        ]
        try:
            # Warm up each worker (imports, first connection) before the clock starts.
            warm = sweep_create(
                user=user, scenario=scenario, axes={"gpu_count": [64] * n_workers}, trials=10
            )
            wait_for(lambda: Sweep.objects.get(pk=warm.pk).status == "succeeded", 120, 0.05)  # noqa: B023
            start = time.perf_counter()
            sweep = sweep_create(
                user=user, scenario=scenario, axes=axes, trials=5000, seed=n_workers, chunk_size=1
            )
            wait_for(lambda: Sweep.objects.get(pk=sweep.pk).status == "succeeded", 600, 0.05)  # noqa: B023
            out[f"sweep_8_variants_{n_workers}_worker_s"] = time.perf_counter() - start
            if os.environ.get("BENCH_DEBUG"):
                from apps.runs.models import SweepChunk

                for c in SweepChunk.objects.filter(sweep=sweep).order_by("index"):
                    print(c.index, c.worker, c.started_at, c.finished_at, file=sys.stderr)
        finally:
            for w in workers:
                w.stop()
    out["sweep_speedup_2_vs_1_workers"] = (
        out["sweep_8_variants_1_worker_s"] / out["sweep_8_variants_2_worker_s"]
    )
    return out


if __name__ == "__main__":
    raise SystemExit(main())
