"""The pages: Approve on a run's dashboard, its badge, the Tracking page with its form and its
CSV upload (all or nothing, naming the row and the column). Owner, viewer and outsider."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from apps.tracking.csv_format import HEADER
from apps.tracking.models import ActualReport, ApprovedBaseline

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


def day(n: int) -> str:
    return (TODAY - dt.timedelta(days=n)).isoformat()


def tracking_url(scenario):
    return reverse("tracking:scenario_tracking", args=[scenario.pk])


def csv_file(*rows: str, header: str = ",".join(HEADER)) -> SimpleUploadedFile:
    text = "\n".join([header, *rows]) + "\n"
    return SimpleUploadedFile("actuals.csv", text.encode(), content_type="text/csv")


# --- approving from the dashboard ----------------------------------------------------------


def test_an_owner_approves_from_the_dashboard_and_sees_the_badge(owner_client, owner, run):
    dashboard = reverse("runs:plan_run_detail", args=[run.pk])
    page = owner_client.get(dashboard).content.decode()
    assert 'data-testid="approve"' in page and "Approved by" not in page
    response = owner_client.post(
        reverse("tracking:run_approve", args=[run.pk]), {"note": "steering committee"}
    )
    assert response.status_code == 302 and response["Location"] == dashboard
    baseline = ApprovedBaseline.objects.get()
    assert baseline.run == run and baseline.note == "steering committee"
    page = owner_client.get(dashboard).content.decode()
    assert f"Approved by {owner.username} on {TODAY.isoformat()}" in page
    assert 'data-testid="approve"' not in page  # it is the current baseline already


def test_a_viewer_sees_the_badge_but_no_approve_form_and_cannot_post(viewer_client, run, baseline):
    dashboard = reverse("runs:plan_run_detail", args=[run.pk])
    page = viewer_client.get(dashboard).content.decode()
    assert "Approved by" in page and 'data-testid="approve"' not in page
    response = viewer_client.post(reverse("tracking:run_approve", args=[run.pk]), {"note": "x"})
    assert response.status_code == 403
    assert ApprovedBaseline.objects.count() == 1


def test_an_outsider_cannot_approve(outsider_client, run):
    response = outsider_client.post(reverse("tracking:run_approve", args=[run.pk]))
    assert response.status_code == 404
    assert not ApprovedBaseline.objects.exists()


# --- the Tracking page ---------------------------------------------------------------------


def test_the_tracking_page_shows_the_baseline_and_its_history(owner_client, run, baseline):
    page = owner_client.get(tracking_url(run.scenario)).content.decode()
    assert 'data-testid="current-baseline"' in page and f"#{run.pk}" in page
    assert baseline.pdf_sha256 in page
    assert 'data-testid="actual-form"' in page and 'data-testid="csv-form"' in page
    assert "date,tokens_trained,elapsed_days,gpu_hours" in page


def test_the_scenario_and_the_dashboard_link_to_tracking(owner_client, scenario, run):
    url = tracking_url(scenario)
    pages = [
        reverse("programs:scenario_tab", args=[scenario.pk, "overview"]),
        reverse("runs:plan_run_detail", args=[run.pk]),
    ]
    for page in pages:
        assert f'href="{url}"' in owner_client.get(page).content.decode(), page


def test_a_viewer_reads_the_page_without_forms_and_cannot_post(viewer_client, scenario, baseline):
    page = viewer_client.get(tracking_url(scenario)).content.decode()
    assert 'data-testid="current-baseline"' in page and 'data-testid="actual-form"' not in page
    url = reverse("tracking:actual_add", args=[scenario.pk])
    assert viewer_client.post(url, {"date": day(1)}).status_code == 403
    upload = reverse("tracking:actuals_import", args=[scenario.pk])
    assert viewer_client.post(upload, {"file": csv_file(f"{day(1)},1,1,1,0,0")}).status_code == 403
    assert not ActualReport.objects.exists()


def test_an_outsider_gets_404(outsider_client, scenario, baseline):
    assert outsider_client.get(tracking_url(scenario)).status_code == 404
    url = reverse("tracking:actual_add", args=[scenario.pk])
    assert outsider_client.post(url, {"date": day(1)}).status_code == 404


def test_the_form_saves_a_report(owner_client, owner, scenario, baseline):
    response = owner_client.post(
        reverse("tracking:actual_add", args=[scenario.pk]),
        {
            "date": day(5),
            "tokens_trained": "2e10",
            "elapsed_days": "8",
            "gpu_hours": "30000",
            "interruptions": "1",
            "loss_spikes": "0",
            "spend_gpu_compute": "900000",
            "note": "typed in",
        },
    )
    assert response.status_code == 302
    stored = ActualReport.objects.get()
    assert stored.source == "form" and stored.created_by == owner and stored.tokens_trained == 2e10
    assert stored.spend == {"gpu_compute": "900000.00"}
    page = owner_client.get(tracking_url(scenario)).content.decode()
    assert "typed in" in page and day(5) in page


def test_the_form_names_the_field_at_fault_and_saves_nothing(owner_client, scenario, baseline):
    response = owner_client.post(
        reverse("tracking:actual_add", args=[scenario.pk]),
        {"date": day(-3), "tokens_trained": "lots", "elapsed_days": "1", "gpu_hours": "1"},
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {"date", "tokens_trained", "interruptions", "loss_spikes"}
    assert "in the future" in form.errors["date"][0]
    assert not ActualReport.objects.exists()


def test_a_csv_upload_saves_every_row(owner_client, scenario, baseline):
    response = owner_client.post(
        reverse("tracking:actuals_import", args=[scenario.pk]),
        {
            "file": csv_file(
                f"{day(20)},1e10,5,10000,0,0,0.41,,,500000,,,,,,first",
                f"{day(13)},2e10,12,20000,1,0,,,,1000000,1000,,,,,",
            )
        },
    )
    assert response.status_code == 302
    stored = list(ActualReport.objects.order_by("date"))
    assert [r.tokens_trained for r in stored] == [1e10, 2e10]
    assert [r.source for r in stored] == ["csv", "csv"]
    assert stored[1].spend == {"gpu_compute": "1000000.00", "storage": "1000.00"}
    assert stored[0].observed_mfu == 0.41 and stored[1].observed_mfu is None


def test_a_csv_carries_stage_rows_beside_the_main_runs(owner_client, scenario, baseline):
    response = owner_client.post(
        reverse("tracking:actuals_import", args=[scenario.pk]),
        {
            "file": csv_file(
                f"{day(20)},,30,,,,,data,1,,,,,,,data done",
                f"{day(13)},2e10,12,20000,1,0,,main,,,,,,,,",
                f"{day(6)},,0,,,,,sft,,,,,,,,",
            )
        },
    )
    assert response.status_code == 302, response.context and response.context["import_errors"]
    stored = list(ActualReport.objects.order_by("date"))
    assert [(r.stage, r.progress) for r in stored] == [("data", 1.0), ("main", None), ("sft", None)]
    page = owner_client.get(reverse("tracking:scenario_tracking", args=[scenario.pk]))
    assert "100% done" in page.content.decode()


def test_a_csv_with_one_bad_row_saves_nothing_and_names_the_row_and_column(
    owner_client, scenario, baseline
):
    response = owner_client.post(
        reverse("tracking:actuals_import", args=[scenario.pk]),
        {
            "file": csv_file(
                f"{day(20)},1e10,5,10000,0,0,,,,500000,,,,,,",
                f"{day(13)},9e9,12,20000,1,0,,,,1000000,,,,,,",  # row 3: tokens go backwards
                f"{day(6)},3e10,19,30000,1,0,,,,1500000,,,,,bad,",  # row 4: an amount
            )
        },
    )
    assert response.status_code == 200
    problems = response.context["import_errors"]
    assert any(p.startswith("Row 3, tokens_trained:") for p in problems), problems
    assert any(p.startswith("Row 4, spend_contingency:") for p in problems), problems
    assert len(problems) == 2
    assert not ActualReport.objects.exists()
    assert "Row 3, tokens_trained" in response.content.decode()


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"\xff\xfe not utf-8", "UTF-8"),
        (b"date,tokens\n2027-01-01,5\n", "header"),
        (",".join(HEADER).encode() + b"\n", "no reports"),
    ],
)
def test_a_csv_that_is_not_ours_is_refused_as_a_whole(
    owner_client, scenario, baseline, content, says
):
    upload = SimpleUploadedFile("x.csv", content, content_type="text/csv")
    response = owner_client.post(
        reverse("tracking:actuals_import", args=[scenario.pk]), {"file": upload}
    )
    assert response.status_code == 200
    assert any(says in p for p in response.context["import_errors"])
    assert not ActualReport.objects.exists()


def test_the_csv_template_has_the_documented_header(owner_client, scenario, baseline):
    response = owner_client.get(reverse("tracking:actuals_template"))
    assert response["Content-Disposition"].startswith("attachment")
    lines = response.content.decode().splitlines()
    assert lines[0] == ",".join(HEADER) and len(lines) == 3
    # The template's rows are valid reports for a plan that started before them.
    import csv

    from apps.tracking.validation import check_order, clean_report, point_of

    rows = list(csv.DictReader(lines))
    cleaned = []
    for row in rows:
        spend = {
            k.removeprefix("spend_"): v for k, v in row.items() if k.startswith("spend_") and v
        }
        values = {k: v for k, v in row.items() if not k.startswith("spend_")}
        report, errors = clean_report({**values, "spend": spend}, program_currency="CNY")
        assert errors == {} and report is not None
        assert check_order(report, [point_of(c) for c in cleaned]) == {}
        cleaned.append(report)


def test_the_latest_report_is_withdrawn_from_the_page_and_stays_listed(
    owner_client, scenario, baseline
):
    page = reverse("tracking:scenario_tracking", args=[scenario.pk])
    for days_ago, tokens in ((13, "1e10"), (6, "5e12")):
        owner_client.post(
            reverse("tracking:actual_add", args=[scenario.pk]),
            {
                "date": day(days_ago),
                "tokens_trained": tokens,
                "elapsed_days": str(20 - days_ago),
                "gpu_hours": "1000",
                "interruptions": "0",
                "loss_spikes": "0",
            },
        )
    first, typo = ActualReport.objects.order_by("date")
    html = owner_client.get(page).content.decode()
    assert html.count('data-testid="withdraw-form"') == 1  # on the latest row only
    assert reverse("tracking:actual_withdraw", args=[scenario.pk, typo.pk]) in html
    response = owner_client.post(
        reverse("tracking:actual_withdraw", args=[scenario.pk, typo.pk]), {"note": "typo"}
    )
    assert response.status_code == 302
    typo.refresh_from_db()
    assert typo.withdrawn_at is not None and typo.withdrawal_note == "typo"
    html = owner_client.get(page).content.decode()
    assert 'data-testid="withdrawn"' in html and "withdrawn by" in html
    assert reverse("tracking:actual_withdraw", args=[scenario.pk, first.pk]) in html
