"""A planning manager's path through the app in a real browser (Debian's chromium), with a real
Celery worker process on the real broker (the embedded filesystem broker, or Redis when
REDIS_URL is set) and the test database behind pytest-django's live server.

Every page is watched for console errors and uncaught exceptions; every step leaves a
screenshot under ``$VAR_DIR/e2e-artifacts/<test>/``."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from apps.programs.models import Dataset, Program, TeamLine
from apps.programs.services import program_create_from_blueprint
from apps.runs.models import PlanRun, RunStatus
from llmplanner.simulation.report import run_plan as core_run_plan
from tests.e2e.conftest import Session, log_in, open_organization_menu

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

GPT3_EXAMPLE_PLAN = Path(settings.BASE_DIR) / "llmplanner/simulation/examples/plan-gpt3-175b.json"
GPT3 = "GPT-3-class 175B from scratch"
SCENARIO_A = "A: 175B on 1,024 A800, two full runs"
SCENARIO_B = f"{SCENARIO_A} (copy)"  # the name services.scenario_clone gives a copy
# The run dashboard of a from-scratch plan draws all eight of plan_figures.dashboard_figures:
# cost, monthly spend, Gantt, finish distribution, risk map, memory, layouts, scaling.
GPT3_DASHBOARD_FIGURES = 8
JSON = "application/json"
RUN_TIMEOUT_MS = 60_000  # a 2,000-trial GPT-3 plan takes well under a second on the worker

# Every element that declares a figure (data-figure, JSON built in Python) and how many of them
# Plotly has drawn: a .js-plotly-plot container holding a sized .main-svg with at least one
# trace layer per trace the figure declares.
FIGURES_STATE_JS = """() => [...document.querySelectorAll('[data-figure]')].map(el => {
  const svg = el.querySelector('.main-svg');
  const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  return {
    declared_traces: JSON.parse(el.dataset.figure).data.length,
    plotly: el.classList.contains('js-plotly-plot'),
    svg: Boolean(svg) && box.width > 0 && box.height > 0,
    drawn_traces: (el._fullData || []).length,
  };
})"""


def wait_for_charts(page: Page, expected: int, timeout_ms: float | None = None) -> None:
    """Wait until Plotly has drawn every declared figure, then check there are ``expected``."""
    page.wait_for_function(
        f"""() => {{
          const figures = ({FIGURES_STATE_JS})();
          return figures.length > 0 && figures.every(f => f.plotly && f.svg);
        }}""",
        timeout=timeout_ms,
    )
    figures = page.evaluate(FIGURES_STATE_JS)
    assert len(figures) == expected, figures
    assert page.locator("[data-figure].js-plotly-plot .main-svg").count() >= expected
    for figure in figures:
        assert figure["plotly"] and figure["svg"], figures
        assert figure["drawn_traces"] == figure["declared_traces"] > 0, figures


def run_plan(session: Session) -> None:
    """Click *Run plan* on a scenario's overview and wait for the worker's dashboard."""
    page = session.page
    page.get_by_test_id("run-plan").click()
    # The progress page polls; once the worker has finished, htmx reloads it as the dashboard.
    expect(page.get_by_test_id("cost-p50")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    wait_for_charts(page, GPT3_DASHBOARD_FIGURES)


def test_a_manager_plans_runs_compares_and_exports_a_program(session, worker, owner):
    page = session.page
    log_in(session, owner.username)
    session.step("logged in")

    # A program from the GPT-3 template.
    page.get_by_role("link", name="Programs", exact=True).first.click()
    page.get_by_role("button", name="New program from template").click()
    page.get_by_label(GPT3).check()
    session.step("template chosen")
    page.get_by_role("button", name="Create program").click()
    expect(page.get_by_role("heading", name=GPT3)).to_be_visible()
    program = Program.objects.get(name=GPT3)
    assert program.organization.memberships.filter(user=owner).exists()
    session.step("program created")

    # Scenario B: a copy of the template, run as it is.
    page.get_by_role("link", name=SCENARIO_A).click()
    page.get_by_role("button", name="Clone").click()
    expect(page.get_by_label("Scenario name")).to_have_value(SCENARIO_B)
    session.step("scenario cloned")
    run_plan(session)
    session.step("dashboard of the copy")

    # Scenario A: one more data engineer and a code dataset, then run.
    page.get_by_role("link", name=GPT3).click()
    page.get_by_role("link", name=SCENARIO_A, exact=True).click()
    page.get_by_role("link", name="Team").click()
    engineers = page.locator("tr", has_text="Data engineer")
    engineers.get_by_role("button", name="Edit").click()
    form = page.locator("tr.line-form-row")
    form.get_by_label("Headcount").fill("7")
    session.step("team line in edit")
    form.get_by_role("button", name="Save line").click()
    expect(form).to_have_count(0)
    expect(engineers.locator("td").nth(1)).to_have_text("7")
    line = TeamLine.objects.get(scenario__program=program, scenario__name=SCENARIO_A, headcount=7)
    assert line.role.key == "data_engineer"
    session.step("team edited")

    page.get_by_role("link", name="Data inventory").click()
    page.get_by_role("button", name="+ Add dataset").click()
    form = page.locator("tr.line-form-row")
    form.get_by_label("Dataset").fill("The Stack (permissive code)")
    form.get_by_label("Tokens").fill("200B")
    form.get_by_label("Language").select_option(label="Code")
    form.get_by_label("Source").select_option(label="Code")
    form.get_by_label("Licence").select_option(label="Cleared")
    form.get_by_label("Cleaning / dedup").select_option(label="Deduplicated")
    form.get_by_label("Acquisition or labelling cost").fill("1200000")
    session.step("dataset in edit")
    form.get_by_role("button", name="Add line").click()
    expect(form).to_have_count(0)
    expect(page.locator("tr", has_text="The Stack (permissive code)")).to_be_visible()
    dataset = Dataset.objects.get(name="The Stack (permissive code)")
    assert dataset.tokens == 200 * 10**9 and dataset.scenario.name == SCENARIO_A
    session.step("dataset added")

    page.get_by_role("link", name="Overview").click()
    run_plan(session)
    assert PlanRun.objects.filter(status=RunStatus.SUCCEEDED).count() == 2
    assert PlanRun.objects.get(scenario__name=SCENARIO_A).worker == worker.node
    session.step("dashboard of the edited scenario")

    # Both scenarios side by side.
    page.get_by_role("link", name="Compare scenarios").first.click()
    table = page.get_by_test_id("compare-table")
    header = table.locator("thead th")
    expect(header.nth(1)).to_contain_text(SCENARIO_A)
    expect(header.nth(1)).to_contain_text("baseline")
    expect(header.nth(2)).to_contain_text(SCENARIO_B)
    costs = table.locator("tbody tr").first.locator("td")
    expect(costs).to_have_count(2)
    # One more engineer and a paid dataset: the two plans cannot cost the same.
    assert costs.nth(0).inner_text() != costs.nth(1).inner_text()
    # B against the baseline A: its cost changes, so the chart of the change is drawn (and the
    # finish's when it finishes on another day).
    changes = page.get_by_test_id("delta-table")
    expect(changes.locator("thead th").nth(2)).to_contain_text(SCENARIO_B)
    expect(changes.locator("tbody tr").first.locator("td").nth(1)).to_contain_text("%)")
    expect(page.get_by_test_id("chart-cost-change")).to_have_count(1)
    wait_for_charts(page, 2 + page.get_by_test_id("chart-finish-change").count())
    session.step("scenarios compared")

    # The PDF of scenario A's run, rendered by the worker.
    page.go_back()
    wait_for_charts(page, GPT3_DASHBOARD_FIGURES)
    page.get_by_label("Paper").select_option("a4")
    page.get_by_test_id("export-pdf").click()
    download_link = page.get_by_test_id("download")
    expect(download_link).to_be_visible(timeout=RUN_TIMEOUT_MS)
    session.step("pdf ready")
    with page.expect_download() as download_info:
        download_link.click()
    download = download_info.value
    pdf = session.folder / download.suggested_filename
    download.save_as(pdf)
    assert pdf.suffix == ".pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert pdf.stat().st_size > 20_000  # twenty pages with eight charts, not an error page
    session.step("pdf downloaded")


def test_an_owner_creates_an_api_token_and_reads_the_programs_with_it(session, owner):
    program = program_create_from_blueprint(
        user=owner, organization=owner.memberships.get().organization, key="sft-7b-10k-instructions"
    )
    page = session.page
    log_in(session, owner.username)
    open_organization_menu(session)
    page.get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    session.step("api tokens page")

    page.get_by_label("Name").fill("finance sheet")
    page.get_by_label("Scope").select_option("read")
    page.get_by_test_id("create-token").click()
    expect(page.get_by_test_id("new-token")).to_contain_text("finance sheet")
    secret = page.get_by_test_id("token-secret").inner_text().strip()
    assert secret.startswith("llmp_")
    session.step("token created")

    def get_programs(headers: dict[str, str]) -> tuple[int, dict]:
        request = urllib.request.Request(session.url("/api/v1/programs/"), headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    status, body = get_programs({"Authorization": f"Bearer {secret}", "Accept": JSON})
    assert status == 200, body
    assert [p["name"] for p in body["results"]] == [program.name]
    status, body = get_programs({"Authorization": f"Bearer {secret}x", "Accept": JSON})
    assert status == 401, body

    # The page lists the token (never its secret again) with its first use.
    open_organization_menu(session)
    page.get_by_role("link", name="API tokens").click()
    expect(page.get_by_test_id("new-token")).to_have_count(0)
    row = page.locator("tbody tr", has_text="finance sheet")
    expect(row).to_be_visible()
    expect(row.locator("td").nth(5)).not_to_have_text("—")
    session.step("token used")


def test_the_header_switches_to_chinese_and_the_dashboard_follows(session, worker, owner):
    program = program_create_from_blueprint(
        user=owner, organization=owner.memberships.get().organization, key="gpt3-175b-from-scratch"
    )
    page = session.page
    log_in(session, owner.username)
    page.goto(session.url(f"/programs/{program.pk}/"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".facts")).to_contain_text("Budget cap")
    session.step("english")

    page.locator(".language-switch").get_by_role("button", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    # Translations from locale/zh_Hans: "Programs" → 项目, "Budget cap" → 预算上限; money in 万/亿.
    expect(page.get_by_role("banner").get_by_role("link", name="项目", exact=True)).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("预算上限")
    expect(page.locator(".facts")).to_contain_text("¥200,000,000")
    session.step("chinese program page")

    # The choice sticks: the run, started from the Chinese button, gets a Chinese dashboard.
    page.get_by_role("link", name=SCENARIO_A).click()
    page.get_by_role("button", name="运行计划").click()
    expect(page.get_by_test_id("cost-p50")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    wait_for_charts(page, GPT3_DASHBOARD_FIGURES)
    expect(page.get_by_text("分类成本")).to_be_visible()
    # Compact money in Chinese units (¥1841万, ¥2.1亿), never the English M/B.
    expect(page.get_by_test_id("cost-p50")).to_have_text(re.compile(r"^¥[\d.]+(万|亿)$"))
    session.step("chinese dashboard")

    page.locator(".language-switch").get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_text("Cost by category")).to_be_visible()
    session.step("back to english")


def test_the_checks_catch_a_dashboard_whose_charts_do_not_draw(session, owner):
    """The checks above can fail: with plotly.min.js refused in the browser (a fault injected
    on purpose; the server is untouched) the page logs an error and no chart is drawn."""
    scenario = program_create_from_blueprint(
        user=owner, organization=owner.memberships.get().organization, key="gpt3-175b-from-scratch"
    ).scenarios.get()
    plan = json.loads(GPT3_EXAMPLE_PLAN.read_text())
    report = core_run_plan(plan, trials=200, seed=0)
    run = PlanRun.objects.create(
        organization=scenario.program.organization,
        scenario=scenario,
        scenario_version=scenario.version,
        created_by=owner,
        status=RunStatus.SUCCEEDED,
        inputs=plan,
        input_hash="e" * 64,
        core_version=report["core_version"],
        trials=200,
        result=report,
        progress=100,
    )
    page = session.page
    log_in(session, owner.username)
    page.route("**/vendor/plotly.min.js", lambda route: route.abort())
    page.goto(session.url(f"/runs/{run.pk}/"))
    expect(page.get_by_test_id("cost-p50")).to_be_visible()
    with pytest.raises(PlaywrightTimeoutError):
        wait_for_charts(page, GPT3_DASHBOARD_FIGURES, timeout_ms=3_000)
    assert page.locator("[data-figure]").count() == GPT3_DASHBOARD_FIGURES
    assert page.locator("[data-figure] .main-svg").count() == 0
    assert any("plotly.min.js" in problem for problem in session.problems), session.problems
    with pytest.raises(AssertionError, match="console errors"):
        session.step("plotly refused")


def test_the_api_documentation_renders_under_the_content_security_policy(session, db):
    """Swagger UI draws the schema with no console error: its scripts are files of our own (no
    CDN, no inline script), as the site's Content-Security-Policy demands."""
    page = session.page
    response = page.goto(session.url("/api/docs/"))
    assert (
        response is not None and "script-src 'self'" in response.headers["content-security-policy"]
    )
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    expect(page.get_by_text("/api/v1/programs/", exact=True).first).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("llmplanner finance API"))).to_be_visible()
    session.step("swagger ui")


