"""Export services: create, reuse, claim, render, fail, and the file selector. Task functions
are called directly; the pipeline with a real worker is in ``test_export_integration.py``."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.files.storage import default_storage
from django.http import Http404

from apps.common.errors import ApplicationError
from apps.reports.models import Export
from apps.reports.selectors import export_file_get
from apps.reports.services import export_create, export_render
from apps.runs.models import RunStatus
from tests.reports.factories import ExportFactory
from tests.reports.pdf_tools import page_texts

pytestmark = pytest.mark.django_db


def test_it_queues_an_export_and_enqueues_it_after_commit(owner, run, enqueue):
    export = export_create(user=owner, run=run, paper="letter", language="zh-hans")
    assert export.status == Export.Status.QUEUED
    assert (export.paper, export.language, export.organization) == (
        "letter",
        "zh-hans",
        run.organization,
    )
    assert len(export.content_hash) == 64
    enqueue.assert_called_once_with(export.pk)


def test_a_viewer_may_export_a_run(viewer, run, enqueue):
    assert export_create(user=viewer, run=run).status == Export.Status.QUEUED


def test_an_outsider_may_not_export_the_run(outsider, run, enqueue):
    with pytest.raises(ApplicationError):
        export_create(user=outsider, run=run)
    assert not Export.objects.exists()


def test_it_refuses_a_run_without_a_result(owner, run, enqueue):
    run.status, run.result = RunStatus.RUNNING, None
    run.save()
    with pytest.raises(ApplicationError, match="successful run"):
        export_create(user=owner, run=run)


@pytest.mark.parametrize("field", [{"paper": "a3"}, {"language": "fr"}])
def test_it_rejects_an_unknown_paper_or_language(owner, run, enqueue, field):
    with pytest.raises(ApplicationError):
        export_create(user=owner, run=run, **field)


def test_it_renders_the_pdf_and_stores_it_on_the_row(owner, run, enqueue, media):
    export = export_create(user=owner, run=run)
    export = export_render(export_id=export.pk, worker="w1")
    assert export.status == Export.Status.READY, export.error
    assert export.worker == "w1" and export.attempts == 1 and export.page_count >= 12
    with default_storage.open(export.file.name, "rb") as handle:
        content = handle.read()
    assert content.startswith(b"%PDF") and export.size_bytes == len(content)
    assert "Executive summary" in " ".join(page_texts(content))


def test_a_duplicate_delivery_renders_once(owner, run, enqueue, media):
    export = export_create(user=owner, run=run)
    export_render(export_id=export.pk, worker="w1")
    with mock.patch("apps.reports.services.render_pdf") as render:
        assert export_render(export_id=export.pk, worker="w2") is None
    render.assert_not_called()


def test_an_unchanged_run_reuses_the_rendered_file(owner, viewer, run, enqueue, media):
    first = export_render(export_id=export_create(user=owner, run=run).pk, worker="w1")
    enqueue.reset_mock()
    again = export_create(user=viewer, run=run)
    assert again.pk != first.pk and again.status == Export.Status.READY
    assert again.reused_from_id == first.pk and again.file.name == first.file.name
    enqueue.assert_not_called()


def test_an_export_being_rendered_is_returned_instead_of_a_second_one(owner, run, enqueue):
    first = export_create(user=owner, run=run)
    assert export_create(user=owner, run=run).pk == first.pk
    assert enqueue.call_count == 1


def test_another_language_or_a_renamed_scenario_is_a_new_document(owner, run, enqueue, media):
    english = export_render(export_id=export_create(user=owner, run=run).pk, worker="w1")
    chinese = export_create(user=owner, run=run, language="zh-hans")
    run.scenario.name = "B: renamed"
    run.scenario.save()
    renamed = export_create(user=owner, run=run)
    assert len({english.content_hash, chinese.content_hash, renamed.content_hash}) == 3
    assert chinese.status == renamed.status == Export.Status.QUEUED


def test_a_missing_file_is_rendered_again_rather_than_reused(owner, run, enqueue, media):
    first = export_render(export_id=export_create(user=owner, run=run).pk, worker="w1")
    default_storage.delete(first.file.name)
    assert export_create(user=owner, run=run).status == Export.Status.QUEUED


def test_a_render_failure_is_recorded_on_the_row(owner, run, enqueue, media):
    export = export_create(user=owner, run=run)
    with mock.patch("apps.reports.services.render_pdf", side_effect=RuntimeError("no fonts")):
        export = export_render(export_id=export.pk, worker="w1")
    assert export.status == Export.Status.FAILED
    assert export.error == "The PDF could not be rendered: RuntimeError: no fonts"
    assert not export.file


def test_the_file_selector_gives_a_ready_pdf_to_members_only(
    owner, viewer, outsider, run, enqueue, media
):
    export = export_render(export_id=export_create(user=owner, run=run).pk, worker="w1")
    pdf = export_file_get(user=viewer, export_id=export.pk)
    assert pdf.filename.endswith(f"-run{run.pk}-en-a4.pdf") and pdf.size_bytes == export.size_bytes
    with pdf.open() as handle:
        assert handle.read(4) == b"%PDF"
    with pytest.raises(Http404):
        export_file_get(user=outsider, export_id=export.pk)


def test_the_file_selector_says_when_an_export_is_not_ready(owner, run):
    export = ExportFactory(run=run)
    with pytest.raises(ApplicationError) as error:
        export_file_get(user=owner, export_id=export.pk)
    assert error.value.extra == {"status": "queued"}


def test_an_export_with_the_broker_down_is_saved_queued_and_no_error_escapes(
    owner, run, media, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    from apps.reports.services import export_create

    with (
        mock.patch(
            "apps.reports.tasks.export_render_task.delay",
            side_effect=OperationalError("Connection refused"),
        ) as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        export = export_create(user=owner, run=run)
    delay.assert_called_once_with(export.pk)
    export.refresh_from_db()
    assert export.status == Export.Status.QUEUED and export.attempts == 0
