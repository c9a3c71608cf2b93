"""Sign-in throttling: too many failed sign-ins lock the user name (and, at 10× the limit, the
client address) for a while, so passwords cannot be guessed at speed.

Counts live in the shared cache (``settings.CACHES``) under a hash of the user name, never the
name itself, in its normal form (``apps.accounts.models.username_key``: NFKC + case folding), so
``ｖｉｃｔｉｍ``, ``VICTIM`` and ``victim`` — which all sign in as one user — share one count. Every
password check of a signed-out or signed-in user (the site's and the admin's sign-in through
``ThrottledModelBackend``, the old password of the password-change form) first claims an attempt
with ``login_attempt_claim``: an atomic increment (``apps.common.counters``), so parallel
requests can neither all see a count under the limit nor overwrite each other's counts. A claim
over the limit is refused before any password is checked and given back, so refusals neither
count nor extend the window. A wrong password keeps its claim (``login_failed``) and restarts the
window: the lock lifts ``LOGIN_LOCKOUT_MINUTES`` after the last failed attempt. A right one
(``login_succeeded``) clears its user name's count and gives the address's claim back. The
per-address limit stops one client from trying many names; the per-name limit stops many
clients from trying one. Locking a name can be used to keep its owner out for the window (the
usual trade-off); the lock is short and logged.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from django.conf import settings
from django.core.cache import cache

from apps.accounts.models import username_key
from apps.common.counters import (
    CounterLost,
    counter_add,
    counter_delete,
    counter_extend,
    counter_get,
)

logger = logging.getLogger(__name__)
ADDRESS_FACTOR = 10


def _key(kind: str, value: str) -> str:
    return "login-fail:" + kind + ":" + hashlib.sha256(value.encode()).hexdigest()[:32]


def _name_key(username: str) -> str:
    return _key("name", username_key(username))


def _keys(username: str, address: str) -> list[tuple[str, int]]:
    limit = settings.LOGIN_FAILURE_LIMIT
    keys = [(_name_key(username), limit)]
    if address:
        keys.append((_key("addr", address), limit * ADDRESS_FACTOR))
    return keys


def _window() -> int:
    return settings.LOGIN_LOCKOUT_MINUTES * 60


def _claim(keys: list[tuple[str, int]], since_suffix: str) -> float:
    """Add one to each counter; when any is over its limit, give all the additions back and
    return the seconds until every lock has lifted (a window after the time stored under
    ``key + since_suffix``; the whole window when none is stored yet, at least 1); else 0."""
    window = _window()
    now = time.time()
    claimed: list[str] = []
    wait = 0.0
    for key, limit in keys:
        try:
            count = counter_add(key, timeout=window)
        except CounterLost:  # the cache keeps dropping it: refuse rather than not count
            count = limit + 1
        else:
            claimed.append(key)
        if count > limit:
            since = cache.get(key + since_suffix)
            wait = max(wait, window if since is None else float(since) + window - now, 1.0)
    if wait:
        for key in claimed:
            counter_add(key, timeout=window, delta=-1)
    return wait


def lockout_remaining(*, username: str, address: str) -> int:
    """Seconds until sign-in may be tried again for this name from this address; 0 if now.
    A read only (it claims nothing): a password check goes through ``login_attempt_claim``."""
    now = time.time()
    remaining = 0.0
    for key, limit in _keys(username, address):
        if counter_get(key) >= limit:
            last = cache.get(key + ":last")
            remaining = max(remaining, _window() if last is None else last + _window() - now)
    return max(0, math.ceil(remaining))


def login_attempt_claim(*, username: str, address: str) -> int:
    """Claim one password check for this user name from this address, before checking it.

    Returns 0 when the check may go ahead — the claim then counts as a failure until
    ``login_succeeded`` gives it back — or the seconds to wait while the name or the address is
    locked (nothing counted)."""
    return math.ceil(_claim(_keys(username, address), ":last"))


def login_failed(*, username: str, address: str) -> None:
    """The claimed check found a wrong password: the claim stays, and the lock's window
    restarts now."""
    now = time.time()
    for key, _limit in _keys(username, address):
        counter_extend(key, timeout=_window())
        cache.set(key + ":last", now, _window())
    if counter_get(_name_key(username)) == settings.LOGIN_FAILURE_LIMIT:
        logger.warning("sign-in locked after %d failures (name)", settings.LOGIN_FAILURE_LIMIT)


def login_succeeded(*, username: str, address: str = "") -> None:
    """The claimed check found the right password: the name's count is cleared and the
    address's claim given back (a busy office behind one address is never locked by its
    successful sign-ins)."""
    counter_delete(_name_key(username))
    if address:
        counter_add(_key("addr", address), timeout=_window(), delta=-1)


def client_address(request: object) -> str:
    """The address a sign-in counts against (``REMOTE_ADDR``; empty without a request)."""
    meta = getattr(request, "META", None) or {}
    return str(meta.get("REMOTE_ADDR", ""))


def password_reset_request(*, email: str, address: str) -> int:
    """Count a password-reset request; the seconds to wait if this one is over the limit, else 0.

    Every request counts, whether or not an account has the address, so the answer says
    nothing about which addresses exist: ``LOGIN_FAILURE_LIMIT`` requests per address typed and
    10× that per client address within ``LOGIN_LOCKOUT_MINUTES`` of the first (a refused request
    neither counts nor extends the window), so the form can neither flood an inbox nor be used
    to send mail at speed. Counted atomically, so parallel requests get exactly the limit.
    """
    limit = settings.LOGIN_FAILURE_LIMIT
    keys = [(_key("reset-mail", email.strip().casefold()), limit)]
    if address:
        keys.append((_key("reset-addr", address), limit * ADDRESS_FACTOR))
    now = time.time()
    for key, _limit in keys:
        # When the window opened (add: only the first request of a window stores it).
        cache.add(key + ":since", now, _window())
    return math.ceil(_claim(keys, ":since"))
