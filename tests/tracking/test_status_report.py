"""The status report PDF (issue 19): a short document of the current forecast against the
approved baseline — its as-of date, the drivers, the variance, the three tracking charts drawn
by the PDF's SVG renderer with no text off them, the reports — started from the Tracking page,
rendered by the export worker, reused when nothing changed; the plan's PDF stays as it was."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone, translation

from apps.reports.document import content_hash
from apps.reports.models import Export
from apps.reports.services import export_render, status_export_create
from apps.reports.status_document import (
    render_status_html,
    render_status_pdf,
    status_content_hash,
)
from apps.reports.svg import figure_to_svg
from apps.reports.svg.axes import text_width
from apps.runs.models import RunStatus
from apps.tracking.dashboard import forecast_figures
from apps.tracking.forecasting import forecast_current, forecast_history
from apps.tracking.selectors import actuals_for
from tests.reports.pdf_tools import page_texts
from tests.tracking.test_dashboard import SPEND
from tests.tracking.test_forecast import (
    computed,
    report_midway,
)

pytestmark = pytest.mark.django_db
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def two_reports(owner, early_baseline):
    """Two reports (a quarter and half-way through the main run, each at half the planned
    throughput), each with its forecast computed: a history of three forecasts."""
    scenario = early_baseline.scenario
    computed(scenario)
    report_midway(owner, scenario, early_baseline, share=0.5, span=0.25, spend=SPEND)
    computed(scenario)
    report_midway(owner, scenario, early_baseline, share=0.5, spend=SPEND)
    return computed(scenario)


def flat(text: str) -> str:
    return " ".join(text.split())


def test_the_status_report_has_its_as_of_date_drivers_variance_and_reports(owner, two_reports):
    rendered = render_status_pdf(two_reports, paper="a4", language="en")
    pages = [flat(p) for p in page_texts(rendered.content)]
    assert 3 <= rendered.page_count <= 5, rendered.page_count
    as_of = two_reports.answer["as_of"]
    cover = pages[0]
    assert "STATUS REPORT" in cover and f"As of {as_of}" in cover  # the kicker in capitals
    baseline = two_reports.baseline
    approved_on = timezone.localdate(baseline.approved_at).isoformat()
    assert f"Approved by {owner.username} on {approved_on}" in cover
    text = " ".join(pages[1:])
    driver = two_reports.answer["drivers"][0]
    assert driver.startswith("Throughput ") and flat(driver) in text
    assert "Variance by cost category" in text and "What changed the forecast" in text
    # The reports table: both reports, by date.
    for report in actuals_for(baseline):
        assert report.date.isoformat() in text
    assert "Forecast finish, report by report" in text


def test_the_chinese_status_report_is_in_chinese(two_reports):
    content = render_status_pdf(two_reports, paper="a4", language="zh-hans").content
    text = "".join("".join(page_texts(content)).split())
    main_start = two_reports.result["main"]["start_date"]
    assert "状态报告" in text and f"自{main_start}起吞吐量为计划的" in text
    assert "Throughput" not in text and "What changed" not in text


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_three_charts_draw_and_no_text_runs_off_them(two_reports, language):
    baseline = two_reports.baseline
    with translation.override(language):
        figures = forecast_figures(
            two_reports, actuals_for(baseline), forecast_history(baseline=baseline)
        )
    assert set(figures) == {"burnup", "spend", "history"}
    for name, fig in figures.items():
        svg = figure_to_svg(fig, width=700, element_id=name)
        root = ET.fromstring(svg)
        width, height = float(root.get("width")), float(root.get("height"))
        texts = list(root.iter(f"{SVG}text"))
        assert len(texts) > 5, name
        for text in texts:
            x, y, size = float(text.get("x")), float(text.get("y")), float(text.get("font-size"))
            assert 0 <= y <= height + 1, (name, text.text, y)
            if text.get("transform"):
                assert 0 <= x <= width, (name, text.text)
                continue
            w = text_width(text.text or "", size)
            left = {"start": x, "middle": x - w / 2, "end": x - w}[text.get("text-anchor")]
            assert left >= -1 and left + w <= width + 1, (name, text.text, left, w)
    # The burn-up's P10–P90 bands are filled areas; their edges draw no line.
    burnup = figure_to_svg(figures["burnup"], width=700, element_id="burnup")
    assert len(re.findall(r"<polygon ", burnup)) >= 2
    assert not re.search(r'<(polyline|line)[^>]*stroke-width="0"', burnup)
    # The history has a point per forecast: three forecasts, three P50 markers.
    history = figures["history"]
    assert [len(trace.x) for trace in history.data] == [3, 3]


def test_a_status_export_renders_on_the_worker_and_is_reused(
    owner, two_reports, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    export = status_export_create(user=owner, forecast=two_reports, paper="a4", language="en")
    assert export.kind == Export.Kind.STATUS and export.forecast == two_reports
    assert export.run_id == two_reports.baseline.run_id
    done = export_render(export_id=export.pk, worker="test")
    assert done.status == Export.Status.READY, done.error
    assert default_storage.exists(done.file.name) and done.page_count >= 3
    assert done.filename.endswith(f"-status-{two_reports.answer['as_of']}-en-a4.pdf")
    with default_storage.open(done.file.name, "rb") as pdf:
        first = flat(page_texts(pdf.read())[0])
    assert "STATUS REPORT" in first
    again = status_export_create(user=owner, forecast=two_reports, paper="a4", language="en")
    assert again.pk != done.pk and again.reused_from_id == done.pk
    # The plan's PDF of the same run is another document.
    plan_hash = content_hash(run=two_reports.baseline.run, paper="a4", language="en")
    assert plan_hash != done.content_hash


def test_the_hash_changes_with_the_language_and_the_threshold(two_reports):
    scenario = two_reports.scenario
    before = status_content_hash(forecast=two_reports, paper="a4", language="en")
    assert before != status_content_hash(forecast=two_reports, paper="a4", language="zh-hans")
    scenario.program.alert_threshold = 5
    scenario.program.save(update_fields=["alert_threshold"])
    assert before != status_content_hash(forecast=two_reports, paper="a4", language="en")


def test_a_forecast_not_finished_cannot_be_reported(owner, early_baseline):
    row = forecast_current(scenario=early_baseline.scenario)
    assert row.status == RunStatus.QUEUED
    from apps.common.errors import ApplicationError

    with pytest.raises(ApplicationError, match="finished forecast"):
        status_export_create(user=owner, forecast=row)
    assert not Export.objects.exists()


# --- from the Tracking page ------------------------------------------------------------------


def test_the_button_starts_a_status_export_for_a_viewer_too(viewer_client, two_reports):
    url = reverse("tracking:status_export", args=[two_reports.scenario_id])
    response = viewer_client.post(url, {"paper": "letter", "language": "zh-hans"})
    export = Export.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:export_detail", args=[export.pk])
    assert (export.kind, export.paper, export.language) == ("status", "letter", "zh-hans")
    assert export.forecast == two_reports
    page = viewer_client.get(response["Location"]).content.decode()
    assert "Status report" in page


def test_without_a_finished_forecast_the_button_says_why(owner_client, early_baseline):
    url = reverse("tracking:status_export", args=[early_baseline.scenario_id])
    response = owner_client.post(url, {"paper": "a4", "language": "en"}, follow=True)
    assert not Export.objects.exists()
    assert "needs an approved baseline and a finished forecast" in response.content.decode()


def test_the_html_shows_the_cover_figures_of_the_forecast(two_reports):
    page = render_status_html(two_reports, paper="a4", language="en")
    answer = two_reports.answer
    assert f'data-key="as-of">{answer["as_of"]}<' in page
    assert f'data-key="finish-p50">{answer["finish_date_p50"]}<' in page
