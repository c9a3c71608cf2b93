"""Sign-in throttling: five failures lock the user name for 15 minutes after the last one, the
form then answers 429 without checking any password, and a success clears the count."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from apps.accounts import throttle
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def alice():
    return UserFactory(username="alice")


def _login(client, username, password, address="10.0.0.1"):
    return client.post(
        reverse("accounts:login"),
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


def test_five_failures_lock_the_name_even_for_the_right_password(alice, settings):
    client = Client()
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        assert _login(client, "alice", "wrong").status_code == 200
    locked = _login(client, "alice", PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed sign-ins. Try again in 15 minutes." in locked.content.decode()
    assert 14 * 60 < int(locked["Retry-After"]) <= 15 * 60
    assert "_auth_user_id" not in client.session
    # the lock is per name: case and spaces don't get around it; another name is not locked
    assert _login(client, " ALICE ", PASSWORD).status_code == 429
    UserFactory(username="bob")
    assert _login(Client(), "bob", PASSWORD).status_code == 302


def test_the_lock_lifts_when_the_window_since_the_last_failure_has_passed(alice, monkeypatch):
    now = [1_000_000.0]
    monkeypatch.setattr(throttle.time, "time", lambda: now[0])
    for _ in range(5):
        _login(Client(), "alice", "wrong")
    now[0] += 14 * 60
    assert _login(Client(), "alice", PASSWORD).status_code == 429
    now[0] += 61
    assert _login(Client(), "alice", PASSWORD).status_code == 302


def test_a_success_clears_the_count(alice):
    for _ in range(4):
        _login(Client(), "alice", "wrong")
    assert _login(Client(), "alice", PASSWORD).status_code == 302
    for _ in range(4):
        _login(Client(), "alice", "wrong")
    assert _login(Client(), "alice", PASSWORD).status_code == 302


def test_one_address_trying_many_names_is_locked_too(alice, settings):
    for i in range(settings.LOGIN_FAILURE_LIMIT * throttle.ADDRESS_FACTOR):
        _login(Client(), f"user{i}", "guess", address="203.0.113.9")
    assert _login(Client(), "alice", PASSWORD, address="203.0.113.9").status_code == 429
    assert _login(Client(), "alice", PASSWORD, address="198.51.100.1").status_code == 302


def test_the_counts_are_stored_under_a_hash_not_the_name(alice):
    _login(Client(), "alice", "wrong")
    key = throttle._key("name", "alice")
    assert "alice" not in key and cache.get(key)[0] == 1