def test_a_shared_read_only_link_opens_the_dashboard_for_a_visitor_without_an_account(
    session, browser, live_server, owner
):
    """An owner makes a share link in the browser and a visitor with no account opens it: the
    dashboard draws, nothing can be changed from it, and the language switch still works. (With
    ``Referrer-Policy: no-referrer`` Chromium sent ``Origin: null`` with the page's own form and
    the CSRF check refused it — this test is how that showed.)"""
    scenario = program_create_from_blueprint(
        user=owner, organization=owner.memberships.get().organization, key="gpt3-175b-from-scratch"
    ).scenarios.get()
    plan = json.loads(GPT3_EXAMPLE_PLAN.read_text())
    report = core_run_plan(plan, trials=200, seed=0)
    run = PlanRun.objects.create(
        organization=scenario.program.organization,
        scenario=scenario,
        scenario_version=scenario.version,
        created_by=owner,
        status=RunStatus.SUCCEEDED,
        inputs=plan,
        input_hash="s" * 64,
        core_version=report["core_version"],
        trials=200,
        result=report,
        progress=100,
    )
    page = session.page
    log_in(session, owner.username)
    page.goto(session.url(f"/runs/{run.pk}/"))
    page.get_by_test_id("share").click()
    page.get_by_label("For whom").fill("the board")
    page.get_by_test_id("share-create").click()
    address = page.get_by_test_id("share-made").locator("input").input_value()
    assert "/shared/" in address
    session.step("share link made")
    visitor = browser.new_context(locale="en-US", viewport={"width": 390, "height": 900})
    try:
        other = visitor.new_page()
        problems: list[str] = []
        other.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        other.goto(address)
        expect(other.get_by_test_id("shared-banner")).to_be_visible()
        wait_for_charts(other, GPT3_DASHBOARD_FIGURES)
        assert other.get_by_test_id("run-plan").count() == 0
        assert other.get_by_test_id("export-pdf").count() == 0
        other.get_by_role("button", name="简体中文").click()
        expect(other.get_by_test_id("shared-banner")).to_contain_text("只读")
        assert not problems, problems
    finally:
        visitor.close()
