"""Password change (signed in) and reset by e-mail: the reset answers alike whether or not an
account has the address, its link sets a new password once, and requests are throttled."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tests.accounts.factories import UserFactory
from tests.conftest import login

pytestmark = pytest.mark.django_db
OLD = "correct horse battery staple"
NEW = "a fresh and unusual passphrase 42"


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def _signs_in(username: str, password: str) -> bool:
    client = Client()
    client.post(reverse("accounts:login"), {"username": username, "password": password})
    return "_auth_user_id" in client.session


def test_a_signed_in_user_changes_their_password_and_stays_signed_in():
    user = UserFactory(username="alice")
    client = login(user)
    page = client.get(reverse("accounts:password_change"))
    assert page.status_code == 200 and "Change password" in page.content.decode()
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": OLD, "new_password1": NEW, "new_password2": NEW},
    )
    assert response["Location"] == reverse("accounts:password_change_done")
    assert client.get(reverse("portfolio:home")).status_code == 200
    assert _signs_in("alice", NEW) and not _signs_in("alice", OLD)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"old_password": "wrong", "new_password1": NEW, "new_password2": NEW}, "old_password"),
        ({"old_password": OLD, "new_password1": NEW, "new_password2": NEW + "x"}, "new_password2"),
        ({"old_password": OLD, "new_password1": "123", "new_password2": "123"}, "new_password2"),
    ],
)
def test_a_bad_change_names_the_field_and_keeps_the_password(data, field):
    user = UserFactory(username="alice")
    response = login(user).post(reverse("accounts:password_change"), data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert _signs_in("alice", OLD)


def test_the_password_change_page_needs_a_sign_in():
    response = Client().get(reverse("accounts:password_change"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_the_menu_and_the_sign_in_page_link_to_the_password_pages():
    assert (
        reverse("accounts:password_reset")
        in Client().get(reverse("accounts:login")).content.decode()
    )
    page = login(UserFactory()).get(reverse("portfolio:home")).content.decode()
    assert reverse("accounts:password_change") in page


def test_a_reset_link_by_e_mail_sets_a_new_password_once():
    UserFactory(username="alice", email="alice@example.com")
    client = Client()
    response = client.post(reverse("accounts:password_reset"), {"email": "alice@example.com"})
    assert response["Location"] == reverse("accounts:password_reset_done")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["alice@example.com"]
    assert "alice" in mail.outbox[0].body
    link = re.search(r"https?://[^/\s]+(/\S+)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.context["validlink"] is True
    done = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW}
    )
    assert done["Location"] == reverse("accounts:password_reset_complete")
    assert _signs_in("alice", NEW) and not _signs_in("alice", OLD)
    again = Client().get(link, follow=True)
    assert again.context["validlink"] is False
    assert "This link is invalid" in again.content.decode()


def test_an_unknown_address_gets_the_same_answer_and_no_mail():
    UserFactory(username="alice", email="alice@example.com")
    known = Client().post(reverse("accounts:password_reset"), {"email": "alice@example.com"})
    unknown = Client().post(reverse("accounts:password_reset"), {"email": "bob@example.com"})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


def test_a_malformed_address_is_refused_naming_the_field():
    response = Client().post(reverse("accounts:password_reset"), {"email": "not an address"})
    assert response.status_code == 400 and "email" in response.context["form"].errors
    assert mail.outbox == []


@pytest.mark.parametrize("email", ["alice@example.com", "nobody@example.com"])
def test_reset_requests_are_throttled_alike_for_known_and_unknown_addresses(email, settings):
    UserFactory(username="alice", email="alice@example.com")
    for i in range(settings.LOGIN_FAILURE_LIMIT):
        answer = Client().post(
            reverse("accounts:password_reset"), {"email": email}, REMOTE_ADDR=f"10.0.1.{i}"
        )
        assert answer.status_code == 302
    sent = len(mail.outbox)
    refused = Client().post(
        reverse("accounts:password_reset"), {"email": email.upper()}, REMOTE_ADDR="10.0.2.1"
    )
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Too many reset requests" in refused.content.decode()
    assert len(mail.outbox) == sent


def test_one_client_cannot_send_resets_to_many_addresses(settings):
    from apps.accounts import throttle

    for i in range(settings.LOGIN_FAILURE_LIMIT * throttle.ADDRESS_FACTOR):
        Client().post(
            reverse("accounts:password_reset"),
            {"email": f"x{i}@example.com"},
            REMOTE_ADDR="10.3.0.1",
        )
    refused = Client().post(
        reverse("accounts:password_reset"), {"email": "new@example.com"}, REMOTE_ADDR="10.3.0.1"
    )
    assert refused.status_code == 429


def _change(client, old):
    return client.post(
        reverse("accounts:password_change"),
        {"old_password": old, "new_password1": NEW, "new_password2": NEW},
        REMOTE_ADDR="10.4.0.1",
    )


def test_wrong_old_passwords_lock_the_password_change_like_sign_in(settings):
    # The finding: the old-password check was an unthrottled oracle (30 wrong, then the right
    # one worked). Now a wrong old password is a failed sign-in of the name.
    user = UserFactory(username="alice")
    client = login(user)
    for i in range(settings.LOGIN_FAILURE_LIMIT):
        wrong = _change(client, f"guess {i}")
        assert wrong.status_code == 400 and "old_password" in wrong.context["form"].errors
    locked = _change(client, OLD)
    assert locked.status_code == 429
    assert 14 * 60 < int(locked["Retry-After"]) <= 15 * 60
    assert "Too many failed sign-ins. Try again in 15 minutes." in locked.content.decode()
    assert "old_password" in locked.context["form"].errors
    user.refresh_from_db()
    assert user.check_password(OLD) and not user.check_password(NEW)
    # the same budget as the sign-in form's: the name is locked there too
    signin = Client().post(
        reverse("accounts:login"), {"username": "alice", "password": OLD}, REMOTE_ADDR="10.5.0.1"
    )
    assert signin.status_code == 429


def test_failed_sign_ins_lock_the_password_change_too(settings):
    user = UserFactory(username="alice")
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        Client().post(reverse("accounts:login"), {"username": "ALICE", "password": "wrong"})
    locked = _change(login(user), OLD)
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
    user.refresh_from_db()
    assert user.check_password(OLD)


def test_a_right_old_password_clears_the_count(settings):
    user = UserFactory(username="alice")
    client = login(user)
    for i in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert _change(client, f"guess {i}").status_code == 400
    assert _change(client, OLD)["Location"] == reverse("accounts:password_change_done")
    # the count starts again: the limit's worth of wrong passwords before the next lock
    for i in range(settings.LOGIN_FAILURE_LIMIT - 1):
        Client().post(reverse("accounts:login"), {"username": "alice", "password": f"w{i}"})
    assert _signs_in("alice", NEW)
