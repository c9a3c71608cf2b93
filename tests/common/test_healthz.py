import pytest
from django.urls import reverse

from apps.common import health
from llmplanner.celery import app as celery_app
from tests.accounts.factories import MembershipFactory, UserFactory
from tests.conftest import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_live_worker(monkeypatch):
    monkeypatch.setattr(celery_app.control, "ping", lambda **kwargs: [{"w1@host": {"ok": "pong"}}])


@pytest.fixture
def two_live_workers(monkeypatch):
    replies = [
        {"w1@gpu-host-a.internal": {"ok": "pong"}},
        {"w2@gpu-host-b.internal": {"ok": "pong"}},
    ]
    monkeypatch.setattr(celery_app.control, "ping", lambda **kwargs: replies)


@pytest.fixture
def staff_client():
    return login(UserFactory(is_staff=True))


@pytest.fixture
def no_live_worker(monkeypatch):
    monkeypatch.setattr(celery_app.control, "ping", lambda **kwargs: [])


def test_it_reports_ok_when_database_broker_and_a_worker_are_up(staff_client, one_live_worker):
    response = staff_client.get(reverse("healthz"))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "broker": True,
        "workers": True,
    }
    assert "w1@host" in body["checks"]["workers"]["detail"]


def test_it_needs_no_login(client, one_live_worker):
    response = client.get(reverse("healthz"))  # not the login page's redirect: the checks
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["status"] == "ok"


def test_it_returns_503_when_no_worker_answers(client, no_live_worker):
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["checks"]["workers"]["ok"] is False


class BrokenConnection:
    """Stands in for the health check's database connection only (sessions still work)."""

    def cursor(self):
        raise RuntimeError("database unreachable at db-7.internal")


def test_it_returns_503_when_the_database_is_down(
    client, staff_client, one_live_worker, monkeypatch
):
    monkeypatch.setattr(health, "connection", BrokenConnection())
    response = staff_client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == {
        "ok": False,
        "detail": "RuntimeError: database unreachable at db-7.internal",
    }
    # Anonymous callers learn that it is down, not what the error said.
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == {"ok": False, "detail": "unavailable"}


def test_it_returns_503_when_the_broker_is_down(client, one_live_worker, monkeypatch):
    def broken_connection():
        raise ConnectionRefusedError("broker unreachable")

    monkeypatch.setattr(celery_app, "connection_for_write", broken_connection)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False


def test_it_returns_503_when_the_ping_itself_fails(client, staff_client, monkeypatch):
    def broken_ping(**kwargs):
        raise OSError("no route")

    monkeypatch.setattr(celery_app.control, "ping", broken_ping)
    response = staff_client.get(reverse("healthz"))
    assert response.status_code == 503
    assert "OSError" in response.json()["checks"]["workers"]["detail"]
    anonymous = client.get(reverse("healthz")).json()["checks"]["workers"]
    assert anonymous == {"ok": False, "detail": "unavailable"}


def test_it_answers_only_get(client, one_live_worker):
    response = client.post(reverse("healthz"))
    assert response.status_code == 405
    assert response["Allow"] == "GET"


def test_anonymous_callers_get_the_number_of_workers_but_not_their_host_names(
    client, two_live_workers
):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    body = response.json()
    assert body["checks"]["workers"] == {"ok": True, "detail": "2 live", "count": 2}
    assert "gpu-host" not in response.content.decode()


def test_a_signed_in_member_who_is_not_staff_gets_no_host_names_either(client, two_live_workers):
    member = login(MembershipFactory(role="owner").user)
    response = member.get(reverse("healthz"))
    assert response.json()["checks"]["workers"]["count"] == 2
    assert "gpu-host" not in response.content.decode()


def test_staff_see_the_workers_host_names(staff_client, two_live_workers):
    workers = staff_client.get(reverse("healthz")).json()["checks"]["workers"]
    assert workers == {
        "ok": True,
        "detail": "2 live: w1@gpu-host-a.internal, w2@gpu-host-b.internal",
        "count": 2,
    }


def test_anonymous_callers_do_not_see_the_broker_error(client, one_live_worker, monkeypatch):
    def broken_connection():
        raise ConnectionRefusedError("redis at cache-3.internal:6379 refused")

    monkeypatch.setattr(celery_app, "connection_for_write", broken_connection)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == {"ok": False, "detail": "unavailable"}
    assert "cache-3" not in response.content.decode()
