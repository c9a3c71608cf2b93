"""``scripts/start.sh`` as a user runs it (issue 16, items 4 and 10): ``kill -9`` of a worker no
longer takes the web app down — the script starts the worker again and keeps serving — and with
DEBUG on it listens on 127.0.0.1 only and says so.

The script runs in a folder of the test's own (``VAR_DIR``: SQLite and the filesystem broker),
on a free port, with nothing of the suite's database or broker variables.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest
import requests
from django.conf import settings

from tests.faults.processes import free_port
from tests.runs.worker_process import wait_for

pytestmark = pytest.mark.integration

CLEARED = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CACHE_URL", "PYTEST_ADDOPTS")


def _pids_with(text: str) -> list[int]:
    """Processes whose command line contains ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry.name))
    return found


def _worker_parent(script_pid: int, name: str) -> int | None:
    """The pid of the ``name`` worker node's parent started by the script (the pool children
    share its command line; the parent is the one that leads its process group)."""
    for pid in _pids_with(f"--hostname {name}-{script_pid}@"):
        try:
            if os.getpgid(pid) == pid:
                return pid
        except ProcessLookupError:
            continue
    return None


@pytest.mark.timeout(300)
def test_a_killed_worker_is_started_again_and_the_web_app_keeps_serving(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(VAR_DIR=str(tmp_path / "var"), PORT=str(port), DEBUG="true", WEB_CONCURRENCY="1")
    log_path = tmp_path / "start.log"
    with open(log_path, "wb") as log:
        script = subprocess.Popen(
            ["bash", str(settings.BASE_DIR / "scripts" / "start.sh")],
            cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def log_text() -> str:
        return log_path.read_text(errors="replace")

    url = f"http://127.0.0.1:{port}/accounts/login/"
    try:
        started = wait_for(lambda: "llmplanner is running at" in log_text(), 240, 0.5)
        assert started, log_text()[-4000:]
        assert "DEBUG is on: listening on 127.0.0.1 only" in log_text()

        ready = re.compile(rf"heavy-{script.pid}@\S+ ready\.")
        up = wait_for(lambda: len(ready.findall(log_text())) == 1, 60, 0.5)
        assert up, log_text()[-3000:]  # the node is connected: kill a working worker
        victim = _worker_parent(script.pid, "heavy")
        assert victim is not None, log_text()[-3000:]
        os.kill(victim, signal.SIGKILL)  # kill -9 of the worker, as in the issue
        assert wait_for(lambda: "the heavy worker exited" in log_text(), 30), log_text()[-3000:]
        assert requests.get(url, timeout=10).status_code == 200  # still serving
        assert script.poll() is None

        again = wait_for(lambda: "the heavy worker is running again" in log_text(), 60)
        assert again, log_text()[-3000:]
        replacement = _worker_parent(script.pid, "heavy")
        assert replacement is not None and replacement != victim
        back = wait_for(lambda: len(ready.findall(log_text())) >= 2, 60, 0.5)
        assert back, log_text()[-3000:]  # the new node connected to the broker
        assert requests.get(url, timeout=10).status_code == 200
    finally:
        if script.poll() is None:
            script.send_signal(signal.SIGTERM)  # the script stops everything it started
            try:
                script.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(script.pid, signal.SIGKILL)
                script.wait(timeout=15)
        for leftover in _pids_with(f"-{script.pid}@"):  # a node of this script, if any is left
            try:
                os.killpg(leftover, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    # Nothing of it keeps running once it is stopped.
    assert _pids_with(f"-{script.pid}@") == []
