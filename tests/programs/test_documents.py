"""Scenario documents: versioned JSON/YAML that round-trips; malformed files name line and field."""

import json

import pytest
import yaml

from apps.programs.documents import (
    FORMAT_VERSION,
    DocumentError,
    document_dump,
    document_parse,
    scenario_document,
)
from apps.programs.services import program_create_from_blueprint, scenario_import
from tests.programs.factories import DatasetFactory, ProgramFactory, TeamLineFactory

pytestmark = pytest.mark.django_db


def without_volatile(document):
    document = json.loads(json.dumps(document))
    document["plan"].pop("name")
    return document


@pytest.fixture
def cpt(owner, organization):
    program = program_create_from_blueprint(
        user=owner, organization=organization, key="cpt-7b-domain"
    )
    return program.scenarios.get()


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_it_round_trips_a_scenario_through_a_file(cpt, owner, fmt):
    text = document_dump(scenario_document(cpt), fmt)
    copy = scenario_import(user=owner, program=cpt.program, text=text)
    assert copy.pk != cpt.pk
    assert without_volatile(scenario_document(copy)) == without_volatile(scenario_document(cpt))
    assert document_dump(scenario_document(copy), fmt) == text


def test_it_writes_a_format_version_and_the_core_plan(cpt):
    document = yaml.safe_load(document_dump(scenario_document(cpt), "yaml"))
    assert document["format"] == "llmplanner-scenario"
    assert document["format_version"] == FORMAT_VERSION
    assert document["plan"]["strategy"] == "cpt"
    assert document["scenario"]["gpu_budget"][0]["gpu_type"] == "a800-80gb"
    assert document["scenario"]["team"][0]["role"] == "data_engineer"


def test_it_moves_a_scenario_between_organizations_converting_the_currency(cpt, outsider):
    other = ProgramFactory(
        organization=outsider.memberships.get().organization, currency="USD", budget_cap=None
    )
    text = document_dump(scenario_document(cpt), "yaml")
    copy = scenario_import(user=outsider, program=other, text=text)
    assert copy.program == other
    assert copy.datasets.count() == cpt.datasets.count()
    court = copy.datasets.get(name="Court judgments and statutes")
    assert str(court.cost) == "27777.78"  # 200,000 CNY at 7.2
    assert "converted from CNY" in copy.activities.get().summary


def test_it_names_the_line_of_a_yaml_syntax_error():
    with pytest.raises(DocumentError) as caught:
        document_parse("format: llmplanner-scenario\nformat_version: 1\nscenario: [unclosed\n")
    assert "line 4" in caught.value.message or "line 3" in caught.value.message
    assert "not valid YAML" in caught.value.message


def test_it_names_the_line_and_column_of_a_json_syntax_error():
    with pytest.raises(DocumentError) as caught:
        document_parse('{\n  "format": "llmplanner-scenario",\n  "format_version": 1,,\n}')
    assert caught.value.message.startswith("line 3")
    assert "not valid JSON" in caught.value.message


def test_it_names_the_line_and_field_of_a_bad_value(cpt):
    document = scenario_document(cpt)
    document["scenario"]["team"][1]["headcount"] = "lots"
    document["scenario"]["gpu_budget"][0]["gpu_type"] = "tpu-v9"
    text = document_dump(document, "yaml")
    with pytest.raises(DocumentError) as caught:
        document_parse(text)
    paths = {path: line for path, line, _ in caught.value.errors}
    assert "scenario.team[1].headcount" in paths
    assert "scenario.gpu_budget[0].gpu_type" in paths
    lines = text.splitlines()
    assert "headcount: lots" in lines[paths["scenario.team[1].headcount"] - 1]
    assert "line " in caught.value.message and "unknown key 'tpu-v9'" in caught.value.message


def test_it_rejects_unknown_fields_and_newer_format_versions(cpt):
    document = scenario_document(cpt)
    document["scenario"]["training"]["tokenz"] = 5
    with pytest.raises(DocumentError, match=r"scenario\.training\.tokenz: unknown field"):
        document_parse(document_dump(document, "json"))
    document = scenario_document(cpt)
    document["format_version"] = FORMAT_VERSION + 1
    with pytest.raises(DocumentError, match="newer than this llmplanner reads"):
        document_parse(document_dump(document, "json"))


def test_it_applies_the_domain_rules_on_import(cpt):
    document = scenario_document(cpt)
    document["scenario"]["gpu_budget"][0]["gpu_count"] = 0
    document["scenario"]["gpu_budget"][1]["months"] = 0
    with pytest.raises(DocumentError) as caught:
        document_parse(document_dump(document, "yaml"))
    message = caught.value.message
    assert "gpu_budget[0].gpu_count: A budget line needs at least one GPU" in message
    assert "gpu_budget[1].months: This line ends before it starts" in message


def test_it_rejects_what_is_not_a_scenario_document():
    with pytest.raises(DocumentError, match="must be llmplanner-scenario"):
        document_parse("format: something-else\nformat_version: 1\n")
    with pytest.raises(DocumentError, match="mapping"):
        document_parse("- just\n- a list\n")


def test_it_exports_lines_with_catalog_keys(scenario):
    TeamLineFactory(scenario=scenario)
    DatasetFactory(scenario=scenario)
    body = scenario_document(scenario)["scenario"]
    assert body["gpu_budget"][0]["gpu_type"] == "h100-80gb"
    assert body["team"][0]["role"] == "algorithm_researcher"
    assert body["team"][0]["monthly_cost"] is None
    assert body["model"] == {"preset": "llama2-7b"}
