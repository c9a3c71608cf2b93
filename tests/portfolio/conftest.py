"""Programs with runs the real core computed (through the same services a worker calls), in an
organization, and a program of another organization that must never show."""

from __future__ import annotations

import pytest

from apps.programs.models import Program
from apps.programs.services import program_create_from_blueprint
from apps.runs.models import PlanRun
from apps.runs.services import plan_run_create, plan_run_execute
from tests.accounts.factories import MembershipFactory

TRIALS = 200
FOREIGN_NAME = "Falcon-confidential plan"


def simulate(user, program: Program) -> PlanRun:
    """The program's baseline scenario, run by the core as a worker would run it."""
    scenario = program.scenarios.get(is_baseline=True)
    run = plan_run_create(user=user, scenario=scenario, trials=TRIALS, dispatch=False)
    done = plan_run_execute(run_id=run.pk, worker="test")
    assert done is not None and done.status == PlanRun.Status.SUCCEEDED, done and done.error
    return done


def program(user, organization, key: str, name: str | None = None) -> Program:
    return program_create_from_blueprint(user=user, organization=organization, key=key, name=name)


@pytest.fixture
def cpt(owner, organization):
    """A dated CPT program on 64 + 8 A800s (February, then mid-March), simulated."""
    made = program(owner, organization, "cpt-7b-domain")
    return made, simulate(owner, made)


@pytest.fixture
def sft(owner, organization):
    """A dated SFT program on 8 A800s (mid-January, half a month), simulated."""
    made = program(owner, organization, "sft-7b-10k-instructions")
    return made, simulate(owner, made)


@pytest.fixture
def unsimulated(owner, organization):
    """A program nobody ran yet."""
    return program(owner, organization, "rag-domain-knowledge-base")


@pytest.fixture
def foreign(outsider):
    """A simulated program of another organization (the outsider's)."""
    organization = outsider.memberships.get().organization
    made = program(outsider, organization, "sft-7b-10k-instructions", name=FOREIGN_NAME)
    return made, simulate(outsider, made)


@pytest.fixture
def second_organization_member(owner):
    """The owner is also an owner of a second organization, which has a simulated program."""
    membership = MembershipFactory(user=owner, role="owner")
    made = program(
        owner, membership.organization, "sft-7b-10k-instructions", name="Second org plan"
    )
    simulate(owner, made)
    return membership.organization, made
