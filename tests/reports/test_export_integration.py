"""A PDF export through a real worker process on the real broker (the embedded filesystem broker
by default, Redis when REDIS_URL is set) and the test database: from the dashboard's button to
the downloaded file."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from apps.accounts.services import api_token_create
from apps.reports.models import Export
from tests.conftest import login
from tests.runs.worker_process import database_url_of_test_db, running_worker, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def database_url(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        return database_url_of_test_db()


@pytest.fixture(scope="module")
def worker(database_url, tmp_path_factory):
    with running_worker(database_url, tmp_path_factory.mktemp("workers"), "export") as w:
        yield w


def finished(export_id: int, timeout_s: float = 60.0) -> Export:
    wait_for(lambda: Export.objects.get(pk=export_id).is_finished, timeout_s)
    return Export.objects.get(pk=export_id)


def test_an_export_started_from_the_dashboard_is_rendered_by_the_worker(worker, owner, run):
    client = login(owner)
    response = client.post(
        reverse("reports:export_start", args=[run.pk]), {"paper": "a4", "language": "zh-hans"}
    )
    export = finished(Export.objects.get().pk)
    assert export.status == Export.Status.READY, export.error
    assert export.worker == worker.node and export.attempts == 1
    assert client.get(response.url).status_code == 200
    download = client.get(reverse("reports:export_download", args=[export.pk]))
    reader = PdfReader(io.BytesIO(b"".join(download.streaming_content)))
    assert len(reader.pages) == export.page_count >= 12
    assert "执行摘要" in "".join(page.extract_text() for page in reader.pages[:4])


def test_a_second_export_of_the_unchanged_run_reuses_the_file(worker, owner, run):
    client = login(owner)
    url = reverse("reports:export_start", args=[run.pk])
    client.post(url, {"paper": "letter", "language": "en"})
    first = finished(Export.objects.get().pk)
    client.post(url, {"paper": "letter", "language": "en"})
    second = Export.objects.latest("id")
    assert first.status == second.status == Export.Status.READY
    assert second.reused_from_id == first.pk and second.worker == ""
    assert second.file.name == first.file.name


def test_an_export_asked_for_over_the_api_is_rendered_by_the_worker(worker, owner, run):
    token = api_token_create(
        user=owner, organization=run.organization, name="board pack", scope="read"
    )[1]
    api = Client(headers={"Authorization": f"Bearer {token}"})
    response = api.post(
        reverse("api:run-export", args=[run.pk]),
        {"paper": "letter", "language": "en"},
        content_type="application/json",
    )
    assert response.status_code == 202, response.content
    export = finished(response.json()["id"])
    assert export.status == Export.Status.READY, export.error
    status = api.get(response["Location"]).json()
    assert status["status"] == "ready" and status["download"]
    download = api.get(status["download"])
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(b"".join(download.streaming_content)))
    assert len(reader.pages) == status["page_count"] == export.page_count
    assert "Executive summary" in "".join(page.extract_text() for page in reader.pages[:4])
