"""Benchmark of fair shares (issue 16, item 3): prints figures, asserts nothing.

    .venv/bin/python scripts/bench_fairness.py [--json] [--redis redis://127.0.0.1:6379/12]
        [--without-fairness]

In a throwaway folder (its own SQLite database; the embedded broker, or Redis with ``--redis``),
with the worker layout of ``scripts/start.sh`` on 2 cores — one node on the ``interactive`` queue,
one on ``heavy,interactive``, one pool process each:

- ``b_idle_s``: organization B's small run (the CPT template, 200 trials) from creation to
  result, workers idle (median of 3);
- ``b_while_a_saturates_s`` / ``_max_s``: the same while organization A has submitted eight
  heavy runs (the GPT-3 template on 524,288 GPUs, 5,000 trials: ~40 s each here) — median and
  worst of 5 B runs, one after the other;
- ``a_in_flight_max``: the most A runs with the workers at once (the cap, ``ORG_MAX_IN_FLIGHT``);
- ``worker_peak_rss_mb``: the largest peak resident memory (VmHWM) of any worker process, and
  ``workers_peak_rss_total_mb`` the sum over the processes of both nodes.

``--without-fairness`` runs the same with what came before: one node on both queues with two pool
processes and no cap (``ORG_MAX_IN_FLIGHT`` = 1000), so B's run queues behind A's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

A_RUNS, A_GPUS, A_TRIALS, B_TRIALS = 8, 524_288, 5_000, 200


def setup_environment(workdir: Path, redis_url: str | None, cap: int) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "llmplanner.settings",
            "SECRET_KEY": "bench-only-secret",
            "DEBUG": "false",
            "VAR_DIR": str(workdir),
            "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
            "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
            "ORG_MAX_IN_FLIGHT": str(cap),
        }
    )
    for name in ("CELERY_BROKER_URL", "REDIS_URL", "CACHE_URL"):
        os.environ.pop(name, None)
    if redis_url:
        os.environ["REDIS_URL"] = redis_url


class PeakMemory(threading.Thread):
    """Samples the peak resident memory (VmHWM) of every process in the given process groups."""

    def __init__(self, groups: list[int]) -> None:
        super().__init__(daemon=True)
        self.groups, self.peaks, self.running = groups, {}, True

    def run(self) -> None:
        while self.running:
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    if os.getpgid(int(entry.name)) not in self.groups:
                        continue
                    for line in (entry / "status").read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            kib = int(line.split()[1])
                            self.peaks[entry.name] = max(self.peaks.get(entry.name, 0), kib)
                except (OSError, ProcessLookupError, ValueError):
                    continue
            time.sleep(0.2)


def bench(workdir: Path, redis_url: str | None, fair: bool) -> dict[str, float]:
    setup_environment(workdir, redis_url, cap=2 if fair else 1000)
    if redis_url:
        import redis as redis_client

        redis_client.Redis.from_url(redis_url).flushdb()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from apps.accounts.models import Membership, Organization, User
    from apps.programs.services import program_create_from_blueprint
    from apps.runs.models import PlanRun, RunStatus
    from apps.runs.services import plan_run_create
    from tests.faults.processes import Worker, running, service_env
    from tests.runs.worker_process import wait_for

    def member(name: str) -> tuple[Organization, User]:
        org = Organization.objects.create(name=name, slug=f"bench-{name.lower()}")
        user = User.objects.create_user(username=name.lower(), password="bench-password-123")
        Membership.objects.create(organization=org, user=user, role="owner")
        return org, user

    (org_a, user_a), (org_b, user_b) = member("A"), member("B")
    heavy = program_create_from_blueprint(
        user=user_a, organization=org_a, key="gpt3-175b-from-scratch"
    ).scenarios.get()
    line = heavy.budget_lines.order_by("-gpu_count")[0]
    type(line).objects.filter(pk=line.pk).update(gpu_count=A_GPUS)
    small = program_create_from_blueprint(
        user=user_b, organization=org_b, key="cpt-7b-domain"
    ).scenarios.get()
    env = service_env()
    if fair:
        nodes = [
            lambda: Worker(env, workdir, "interactive", concurrency=1, queues="interactive"),
            lambda: Worker(env, workdir, "heavy", concurrency=1, queues="heavy,interactive"),
        ]
    else:
        nodes = [lambda: Worker(env, workdir, "single", concurrency=2)]
    seeds = iter(range(1000))

    def b_run() -> float:
        start = time.perf_counter()
        run = plan_run_create(user=user_b, scenario=small, trials=B_TRIALS, seed=next(seeds))
        wait_for(lambda: PlanRun.objects.get(pk=run.pk).is_finished, 900, 0.02)
        return time.perf_counter() - start

    out: dict[str, float] = {}
    with running(*nodes) as workers:
        memory = PeakMemory([w.process.pid for w in workers])
        memory.start()
        b_run()  # warm up (imports, first connection)
        out["b_idle_s"] = statistics.median(b_run() for _ in range(3))
        a_runs = [
            plan_run_create(user=user_a, scenario=heavy, trials=A_TRIALS, seed=seed).pk
            for seed in range(A_RUNS)
        ]
        a = PlanRun.objects.filter(pk__in=a_runs)
        wait_for(lambda: a.filter(status=RunStatus.RUNNING).exists(), 120)
        in_flight = 0
        stop = threading.Event()

        def watch() -> None:
            nonlocal in_flight
            while not stop.is_set():
                from apps.runs.fairness import in_flight_count

                in_flight = max(in_flight, in_flight_count(organization_id=org_a.pk))
                time.sleep(0.2)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        latencies = [b_run() for _ in range(5)]
        stop.set()
        watcher.join()
        out["b_while_a_saturates_s"] = statistics.median(latencies)
        out["b_while_a_saturates_max_s"] = max(latencies)
        out["a_in_flight_max"] = in_flight
        out["a_finished_meanwhile"] = a.filter(status=RunStatus.SUCCEEDED).count()
        # Let A's runs go on a little: a heavy run's peak memory is part of the figure.
        wait_for(lambda: a.filter(status=RunStatus.SUCCEEDED).exists(), 120)
        memory.running = False
        memory.join()
        out["worker_peak_rss_mb"] = max(memory.peaks.values()) / 1024
        out["workers_peak_rss_total_mb"] = sum(memory.peaks.values()) / 1024
        for worker in workers:
            worker.kill()  # A's remaining runs are of no interest
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--redis", help="a Redis URL (its database is flushed) instead of files")
    parser.add_argument("--without-fairness", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="llmplanner-bench-fair-") as tmp:
        results = bench(Path(tmp), args.redis, fair=not args.without_fairness)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for name, value in results.items():
            print(f"{name:32} {value:10.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
