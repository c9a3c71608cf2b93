"""The home page: the portfolio table for owner, viewer and outsider, sorting by any column, the
program without a run, the two charts — and no trace of the old demo-job page."""

from __future__ import annotations

import html
import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from apps.portfolio.views import COLUMNS
from apps.programs.templatetags.planning import money_compact
from tests.portfolio.conftest import FOREIGN_NAME

pytestmark = pytest.mark.django_db

HOME = "/"


def row_ids(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr id="program-(\d+)"', page)]


def cell(page: str, program_id: int, testid: str) -> str:
    row = page.split(f'<tr id="program-{program_id}">')[1].split("</tr>")[0]
    return row.split(f'data-testid="{testid}">')[1].split("</td>")[0]


def test_home_is_the_portfolio(owner_client):
    assert reverse("portfolio:home") == HOME
    page = owner_client.get(HOME).content.decode()
    assert "<h1>Portfolio</h1>" in page


def test_the_owner_sees_each_program_with_its_runs_figures(owner_client, cpt, sft):
    response = owner_client.get(HOME)
    assert response.status_code == 200
    page = response.content.decode()
    assert set(row_ids(page)) == {cpt[0].pk, sft[0].pk}
    program, run = cpt
    totals = run.result["totals"]
    assert money_compact(totals["cost"]["p50"], "CNY") in cell(page, program.pk, "cost-p50")
    p90 = cell(page, program.pk, "cost-p90")
    assert money_compact(totals["cost"]["p90"], "CNY") in p90 and "CNY" in p90
    assert money_compact(program.budget_cap, "CNY") in p90  # against the cap
    assert totals["finish_date_p50"] in cell(page, program.pk, "finish-p50")
    finish = cell(page, program.pk, "finish-p90")
    assert totals["finish_date_p90"] in finish and program.deadline.isoformat() in finish
    risk = run.result["risks"][0]["title"].replace("'", "&#x27;")
    assert risk in cell(page, program.pk, "top-risk")
    status = cell(page, program.pk, "status")
    assert reverse("runs:plan_run_detail", args=[run.pk]) in status and "done" in status


def test_a_program_without_a_run_says_so_and_links_to_running_it(owner_client, unsimulated):
    page = owner_client.get(HOME).content.decode()
    scenario = unsimulated.scenarios.get()
    note = cell(page, unsimulated.pk, "no-figures")
    assert "not simulated yet" in note
    assert reverse("runs:scenario_dashboard", args=[scenario.pk]) in note
    assert "not simulated yet" in cell(page, unsimulated.pk, "status")
    assert 'data-figure="' not in page  # nothing to chart yet
    assert "The charts appear once" in page


def test_a_viewer_reads_the_portfolio(viewer_client, cpt):
    page = viewer_client.get(HOME).content.decode()
    assert row_ids(page) == [cpt[0].pk]


def test_an_outsider_sees_only_their_own_organizations_programs(outsider_client, cpt, foreign):
    page = outsider_client.get(HOME).content.decode()
    assert row_ids(page) == [foreign[0].pk] and FOREIGN_NAME in page
    assert cpt[0].name not in page


def test_the_owner_never_sees_another_organizations_program(owner_client, cpt, foreign):
    page = owner_client.get(HOME).content.decode()
    assert FOREIGN_NAME not in page and foreign[0].pk not in row_ids(page)


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(HOME)
    assert response.status_code == 302 and response["Location"].startswith(
        reverse("accounts:login")
    )


def test_signing_in_lands_on_the_portfolio(owner):
    response = Client().post(
        reverse("accounts:login"),
        {"username": owner.username, "password": "correct horse battery staple"},
    )
    assert response.status_code == 302 and response["Location"] == HOME


def test_clicking_a_column_title_sorts_by_it_and_again_reverses(
    owner_client, cpt, sft, unsimulated
):
    assert cpt[1].result["totals"]["cost"]["p50"] > sft[1].result["totals"]["cost"]["p50"]
    up = owner_client.get(HOME, {"sort": "cost_p50"}).content.decode()
    assert row_ids(up) == [sft[0].pk, cpt[0].pk, unsimulated.pk]
    assert 'aria-sort="ascending"' in up and 'href="?sort=-cost_p50"' in up
    down = owner_client.get(HOME, {"sort": "-cost_p50"}).content.decode()
    assert row_ids(down) == [cpt[0].pk, sft[0].pk, unsimulated.pk]
    assert 'aria-sort="descending"' in down and 'href="?sort=cost_p50"' in down


@pytest.mark.parametrize("sort", ["bogus", "-", "cost_p50'><script>", "status,program"])
def test_an_invalid_sort_is_ignored(owner_client, cpt, sft, unsimulated, sort):
    response = owner_client.get(HOME, {"sort": sort})
    assert response.status_code == 200
    page = response.content.decode()
    by_name = sorted([cpt[0], sft[0], unsimulated], key=lambda p: p.name.casefold())
    assert row_ids(page) == [p.pk for p in by_name]
    assert "<script>" not in page.split("<main")[1]


def test_every_column_title_is_a_sort_link(owner_client, cpt):
    page = owner_client.get(HOME).content.decode()
    for key, _label in COLUMNS:
        assert f'data-sort="{key}"' in page, key
        assert owner_client.get(HOME, {"sort": f"-{key}"}).status_code == 200


def test_the_two_charts_are_drawn_with_the_clashes_listed(owner_client, cpt, sft):
    page = owner_client.get(HOME).content.decode()
    assert 'id="portfolio-gpus"' in page and 'id="portfolio-spend"' in page
    assert page.count('data-testid="chart"') == 2
    clashes = page.split('data-testid="clashes">')[1].split("</ul>")[0]
    assert "A800" in clashes and cpt[0].name in clashes and sft[0].name in clashes
    assert "vendor/plotly.min.js" in page and "js/figures.js" in page


def spend_figure(page: str) -> dict:
    attribute = page.split('id="portfolio-spend" class="figure" data-figure="')[1].split('"')[0]
    return json.loads(html.unescape(attribute))


def test_the_charts_follow_the_currency_asked_and_ignore_an_unknown_one(owner_client, cpt):
    cny = spend_figure(owner_client.get(HOME).content.decode())
    usd = spend_figure(owner_client.get(HOME, {"currency": "USD"}).content.decode())
    assert "(CNY)" in cny["layout"]["yaxis"]["title"]["text"]
    assert "(USD)" in usd["layout"]["yaxis"]["title"]["text"]
    rate = cpt[1].result["plan"]["usd_to_cny"]
    assert usd["data"][0]["y"] == pytest.approx([v / rate for v in cny["data"][0]["y"]])
    eur = owner_client.get(HOME, {"currency": "EUR"})
    assert eur.status_code == 200
    assert "(CNY)" in spend_figure(eur.content.decode())["layout"]["yaxis"]["title"]["text"]


def test_a_new_successful_run_replaces_the_figures_and_the_charts(owner_client, cpt, sft):
    """The rows read parts of the reports and the charts are remembered by what they draw
    (``figures.chart_json``): a newer run's figures must show on the next request, not the
    ones remembered or read before."""
    from apps.runs.models import PlanRun

    program, run = cpt
    before = owner_client.get(HOME).content.decode()
    spend = spend_figure(before)
    [bars] = [t for t in spend["data"] if t["name"] == program.name]
    monthly = run.result["monthly"]
    assert [bars["y"][spend["data"][0]["x"].index(m)] for m in monthly["labels"]] == pytest.approx(
        monthly["total_p50"]
    )
    # A newer successful run that costs twice as much (as a reused result is stored: a new row).
    report = json.loads(json.dumps(run.result))
    report["monthly"]["total_p50"] = [2 * v for v in monthly["total_p50"]]
    report["totals"]["cost"]["p50"] *= 2
    fields = {f.name: getattr(run, f.name) for f in PlanRun._meta.concrete_fields}
    for name in ("id", "created_at", "updated_at", "reused_from", "idempotency_key"):
        del fields[name]
    newer = PlanRun.objects.create(**(fields | {"result": report, "reused_from": run}))

    after = owner_client.get(HOME).content.decode()
    spend = spend_figure(after)
    [bars] = [t for t in spend["data"] if t["name"] == program.name]
    assert [bars["y"][spend["data"][0]["x"].index(m)] for m in monthly["labels"]] == pytest.approx(
        report["monthly"]["total_p50"]
    )
    cost = report["totals"]["cost"]["p50"]
    assert money_compact(cost, "CNY") in cell(after, program.pk, "cost-p50")
    assert money_compact(cost, "CNY") not in cell(before, program.pk, "cost-p50")
    status = cell(after, program.pk, "status")
    assert reverse("runs:plan_run_detail", args=[newer.pk]) in status


def test_the_demo_job_is_gone_from_the_product(owner_client, organization, cpt):
    page = owner_client.get(HOME).content.decode()
    for leftover in ("Queue demo job", "demo job", "Round trips", "round-trips", "Sum the squares"):
        assert leftover not in page
    assert owner_client.get("/demo-jobs/1/").status_code == 404
    assert owner_client.post(HOME, {"organization": organization.pk, "n": 5}).status_code == 405


def test_the_header_links_to_the_portfolio(owner_client):
    page = owner_client.get(reverse("programs:program_list")).content.decode()
    assert f'href="{HOME}" ' in page and ">Portfolio</a>" in page


def test_an_empty_portfolio_offers_the_templates_to_an_editor(owner_client):
    page = owner_client.get(HOME).content.decode()
    assert "No programs yet." in page
    assert reverse("programs:program_from_template") in page


def test_a_newer_run_shows_its_status_and_links_to_it(owner_client, owner, cpt):
    from apps.runs.models import PlanRun, RunStatus
    from apps.runs.services import plan_run_create

    program, run = cpt
    newer = plan_run_create(user=owner, scenario=run.scenario, trials=60, dispatch=False)
    page = owner_client.get(HOME).content.decode()
    status = cell(page, program.pk, "status")
    assert "running" in status and reverse("runs:plan_run_detail", args=[newer.pk]) in status
    # The figures stay the last successful run's.
    assert money_compact(run.result["totals"]["cost"]["p50"], "CNY") in cell(
        page, program.pk, "cost-p50"
    )
    PlanRun.objects.filter(pk=newer.pk).update(status=RunStatus.FAILED, error="worker lost")
    status = cell(owner_client.get(HOME).content.decode(), program.pk, "status")
    assert "failed" in status and reverse("runs:plan_run_detail", args=[newer.pk]) in status


def test_the_page_renders_in_chinese_too(owner_client, cpt):
    owner_client.post(reverse("set_language"), {"language": "zh-hans", "next": HOME})
    response = owner_client.get(HOME)
    page = response.content.decode()
    assert response.status_code == 200 and '<html lang="zh-hans">' in page
    assert row_ids(page) == [cpt[0].pk] and page.count('data-testid="chart"') == 2
