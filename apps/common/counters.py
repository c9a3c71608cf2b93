"""Counters in the shared cache (``settings.CACHES["default"]``) that parallel requests cannot
race: the API's request budget (``apps.api.throttling``) and the sign-in and password-reset
throttles (``apps.accounts.throttle``) count with them.

Redis (``SET NX`` + ``INCR``) and the local-memory cache (one lock) add to a counter in one step
already. The file-based cache reads and rewrites a file for each call, so two processes could
both read 5 and both write 6: there every counter operation runs under an exclusive ``flock`` on
a file beside the cache's entries (``cache_lock``), and the counter is stored with its own
expiry, because the file cache's ``incr`` would reset an entry's expiry to the default five
minutes.

A counter starts at its first addition and expires ``timeout`` seconds later; additions keep
that expiry, ``counter_extend`` moves it.
"""

from __future__ import annotations

import fcntl
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.filebased import FileBasedCache

LOCK_FILE = "counters.lock"
_held = threading.local()


class CounterLost(RuntimeError):
    """The cache kept losing the counter between two steps (it expired, or the cache was
    cleared, again and again): callers refuse rather than let a request through uncounted."""


def _backend() -> Any:
    return caches["default"]


def _file_based(backend: Any) -> bool:
    return isinstance(backend, FileBasedCache)


def _seconds(timeout: float) -> int:
    """A cache timeout in whole seconds, at least one (Redis truncates, and 0 deletes)."""
    return max(1, math.ceil(timeout))


@contextmanager
def cache_lock() -> Iterator[None]:
    """Run the block as one step with respect to every other ``cache_lock`` on this machine,
    where the cache needs it (the file-based cache; a no-op for the others). Re-entrant within
    a thread, so a caller may hold it around several counter calls."""
    backend = _backend()
    if not _file_based(backend) or getattr(_held, "locked", False):
        yield
        return
    folder = Path(backend._dir)
    folder.mkdir(parents=True, exist_ok=True)
    # The cache lists and culls ``*.djcache`` files only: the lock file is left alone. flock
    # also excludes the other threads of this process: each opens the file anew.
    with open(folder / LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _held.locked = True
        try:
            yield
        finally:
            _held.locked = False
            fcntl.flock(lock, fcntl.LOCK_UN)


def _file_entry(backend: Any, key: str, now: float) -> tuple[int, float] | None:
    """A file-cache counter's (count, expires_at), or None when there is none (or it is over)."""
    entry = backend.get(key)
    if not isinstance(entry, tuple) or len(entry) != 2 or entry[1] <= now:
        return None
    return int(entry[0]), float(entry[1])


def counter_add(key: str, *, timeout: float, delta: int = 1) -> int:
    """Add ``delta`` to the counter ``key`` and return its new value, in one step for every
    process and machine sharing the cache. A missing counter starts from 0 and expires
    ``timeout`` seconds from now; an existing one keeps its expiry. A negative ``delta`` (giving
    back an earlier claim) never creates a counter: on a missing one it returns 0.
    Raises ``CounterLost`` when the cache keeps dropping the counter mid-step."""
    backend = _backend()
    if _file_based(backend):
        with cache_lock():
            now = time.time()
            entry = _file_entry(backend, key, now)
            if entry is None:
                if delta <= 0:
                    return 0
                entry = (0, now + timeout)
            count = entry[0] + delta
            backend.set(key, (count, entry[1]), entry[1] - now)
            return count
    for _ in range(3):
        if delta > 0:
            backend.add(key, 0, _seconds(timeout))
        try:
            count = int(backend.incr(key, delta))
        except ValueError:  # missing: expired (or the cache was cleared) since the add
            if delta <= 0:
                return 0
            continue
        if count == delta:
            # This call started the counter. Redis's INCR on a key that expired just after the
            # EXISTS check of Django's incr creates it without expiry: set one either way.
            backend.touch(key, _seconds(timeout))
        return count
    raise CounterLost(key)


def counter_get(key: str) -> int:
    """The counter's value (0 when there is none)."""
    backend = _backend()
    if _file_based(backend):
        entry = _file_entry(backend, key, time.time())
        return 0 if entry is None else entry[0]
    return int(backend.get(key, 0) or 0)


def counter_extend(key: str, *, timeout: float) -> None:
    """Make the counter expire ``timeout`` seconds from now, keeping its value (nothing when
    there is no counter)."""
    backend = _backend()
    if _file_based(backend):
        with cache_lock():
            now = time.time()
            entry = _file_entry(backend, key, now)
            if entry is not None:
                backend.set(key, (entry[0], now + timeout), timeout)
        return
    backend.touch(key, _seconds(timeout))


def counter_delete(key: str) -> None:
    backend = _backend()
    with cache_lock():
        backend.delete(key)
