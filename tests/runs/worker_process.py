"""Start and stop real Celery worker processes on the test database (integration tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

READY_TIMEOUT_S = 30
STOP_TIMEOUT_S = 15
# A worker of this app holds each plan run it claims while the file named by HOLD_FILE_VARIABLE
# exists: killed-worker tests kill it mid-run by construction (tests/runs/holding_app.py).
HOLDING_APP = "tests.runs.holding_app"
HOLD_FILE_VARIABLE = "LLMPLANNER_TEST_HOLD_FILE"


def database_url_of_test_db() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"  # "sqlite:////abs/path"
    user = quote(db["USER"] or "")
    password = f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else ""
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{user}{password}@{db['HOST']}{port}/{db['NAME']}"


class Worker:
    """A ``celery worker`` subprocess (solo pool) on the configured broker and the test database."""

    def __init__(
        self,
        database_url: str,
        log_path: Path,
        name: str = "itest",
        *,
        app: str = "llmplanner.celery",
        env: dict[str, str] | None = None,
    ) -> None:
        self.node = f"{name}-{uuid.uuid4().hex[:8]}@localhost"
        self.log_path = log_path
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "llmplanner.settings",
            "SECRET_KEY": settings.SECRET_KEY,
            **(env or {}),
        }
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable, "-m", "celery", "-A", app, "worker",
                    "--pool", "solo", "--loglevel", "INFO", "--hostname", self.node,
                    "--without-gossip", "--without-mingle",
                ],
                cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + READY_TIMEOUT_S
        while f"{self.node} ready.".encode() not in log_path.read_bytes():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"worker did not start:\n{log_path.read_text()}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: the worker dies mid-task, as a lost machine would."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT_S)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT_S)


@contextmanager
def running_worker(database_url: str, log_dir: Path, name: str = "itest", **options):  # type: ignore[no-untyped-def]
    """A started worker, stopped on the way out; ``options`` go to ``Worker`` (app, env)."""
    worker = Worker(database_url, log_dir / f"{name}-{uuid.uuid4().hex[:6]}.log", name, **options)
    try:
        yield worker
    finally:
        worker.stop()


def wait_for(predicate, timeout_s: float = 30.0, interval_s: float = 0.05) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return bool(predicate())
