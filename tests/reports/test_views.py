"""Export pages: the button on the dashboard, start, status (htmx), download — for owner,
viewer and outsider."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.reports.models import Export
from apps.reports.services import export_render
from tests.reports.factories import ExportFactory

pytestmark = pytest.mark.django_db


def start(client, run, **data):
    return client.post(
        reverse("reports:export_start", args=[run.pk]), {"paper": "a4", "language": "en", **data}
    )


def test_the_run_dashboard_has_the_export_button(owner_client, run):
    page = owner_client.get(reverse("runs:plan_run_detail", args=[run.pk]))
    assert page.status_code == 200
    assert reverse("reports:export_start", args=[run.pk]).encode() in page.content
    assert b'data-testid="export-pdf"' in page.content


def test_it_starts_an_export_and_shows_its_progress(owner_client, run, enqueue):
    response = start(owner_client, run, paper="letter", language="zh-hans")
    export = Export.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("reports:export_detail", args=[export.pk])
    assert (export.paper, export.language) == ("letter", "zh-hans")
    page = owner_client.get(response.url)
    assert page.status_code == 200 and b"hx-get" in page.content and b"<progress" in page.content


def test_a_bad_choice_goes_back_to_the_dashboard(owner_client, run, enqueue):
    response = start(owner_client, run, paper="a0")
    assert response.url == reverse("runs:plan_run_detail", args=[run.pk])
    assert not Export.objects.exists()


def test_when_ready_the_status_stops_polling_and_the_pdf_downloads(
    viewer_client, owner, run, media
):
    export = ExportFactory(run=run, created_by=owner)
    export_render(export_id=export.pk, worker="w1")
    fragment = viewer_client.get(reverse("reports:export_status", args=[export.pk]))
    assert b"hx-get" not in fragment.content and b'data-testid="download"' in fragment.content
    # One export: the page shows no list of exports, so no out-of-band update without a target.
    assert b"hx-swap-oob" not in fragment.content
    download = viewer_client.get(reverse("reports:export_download", args=[export.pk]))
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert "attachment" in download["Content-Disposition"]
    assert b"".join(download.streaming_content).startswith(b"%PDF")


def test_the_list_of_exports_follows_the_status_once_it_is_ready(owner_client, owner, run, enqueue):
    # Issue 18: the page's "Exports of this run" table kept saying "Queued" after the PDF was
    # ready — the polled fragment now updates the export's row out of band.
    first = ExportFactory(run=run, created_by=owner)
    export = ExportFactory(run=run, created_by=owner, language="zh-hans")
    page = owner_client.get(reverse("reports:export_detail", args=[export.pk])).content.decode()
    assert f'<span id="export-row-status-{export.pk}">Queued</span>' in page
    assert f"export-row-status-{first.pk}" in page
    Export.objects.filter(pk=export.pk).update(status=Export.Status.FAILED, error="boom")
    fragment = owner_client.get(reverse("reports:export_status", args=[export.pk])).content.decode()
    assert f'<span id="export-row-status-{export.pk}" hx-swap-oob="true">Failed</span>' in fragment
    # The first render of the page carries no out-of-band copy (no duplicate ids).
    page = owner_client.get(reverse("reports:export_detail", args=[export.pk])).content.decode()
    assert "hx-swap-oob" not in page and page.count(f'id="export-row-status-{export.pk}"') == 1


def test_a_download_before_it_is_ready_goes_back_to_the_export(owner_client, run):
    export = ExportFactory(run=run)
    response = owner_client.get(reverse("reports:export_download", args=[export.pk]))
    assert response.url == reverse("reports:export_detail", args=[export.pk])


def test_an_outsider_gets_404_everywhere(outsider_client, run, enqueue):
    export = ExportFactory(run=run)
    assert start(outsider_client, run).status_code == 404
    for name in ("export_detail", "export_status", "export_download"):
        assert outsider_client.get(reverse(f"reports:{name}", args=[export.pk])).status_code == 404
    assert Export.objects.count() == 1
