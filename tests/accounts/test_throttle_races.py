"""The sign-in and password-reset throttles hold under parallel requests: each attempt is
claimed with an atomic counter before any password is checked (or any mail sent), so a burst
gets exactly the limit through — with the file-based cache (one machine) and with Redis (several).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.cache import caches
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import RequestFactory, override_settings

from apps.accounts import throttle
from apps.accounts.backends import ThrottledModelBackend
from apps.accounts.models import username_key
from apps.common.counters import counter_get
from tests.accounts.factories import UserFactory
from tests.faults.processes import private_redis

PARALLEL = 24
RIGHT = "the right password 777"


class SlowHasher(PBKDF2PasswordHasher):
    """A password check of some milliseconds, as in production (the suite's MD5 takes none), so
    parallel guesses overlap while their passwords are being checked."""

    algorithm = "pbkdf2_sha256_test_slow"
    iterations = 60_000


@pytest.fixture(params=["files", "redis"])
def shared_cache(request, tmp_path):
    """The cache the web processes share: files, or a private redis-server."""
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


def _parallel(n, work):
    barrier = threading.Barrier(n)

    def run(i):
        try:
            barrier.wait(timeout=30)
            return work(i)
        finally:
            connection.close()

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def _sign_in(username, password, address):
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR=address)
    try:
        user = ThrottledModelBackend().authenticate(request, username=username, password=password)
    except PermissionDenied:
        return "refused"
    return "accepted" if user is not None else "checked and wrong"


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(180)
def test_parallel_wrong_passwords_get_only_the_limit_checked(shared_cache, settings):
    settings.PASSWORD_HASHERS = [f"{__name__}.SlowHasher"]
    user = UserFactory(username="victim")
    user.set_password(RIGHT)
    user.save()
    limit = settings.LOGIN_FAILURE_LIMIT
    # look-alike spellings share the name's one budget
    spellings = ["victim", "VICTIM", "ｖｉｃｔｉｍ", " Victim "]

    def guess(i):
        return _sign_in(spellings[i % len(spellings)], f"wrong-{i}", f"10.0.0.{i}")

    outcomes = _parallel(PARALLEL, guess)
    assert len(outcomes) == PARALLEL
    assert outcomes.count("checked and wrong") == limit, outcomes
    assert outcomes.count("refused") == PARALLEL - limit
    # the name is locked now, for the right password too, and its count is exactly the failures
    assert _sign_in("victim", RIGHT, "10.9.9.9") == "refused"
    assert counter_get(throttle._key("name", username_key("victim"))) == limit


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_parallel_reset_requests_pass_exactly_the_limit(shared_cache, settings):
    limit = settings.LOGIN_FAILURE_LIMIT
    waits = _parallel(
        PARALLEL,
        lambda i: throttle.password_reset_request(email="alice@example.com", address=f"10.1.{i}.1"),
    )
    assert len(waits) == PARALLEL
    assert waits.count(0) == limit, waits
    assert all(0 < w <= settings.LOGIN_LOCKOUT_MINUTES * 60 for w in waits if w)
    assert throttle.password_reset_request(email="ALICE@example.com", address="10.2.0.1") > 0


@pytest.mark.django_db
def test_successful_sign_ins_from_one_address_never_lock_it(settings):
    # Every attempt is claimed before its password is checked; a success gives its claim back,
    # so an office behind one address signing in all day is never locked out.
    user = UserFactory(username="alice2")
    user.set_password(RIGHT)
    user.save()
    for _ in range(settings.LOGIN_FAILURE_LIMIT * throttle.ADDRESS_FACTOR + 3):
        assert _sign_in("alice2", RIGHT, "192.0.2.1") == "accepted"
    assert _sign_in("alice2", "wrong", "192.0.2.1") == "checked and wrong"
