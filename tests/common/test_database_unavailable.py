"""A locked or unreachable database answers 503 with Retry-After, never a 500.

Another connection holds the write lock for real: on SQLite a second connection to the test
database's file in ``BEGIN IMMEDIATE`` (the app's write then waits the busy timeout and fails
with "database is locked"); on Postgres a second connection holding ``LOCK TABLE … ACCESS
EXCLUSIVE`` while the app's connection has a ``lock_timeout`` (Postgres waits for a lock forever
by default). Tests run outside a transaction (``transaction=True``): pytest-django's wrapping
transaction would itself hold SQLite's write lock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client, RequestFactory
from django.urls import reverse

from apps.accounts.services import api_token_create
from apps.common.database import RETRY_AFTER_S, database_unavailable
from apps.common.middleware import DatabaseUnavailableMiddleware
from apps.programs.services import program_create_from_blueprint
from apps.runs.models import PlanRun
from tests.conftest import login
from tests.runs.worker_process import database_url_of_test_db

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def write_lock_held_elsewhere() -> Iterator[None]:
    """Another connection holds the lock every write of the app needs, until the block ends."""
    if connection.vendor == "sqlite":
        other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None, timeout=5)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()
        return
    with psycopg.connect(database_url_of_test_db(), connect_timeout=5) as other:
        other.execute(f"LOCK TABLE {PlanRun._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '1s'")
        try:
            yield
        finally:
            other.rollback()
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")


@pytest.fixture
def scenario(owner, organization):
    program = program_create_from_blueprint(
        user=owner, organization=organization, key="sft-7b-10k-instructions"
    )
    return program.scenarios.get()


def test_the_api_answers_503_with_retry_after_in_its_envelope_while_the_database_is_locked(
    client, owner, organization, scenario
):
    token = api_token_create(user=owner, organization=organization, name="t", scope="write")[1]
    url = reverse("api:scenario-start-run", args=[scenario.pk])
    headers = {"Authorization": f"Bearer {token}"}
    with write_lock_held_elsewhere():
        response = client.post(url, {"seed": 7, "trials": 50}, "application/json", headers=headers)
    assert response.status_code == 503, response.content[:500]
    assert response["Retry-After"] == str(RETRY_AFTER_S)
    assert response.json() == {
        "error": {
            "code": "database_unavailable",
            "message": "The database is busy or unavailable. Please try again in a few seconds.",
            "fields": {},
        }
    }
    assert not PlanRun.objects.exists()
    # The lock released, the same request goes through.
    response = client.post(url, {"seed": 7, "trials": 50}, "application/json", headers=headers)
    assert response.status_code == 202
    assert PlanRun.objects.get().seed == 7


def test_a_page_answers_503_with_retry_after_in_plain_text_while_the_database_is_locked(
    owner, scenario
):
    browser = login(owner)  # the session is stored before the lock is taken
    with write_lock_held_elsewhere():
        response = browser.post(reverse("runs:plan_run_start", args=[scenario.pk]))
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_S)
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "try again in a few seconds" in response.content.decode()
    assert not PlanRun.objects.exists()


class WritesOnTheWayOut:
    """A middleware that writes after the view, as the session's save does: its failure never
    reaches ``process_exception``."""

    def __init__(self, get_response):  # type: ignore[no-untyped-def]
        self.get_response = get_response

    def __call__(self, request):  # type: ignore[no-untyped-def]
        response = self.get_response(request)
        with transaction.atomic():
            PlanRun.objects.filter(pk=-1).update(progress=0)
        return response


@pytest.mark.parametrize(
    ("url", "content_type"),
    [("/api/schema/", "application/json"), ("/accounts/login/", "text/plain; charset=utf-8")],
)
def test_a_middleware_failing_on_the_lock_answers_503_too(settings, url, content_type):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.WritesOnTheWayOut"]
    client = Client(raise_request_exception=False)  # the 500 Django made is what we replace
    with write_lock_held_elsewhere():
        response = client.get(url)
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_S)
    assert response["Content-Type"] == content_type
    assert "try again in a few seconds" in response.content.decode()
    assert client.get(url).status_code == 200  # the lock released


def test_a_programming_error_of_the_database_stays_an_error():
    # SQLite reports a missing table as an OperationalError too; it is the code's fault.
    with pytest.raises(DatabaseError) as raised:
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table_here")
    assert not database_unavailable(raised.value)
    request = RequestFactory().post("/api/v1/scenarios/1/runs/")
    middleware = DatabaseUnavailableMiddleware(lambda request: None)  # type: ignore[arg-type,return-value]
    assert middleware.process_exception(request, raised.value) is None


def test_an_unreachable_server_counts_as_unavailable():
    # What Django raises when the server refuses the connection (nothing listens on port 1).
    from django.db.utils import OperationalError

    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect("postgres://postgres@127.0.0.1:1/nothing", connect_timeout=2)
    wrapped = OperationalError(*refused.value.args)
    wrapped.__cause__ = refused.value
    assert database_unavailable(wrapped)
