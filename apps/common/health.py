"""Health checks of the pieces the app needs: database, broker, at least one worker."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from llmplanner.celery import app as celery_app


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str


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
            conn.ensure_connection(max_retries=1, timeout=2)
            transport = conn.transport_cls
    except Exception as exc:
        return Check(False, f"{type(exc).__name__}: {exc}")
    return Check(True, str(transport))


def check_workers() -> Check:
    try:
        replies = celery_app.control.ping(timeout=settings.HEALTHZ_PING_TIMEOUT)
    except Exception as exc:
        return Check(False, f"{type(exc).__name__}: {exc}")
    names = sorted(name for reply in replies for name in reply)
    if not names:
        return Check(False, "no worker answered a ping")
    return Check(True, f"{len(names)} live: {', '.join(names)}")


def health_report() -> tuple[bool, dict[str, dict[str, object]]]:
    checks = {
        "database": check_database(),
        "broker": check_broker(),
        "workers": check_workers(),
    }
    healthy = all(c.ok for c in checks.values())
    return healthy, {name: {"ok": c.ok, "detail": c.detail} for name, c in checks.items()}
