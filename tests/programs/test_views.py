"""Pages of the planning workspace, as the owner, a viewer and an outsider (404 everywhere)."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from apps.programs.blueprints import blueprint_list
from apps.programs.models import GPUType, Program, Scenario
from tests.programs.factories import DatasetFactory, TeamLineFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def lines(scenario):
    return {
        "gpus": scenario.budget_lines.get(),
        "team": TeamLineFactory(scenario=scenario),
        "data": DatasetFactory(scenario=scenario),
    }


def pages(program, scenario, lines):
    """Every URL of the app that names an object, with the methods it answers."""
    s, p = scenario.pk, program.pk
    urls = [
        ("get", reverse("programs:program_detail", args=[p])),
        ("get", reverse("programs:program_edit", args=[p])),
        ("post", reverse("programs:program_edit", args=[p])),
        ("post", reverse("programs:program_archive", args=[p])),
        ("post", reverse("programs:scenario_create", args=[p])),
        ("get", reverse("programs:scenario_import", args=[p])),
        ("post", reverse("programs:scenario_import", args=[p])),
        ("get", reverse("programs:scenario_detail", args=[s])),
        ("post", reverse("programs:scenario_rename", args=[s])),
        ("post", reverse("programs:scenario_clone", args=[s])),
        ("post", reverse("programs:scenario_archive", args=[s])),
        ("post", reverse("programs:scenario_baseline", args=[s])),
        ("get", reverse("programs:scenario_export", args=[s, "json"])),
        ("get", reverse("programs:scenario_export", args=[s, "yaml"])),
    ]
    for tab in ("overview", "strategy", "model", "gpus", "team", "data", "history"):
        urls.append(("get", reverse("programs:scenario_tab", args=[s, tab])))
    urls += [("post", reverse("programs:scenario_tab", args=[s, t])) for t in ("strategy", "model")]
    for kind, line in lines.items():
        urls += [
            ("get", reverse("programs:line_add", args=[s, kind])),
            ("post", reverse("programs:line_add", args=[s, kind])),
            ("get", reverse("programs:line_row", args=[s, kind, line.pk])),
            ("get", reverse("programs:line_edit", args=[s, kind, line.pk])),
            ("post", reverse("programs:line_edit", args=[s, kind, line.pk])),
            ("post", reverse("programs:line_delete", args=[s, kind, line.pk])),
        ]
    return urls


def test_an_outsider_gets_404_on_every_page_and_changes_nothing(
    outsider_client, program, scenario, lines
):
    for method, url in pages(program, scenario, lines):
        response = getattr(outsider_client, method)(url, {"name": "x", "version": 1})
        assert response.status_code == 404, (method, url)
    scenario.refresh_from_db()
    assert scenario.version == 1 and Scenario.objects.count() == 1


def test_an_outsider_does_not_see_the_program_in_the_list(outsider_client, program):
    response = outsider_client.get(reverse("programs:program_list"))
    assert program.name not in response.content.decode()


def test_a_viewer_reads_every_page_but_cannot_change_anything(
    viewer_client, program, scenario, lines
):
    for method, url in pages(program, scenario, lines):
        response = getattr(viewer_client, method)(url, {"name": "x", "version": 1})
        if method == "get" and "/edit/" not in url and "/add/" not in url and "/import/" not in url:
            assert response.status_code in (200, 302), url
        else:
            assert response.status_code == 403, (method, url)
    scenario.refresh_from_db()
    assert scenario.version == 1 and Scenario.objects.count() == 1


def test_a_viewer_sees_no_edit_buttons(viewer_client, scenario):
    page = viewer_client.get(reverse("programs:scenario_tab", args=[scenario.pk, "gpus"]))
    assert b"Add GPU budget line" not in page.content
    assert b"You have read access" not in page.content  # only on form tabs
    form_tab = viewer_client.get(reverse("programs:scenario_tab", args=[scenario.pk, "model"]))
    assert b"You have read access" in form_tab.content


def test_pages_need_a_login(client, scenario):
    url = reverse("programs:scenario_tab", args=[scenario.pk, "overview"])
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == f"{reverse('accounts:login')}?next={url}"


def test_the_list_shows_the_users_programs_and_the_templates(owner_client, program):
    page = owner_client.get(reverse("programs:program_list")).content.decode()
    assert program.name in page and "New program from template" in page


def test_it_creates_a_program_and_lands_on_it(owner_client, organization):
    response = owner_client.post(
        reverse("programs:program_create"),
        {
            "organization": organization.pk,
            "name": "Lab LLM",
            "currency": "CNY",
            "usd_to_cny": "7.2",
            "strategy": "cpt",
        },
    )
    program = Program.objects.get(name="Lab LLM")
    assert response.url == reverse("programs:program_detail", args=[program.pk])
    assert program.scenarios.get().strategy == "cpt"


def test_it_creates_a_program_from_a_template(owner_client, organization):
    response = owner_client.post(
        reverse("programs:program_from_template"),
        {"organization": organization.pk, "blueprint": "rag-domain-knowledge-base"},
    )
    program = Program.objects.get()
    assert response.url == reverse("programs:program_detail", args=[program.pk])
    assert program.scenarios.get().strategy == "rag"


def test_a_program_from_a_template_takes_the_name_the_manager_gives(owner_client, organization):
    # Issue 18: "From template" asks for a name; empty keeps the template's; too long is refused
    # naming the field, and nothing is saved.
    url = reverse("programs:program_from_template")
    page = owner_client.get(url).content.decode()
    assert 'name="name"' in page
    owner_client.post(
        url,
        {
            "organization": organization.pk,
            "blueprint": "rag-domain-knowledge-base",
            "name": " Ops KB ",
        },
    )
    assert Program.objects.get().name == "Ops KB"
    response = owner_client.post(
        url,
        {
            "organization": organization.pk,
            "blueprint": "rag-domain-knowledge-base",
            "name": "x" * 201,
        },
    )
    assert response.status_code == 200 and Program.objects.count() == 1
    assert "at most 200 characters" in response.content.decode()


# What only each tab's content has; the form tabs (strategy, model) post to their own address.
TAB_CONTENT = {
    "overview": '<div class="grid overview">',
    "gpus": 'class="striped lines lines-gpus"',
    "team": 'class="striped lines lines-team"',
    "data": 'class="striped lines lines-data"',
    "history": '<table class="striped history">',
}


def test_every_tab_of_every_template_renders(owner_client, owner, organization):
    from apps.programs.services import demo_programs_load

    demo_programs_load(user=owner, organization=organization)
    scenarios = list(Scenario.objects.all())
    assert len(scenarios) == len(blueprint_list())
    for scenario in scenarios:
        for tab in ("overview", "strategy", "model", "gpus", "team", "data", "history"):
            url = reverse("programs:scenario_tab", args=[scenario.pk, tab])
            response = owner_client.get(url)
            assert response.status_code == 200, url
            page = response.content.decode()
            assert f'value="{escape(scenario.name)}"' in page, url  # its own title
            assert f'<a href="{url}" aria-current="page">' in page, url  # on the right tab
            assert TAB_CONTENT.get(tab, f'action="{url}"') in page, url  # and its content


def test_it_saves_the_model_tab_and_shows_the_chinchilla_figure(owner_client, scenario):
    url = reverse("programs:scenario_tab", args=[scenario.pk, "model"])
    assert "Chinchilla-optimal: <strong>135B</strong>" in owner_client.get(url).content.decode()
    response = owner_client.post(
        url,
        {
            "version": 1,
            "model_preset": scenario.model_preset_id,
            "training_tokens": "1.4T",
            "precision": "bf16",
            "global_batch_tokens": "4M",
        },
    )
    assert response.status_code == 302
    scenario.refresh_from_db()
    assert scenario.training_tokens == 1_400_000_000_000 and scenario.version == 2


def test_it_shows_a_clear_message_when_someone_else_saved_first(owner_client, scenario):
    url = reverse("programs:scenario_tab", args=[scenario.pk, "model"])
    data = {
        "version": 1,
        "model_preset": scenario.model_preset_id,
        "training_tokens": "1T",
        "precision": "bf16",
        "global_batch_tokens": "4M",
    }
    owner_client.post(url, data)
    response = owner_client.post(url, {**data, "training_tokens": "3T"})
    assert response.status_code == 200
    assert "after you opened it. Nothing was saved" in response.content.decode()
    scenario.refresh_from_db()
    assert scenario.training_tokens == 10**12


def test_it_shows_rule_findings_next_to_their_field(owner_client, program):
    from tests.programs.factories import ScenarioFactory

    scenario = ScenarioFactory(program=program, strategy="cpt", training_tokens=100 * 10**9)
    DatasetFactory(scenario=scenario, tokens=40 * 10**9, kind="domain", stage="cpt")
    DatasetFactory(scenario=scenario, tokens=60 * 10**9, kind="general", stage="cpt")
    page = owner_client.get(reverse("programs:scenario_tab", args=[scenario.pk, "data"]))
    assert "CPT domain share 40% exceeds the ≤ 15% rule" in page.content.decode()
    assert (
        "vertical-LLM survey 2023: every 100B domain tokens need 700–1000B general"
        in page.content.decode()
    )


def test_it_edits_a_line_inline_and_sends_the_new_version_out_of_band(owner_client, scenario):
    line = scenario.budget_lines.get()
    edit = reverse("programs:line_edit", args=[scenario.pk, "gpus", line.pk])
    form = owner_client.get(edit, **HTMX).content.decode()
    assert 'hx-include="#scenario-version"' in form and "<html" not in form
    response = owner_client.post(
        edit,
        {
            "version": 1,
            "purpose": "training",
            "gpu_type": line.gpu_type_id,
            "gpu_count": 512,
            "mode": "rent",
            "months": "4",
            "delivery_risk": "risky",
            "reliability_class": "standard",
            "checkpoint_storage_gbps": "20",
        },
        **HTMX,
    )
    body = response.content.decode()
    assert f'id="line-gpus-{line.pk}"' in body
    assert 'id="scenario-version" name="version" value="2" hx-swap-oob="true"' in body
    line.refresh_from_db()
    assert line.gpu_count == 512 and line.delivery_risk == "risky"


def test_it_shows_a_rule_error_in_the_inline_form_and_saves_nothing(owner_client, scenario):
    add = reverse("programs:line_add", args=[scenario.pk, "gpus"])
    response = owner_client.post(
        add,
        {
            "version": 1,
            "purpose": "training",
            "gpu_type": GPUType.objects.get(key="h100-80gb").pk,
            "gpu_count": 0,
            "mode": "rent",
            "months": "2",
            "delivery_risk": "standard",
            "reliability_class": "standard",
            "checkpoint_storage_gbps": "20",
        },
        **HTMX,
    )
    assert "A budget line needs at least one GPU" in response.content.decode()
    assert scenario.budget_lines.count() == 1


def test_it_adds_and_removes_a_dataset_with_htmx(owner_client, scenario):
    add = reverse("programs:line_add", args=[scenario.pk, "data"])
    response = owner_client.post(
        add,
        {
            "version": 1,
            "name": "Books",
            "tokens": "55B",
            "stage": "pretrain",
            "kind": "general",
            "language": "en",
            "source": "books",
            "licence": "unknown",
            "quality": "high",
            "cleaning": "cleaned",
            "cost": "0",
        },
        **HTMX,
    )
    dataset = scenario.datasets.get()
    assert f'id="line-data-{dataset.pk}"' in response.content.decode()
    delete = reverse("programs:line_delete", args=[scenario.pk, "data", dataset.pk])
    response = owner_client.post(delete, {"version": 2}, **HTMX)
    assert 'value="3" hx-swap-oob="true"' in response.content.decode()
    assert not scenario.datasets.exists()


def test_team_and_data_tables_have_totals_that_follow_each_edit(owner_client, scenario):
    # Issue 18: the team and data tables had no totals. The footer sums what the core costs
    # (headcount × monthly cost × allocation; tokens and cost of the inventory) and an htmx add
    # or remove sends the new footer out of band.
    from apps.programs.models import RoleTemplate

    role = RoleTemplate.objects.get(key="run_watcher")
    team = reverse("programs:scenario_tab", args=[scenario.pk, "team"])
    for headcount, cost, allocation in (("2", "10000", 50), ("1.5", "20000", 100)):
        owner_client.post(
            reverse("programs:line_add", args=[scenario.pk, "team"]),
            {
                "version": scenario.version,
                "role": role.pk,
                "headcount": headcount,
                "monthly_cost": cost,
                "allocation_pct": allocation,
            },
        )
        scenario.refresh_from_db()
    page = owner_client.get(team).content.decode()
    footer = page[page.index('<tfoot id="lines-totals"') :]
    # 2 × 10,000 × 50% + 1.5 × 20,000 = 40,000 a month; 3.5 people.
    assert "Total, 2 roles" in footer and "<td>3.5</td>" in footer and "40,000" in footer
    add = reverse("programs:line_add", args=[scenario.pk, "data"])
    values = {
        "name": "Books",
        "tokens": "55B",
        "stage": "pretrain",
        "kind": "general",
        "language": "en",
        "source": "books",
        "licence": "unknown",
        "quality": "high",
        "cleaning": "cleaned",
        "cost": "1000",
    }
    owner_client.post(add, {"version": scenario.version, **values}, **HTMX)
    response = owner_client.post(
        add, {"version": scenario.version + 1, **values, "name": "Web", "tokens": "45B"}, **HTMX
    )
    body = response.content.decode()
    assert '<tfoot id="lines-totals" hx-swap-oob="true">' in body
    assert "Total, 2 datasets" in body and "<td>100B</td>" in body
    # The GPU table has no footer: pools of different parts and windows do not add up.
    gpus = owner_client.get(reverse("programs:scenario_tab", args=[scenario.pk, "gpus"]))
    assert "lines-totals" not in gpus.content.decode()


def test_it_adds_a_team_line_without_htmx(owner_client, scenario):
    from apps.programs.models import RoleTemplate

    response = owner_client.post(
        reverse("programs:line_add", args=[scenario.pk, "team"]),
        {
            "version": 1,
            "role": RoleTemplate.objects.get(key="run_watcher").pk,
            "headcount": "1",
            "allocation_pct": 100,
        },
    )
    assert response.status_code == 302
    assert scenario.team_lines.get().role.key == "run_watcher"


def test_it_renames_clones_baselines_and_archives(owner_client, scenario):
    rename = reverse("programs:scenario_rename", args=[scenario.pk])
    response = owner_client.post(rename, {"name": "B: H800", "version": 1}, **HTMX)
    assert 'value="B: H800"' in response.content.decode()
    owner_client.post(reverse("programs:scenario_clone", args=[scenario.pk]))
    copy = Scenario.objects.exclude(pk=scenario.pk).get()
    owner_client.post(reverse("programs:scenario_baseline", args=[copy.pk]))
    owner_client.post(reverse("programs:scenario_archive", args=[scenario.pk]))
    scenario.refresh_from_db()
    copy.refresh_from_db()
    assert copy.is_baseline and scenario.is_archived and scenario.name == "B: H800"


def test_it_exports_a_scenario_as_a_download(owner_client, scenario):
    response = owner_client.get(reverse("programs:scenario_export", args=[scenario.pk, "yaml"]))
    assert response["Content-Type"].startswith("application/yaml")
    assert "attachment;" in response["Content-Disposition"]
    assert response.content.startswith(b"format: llmplanner-scenario\nformat_version: 1\n")


def test_it_imports_a_file_and_reports_a_malformed_one_by_line(owner_client, scenario):
    text = owner_client.get(
        reverse("programs:scenario_export", args=[scenario.pk, "yaml"])
    ).content.decode()
    url = reverse("programs:scenario_import", args=[scenario.program_id])
    response = owner_client.post(url, {"text": text})
    assert response.status_code == 302 and Scenario.objects.count() == 2
    broken = text.replace("gpu_count: 256", "gpu_count: many")
    response = owner_client.post(url, {"text": broken})
    body = response.content.decode()
    assert "Nothing was imported" in body and "scenario.gpu_budget[0].gpu_count" in body
    assert "line " in body
    assert Scenario.objects.count() == 2


def test_the_history_tab_lists_who_changed_what(owner_client, owner, scenario):
    from apps.programs.services import scenario_update

    scenario_update(user=owner, scenario=scenario, expected_version=1, values={"full_runs": 3})
    page = owner_client.get(reverse("programs:scenario_tab", args=[scenario.pk, "history"]))
    body = page.content.decode()
    assert owner.username in body and "full_runs" in body and "<strong>3</strong>" in body


def test_two_people_editing_a_program_do_not_overwrite_each_other(owner_client, program):
    url = reverse("programs:program_edit", args=[program.pk])
    page = owner_client.get(url).content.decode()
    loaded_at = page.split('name="loaded_at" value="')[1].split('"')[0]
    data = {"name": "First", "currency": "CNY", "usd_to_cny": "7.2", "loaded_at": loaded_at}
    assert owner_client.post(url, data).status_code == 302
    response = owner_client.post(url, {**data, "name": "Second"})
    assert "Someone changed this program after you opened it" in response.content.decode()
    program.refresh_from_db()
    assert program.name == "First"
