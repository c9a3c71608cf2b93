"""Run pages: start, progress, dashboard, compare, sweeps — for owner, viewer and outsider."""

from __future__ import annotations

import json
import re
from html import unescape
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from apps.programs.services import program_create_from_blueprint, scenario_clone
from apps.programs.templatetags.planning import money_compact
from apps.runs.models import PlanRun, RunStatus, Sweep, SweepChunk
from apps.runs.services import plan_run_execute, sweep_chunk_execute
from llmplanner.simulation.report import run_plan
from tests.runs.dated_plan import dated_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def scenario(owner, organization):
    program = program_create_from_blueprint(
        user=owner, organization=organization, key="cpt-7b-domain"
    )
    return program.scenarios.get()


@pytest.fixture(autouse=True)
def no_broker():
    with (
        mock.patch("apps.runs.tasks.plan_run_task.delay"),
        mock.patch("apps.runs.tasks.sweep_chunk_task.delay"),
    ):
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
    assert escape(report["risks"][0]["title"]) in html  # a title may hold an apostrophe


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
    assert 'data-testid="chart"' in html
    # Variants read as plans (issue 18), not as ``gpu_count=128 gpu_type=h100-80gb``.
    assert "gpu_count=128" not in html and "GPU count: 32, 64, 128" in html
    assert "128 · BF16" in html


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


def test_the_dashboard_shows_pools_storage_and_months_from_the_report(
    owner, owner_client, scenario
):
    report = run_plan(dated_plan(), trials=300, seed=1)
    now = timezone.now()
    run = PlanRun.objects.create(
        organization=scenario.program.organization,
        scenario=scenario,
        scenario_version=scenario.version,
        created_by=owner,
        status=RunStatus.SUCCEEDED,
        inputs=dated_plan(),
        input_hash="d" * 64,
        core_version=report["core_version"],
        trials=300,
        result=report,
        progress=100,
        started_at=now,
        finished_at=now,
    )
    html = owner_client.get(reverse("runs:plan_run_detail", args=[run.pk])).content.decode()
    pools = html[html.index('data-testid="pools"') : html.index('data-testid="storage"')]
    rows = pools.split("<tr>")[2:]
    assert len(rows) == len(report["pools"]) == 2
    for row, pool, purpose in zip(
        rows, report["pools"], ("Main training", "SFT and alignment"), strict=True
    ):
        assert purpose in row and f"{pool['gpu_count']} × {pool['gpu_type']}" in row
        assert f"{pool['delivered_date_p50']} / {pool['delivered_date_p90']}" in row
        assert f"{pool['start_date']} → " in row
    assert "the last 3 checkpoints on fast storage" in html
    monthly = report["monthly"]
    with translation.override("en"):
        expected = [money_compact(v, "USD") for v in monthly["cumulative_p90"]]
    assert re.findall(r'data-testid="cumulative-p90">([^<]*)<', html) == expected
    figures = [json.loads(unescape(f)) for f in re.findall(r'data-figure="([^"]*)"', html)]
    spend = next(f for f in figures if any(t.get("name") == "Cumulative P90" for t in f["data"]))
    line = next(t for t in spend["data"] if t.get("name") == "Cumulative P90")
    assert line["x"] == monthly["labels"] and line["y"] == monthly["cumulative_p90"]
    gantt = next(f for f in figures if f["layout"].get("xaxis", {}).get("type") == "date")
    assert any(t.get("base") == [report["stages"][0]["start_date_p50"]] for t in gantt["data"])
