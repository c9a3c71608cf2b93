import datetime as dt

import pytest
from django.http import Http404

from apps.programs import selectors
from tests.programs.factories import (
    DatasetFactory,
    GPUBudgetLineFactory,
    ProgramFactory,
    ScenarioFactory,
)

pytestmark = pytest.mark.django_db


def test_it_lists_only_the_users_organizations_programs(owner, outsider, program):
    ProgramFactory()  # another organization's
    assert list(selectors.program_list(user=owner)) == [program]
    assert program not in selectors.program_list(user=outsider)


def test_it_separates_archived_programs(owner, program):
    program.archived_at = program.created_at
    program.save()
    assert not selectors.program_list(user=owner).exists()
    assert list(selectors.program_list(user=owner, archived=True)) == [program]


def test_it_hides_other_organizations_objects_as_404(outsider, scenario):
    with pytest.raises(Http404):
        selectors.program_get(user=outsider, program_id=scenario.program_id)
    with pytest.raises(Http404):
        selectors.scenario_get(user=outsider, scenario_id=scenario.pk)


def test_it_finds_a_line_only_within_its_scenario(owner, scenario):
    other = GPUBudgetLineFactory()  # a line of a scenario elsewhere
    line = scenario.budget_lines.get()
    assert selectors.line_get(scenario=scenario, kind="gpus", line_id=line.pk) == line
    with pytest.raises(Http404):
        selectors.line_get(scenario=scenario, kind="gpus", line_id=other.pk)
    with pytest.raises(Http404):
        selectors.line_list(scenario=scenario, kind="nope")


def test_it_tells_who_may_edit(owner, viewer, outsider, organization):
    assert selectors.can_edit(user=owner, organization=organization)
    assert not selectors.can_edit(user=viewer, organization=organization)
    assert not selectors.can_edit(user=outsider, organization=organization)


def test_it_files_findings_under_the_field_and_the_line_they_are_about(program):
    scenario = ScenarioFactory(program=program, strategy="cpt", training_tokens=100 * 10**9)
    DatasetFactory(scenario=scenario, tokens=40 * 10**9, kind="domain", stage="cpt")
    DatasetFactory(scenario=scenario, tokens=60 * 10**9, kind="general", stage="cpt")
    restricted = DatasetFactory(scenario=scenario, licence="restricted", stage="cpt", tokens=10**6)
    late = GPUBudgetLineFactory(scenario=scenario, start_date=dt.date(2027, 11, 1))
    findings = selectors.scenario_findings(scenario=scenario)
    [share] = findings["data.cpt"]
    assert share.text == "CPT domain share 40% exceeds the ≤ 15% rule"
    assert (
        share.source == "vertical-LLM survey 2023: every 100B domain tokens need 700–1000B general"
    )
    assert findings[f"data.{restricted.pk}.licence"][0].rule == "restricted_licence"
    assert findings[f"gpus.{late.pk}.months"][0].rule == "after_deadline"
    assert len(findings[""]) >= 3


def test_it_notes_a_training_scenario_without_gpus(program):
    scenario = ScenarioFactory(program=program)
    assert selectors.scenario_findings(scenario=scenario)["gpus"][0].rule == "no_training_gpus"


def test_it_sums_the_budgeted_inputs(scenario):
    summary = selectors.scenario_summary(scenario=scenario)
    assert summary.main_line == scenario.budget_lines.get()
    assert summary.budgeted_gpu_hours == pytest.approx(256 * 3 * 730.5)
    assert summary.gpu_line_cost == pytest.approx(16 * 256 * 3 * 730.5, rel=1e-3)
    assert summary.chain == ["pretrain", "sft", "rlhf"]
