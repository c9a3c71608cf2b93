"""Load test (issue 9): 50 users browsing dashboards and 10 submitting runs, for 2 minutes,
against the real stack — gunicorn (as ``scripts/start.sh`` starts it) and a Celery worker —
on the embedded default (SQLite + filesystem broker) or on Postgres + Redis.

    .venv/bin/python scripts/load_test.py                       # embedded default
    .venv/bin/python scripts/load_test.py \\
        --database-url postgres://postgres@127.0.0.1:5432/llmplanner_load \\
        --redis-url redis://127.0.0.1:6379/8                   # Postgres + Redis
    options: --duration 120 --browsers 50 --submitters 10 --json

It works in a throwaway folder (and, on Postgres, a database it creates and drops; on Redis, a
database number it empties), so it never touches your data. Seeding: one organization, 10
programs from the five templates with a finished run each, 50 viewers and 10 editors.

- A browsing user signs in, then loops: a random page of the portfolio home, the program list, a
  program, a scenario, a scenario's team tab, a run's dashboard, a comparison — then thinks
  0.5–1.5 s (uniformly), as a person reading a page does.
- A submitting user starts a run of a scenario over the finance API with a fresh seed (so the
  result is computed, not reused), polls it every 0.5 s until it has finished, thinks 1–3 s and
  starts the next. Each has its own token (the API's budget is per token).

Every answer other than 200 (202 for a submission), every run that fails and every connection
error counts as an error. It prints p50/p95/max per page, runs done and their submit→done time,
and exits 1 when there was any error.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parents[1]
PY = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable
PASSWORD = "load-test-password-1"
TEMPLATES = [
    "gpt3-175b-from-scratch",
    "cpt-7b-domain",
    "sft-7b-10k-instructions",
    "rag-domain-knowledge-base",
    "icl-long-context-api",
]

SEED_SCRIPT = r"""
import json, sys
from apps.accounts.models import Membership, Organization, User
from apps.accounts.services import api_token_create
from apps.programs.services import program_create_from_blueprint
from apps.runs.services import plan_run_create, plan_run_execute
from unittest import mock

spec = json.loads(sys.argv[1])
org = Organization.objects.create(name="Load Lab", slug="load-lab")
owner = User.objects.create_user("load-owner", password=spec["password"])
Membership.objects.create(user=owner, organization=org, role="owner")
for i in range(spec["browsers"]):
    u = User.objects.create_user(f"viewer{i}", password=spec["password"])
    Membership.objects.create(user=u, organization=org, role="viewer")
tokens = []
for i in range(spec["submitters"]):
    u = User.objects.create_user(f"editor{i}", password=spec["password"])
    Membership.objects.create(user=u, organization=org, role="editor")
    token = api_token_create(user=owner, organization=org, name=f"load {i}", scope="write")
    tokens.append(token[1])
programs, scenarios, runs = [], [], []
with mock.patch("apps.runs.tasks.plan_run_task.delay"):
    for i in range(spec["programs"]):
        key = spec["templates"][i % len(spec["templates"])]
        p = program_create_from_blueprint(user=owner, organization=org, key=key, name=f"{key} #{i}")
        s = p.scenarios.get()
        r = plan_run_create(user=owner, scenario=s, trials=300)
        r = plan_run_execute(run_id=r.pk, worker="seed")
        programs.append(p.pk); scenarios.append(s.pk); runs.append(r.pk)
