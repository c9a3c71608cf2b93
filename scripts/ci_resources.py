#!/usr/bin/env python3
"""A Postgres database name and a Redis database of one CI run's own (used by ``.ci/run``).

Two CI runs on one host must not clobber each other: each gets a database name with its run id
(pytest-django creates ``test_<name>`` from it) and a Redis database number claimed in a registry
(a key per number in Redis database 15, set only if absent, expiring after two hours so that a
killed run frees its number eventually). The suite may empty its own Redis database; the
registry lives elsewhere.

    ci_resources.py claim   POSTGRES_URL REDIS_URL RUN_ID   → prints the two URLs to use
    ci_resources.py release POSTGRES_URL REDIS_URL RUN_ID   → drops the test database, frees Redis

``claim`` checks that both servers answer (5 s each) and exits 1 with the reason if not.
"""

from __future__ import annotations

import re
import sys
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

REGISTRY_DB = 15
# Numbers other scripts use by convention are tried last (bench_runs: 12, load_test: 8).
CANDIDATES = [9, 10, 11, 13, 14, 1, 2, 3, 4, 5, 6, 7, 8, 12]
CLAIM_SECONDS = 2 * 3600


def postgres_url(base: str, run_id: str) -> str:
    """``base`` with its database name replaced by one unique to the run."""
    if not re.fullmatch(r"\w+", run_id):
        raise SystemExit(f"run id must be letters, digits and _: {run_id!r}")
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/llmplanner_ci_{run_id}"))


def redis_server(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="", query="", fragment=""))


def maintenance_connection(pg: SplitResult) -> Any:
    """An autocommit connection to the server's ``postgres`` database (5 s to connect)."""
    import psycopg

    return psycopg.connect(
        host=pg.hostname,
        port=pg.port or 5432,
        user=pg.username,
        password=pg.password,
        dbname="postgres",
        connect_timeout=5,
        autocommit=True,
    )


def claim(pg_base: str, redis_base: str, run_id: str) -> int:
    import redis

    pg = urlsplit(postgres_url(pg_base, run_id))
    try:
        maintenance_connection(pg).close()
    except Exception as exc:
        print(f"Postgres at {pg.hostname}:{pg.port} is not reachable: {exc}", file=sys.stderr)
        return 1
    server = redis_server(redis_base)
    try:
        registry = redis.Redis.from_url(f"{server}/{REGISTRY_DB}", socket_timeout=5)
        for number in CANDIDATES:
            if registry.set(f"llmplanner-ci:db:{number}", run_id, nx=True, ex=CLAIM_SECONDS):
                # Ours now: drop what an interrupted run may have left in it.
                redis.Redis.from_url(f"{server}/{number}", socket_timeout=5).flushdb()
                print(postgres_url(pg_base, run_id))
                print(f"{server}/{number}")
                return 0
    except Exception as exc:
        print(f"Redis at {server} is not reachable: {exc}", file=sys.stderr)
        return 1
    print(f"every Redis database of {server} is claimed by another CI run", file=sys.stderr)
    return 1


def release(pg_url: str, redis_url: str, run_id: str) -> int:
    import redis

    pg = urlsplit(pg_url)
    name = pg.path.lstrip("/")
    try:
        with maintenance_connection(pg) as conn:
            for db in (name, f"test_{name}"):
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    except Exception as exc:
        print(f"could not drop the CI databases: {exc}", file=sys.stderr)
    number = int(urlsplit(redis_url).path.lstrip("/") or 0)
    server = redis_server(redis_url)
    try:
        redis.Redis.from_url(f"{server}/{number}", socket_timeout=5).flushdb()
        registry = redis.Redis.from_url(f"{server}/{REGISTRY_DB}", socket_timeout=5)
        key = f"llmplanner-ci:db:{number}"
        if registry.get(key) == run_id.encode():
            registry.delete(key)
    except Exception as exc:
        print(f"could not release Redis database {number}: {exc}", file=sys.stderr)
    return 0


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[0] not in {"claim", "release"}:
        print(__doc__, file=sys.stderr)
        return 2
    action, pg, redis_url, run_id = argv
    return claim(pg, redis_url, run_id) if action == "claim" else release(pg, redis_url, run_id)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
