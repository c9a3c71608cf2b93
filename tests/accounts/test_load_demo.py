import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from apps.accounts.models import Membership, Organization, User

pytestmark = pytest.mark.django_db


def test_it_refuses_to_load_demo_data_when_debug_is_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("load_demo")
    assert not User.objects.filter(username="demo").exists()


def test_it_creates_the_demo_owner_when_debug_is_on(settings):
    settings.DEBUG = True
    call_command("load_demo")
    user = authenticate(username="demo", password="demo")
    assert user is not None
    membership = Membership.objects.get(user=user)
    assert membership.role == Membership.Role.OWNER
    assert membership.organization.slug == "demo-lab"


def test_it_loads_demo_data_idempotently(settings):
    settings.DEBUG = True
    call_command("load_demo")
    call_command("load_demo")
    assert User.objects.filter(username="demo").count() == 1
    assert Organization.objects.count() == 1
    assert Membership.objects.count() == 1


def test_it_leaves_no_demo_user_after_migrations():
    # The migrations alone (what production runs) must not create the demo login.
    assert not User.objects.filter(username="demo").exists()


def test_every_demo_program_comes_with_a_finished_run_of_its_baseline(settings):
    # Issue 18: a first visit shows dashboards, not "Not simulated yet" — the runs are computed by
    # the core while the demo loads, whether or not a worker is up; loading twice adds none.
    from apps.programs.models import Program
    from apps.runs.models import PlanRun, RunStatus

    settings.DEBUG = True
    call_command("load_demo")
    programs = list(Program.objects.all())
    assert len(programs) >= 5
    for program in programs:
        baseline = program.scenarios.order_by("-is_baseline", "id").first()
        run = PlanRun.objects.get(scenario=baseline)
        assert run.status == RunStatus.SUCCEEDED, run.error
        assert run.scenario_version == baseline.version
        assert run.result["totals"]["cost"]["p50"] > 0
    count = PlanRun.objects.count()
    call_command("load_demo")
    assert PlanRun.objects.count() == count