print(json.dumps({"programs": programs, "scenarios": scenarios, "runs": runs, "tokens": tokens}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.run_seconds: list[float] = []
        self.runs_failed = 0

    def page(self, label: str, seconds: float, ok: bool, detail: str = "") -> None:
        with self.lock:
            self.latency[label].append(seconds)
            if not ok:
                self.errors.append(f"{label}: {detail}")


def sign_in(session: requests.Session, base: str, username: str) -> None:
    page = session.get(f"{base}/accounts/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, "no CSRF token on the sign-in page"
    response = session.post(
        f"{base}/accounts/login/",
        data={
            "username": username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": token.group(1),
        },
        headers={"Referer": f"{base}/accounts/login/"},
        allow_redirects=False,
        timeout=30,
    )
    if response.status_code != 302:
        raise RuntimeError(f"sign-in of {username} answered {response.status_code}")


def browser(base: str, username: str, seed: dict, stop: threading.Event, rec: Recorder) -> None:
    rng = random.Random(username)
    session = requests.Session()
    try:
        sign_in(session, base, username)
    except Exception as exc:  # counted, not raised: the thread would die silently
        rec.page("sign-in", 0.0, False, str(exc))
        return
    while not stop.is_set():
        i = rng.randrange(len(seed["programs"]))
        program, scenario, run = seed["programs"][i], seed["scenarios"][i], seed["runs"][i]
        label, path = rng.choice(
            [
                ("portfolio", "/"),
                ("program list", "/programs/"),
                ("program", f"/programs/{program}/"),
                ("scenario", f"/programs/scenarios/{scenario}/overview/"),
                ("scenario team tab", f"/programs/scenarios/{scenario}/team/"),
                ("run dashboard", f"/runs/{run}/"),
                ("compare", f"/programs/{program}/compare/"),
            ]
        )
        started = time.perf_counter()
        try:
            response = session.get(base + path, timeout=60, allow_redirects=False)
            ok, detail = response.status_code == 200, f"{path} → {response.status_code}"
        except requests.RequestException as exc:
            ok, detail = False, f"{path} → {type(exc).__name__}"
        rec.page(label, time.perf_counter() - started, ok, detail)
        stop.wait(rng.uniform(0.5, 1.5))


def submitter(base: str, token: str, seed: dict, stop: threading.Event, rec: Recorder) -> None:
    rng = random.Random(token)
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    while not stop.is_set():
        scenario = rng.choice(seed["scenarios"])
        started = time.perf_counter()
        try:
            response = api.post(
                f"{base}/api/v1/scenarios/{scenario}/runs/",
                json={"trials": 500, "seed": rng.randrange(1, 2**31)},
                timeout=60,
            )
        except requests.RequestException as exc:
            rec.page("run submit (API)", time.perf_counter() - started, False, repr(exc))
            continue
        ok = response.status_code == 202
        rec.page("run submit (API)", time.perf_counter() - started, ok, str(response.status_code))
        if not ok:
            stop.wait(1)
            continue
        run_id = response.json()["id"]
        deadline = time.monotonic() + 180  # finishing in-flight runs may outlast the test
        while time.monotonic() < deadline:
            time.sleep(0.5)
            poll_started = time.perf_counter()
            try:
                status = api.get(f"{base}/api/v1/runs/{run_id}/", timeout=60)
            except requests.RequestException as exc:
                rec.page("run status (API)", time.perf_counter() - poll_started, False, repr(exc))
                continue
            rec.page(
                "run status (API)",
                time.perf_counter() - poll_started,
                status.status_code == 200,
                str(status.status_code),
            )
            state = status.json().get("status") if status.status_code == 200 else None
            if state in ("succeeded", "failed"):
                with rec.lock:
                    if state == "succeeded":
                        rec.run_seconds.append(time.perf_counter() - started)
                    else:
                        rec.runs_failed += 1
                        rec.errors.append(f"run {run_id} failed: {status.json().get('error')}")
                break
        else:
            with rec.lock:
                rec.errors.append(f"run {run_id} did not finish within 180 s")
        stop.wait(rng.uniform(1.0, 3.0))


def prepare_database(url: str | None, workdir: Path) -> tuple[str, str | None]:
    """The DATABASE_URL to use, and the Postgres database to drop afterwards."""
    if not url:
        return f"sqlite:///{workdir / 'load.sqlite3'}", None
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username,
        dbname="postgres",
        password=parts.password,
        autocommit=True,
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url, name


def drop_database(url: str, name: str) -> None:
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username,
        dbname="postgres",
        password=parts.password,
        autocommit=True,
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=120.0, help="seconds (default 120)")
    parser.add_argument("--browsers", type=int, default=50)
    parser.add_argument("--submitters", type=int, default=10)
    parser.add_argument("--programs", type=int, default=10)
    parser.add_argument("--database-url", help="Postgres URL of a database to create and drop")
    parser.add_argument("--redis-url", help="Redis URL (a database number it may empty)")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="llmplanner-load-") as tmp:
        workdir = Path(tmp)
        database_url, pg_name = prepare_database(args.database_url, workdir)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "llmplanner.settings",
            "SECRET_KEY": "load-test-only-secret",
            "DEBUG": "false",
            "VAR_DIR": str(workdir),
            "DATABASE_URL": database_url,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "API_RATE_LIMIT": "6000/min",
            "LOG_LEVEL": "WARNING",
        }
        env.pop("CELERY_BROKER_URL", None)
        env.pop("REDIS_URL", None)
        if args.redis_url:
            import redis

            redis.Redis.from_url(args.redis_url).flushdb()
            env["REDIS_URL"] = args.redis_url
        processes: list[subprocess.Popen[bytes]] = []
        try:
            # Set-up steps: 10 minutes each, far more than they need; a hung one stops the test.
            run = dict(cwd=ROOT, env=env, check=True, timeout=600)
            subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v", "0"], **run)
            subprocess.run([PY, "manage.py", "collectstatic", "--noinput", "-v", "0"], **run)
            spec = {
                "password": PASSWORD,
                "browsers": args.browsers,
                "submitters": args.submitters,
                "programs": args.programs,
                "templates": TEMPLATES,
            }
            seeded = subprocess.run(
                [PY, "-c", "import django; django.setup(); exec(open(0).read())", json.dumps(spec)],
                input=SEED_SCRIPT.encode(),
                capture_output=True,
                **{k: v for k, v in run.items() if k != "check"},
            )
            if seeded.returncode != 0:
                print(seeded.stderr.decode(), file=sys.stderr)
                return 2
            seed = json.loads(seeded.stdout.decode().strip().splitlines()[-1])
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            logs = open(workdir / "processes.log", "wb")  # noqa: SIM115 — closed with the folder
            processes.append(
                subprocess.Popen(
                    [
                        PY,
                        "-m",
                        "celery",
                        "-A",
                        "llmplanner.celery",
                        "worker",
                        "-B",
                        "--schedule",
                        str(workdir / "celerybeat-schedule"),
                        "--concurrency",
                        "2",
                        "--loglevel",
                        "WARNING",
                        "--hostname",
                        "load@%h",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=logs,
                    stderr=logs,
                    start_new_session=True,
                )
            )
            processes.append(
                subprocess.Popen(
                    [
                        PY,
                        "-m",
                        "gunicorn",
                        "llmplanner.wsgi",
                        "--bind",
                        f"127.0.0.1:{port}",
                        "--workers",
                        str(args.web_workers),
                        "--graceful-timeout",
                        "5",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=logs,
                    stderr=logs,
                    start_new_session=True,
                )
            )
            for _ in range(150):
                try:
                    if requests.get(f"{base}/accounts/login/", timeout=1).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                time.sleep(0.2)
            else:
                print("the web app did not start; see", workdir / "processes.log", file=sys.stderr)
                return 2

            rec = Recorder()
            stop = threading.Event()
            threads = [
                threading.Thread(target=browser, args=(base, f"viewer{i}", seed, stop, rec))
                for i in range(args.browsers)
            ] + [
                threading.Thread(target=submitter, args=(base, token, seed, stop, rec))
                for token in seed["tokens"]
            ]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            time.sleep(args.duration)
            stop.set()
            for thread in threads:
                thread.join(timeout=200)
            elapsed = time.monotonic() - started
        finally:
            for process in processes:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                    process.wait(timeout=15)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    try:
                        os.killpg(process.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    process.wait(timeout=15)
            if pg_name:
                drop_database(database_url, pg_name)

    stack = "Postgres + Redis" if args.database_url else "SQLite + filesystem broker"
    pages = {
        label: {
            "n": len(v),
            "p50_ms": round(percentile(v, 0.5) * 1000, 1),
            "p95_ms": round(percentile(v, 0.95) * 1000, 1),
            "max_ms": round(max(v) * 1000, 1),
        }
        for label, v in sorted(rec.latency.items())
    }
    summary = {
        "stack": stack,
        "duration_s": round(elapsed, 1),
        "browsers": args.browsers,
        "submitters": args.submitters,
        "requests": sum(p["n"] for p in pages.values()),
        "errors": len(rec.errors),
        "runs_done": len(rec.run_seconds),
        "runs_failed": rec.runs_failed,
        "run_submit_to_done_p50_s": round(statistics.median(rec.run_seconds), 2)
        if rec.run_seconds
        else None,
        "run_submit_to_done_p95_s": round(percentile(rec.run_seconds, 0.95), 2)
        if rec.run_seconds
        else None,
        "pages": pages,
        "first_errors": rec.errors[:10],
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(
            f"{stack}: {args.browsers} browsing + {args.submitters} submitting for "
            f"{summary['duration_s']} s — {summary['requests']} requests, "
            f"{summary['errors']} errors"
        )
        print(f"{'page':<22}{'n':>7}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
        for label, p in pages.items():
            print(f"{label:<22}{p['n']:>7}{p['p50_ms']:>10}{p['p95_ms']:>10}{p['max_ms']:>10}")
        print(
            f"runs done {summary['runs_done']}, failed {summary['runs_failed']}; submit→done "
            f"p50 {summary['run_submit_to_done_p50_s']} s, "
            f"p95 {summary['run_submit_to_done_p95_s']} s"
        )
        for error in summary["first_errors"]:
            print("  error:", error)
    return 1 if rec.errors else 0


if __name__ == "__main__":
    sys.exit(main())
