"""Run pages: start, progress, dashboard, compare, sweeps — for owner, viewer and outsider."""

from __future__ import annotations

from unittest import mock

import pytest
from django.urls import reverse

from apps.programs.services import program_create_from_blueprint, scenario_clone
from apps.runs.models import PlanRun, RunStatus, Sweep, SweepChunk
from apps.runs.services import plan_run_execute, sweep_chunk_execute

pytestmark = pytest.mark.django_db


@pytest.fixture
def scenario(owner, organization):
    program = program_create_from_blueprint(
        user=owner, organization=organization, key="cpt-7b-domain"
    )
    return program.scenarios.get()


@pytest.fixture(autouse=True)
def no_broker():
    with mock.patch("apps.runs.tasks.plan_run_task.delay"), mock.patch("apps.runs.services.group"):
        yield


def start(client, scenario):
    return client.post(reverse("runs:plan_run_start", args=[scenario.pk]))


def finished_run(owner_client, scenario):
    start(owner_client, scenario)
    run = PlanRun.objects.latest("id")
    plan_run_execute(run_id=run.pk, worker="w1")
    return run


def test_it_starts_a_run_and_shows_its_progress(owner_client, scenario):
    response = start(owner_client, scenario)
    run = PlanRun.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "runs:plan_run_detail", args=[run.pk]
    )
    page = owner_client.get(response.url)
    assert page.status_code == 200 and b"<progress" in page.content
    fragment = owner_client.get(reverse("runs:plan_run_status", args=[run.pk]))
    assert "HX-Refresh" not in fragment and b"hx-trigger" in fragment.content


def test_the_dashboard_shows_headlines_charts_and_the_register(owner_client, scenario):
    run = finished_run(owner_client, scenario)
    fragment = owner_client.get(reverse("runs:plan_run_status", args=[run.pk]))
    assert fragment["HX-Refresh"] == "true"
    page = owner_client.get(reverse("runs:plan_run_detail", args=[run.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('data-testid="chart"') == 8
    for text in (
        "Total cost",
        "Risk register",
        "Milestone gates",
        "Where the numbers come from",
        "Data checks",
    ):
        assert text in html
    report = PlanRun.objects.get(pk=run.pk).result
    assert report["risks"][0]["title"] in html


def test_the_scenario_dashboard_redirects_to_the_latest_successful_run(owner_client, scenario):
    url = reverse("runs:scenario_dashboard", args=[scenario.pk])
    assert b"No successful run yet" in owner_client.get(url).content
    run = finished_run(owner_client, scenario)
    assert owner_client.get(url).url == reverse("runs:plan_run_detail", args=[run.pk])


def test_an_unchanged_scenario_reuses_the_result(owner_client, scenario):
    first = finished_run(owner_client, scenario)
    response = start(owner_client, scenario)
    second = PlanRun.objects.latest("id")
    assert second.reused_from_id == first.pk and second.status == RunStatus.SUCCEEDED
    assert response.url == reverse("runs:plan_run_detail", args=[second.pk])


def test_a_viewer_sees_the_dashboard_but_cannot_run(owner_client, viewer_client, scenario):
    run = finished_run(owner_client, scenario)
    assert viewer_client.get(reverse("runs:plan_run_detail", args=[run.pk])).status_code == 200
    assert (
        b"run-plan" not in viewer_client.get(reverse("runs:plan_run_detail", args=[run.pk])).content
    )
    response = start(viewer_client, scenario)
    assert response.status_code == 403 and PlanRun.objects.count() == 1


def test_an_outsider_gets_404_everywhere(owner_client, outsider_client, scenario):
    run = finished_run(owner_client, scenario)
    sweep_response = owner_client.post(
        reverse("runs:sweep_start", args=[scenario.pk]), {"gpu_counts": "32, 64"}
    )
    sweep = Sweep.objects.get()
    assert sweep_response.url == reverse("runs:sweep_detail", args=[sweep.pk])
    urls = [
        reverse("runs:plan_run_detail", args=[run.pk]),
        reverse("runs:plan_run_status", args=[run.pk]),
        reverse("runs:scenario_dashboard", args=[scenario.pk]),
        reverse("runs:sweep_detail", args=[sweep.pk]),
        reverse("runs:compare", args=[scenario.program.pk]),
    ]
    for url in urls:
        assert outsider_client.get(url).status_code == 404, url
    for url in (
        reverse("runs:plan_run_start", args=[scenario.pk]),
        reverse("runs:sweep_start", args=[scenario.pk]),
    ):
        assert outsider_client.post(url, {"gpu_counts": "8"}).status_code == 404, url
    assert PlanRun.objects.count() == 1 and Sweep.objects.count() == 1


def test_compare_shows_scenarios_side_by_side_and_marks_the_baseline(owner, owner_client, scenario):
    other = scenario_clone(user=owner, scenario=scenario, name="B: more GPUs")
    finished_run(owner_client, scenario)
    finished_run(owner_client, other)
    url = (
        reverse("runs:compare", args=[scenario.program.pk])
        + f"?scenario={scenario.pk}&scenario={other.pk}"
    )
    html = owner_client.get(url).content.decode()
    assert "B: more GPUs" in html and "baseline" in html and 'data-testid="chart"' in html


def test_a_sweep_is_fanned_out_and_charted(owner_client, scenario):
    response = owner_client.post(
        reverse("runs:sweep_start", args=[scenario.pk]),
        {"gpu_counts": "32, 64, 128", "precisions": ["bf16"]},
    )
    sweep = Sweep.objects.get()
    assert sweep.axes == {"gpu_count": [32, 64, 128], "precision": ["bf16"]}
    assert b"chunks done" in owner_client.get(response.url).content
    for chunk in SweepChunk.objects.filter(sweep=sweep):
        sweep_chunk_execute(chunk_id=chunk.pk, worker="w1")
    html = owner_client.get(response.url).content.decode()
    assert 'data-testid="chart"' in html and "gpu_count=128" in html


@pytest.mark.parametrize(
    "data, message",
    [
        ({}, "Choose at least one"),
        ({"gpu_counts": "12, lots"}, "is not a GPU count"),
        ({"gpu_counts": "0"}, "is not a GPU count"),
    ],
)
def test_a_bad_sweep_form_says_why_and_starts_nothing(owner_client, scenario, data, message):
    response = owner_client.post(reverse("runs:sweep_start", args=[scenario.pk]), data, follow=True)
    assert message in response.content.decode() and not Sweep.objects.exists()


def test_the_scenario_page_links_to_its_runs(owner_client, viewer_client, scenario):
    url = reverse("programs:scenario_detail", args=[scenario.pk])
    page = owner_client.get(url, follow=True).content.decode()
    assert 'data-testid="simulation-panel"' in page and 'data-testid="run-plan"' in page
    assert "Not simulated yet" in page
    run = finished_run(owner_client, scenario)
    page = owner_client.get(url, follow=True).content.decode()
    assert reverse("runs:plan_run_detail", args=[run.pk]) in page
    viewer_page = viewer_client.get(url, follow=True).content.decode()
    assert (
        'data-testid="simulation-panel"' in viewer_page
        and 'data-testid="run-plan"' not in viewer_page
    )
