"""The broker goes down under a running web app and worker: pages keep serving and say so, a run
submitted meanwhile is saved (never a 500) and goes through, without a manual step, once the
broker is back.

Against a private ``redis-server`` (on a free port, stopped and started by the test; never the
machine's Redis) and against the embedded filesystem broker in a private ``VAR_DIR``, whose
"down" is its folder gone bad (a file where the folder should be). The worker runs the beat with
every periodic job due each second (``tests.faults.fast_beat``) instead of each minute.
"""

from __future__ import annotations

import shutil
import time

import pytest
from django.urls import reverse

from apps.common.health import BROKER_STATUS_CACHE_S
from apps.programs.services import program_create_from_blueprint
from apps.runs.models import PlanRun, RunStatus
from apps.runs.services import PHASE_WAITING_FOR_BROKER
from tests.faults.browser import BANNER, Browser
from tests.faults.processes import Web, Worker, private_redis, running, service_env
from tests.runs.worker_process import database_url_of_test_db, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# A page must not wait on a dead broker (the check has a 1 s timeout and is cached for 5 s): how
# long pages and a submission take with the broker down is a benchmark's figure
# (scripts/bench_runs.py, *_broker_down_*_ms); these tests print theirs.
SAVED_MESSAGE = "is saved and queued, but the background workers cannot be reached"


@pytest.fixture
def scenario(owner, organization):
    program = program_create_from_blueprint(
        user=owner, organization=organization, key="gpt3-175b-from-scratch"
    )
    return program.scenarios.get()


def beat_worker(env, log_dir) -> Worker:  # type: ignore[no-untyped-def]
    return Worker(env, log_dir, "w", concurrency=1, app="tests.faults.fast_beat", beat=True)


def check_outage(browser, scenario, break_broker) -> PlanRun:  # type: ignore[no-untyped-def]
    """Pages serve with the banner, /healthz says 503, a run submitted is saved and queued."""
    home = reverse("portfolio:home")
    page = browser.get(home)
    assert page.status_code == 200 and BANNER not in page.text

    break_broker()
    # Each web process shows what its last broker check (at most 5 s old) found.
    time.sleep(BROKER_STATUS_CACHE_S + 0.5)
    pages = (
        home,
        reverse("programs:program_list"),
        reverse("runs:scenario_dashboard", args=[scenario.pk]),
    )
    slowest = 0.0
    for path in pages * 2:  # twice: both web processes answer
        page = browser.get(path)
        assert page.status_code == 200, (path, page.status_code)
        assert BANNER in page.text, path
        slowest = max(slowest, browser.seconds)
    print(f"slowest page with the broker down: {slowest * 1000:.0f} ms")
    health = browser.get(reverse("healthz"))
    assert health.status_code == 503 and health.json()["checks"]["broker"]["ok"] is False
    return submit_while_down(browser, scenario)


def submit_while_down(browser, scenario) -> PlanRun:  # type: ignore[no-untyped-def]
    answer = browser.post(reverse("runs:plan_run_start", args=[scenario.pk]))
    assert answer.status_code == 200, answer.text[-2000:]  # after the redirect to the run
    assert SAVED_MESSAGE in answer.text
    print(f"run submitted with the broker down: {browser.seconds * 1000:.0f} ms")
    run = PlanRun.objects.get()
    assert (run.status, run.phase) == (RunStatus.QUEUED, PHASE_WAITING_FOR_BROKER)
    return run


def check_recovery(browser, run, repair_broker, worker) -> None:  # type: ignore[no-untyped-def]
    """Once the broker is back, the beat's next sweep sends the run and the worker, reconnected
    by itself, computes it once; the banner goes away."""
    repair_broker()
    repaired_at = time.monotonic()
    finished_or_dead = lambda: run_of(run).is_finished or worker.process.poll() is not None  # noqa: E731
    assert wait_for(finished_or_dead, 60)
    assert worker.process.poll() is None, f"the worker died:\n{worker.log()[-3000:]}"
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.attempts == 1 and run.result
    print(f"broker back → queued run stored: {time.monotonic() - repaired_at:.1f} s")
    # Every web process has checked again since the repair (their checks are at most 5 s old).
    time.sleep(max(0.0, repaired_at + BROKER_STATUS_CACHE_S + 0.5 - time.monotonic()))
    assert all(BANNER not in browser.get(reverse("portfolio:home")).text for _ in range(4))


def run_of(run: PlanRun) -> PlanRun:
    return PlanRun.objects.get(pk=run.pk)


def test_a_redis_outage_keeps_the_web_up_and_loses_no_run(owner, scenario, tmp_path):
    with private_redis(tmp_path) as redis:
        env = service_env(DATABASE_URL=database_url_of_test_db(), CELERY_BROKER_URL=redis.url)
        with running(lambda: Web(env, tmp_path), lambda: beat_worker(env, tmp_path)) as (
            web,
            worker,
        ):
            browser = Browser.logged_in(web.url, owner)
            run = check_outage(browser, scenario, redis.stop)
            check_recovery(browser, run, redis.start, worker)


class BrokenFolder:
    """The filesystem broker "down": a file where its folder should be (a lost mount, a wrong
    clean-up). Permissions cannot simulate it here: the tests run as root."""

    def __init__(self, tmp_path) -> None:  # type: ignore[no-untyped-def]
        self.var_dir = tmp_path / "var"
        self.folder = self.var_dir / "broker"
        self.aside = tmp_path / "broker-aside"
        self.env = service_env(
            DATABASE_URL=database_url_of_test_db(),
            VAR_DIR=str(self.var_dir),
            CELERY_BROKER_URL=None,
            REDIS_URL=None,
        )

    def break_(self) -> None:
        shutil.move(self.folder, self.aside)
        self.folder.write_text("not a folder")

    def repair(self) -> None:
        self.folder.unlink()
        shutil.move(self.aside, self.folder)


def test_a_broken_filesystem_broker_keeps_the_web_up_and_the_run_saved(owner, scenario, tmp_path):
    broker = BrokenFolder(tmp_path)
    with running(lambda: Web(broker.env, tmp_path), lambda: beat_worker(broker.env, tmp_path)) as (
        web,
        _,
    ):
        browser = Browser.logged_in(web.url, owner)
        check_outage(browser, scenario, broker.break_)


def test_a_repaired_filesystem_broker_runs_what_was_queued_meanwhile(owner, scenario, tmp_path):
    broker = BrokenFolder(tmp_path)
    with running(lambda: Web(broker.env, tmp_path), lambda: beat_worker(broker.env, tmp_path)) as (
        web,
        worker,
    ):
        browser = Browser.logged_in(web.url, owner)
        broker.break_()
        run = submit_while_down(browser, scenario)
        check_recovery(browser, run, broker.repair, worker)
