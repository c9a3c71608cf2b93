"""Sign-in throttling: too many failed sign-ins lock the user name (and, at 10× the limit, the
client address) for a while, so passwords cannot be guessed at speed.

Counts live in the shared cache (``settings.CACHES``) under a hash of the user name, never the
name itself. A window restarts at every failure: the lock lifts ``LOGIN_LOCKOUT_MINUTES`` after
the last failed attempt. A successful sign-in clears its user name's count. The per-address limit
stops one client from trying many names; the per-name limit stops many clients from trying one.
Locking a name can be used to keep its owner out for the window (the usual trade-off); the
lock is short and logged.
"""

from __future__ import annotations

import hashlib
import logging
import time

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)
ADDRESS_FACTOR = 10


def _key(kind: str, value: str) -> str:
    return "login-fail:" + kind + ":" + hashlib.sha256(value.encode()).hexdigest()[:32]


def _keys(username: str, address: str) -> list[tuple[str, int]]:
    limit = settings.LOGIN_FAILURE_LIMIT
    keys = [(_key("name", username.strip().casefold()), limit)]
    if address:
        keys.append((_key("addr", address), limit * ADDRESS_FACTOR))
    return keys


def _window() -> int:
    return settings.LOGIN_LOCKOUT_MINUTES * 60


def lockout_remaining(*, username: str, address: str) -> int:
    """Seconds until sign-in may be tried again for this name from this address; 0 if now."""
    now = time.time()
    remaining = 0.0
    for key, limit in _keys(username, address):
        count, last = cache.get(key, (0, 0.0))
        if count >= limit:
            remaining = max(remaining, last + _window() - now)
    return max(0, int(remaining + 0.999))


def login_failed(*, username: str, address: str) -> None:
    now = time.time()
    for key, limit in _keys(username, address):
        count, _ = cache.get(key, (0, 0.0))
        cache.set(key, (count + 1, now), _window())
        if count + 1 == limit:
            logger.warning("sign-in locked after %d failures (%s)", limit, key.split(":")[1])


def login_succeeded(*, username: str) -> None:
    cache.delete(_key("name", username.strip().casefold()))
