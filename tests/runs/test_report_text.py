"""The core's sentences in the active language (issue 18): every template the core writes is
listed for translation, English pages show the core's own text, Chinese pages the catalog's
translation, and anything the catalog cannot render falls back to English — never an error. The
API keeps the stored English report."""

from __future__ import annotations

import ast
import copy
import json
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext

from apps.programs.blueprints import blueprint_list
from apps.programs.plan_adapter import scenario_to_plan_dict
from apps.programs.services import program_create_from_blueprint
from apps.reports.assumptions import role_names
from apps.reports.document import document_context, render_html
from apps.runs.report_tables import purpose_label
from apps.runs.report_text import CORE_TEMPLATES, TEXT_FIELDS, _param, localize_report
from llmplanner.simulation.report import run_plan
from tests.reports.conftest import unsaved_run
from tests.runs.dated_plan import dated_plan

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "llmplanner" / "simulation"
EXAMPLES = CORE / "examples"


def templates_of(value) -> set[str]:
    """Every template in a report: the ``*_template`` fields and nested texts in parameters."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("_template") and item:
                found.add(item)
            elif key == "template" and isinstance(item, str):
                found.add(item)
            found |= templates_of(item)
    elif isinstance(value, list):
        for item in value:
            found |= templates_of(item)
    return found


def core_template_calls() -> list[str]:
    """The first argument of every ``T(...)`` call in the core (each must be a string literal)."""
    out = []
    for path in sorted(CORE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if node.func.id != "T":
                    continue
                arg = node.args[0]
                assert isinstance(arg, ast.Constant) and isinstance(arg.value, str), (
                    f"{path.name}:{node.lineno}: a template must be a string literal"
                )
                out.append(arg.value)
    return out


@pytest.fixture(scope="module")
def cpt_report() -> dict:
    """A dated continued-pretraining program: pools, dated team lines, a CPT main run."""
    return run_plan(dated_plan(), trials=100, seed=1)


@pytest.mark.django_db
def test_every_template_the_core_writes_for_the_examples_and_templates_is_listed(
    owner, organization
):
    plans = [json.loads(p.read_text()) for p in sorted(EXAMPLES.glob("plan-*.json"))]
    for blueprint in blueprint_list():
        program = program_create_from_blueprint(
            user=owner, organization=organization, key=blueprint.key
        )
        plans.append(scenario_to_plan_dict(program.scenarios.get()))
    plans.append(dated_plan())
    assert len(plans) >= 12
    written: set[str] = set()
    for plan in plans:
        written |= templates_of(run_plan(plan, trials=40, seed=1))
    assert len(written) > 80
    missing = sorted(written - set(CORE_TEMPLATES))
    assert not missing, missing


def test_every_template_call_in_the_core_is_listed_and_nothing_else():
    calls = core_template_calls()
    assert len(calls) > 150
    assert len(CORE_TEMPLATES) == len(set(CORE_TEMPLATES))
    assert set(calls) == set(CORE_TEMPLATES), (
        sorted(set(calls) - set(CORE_TEMPLATES)),
        sorted(set(CORE_TEMPLATES) - set(calls)),
    )


def test_in_english_every_sentence_is_the_cores_own(cpt_report):
    stored = copy.deepcopy(cpt_report)
    with translation.override("en"):
        shown = localize_report(cpt_report)
        names = role_names()
    assert cpt_report == stored  # the stored report is never changed
    for section, fields in TEXT_FIELDS.items():
        assert shown[section]
        for row, original in zip(shown[section], cpt_report[section], strict=True):
            for name in fields:
                assert row[name] == original[name], (section, name)
    assert shown["main_run"]["explanation"] == cpt_report["main_run"]["explanation"]
    for risk, original in zip(shown["risks"], cpt_report["risks"], strict=True):
        assert risk["owner_key"] == original["owner"]
        assert risk["owner"] == risk["owner_label"] == names[original["owner"]]
        assert (
            risk["likelihood_from"]
            == {"monte carlo": "Monte Carlo", "rule": "rule"}[original["likelihood_from"]]
        )
    assert localize_report(shown) == shown  # localizing twice changes nothing


def test_in_chinese_the_catalogs_translations_are_used(cpt_report):
    with translation.override("zh-hans"):
        shown = localize_report(cpt_report)
        expected_main = gettext("Continued pretraining")
        expected_owner = role_names()["product_manager"]
        monte_carlo = gettext("Monte Carlo")
        data_stream = gettext("data")
    assert expected_main != "Continued pretraining" and not expected_owner.isascii()
    stages = {s["key"]: s for s in shown["stages"]}
    assert stages["main"]["name"] == expected_main
    gate = next(m for m in shown["milestones"] if m["stream"] == "data")
    assert gate["stream_label"] == data_stream != "data"
    delay = next(r for r in shown["risks"] if r["owner_key"] == "product_manager")
    assert delay["owner"] == expected_owner
    assert any(r["likelihood_from"] == monte_carlo for r in shown["risks"])
    assert not any(r["owner"] in role_names() for r in shown["risks"])  # no raw role key
    # The stored report stays English.
    assert {s["key"]: s["name"] for s in cpt_report["stages"]}["main"] == "Continued pretraining"


def test_a_template_the_catalog_lacks_or_parameters_that_do_not_fit_give_the_english(cpt_report):
    broken = copy.deepcopy(cpt_report)
    main = next(s for s in broken["stages"] if s["key"] == "main")
    main["name_params"] = {"runs": 5}  # not a formatted string
    team = next(s for s in broken["stages"] if s["key"] == "team")
    team["name_params"] = "not a mapping"
    risk = broken["risks"][0]
    risk["title_template"] = "A sentence no catalog has: %(what)s"
    risk["title_params"] = {"what": "x"}
    risk["title"] = "English title"
    storage = next(s for s in broken["stages"] if s["key"] == "storage")
    storage["name_params"] = {"x": {"template": "%(missing)s", "params": {}}}
    with translation.override("zh-hans"):
        assert gettext("Continued pretraining") != "Continued pretraining"
        assert gettext("Storage") != "Storage"
        shown = localize_report(broken)
    stages = {s["key"]: s for s in shown["stages"]}
    assert stages["main"]["name"] == "Continued pretraining"
    assert stages["team"]["name"] == "Team"
    assert stages["storage"]["name"] == "Storage"
    assert shown["risks"][0]["title"] == "English title"


def test_a_report_stored_before_templates_translates_its_plain_sentences(cpt_report):
    old = copy.deepcopy(cpt_report)
    for section in TEXT_FIELDS:
        for row in old[section]:
            for key in [k for k in row if k.endswith(("_template", "_params"))]:
                del row[key]
    for key in ("explanation_template", "explanation_params"):
        del old["main_run"][key]
    old["risks"][0]["source"] = "seed 004"  # an internal reference the catalog never had
    with translation.override("zh-hans"):
        shown = localize_report(old)
        expected = gettext("Continued pretraining")
    stages = {s["key"]: s for s in shown["stages"]}
    assert stages["main"]["name"] == expected != "Continued pretraining"
    assert shown["risks"][0]["source"] == "seed 004"
    assert shown["main_run"]["explanation"] == cpt_report["main_run"]["explanation"]


def test_nested_texts_roles_purposes_and_lists_follow_the_language():
    with translation.override("zh-hans"):
        roles = role_names()
        nested = _param({"template": "Continued pretraining", "params": {}}, roles)
        person = _param({"role": "data_engineer"}, roles)
        pool = _param({"purpose": "finetune"}, roles)
        listed = _param({"items": ["甲", {"role": "legal"}], "join": "list"}, roles)
        assert nested == gettext("Continued pretraining") != "Continued pretraining"
        assert person == roles["data_engineer"] and not person.isascii()
        assert pool == purpose_label("finetune") != "SFT and alignment"
        assert listed.startswith("甲") and listed.endswith(roles["legal"])
    with translation.override("en"):
        assert _param({"role": "data_engineer"}, role_names()) == "Data engineer"


@pytest.mark.django_db
def test_the_pdf_shows_the_sentences_in_its_language(cpt_report):
    run = unsaved_run(cpt_report, dated_plan())
    with translation.override("zh-hans"):
        context = document_context(run, paper="a4")
        expected_main = gettext("Continued pretraining")
        names = role_names()
    assert {s["key"]: s["name"] for s in context["stages"]}["main"] == expected_main
    assert all(not r["owner_label"].isascii() for r in context["risks"])
    assert {r["owner_label"] for r in context["risks"]} <= set(names.values())
    html = render_html(run, paper="a4", language="zh-hans")
    assert expected_main in html
    assert run.result == cpt_report  # the export renders from the stored report, unchanged


@pytest.mark.django_db
def test_the_dashboard_in_chinese_shows_role_names_and_the_api_keeps_english(
    owner, organization, owner_client
):
    from unittest import mock

    from apps.accounts.services import api_token_create
    from apps.runs.services import plan_run_create, plan_run_execute

    program = program_create_from_blueprint(
        user=owner, organization=organization, key="cpt-7b-domain"
    )
    with mock.patch("apps.runs.tasks.plan_run_task.delay"):
        created = plan_run_create(user=owner, scenario=program.scenarios.get(), trials=100)
    run = plan_run_execute(run_id=created.pk, worker="test")
    url = reverse("runs:plan_run_detail", args=[run.pk])
    owner_client.post(reverse("set_language"), {"language": "zh-hans", "next": url})
    html = owner_client.get(url).content.decode()
    with translation.override("zh-hans"):
        expected = localize_report(run.result)
        main = gettext("Continued pretraining")
    assert main in html and main != "Continued pretraining"
    for risk in expected["risks"]:
        assert f"<td>{escape(risk['owner'])}</td>" in html
        assert f"<td>{risk['owner_key']}</td>" not in html
    compare = owner_client.get(reverse("runs:compare", args=[program.pk])).content.decode()
    assert escape(expected["risks"][0]["title"]) in compare

    token = api_token_create(user=owner, organization=organization, name="ERP", scope="read")[1]
    api = owner_client.get(
        f"/api/v1/runs/{run.pk}/",
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "zh-hans"},
    )
    assert api.status_code == 200
    assert api.json()["result"] == json.loads(json.dumps(run.result))
