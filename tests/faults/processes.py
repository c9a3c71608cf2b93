"""Real processes for the fault tests: Celery workers and gunicorn in their own process groups,
and private Redis and Postgres servers on free ports (never the machine's own services).

Workers here differ from ``tests.runs.worker_process.Worker`` in two ways the faults need: each
runs in a session of its own, so ``kill()`` SIGKILLs the whole process group (the prefork
parent and its pool children, as when a machine is lost), and the caller sets the environment
(broker, database, settings module).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from django.conf import settings

READY_TIMEOUT_S = 30
# The newest installed server's tools (Debian: /usr/lib/postgresql/<major>/bin).
PG_BIN = max(
    Path("/usr/lib/postgresql").glob("*/bin"), default=None, key=lambda p: int(p.parent.name)
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_env(**overrides: str | None) -> dict[str, str]:
    """This process's environment with ``overrides`` applied (None removes a variable)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "llmplanner.settings"}
    env["SECRET_KEY"] = settings.SECRET_KEY
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


class Service:
    """A subprocess in a new session (its own process group), logging to a file."""

    def __init__(self, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                argv, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, ready: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"{what} did not start:\n{self.log()[-4000:]}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL to the whole process group: nothing in it gets to clean up."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=15)

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
            except ProcessLookupError:
                pass
        # Pool children of a parent that died first would outlive it; end the group for good.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Worker(Service):
    """``celery worker`` (prefork pool) on the broker and database of ``env``."""

    def __init__(
        self,
        env: dict[str, str],
        log_dir: Path,
        name: str,
        *,
        concurrency: int = 2,
        app: str = "llmplanner.celery",
        beat: bool = False,
        queues: str | None = None,
    ) -> None:
        self.node = f"{name}-{uuid.uuid4().hex[:8]}@localhost"
        argv = [
            sys.executable, "-m", "celery", "-A", app, "worker", "--pool", "prefork",
            "--concurrency", str(concurrency), "--loglevel", "INFO", "--hostname", self.node,
            "--without-gossip", "--without-mingle",
        ]  # fmt: skip
        if queues:  # as scripts/start.sh: "interactive", or "heavy,interactive"
            argv += ["-Q", queues]
        if beat:
            argv += ["--beat", "--schedule", str(log_dir / f"beat-{uuid.uuid4().hex[:6]}")]
        super().__init__(argv, env, log_dir / f"{name}-{uuid.uuid4().hex[:6]}.log")
        self.name = name

    def ready(self) -> Worker:
        self.wait_ready(lambda: f"{self.node} ready." in self.log(), f"worker {self.name}")
        return self


class Web(Service):
    """gunicorn serving the project on a free port of 127.0.0.1."""

    def __init__(self, env: dict[str, str], log_dir: Path, *, workers: int = 2) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [
            sys.executable, "-m", "gunicorn", "llmplanner.wsgi", "--bind",
            f"127.0.0.1:{self.port}", "--workers", str(workers), "--timeout", "60",
        ]  # fmt: skip
        super().__init__(argv, env, log_dir / f"web-{uuid.uuid4().hex[:6]}.log")

    def ready(self) -> Web:
        self.wait_ready(self._answers, "gunicorn")
        return self

    def _answers(self) -> bool:
        try:  # the login page: no broker or worker involved
            return requests.get(f"{self.url}/accounts/login/", timeout=5).status_code == 200
        except requests.RequestException:
            return False


class PrivateRedis:
    """A ``redis-server`` of our own on a free port, without persistence; stop() and start()
    bring it down and up again on the same port."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.service: Service | None = None

    def start(self) -> None:
        argv = [
            shutil.which("redis-server") or "redis-server", "--port", str(self.port),
            "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.folder),
        ]  # fmt: skip
        self.service = Service(argv, dict(os.environ), self.folder / "redis.log")
        self.service.wait_ready(self.answers, "redis-server")

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop()
            self.service = None


@contextmanager
def private_redis(folder: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is missing: apt-get install redis-server")
    redis = PrivateRedis(folder)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


class PrivatePostgres:
    """A throwaway cluster: initdb and pg_ctl run as the ``postgres`` user (initdb refuses root)
    in a folder that user owns, on a free port, trust authentication on 127.0.0.1 only."""

    def __init__(self) -> None:
        if PG_BIN is None:
            pytest.fail("Postgres binaries are missing under /usr/lib/postgresql/*/bin")
        self.folder = Path(tempfile.mkdtemp(prefix="faults-pg-"))
        shutil.chown(self.folder, "postgres", "postgres")
        self.data = self.folder / "data"
        self.port = free_port()

    def _as_postgres(self, *argv: str) -> None:
        command = ["runuser", "-u", "postgres", "--", str(PG_BIN / argv[0]), *argv[1:]]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            pytest.fail(f"{' '.join(argv)} failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> None:
        self._as_postgres(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync"
        )
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self._as_postgres(
            "pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-o", options,
            "-w", "start",
        )  # fmt: skip
        self._as_postgres("createdb", "-h", "127.0.0.1", "-p", str(self.port), "faults")

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every open connection is cut."""
        # -l again: without it the server would write to our pipe and run() would never return.
        self._as_postgres(
            "pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-m", "fast", "-w",
            "restart",
        )  # fmt: skip

    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/faults"

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                ["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(self.data),
                 "-m", "immediate", "-w", "stop"],
                capture_output=True, timeout=60,
            )  # fmt: skip
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres()
    try:
        pg.start()
        yield pg
    finally:
        pg.destroy()


@contextmanager
def running(*factories: Callable[[], Worker | Web]) -> Iterator[list]:  # type: ignore[type-arg]
    """Start the services together (imports overlap on the 2 cores), wait until each is ready,
    stop them all on the way out."""
    services: list[Worker | Web] = []
    try:
        for factory in factories:
            services.append(factory())
        for service in services:
            service.ready()
        yield services
    finally:
        for service in services:
            service.stop()
