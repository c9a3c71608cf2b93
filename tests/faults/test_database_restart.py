"""The database restarts under a running web app and worker (``pg_ctl restart -m fast`` cuts every
connection): the web answers 200 again and a run submitted afterwards completes, with neither
process restarted — Django replaces a dead persistent connection (``CONN_HEALTH_CHECKS``) at the
next request or task.

On a private Postgres cluster started by the test (initdb as the ``postgres`` user, a free port),
whatever database the rest of the suite uses; the embedded broker in a private ``VAR_DIR``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import psycopg
import pytest
from django.conf import settings
from django.urls import reverse

from tests.faults.browser import Browser
from tests.faults.processes import Web, Worker, private_postgres, running, service_env
from tests.runs.worker_process import wait_for

pytestmark = pytest.mark.integration

# Run in the web's environment: an owner, a program from a template, a logged-in session.
SETUP = """
import json
from django.conf import settings
from django.test import Client
from apps.programs.services import program_create_from_blueprint
from tests.accounts.factories import MembershipFactory
owner = MembershipFactory(role="owner").user
program = program_create_from_blueprint(
    user=owner, organization=owner.memberships.get().organization, key="sft-7b-10k-instructions"
)
client = Client()
client.force_login(owner)
print(json.dumps({"scenario": program.scenarios.get().pk,
                  "session": client.cookies[settings.SESSION_COOKIE_NAME].value}))
"""


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def run_status(url: str, run_id: int) -> str:
    with psycopg.connect(url, connect_timeout=5) as conn:
        row = conn.execute("SELECT status FROM runs_planrun WHERE id = %s", [run_id]).fetchone()
    return row[0]


def submit_run(browser: Browser, scenario_id: int) -> int:
    answer = browser.post(reverse("runs:plan_run_start", args=[scenario_id]))
    assert answer.status_code == 200, answer.text[-2000:]
    # Redirected to /runs/<id>/.
    return int(answer.url.rstrip("/").rsplit("/", 1)[1])


def test_the_app_recovers_from_a_database_restart_by_itself(tmp_path):
    with private_postgres() as pg:
        env = service_env(
            DATABASE_URL=pg.url(),
            VAR_DIR=str(tmp_path / "var"),
            CELERY_BROKER_URL=None,
            REDIS_URL=None,
        )
        manage(env, "migrate", "--noinput", "-v", "0")
        ids = json.loads(manage(env, "shell", "-c", SETUP).strip().splitlines()[-1])
        with running(
            lambda: Web(env, tmp_path), lambda: Worker(env, tmp_path, "w", concurrency=1)
        ) as (web, _):
            browser = Browser(web.url, ids["session"])
            first = submit_run(browser, ids["scenario"])
            assert wait_for(lambda: run_status(pg.url(), first) == "succeeded", 60)

            pg.restart()
            restarted_at = time.monotonic()
            # Each of the two web processes held a connection that is now dead.
            for _ in range(6):
                page = browser.get(reverse("portfolio:home"))
                assert page.status_code == 200, page.text[-2000:]
            second = submit_run(browser, ids["scenario"])
            assert wait_for(lambda: run_status(pg.url(), second) == "succeeded", 60)
            recovery_s = time.monotonic() - restarted_at
            print(f"database restart → second run stored: {recovery_s:.1f} s")
            assert browser.get(reverse("healthz")).json()["checks"]["database"]["ok"] is True
