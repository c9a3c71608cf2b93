import pytest
from django.urls import reverse

from apps.runs.models import DemoJob
from tests.runs.factories import DemoJobFactory

pytestmark = pytest.mark.django_db


def test_it_shows_the_dashboard_with_the_organizations_jobs(owner_client, organization):
    job = DemoJobFactory(organization=organization, n=77)
    response = owner_client.get(reverse("runs:dashboard"))
    assert response.status_code == 200
    assert f'id="demo-job-{job.pk}"'.encode() in response.content


def test_it_queues_a_job_from_the_form(
    owner_client, organization, delay, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            reverse("runs:dashboard"), {"organization": organization.pk, "n": 12}
        )
    assert response.status_code == 302
    job = DemoJob.objects.get()
    assert job.n == 12
    delay.assert_called_once_with(job.pk)
    page = owner_client.get(reverse("runs:dashboard"))
    assert f"Demo job #{job.pk} queued." in page.content.decode()


def test_it_shows_form_errors_for_a_bad_n(owner_client, organization, delay):
    response = owner_client.post(reverse("runs:dashboard"), {"organization": organization.pk})
    assert response.status_code == 200
    assert not DemoJob.objects.exists()


def test_it_does_not_let_viewers_queue_jobs(viewer_client, organization, delay):
    page = viewer_client.get(reverse("runs:dashboard"))
    assert b"You need the owner or editor role" in page.content
    response = viewer_client.post(
        reverse("runs:dashboard"), {"organization": organization.pk, "n": 5}
    )
    assert response.status_code == 200
    assert not DemoJob.objects.exists()


def test_it_hides_other_organizations_jobs_from_outsiders(outsider_client, organization):
    job = DemoJobFactory(organization=organization)
    response = outsider_client.get(reverse("runs:dashboard"))
    assert f'id="demo-job-{job.pk}"'.encode() not in response.content


def test_it_does_not_let_outsiders_queue_jobs_in_another_organization(
    outsider_client, organization, delay
):
    response = outsider_client.post(
        reverse("runs:dashboard"), {"organization": organization.pk, "n": 5}
    )
    assert response.status_code == 200
    assert not DemoJob.objects.exists()


def test_it_returns_404_to_outsiders_for_a_job(outsider_client, organization):
    job = DemoJobFactory(organization=organization)
    response = outsider_client.get(reverse("runs:demo_job_detail", args=[job.pk]))
    assert response.status_code == 404


def test_it_polls_a_pending_job_fragment(viewer_client, organization):
    job = DemoJobFactory(organization=organization)
    response = viewer_client.get(reverse("runs:demo_job_detail", args=[job.pk]))
    assert response.status_code == 200
    assert b'hx-trigger="every 1s"' in response.content


def test_it_stops_polling_once_the_job_finished(viewer_client, organization):
    job = DemoJobFactory(
        organization=organization,
        status=DemoJob.Status.SUCCEEDED,
        result={"sum_of_squares": "385"},
    )
    response = viewer_client.get(reverse("runs:demo_job_detail", args=[job.pk]))
    assert b"hx-trigger" not in response.content
    assert b"385" in response.content


def test_it_requires_a_login_for_a_job(client, organization):
    job = DemoJobFactory(organization=organization)
    response = client.get(reverse("runs:demo_job_detail", args=[job.pk]))
    assert response.status_code == 302
