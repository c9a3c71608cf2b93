"""Health checks of the pieces the app needs: database, broker, at least one worker."""

from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from llmplanner.broker import SCHEME as FILESYSTEM_BROKER
from llmplanner.celery import app as celery_app

# A broker check must never hold a page up: one attempt, no back-off, at most this long.
BROKER_TIMEOUT_S = 1.0
# Pages show the broker's state as of at most this long ago (one check per web process per period).
BROKER_STATUS_CACHE_S = 5
# Per process, in memory: Django's cache may itself live on a server that is down.
_broker_status: tuple[float, bool] | None = None  # (monotonic time checked, reachable)
_broker_status_lock = threading.Lock()


@dataclass(frozen=True)
class Check:
    """One check's outcome. ``detail`` may name hosts, paths and errors, for staff only;
    ``summary`` is what anyone may see (the state, a count), and ``count`` the live workers."""

    ok: bool
    detail: str
    summary: str = ""
    count: int | None = None

    def public(self) -> str:
        return self.summary or ("ok" if self.ok else "unavailable")


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "down"; the detail says which
        return Check(False, f"{type(exc).__name__}: {exc}")
    return Check(True, connection.vendor)


def check_broker() -> Check:
    try:
        with celery_app.connection_for_write() as conn:
            # kombu's ensure_connection sleeps interval_start (2 s by default) before a retry.
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_S)
            transport = conn.transport_cls
            if transport == FILESYSTEM_BROKER:
                _probe_folder(str(conn.transport_options["data_folder_out"]))
    except Exception as exc:
        return Check(False, f"{type(exc).__name__}: {exc}")
    return Check(True, str(transport))


def _probe_folder(folder: str) -> None:
    """The filesystem broker is "up" when its queue folder takes a file. Written, not checked
    with ``os.access``: that answers yes to root for any mode, and the folder may be gone."""
    probe = os.path.join(folder, f".probe-{uuid.uuid4().hex}.tmp")  # no queue matches a dot
    with open(probe, "wb"):
        pass
    os.remove(probe)


def broker_reachable() -> bool:
    """The broker's state for the pages' banner, cached for ``BROKER_STATUS_CACHE_S`` seconds."""
    global _broker_status
    with _broker_status_lock:  # one check at a time per process; the others wait for its answer
        now = time.monotonic()
        if _broker_status is None or now - _broker_status[0] > BROKER_STATUS_CACHE_S:
            _broker_status = (now, check_broker().ok)
        return _broker_status[1]


def broker_status_forget() -> None:
    """Drop the cached state (tests, and after a failed publish proves the broker down)."""
    global _broker_status
    with _broker_status_lock:
        _broker_status = None


def check_workers() -> Check:
    try:
        replies = celery_app.control.ping(timeout=settings.HEALTHZ_PING_TIMEOUT)
    except Exception as exc:
        return Check(False, f"{type(exc).__name__}: {exc}")
    names = sorted(name for reply in replies for name in reply)
    if not names:
        return Check(False, "no worker answered a ping", "no worker answered a ping", 0)
    return Check(True, f"{len(names)} live: {', '.join(names)}", f"{len(names)} live", len(names))


def health_report(*, details: bool) -> tuple[bool, dict[str, dict[str, object]]]:
    """Whether all is up, and each check's state. With ``details`` (staff) each check says what
    it found — host names of the workers, the database's error —; without, only "ok" or
    "unavailable" and the number of live workers: anyone may ask, and the names of machines and
    the text of errors help an attacker more than a monitor."""
    checks = {
        "database": check_database(),
        "broker": check_broker(),
        "workers": check_workers(),
    }
    healthy = all(c.ok for c in checks.values())
    report: dict[str, dict[str, object]] = {}
    for name, check in checks.items():
        entry: dict[str, object] = {
            "ok": check.ok,
            "detail": check.detail if details else check.public(),
        }
        if check.count is not None:
            entry["count"] = check.count
        report[name] = entry
    return healthy, report
