"""Which database errors mean "busy or unreachable, try again" rather than a fault of the code."""

from __future__ import annotations

from django.db import OperationalError

# Seconds a client is told to wait (``Retry-After``) when the database is busy or unreachable:
# one SQLite busy timeout (DATABASES' OPTIONS "timeout" in settings.py), after which a lock held
# by a long write has usually been released.
RETRY_AFTER_S = 5

# SQLite result codes (sqlite3.Error.sqlite_errorname, with extended codes such as
# SQLITE_BUSY_SNAPSHOT): another connection holds the lock, or the file cannot be opened. Not
# SQLITE_ERROR — "no such table", a syntax error — which is the code's fault.
_SQLITE_UNAVAILABLE = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN")
# Postgres SQLSTATE classes and codes (Appendix A of its manual): 08 connection exception, 53
# insufficient resources (too many connections), 57 operator intervention (statement_timeout's
# query_canceled, shutdown, cannot_connect_now), 40 transaction rollback (deadlock, serialization
# failure: retrying succeeds), 55P03 lock_not_available (lock_timeout).
_PG_UNAVAILABLE_CLASSES = ("08", "53", "57", "40")
_PG_UNAVAILABLE_CODES = ("55P03",)


def database_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` says the database is locked, timed out or unreachable — a state a retry
    a few seconds later can get past. Other errors (a missing table or column, bad SQL, a broken
    constraint) are the code's and stay errors."""
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__  # Django re-raises the driver's error "from" it
    sqlite_name = getattr(cause, "sqlite_errorname", None)
    if isinstance(sqlite_name, str):
        return sqlite_name.startswith(_SQLITE_UNAVAILABLE)
    sqlstate = getattr(cause, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate[:2] in _PG_UNAVAILABLE_CLASSES or sqlstate in _PG_UNAVAILABLE_CODES
    # psycopg's OperationalError without a SQLSTATE: no server answered (refused, lost, timed out).
    module = type(cause).__module__ if cause is not None else ""
    return module.startswith("psycopg") and sqlstate is None
