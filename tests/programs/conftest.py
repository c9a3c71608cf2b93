import pytest

from tests.programs.factories import GPUBudgetLineFactory, ProgramFactory, ScenarioFactory


@pytest.fixture
def program(organization):
    return ProgramFactory(organization=organization)


@pytest.fixture
def scenario(program):
    """A from-scratch scenario of the owner's organization with one training GPU line."""
    scenario = ScenarioFactory(program=program)
    GPUBudgetLineFactory(scenario=scenario)
    return scenario
