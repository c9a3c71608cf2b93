"""Sign-in throttling: five failures lock the user name for 15 minutes after the last one, the
form then answers 429 without checking any password, and a success clears the count."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from apps.accounts import throttle
from apps.common.counters import counter_get
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
    assert "alice" not in key and counter_get(key) == 1


def test_a_fullwidth_spelling_of_a_locked_name_is_locked_too(settings):
    UserFactory(username="victim")
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        _login(Client(), "victim", "wrong")
    client = Client()
    locked = _login(client, "ｖｉｃｔｉｍ", PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_look_alike_spellings_share_one_budget(settings):
    UserFactory(username="victim")
    spellings = ["victim", "ｖｉｃｔｉｍ", "VICTIM", "Ｖｉｃｔｉｍ", " victim"]
    assert len(spellings) >= settings.LOGIN_FAILURE_LIMIT
    for name in spellings[: settings.LOGIN_FAILURE_LIMIT]:
        _login(Client(), name, "wrong", address=f"10.0.0.{len(name)}")
    assert _login(Client(), "victim", PASSWORD, address="10.9.9.9").status_code == 429


def test_a_mixed_case_user_signs_in_with_any_case_of_the_name():
    user = UserFactory(username="MixedCase")
    for name in ["MixedCase", "mixedcase", "MIXEDCASE", "ｍｉｘｅｄｃａｓｅ"]:
        client = Client()
        response = _login(client, name, PASSWORD)
        assert response.status_code == 302, name
        assert client.session["_auth_user_id"] == str(user.pk)


def test_two_existing_look_alike_accounts_each_sign_in_with_their_exact_name():
    # Created before names were normalised (straight into the table, as an old database has them).
    upper = UserFactory(username="Twin")
    lower = UserFactory(username="twin")
    for user in (upper, lower):
        client = Client()
        assert _login(client, user.username, PASSWORD).status_code == 302
        assert client.session["_auth_user_id"] == str(user.pk)
    # an ambiguous spelling signs in as neither
    client = Client()
    assert _login(client, "TWIN", PASSWORD).status_code == 200
    assert "_auth_user_id" not in client.session


def test_the_admin_login_is_locked_after_the_limit(settings):
    UserFactory(username="root", is_staff=True, is_superuser=True)
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        wrong = Client().post(
            "/admin/login/", {"username": "root", "password": "wrong"}, REMOTE_ADDR="10.0.0.7"
        )
        assert wrong.status_code == 200 and "_auth_user_id" not in wrong.client.session
    client = Client()
    locked = client.post(
        "/admin/login/", {"username": "root", "password": PASSWORD}, REMOTE_ADDR="10.0.0.8"
    )
    assert "Too many failed sign-ins" in locked.content.decode()
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session
    # the admin's failures count for the site's form too: one budget per name
    assert _login(Client(), "root", PASSWORD).status_code == 429


def test_admin_and_site_failures_add_up():
    UserFactory(username="root", is_staff=True, is_superuser=True)
    for _ in range(3):
        _login(Client(), "root", "wrong")
    for _ in range(2):
        Client().post("/admin/login/", {"username": "root", "password": "wrong"})
    client = Client()
    client.post("/admin/login/", {"username": "root", "password": PASSWORD})
    assert "_auth_user_id" not in client.session


def test_lockout_remaining_reads_the_lock_without_claiming(alice, settings):
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        _login(Client(), "alice", "wrong")
    for _ in range(3):  # a read claims nothing
        assert throttle.lockout_remaining(username="alice", address="") == 0
    _login(Client(), "alice", "wrong")
    assert 14 * 60 < throttle.lockout_remaining(username="ALICE", address="") <= 15 * 60
