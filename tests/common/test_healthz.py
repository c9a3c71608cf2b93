import pytest
from django.urls import reverse

from apps.common import health
from llmplanner.celery import app as celery_app

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_live_worker(monkeypatch):
    monkeypatch.setattr(celery_app.control, "ping", lambda **kwargs: [{"w1@host": {"ok": "pong"}}])


@pytest.fixture
def no_live_worker(monkeypatch):
    monkeypatch.setattr(celery_app.control, "ping", lambda **kwargs: [])


def test_it_reports_ok_when_database_broker_and_a_worker_are_up(client, one_live_worker):
    response = client.get(reverse("healthz"))
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


def test_it_returns_503_when_the_database_is_down(client, one_live_worker, monkeypatch):
    def broken_cursor():
        raise RuntimeError("database unreachable")

    monkeypatch.setattr(health.connection, "cursor", broken_cursor)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == {
        "ok": False,
        "detail": "RuntimeError: database unreachable",
    }


def test_it_returns_503_when_the_broker_is_down(client, one_live_worker, monkeypatch):
    def broken_connection():
        raise ConnectionRefusedError("broker unreachable")

    monkeypatch.setattr(celery_app, "connection_for_write", broken_connection)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False


def test_it_returns_503_when_the_ping_itself_fails(client, monkeypatch):
    def broken_ping(**kwargs):
        raise OSError("no route")

    monkeypatch.setattr(celery_app.control, "ping", broken_ping)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert "OSError" in response.json()["checks"]["workers"]["detail"]


def test_it_answers_only_get(client, one_live_worker):
    response = client.post(reverse("healthz"))
    assert response.status_code == 405
    assert response["Allow"] == "GET"
