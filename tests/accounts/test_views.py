import pytest
from django.urls import reverse

from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def test_it_serves_the_login_page_without_a_login(client):
    response = client.get(reverse("accounts:login"))
    assert response.status_code == 200
    assert b"Log in" in response.content


def test_it_sends_anonymous_visitors_to_the_login_page(client):
    response = client.get(reverse("portfolio:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_it_logs_in_with_username_and_password(client):
    user = UserFactory()
    response = client.post(
        reverse("accounts:login"), {"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("portfolio:home")


def test_it_rejects_a_wrong_password(client):
    user = UserFactory()
    response = client.post(
        reverse("accounts:login"), {"username": user.username, "password": "wrong"}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_it_logs_out_on_post(client):
    client.force_login(UserFactory())
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert client.get(reverse("portfolio:home")).status_code == 302


def test_it_protects_the_admin(client):
    response = client.get("/admin/")
    assert response.status_code == 302
