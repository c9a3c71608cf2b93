"""Typed readers for environment variables, used by ``llmplanner.settings``.

Every reader raises ``ImproperlyConfigured`` naming the variable when its value cannot be
used, so a bad deployment stops at start-up with a message an operator can act on.
Names read are recorded in ``NAMES_READ`` so a test can check ``.env.example`` lists them all.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

NAMES_READ: set[str] = set()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str) -> str | None:
    NAMES_READ.add(name)
    value = os.environ.get(name)
    return None if value is None else value.strip()


def env_str(name: str, default: str | None = None) -> str | None:
    value = _raw(name)
    return default if value in (None, "") else value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false, 1/0), got {value!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
    return number


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    value = _raw(name)
    if value in (None, ""):
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: set[str]) -> str:
    value = env_str(name, default)
    assert value is not None
    if value not in choices:
        allowed = ", ".join(sorted(choices))
        raise ImproperlyConfigured(f"{name} must be one of {allowed}; got {value!r}")
    return value


def env_url(name: str, schemes: set[str]) -> str | None:
    """A URL whose scheme is one of ``schemes``, or None when unset."""
    value = env_str(name)
    if value is None:
        return None
    scheme = urlsplit(value).scheme
    if scheme not in schemes:
        allowed = ", ".join(sorted(schemes))
        raise ImproperlyConfigured(
            f"{name} must be a URL starting with one of {allowed}; got scheme {scheme!r}"
        )
    return value


_PG_SCHEMES = {"postgres", "postgresql", "pgsql"}


def env_database(name: str, default_sqlite_path: Path, base_dir: Path) -> dict[str, Any]:
    """Django ``DATABASES`` entry from a URL.

    ``postgres://user:password@host:port/name?sslmode=require`` or ``sqlite:///relative/path``
    / ``sqlite:////absolute/path`` (relative to ``base_dir``). Unset means SQLite at
    ``default_sqlite_path``.
    """
    value = env_str(name)
    if value is None:
        return _sqlite(default_sqlite_path)
    parts = urlsplit(value)
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        if path in ("", "/"):
            raise ImproperlyConfigured(f"{name} must name a database file, e.g. sqlite:///var/db")
        # sqlite:///rel -> path "/rel" (relative); sqlite:////abs -> path "//abs" (absolute)
        return _sqlite(base_dir / path[1:])
    if parts.scheme in _PG_SCHEMES:
        db_name = unquote(parts.path.lstrip("/"))
        if not db_name:
            raise ImproperlyConfigured(f"{name} must include a database name after the host")
        try:
            port = parts.port
        except ValueError:
            raise ImproperlyConfigured(f"{name} has an invalid port") from None
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": db_name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(port or ""),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": dict(parse_qsl(parts.query)),
        }
    raise ImproperlyConfigured(
        f"{name} must start with postgres:// or sqlite://; got scheme {parts.scheme!r}"
    )


def _sqlite(path: Path) -> dict[str, Any]:
    # SQLite creates the file but not its folder; a fresh clone has no var/ yet.
    path.parent.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        # The web process and the worker write at once: without WAL and BEGIN IMMEDIATE most
        # concurrent read-then-write transactions fail with "database is locked".
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
