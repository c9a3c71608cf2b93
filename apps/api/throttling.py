from __future__ import annotations

from typing import Any

from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from apps.accounts.models import ApiToken
from apps.common.counters import CounterLost, cache_lock, counter_add


class TokenRateThrottle(SimpleRateThrottle):
    """A request budget per API token (per user for sessions): ``API_RATE_LIMIT``.

    A window opens at a client's first request and lasts the rate's period (a minute for
    ``600/min``); its requests are counted with the cache's atomic increment, so parallel
    requests — in threads, processes or machines sharing the cache — never pass the limit
    together. A refusal carries ``Retry-After``: the seconds until the window closes.
    """

    scope = "api"

    def get_cache_key(self, request: Request, view: Any) -> str:
        if isinstance(request.auth, ApiToken):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        self.now = self.timer()
        self.window_end = self.now + self.duration
        # One step for the window's start and its counter (``cache_lock``: the file cache's
        # ``add`` is a read then a write).
        with cache_lock():
            count = self._count(key)
        return count <= self.num_requests

    def _count(self, key: str) -> int:
        """This request's number in its client's current window (1 for the first)."""
        for _ in range(3):
            # The window's start is stored once (add is "set if absent"); the counter's key
            # names the window, so a new window counts from 0 without a reset that could race.
            cache.add(f"{key}:start", self.now, self.duration)
            start = cache.get(f"{key}:start")
            if start is None:  # expired between the two calls: open the next window
                continue
            # Windows follow each other from the stored start, by this process's clock (the
            # start's expiry in the cache normally opens the next one first).
            start = float(start)
            start += max(0, int((self.now - start) // self.duration)) * self.duration
            self.window_end = start + self.duration
            counter = f"{key}:{start!r}"
            try:
                return counter_add(counter, timeout=self.window_end - self.now + 1)
            except CounterLost:  # the counter expired (or the cache was cleared) meanwhile
                continue
        return self.num_requests + 1  # the cache keeps losing the keys: refuse, never let through

    def wait(self) -> float | None:
        """Seconds until the window closes, so that every 429 carries ``Retry-After``."""
        # Clamped: a parallel request may have stored a start a moment after this one's clock.
        return min(float(self.duration), max(1.0, self.window_end - self.now))
