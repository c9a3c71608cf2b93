"""PDF exports over the API: POST to export a run, GET the status, GET the PDF.

Rendering is done here by calling the worker's function (``export_render``); the whole path
through a real worker process is in tests/reports/test_export_integration.py.
"""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from apps.reports import services
from apps.reports.models import Export
from apps.reports.services import export_render, status_export_create
from apps.runs.models import RunStatus
from apps.runs.services import plan_run_create
from apps.tracking.forecasting import forecast_current, forecast_execute
from apps.tracking.services import baseline_approve

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _export(api, run, **body):
    return api.post(reverse("api:run-export", args=[run.pk]), body, content_type="application/json")


def test_a_read_only_token_exports_a_run_and_downloads_the_pdf(reader, run):
    response = _export(reader, run, paper="letter", language="zh-hans")
    assert response.status_code == 202, response.content
    body = response.json()
    export = Export.objects.get()
    assert body["id"] == export.pk and body["status"] == "queued" and body["download"] is None
    assert (body["paper"], body["language"], body["run"]) == ("letter", "zh-hans", run.pk)
    assert response["Location"] == reverse("api:export-detail", args=[export.pk])
    services.export_send_on_commit.assert_called_once_with(export.pk)

    not_yet = reader.get(reverse("api:export-download", args=[export.pk]))
    assert not_yet.status_code == 409
    assert not_yet.json()["error"]["code"] == "not_ready"

    export_render(export_id=export.pk, worker="test")
    status = reader.get(response["Location"]).json()
    assert status["status"] == "ready" and status["page_count"] >= 10
    assert status["download"] == reverse("api:export-download", args=[export.pk])

    download = reader.get(status["download"], headers={"Accept": "application/pdf"})
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment;")
    assert f"run{run.pk}-zh-hans-letter.pdf" in download["Content-Disposition"]
    content = b"".join(download.streaming_content)
    assert content.startswith(b"%PDF") and len(content) == status["size_bytes"]
    pdf = PdfReader(io.BytesIO(content))
    assert len(pdf.pages) == status["page_count"]
    assert "执行摘要" in "".join(page.extract_text() for page in pdf.pages[:4])


def test_exporting_again_returns_the_export_in_flight_then_reuses_the_file(reader, run):
    first = _export(reader, run).json()
    assert _export(reader, run).json()["id"] == first["id"]  # still queued: the same export
    assert Export.objects.count() == 1
    export_render(export_id=first["id"], worker="test")
    again = _export(reader, run)
    assert again.status_code == 201
    assert again.json()["status"] == "ready" and again.json()["reused_from"] == first["id"]
    assert again.json()["download"]


def test_the_defaults_are_a4_in_english(reader, run):
    body = reader.post(reverse("api:run-export", args=[run.pk])).json()
    assert (body["paper"], body["language"]) == ("a4", "en")


@pytest.mark.parametrize(
    ("body", "field"),
    [({"paper": "a3"}, "paper"), ({"language": "fr"}, "language"), ({"paper": None}, "paper")],
)
def test_a_bad_choice_is_a_400_naming_the_field_and_creates_nothing(reader, run, body, field):
    response = _export(reader, run, **body)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Export.objects.exists()


def test_an_unfinished_run_cannot_be_exported(reader, owner, scenario):
    queued = plan_run_create(user=owner, scenario=scenario, trials=100, seed=7)
    assert queued.status == RunStatus.QUEUED
    response = _export(reader, queued)
    assert response.status_code == 409
    assert "succeeded" in response.json()["error"]["message"]
    assert not Export.objects.exists()


def test_another_organization_sees_nothing_of_the_exports(reader, outsider_api, run):
    export_id = _export(reader, run).json()["id"]
    export_render(export_id=export_id, worker="test")
    assert _export(outsider_api, run).status_code == 404
    assert outsider_api.get(reverse("api:export-detail", args=[export_id])).status_code == 404
    assert outsider_api.get(reverse("api:export-download", args=[export_id])).status_code == 404
    assert outsider_api.get(reverse("api:export-list")).json()["count"] == 0
    assert Export.objects.count() == 1


def test_the_export_list_filters_by_run_and_status(reader, run):
    export_id = _export(reader, run).json()["id"]
    listed = reader.get(reverse("api:export-list"), {"run": run.pk, "status": "queued"}).json()
    assert [e["id"] for e in listed["results"]] == [export_id]
    assert reader.get(reverse("api:export-list"), {"status": "ready"}).json()["count"] == 0
    assert reader.get(reverse("api:export-list"), {"status": "done"}).status_code == 400


def test_a_failed_export_answers_409_with_its_error(reader, run):
    export_id = _export(reader, run).json()["id"]
    Export.objects.filter(pk=export_id).update(status=Export.Status.FAILED, error="no fonts")
    assert reader.get(reverse("api:export-detail", args=[export_id])).json()["error"] == "no fonts"
    response = reader.get(reverse("api:export-download", args=[export_id]))
    assert response.status_code == 409 and "failed" in response.json()["error"]["message"]


def test_an_unknown_format_on_download_is_a_json_404(reader, run):
    # found by schemathesis: content negotiation failed before the error got a renderer
    response = reader.get(reverse("api:export-download", args=[1]), {"format": "AAA"})
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    # …and it names the format (issue 18), not a bare "Not found."
    assert response.json()["error"]["code"] == "unknown_format"
    assert "'AAA'" in response.json()["error"]["message"]


def test_the_exports_say_whether_they_are_a_plan_or_a_status_report(reader, owner, run):
    # The run's plan, asked for over the API; a "kind" in the body is not the client's to set.
    response = _export(reader, run, kind="status")
    assert response.status_code == 202, response.content
    plan = response.json()
    assert plan["kind"] == "plan"
    # The status report of the same run, once approved and forecast (the Tracking page's button).
    baseline_approve(user=owner, scenario=run.scenario, run=run)
    forecast = forecast_current(scenario=run.scenario)
    assert forecast is not None
    forecast = forecast_execute(forecast_id=forecast.pk, worker="test") or forecast
    forecast.refresh_from_db()
    assert forecast.status == RunStatus.SUCCEEDED, forecast.error
    status = status_export_create(user=owner, forecast=forecast)

    listed = reader.get(reverse("api:export-list")).json()
    assert listed["count"] == 2
    assert {e["id"]: e["kind"] for e in listed["results"]} == {
        plan["id"]: "plan",
        status.pk: "status",
    }
    detail = reader.get(reverse("api:export-detail", args=[status.pk])).json()
    assert (detail["kind"], detail["run"]) == ("status", run.pk)
    assert Export.objects.get(pk=plan["id"]).kind == Export.Kind.PLAN


def test_the_schema_documents_the_kind_of_an_export_as_read_only(client):
    schema = client.get(reverse("api:schema"), {"format": "json"}).json()["components"]["schemas"]
    kind = schema["Export"]["properties"]["kind"]
    assert kind["readOnly"] is True and "status report" in kind["description"]
    [ref] = [part["$ref"] for part in kind["allOf"]]
    enum = schema[ref.rsplit("/", 1)[-1]]["enum"]
    assert sorted(enum) == sorted(Export.Kind.values) == ["plan", "status"]
    assert "kind" not in schema["ExportCreateRequest"]["properties"]
