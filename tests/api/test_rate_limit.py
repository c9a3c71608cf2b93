"""The API's request budget holds under parallel requests: exactly the limit passes, the rest get
429 with ``Retry-After`` — with the file-based cache (one machine) and with Redis (several)."""

from __future__ import annotations

import threading
import time
import types
from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import pytest
import requests
from django.core.cache import caches
from django.test import override_settings
from django.urls import reverse

from apps.api.throttling import TokenRateThrottle
from tests.faults.processes import private_redis

LIMIT = 7
PARALLEL = 24


@pytest.fixture(params=["files", "redis"])
def shared_cache(request, tmp_path):
    """The cache the web processes share: files (one machine), or a private redis-server (the
    setting is restored here, before the suite's own cache.clear() runs at teardown)."""
    if request.param == "files":
        backend = {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
        with override_settings(CACHES={"default": backend}):
            yield request.param
        return
    with private_redis(tmp_path) as redis:
        backend = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis.url}
        with override_settings(CACHES={"default": backend}):
            assert type(caches["default"]).__name__ == "RedisCache"
            yield request.param


def burst(url: str, token: str, n: int) -> list[requests.Response]:
    barrier = threading.Barrier(n)

    def get(_: int) -> requests.Response:
        with requests.Session() as http:
            barrier.wait(timeout=30)
            return http.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=60)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(get, range(n)))


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_parallel_requests_get_exactly_the_limit_and_the_rest_429(
    live_server, shared_cache, read_token, scenario
):
    url = live_server.url + reverse("api:program-list")
    with mock.patch.object(TokenRateThrottle, "THROTTLE_RATES", {"api": f"{LIMIT}/hour"}):
        responses = burst(url, read_token, PARALLEL)
        after = requests.get(url, headers={"Authorization": f"Bearer {read_token}"}, timeout=60)
    assert len(responses) == PARALLEL
    passed = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code == 429]
    assert len(passed) == LIMIT, sorted(r.status_code for r in responses)
    assert len(refused) == PARALLEL - LIMIT
    assert all(r.json()["results"][0]["id"] == scenario.program_id for r in passed)
    for r in refused:
        assert r.json()["error"]["code"] == "throttled"
        assert 1 <= int(r.headers["Retry-After"]) <= 3600
    assert after.status_code == 429  # the window is spent, also after the burst


@pytest.mark.django_db
def test_a_new_window_opens_when_the_old_one_closes(reader, scenario):
    clock = [1000.0]
    with (
        mock.patch.object(TokenRateThrottle, "THROTTLE_RATES", {"api": "2/min"}),
        mock.patch.object(TokenRateThrottle, "timer", lambda self: clock[0]),
    ):
        url = reverse("api:program-list")
        codes = [reader.get(url).status_code for _ in range(3)]
        clock[0] += 30
        late = reader.get(url)
        clock[0] += 31  # 61 s after the first request: its window has closed
        fresh = reader.get(url)
    assert codes == [200, 200, 429]
    assert late.status_code == 429 and int(late["Retry-After"]) == 30
    assert fresh.status_code == 200


@pytest.mark.django_db
def test_a_long_window_keeps_its_count_in_the_file_cache(reader, scenario, tmp_path):
    """Django's file cache resets an entry's expiry to five minutes on ``incr``: a quiet spell of
    ten minutes inside an hour's window must not forget the requests already made."""
    from django.core.cache.backends import base, filebased

    clock = types.SimpleNamespace(now=time.time())
    fake_time = types.SimpleNamespace(time=lambda: clock.now)
    backend = {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(tmp_path / "cache"),
    }
    with (
        override_settings(CACHES={"default": backend}),
        mock.patch.object(TokenRateThrottle, "THROTTLE_RATES", {"api": "2/hour"}),
        mock.patch.object(TokenRateThrottle, "timer", lambda self: clock.now),
        mock.patch.object(base, "time", fake_time),
        mock.patch.object(filebased, "time", fake_time),
    ):
        url = reverse("api:program-list")
        first = [reader.get(url).status_code for _ in range(2)]
        clock.now += 600
        later = reader.get(url)
        clock.now += 3000  # past the hour: a new window
        fresh = reader.get(url)
    assert first == [200, 200]
    assert later.status_code == 429 and int(later["Retry-After"]) == 3000
    assert fresh.status_code == 200
