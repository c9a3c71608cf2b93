"""Organization backups: dump → restore → dump is faithful; a bad file or a refusal writes nothing.

Runs are computed for real (``plan_run_execute`` and ``sweep_chunk_execute`` called directly, as
the house rules ask of unit tests; a plain ``django_db`` test never commits, so nothing is sent to
a broker). The command's messages are checked in-process with ``call_command``; its exit statuses
by running ``manage.py`` as a separate process on the (committed) test database.
"""

from __future__ import annotations

import copy
import io
import json
import os
import random
import subprocess
import sys
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import transaction
from django.urls import reverse

from apps.accounts.models import Membership, Organization
from apps.programs.backup import (
    ACTIVITY_FIELDS,
    ACTUAL_FIELDS,
    ALERT_FIELDS,
    BASELINE_FIELDS,
    CALIBRATION_FIELDS,
    CHUNK_FIELDS,
    FORMAT_VERSION,
    PROGRAM_FIELDS,
    RUN_FIELDS,
    SCENARIO_EXTRA,
    SWEEP_FIELDS,
    BackupError,
    RestoreRefused,
    backup_dumps,
    backup_loads,
    backup_restore,
    organization_backup,
)
from apps.programs.documents import LINE_FIELDS, SCENARIO_SECTIONS, SCENARIO_TOP
from apps.programs.models import (
    Dataset,
    GPUBudgetLine,
    Program,
    Scenario,
    ScenarioActivity,
    TeamLine,
)
from apps.programs.services import (
    program_archive,
    program_create,
    program_create_from_blueprint,
    scenario_archive,
    scenario_clone,
)
from apps.runs.models import PlanRun, RunStatus, Sweep, SweepChunk
from apps.runs.services import (
    plan_run_create,
    plan_run_execute,
    sweep_chunk_execute,
    sweep_create,
)
from apps.tracking.models import ActualReport, Alert, ApprovedBaseline, OrganizationCalibration
from tests.conftest import login
from tests.programs.factories import DatasetFactory
from tests.runs.worker_process import database_url_of_test_db

pytestmark = pytest.mark.django_db

COUNTED = (
    Organization,
    Membership,
    Program,
    Scenario,
    GPUBudgetLine,
    TeamLine,
    Dataset,
    ScenarioActivity,
    PlanRun,
    Sweep,
    SweepChunk,
)


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


def comparable(document: dict) -> dict:
    """What must survive a round trip: all but the time the backup was taken, the organization's
    slug and name (a restore may go under another slug) and the counts of what was skipped."""
    document = copy.deepcopy(document)
    del document["created_at"], document["organization"], document["skipped"]
    return document


@pytest.fixture
def filled(owner, organization):
    """An organization with what a real one has: a live and an archived program (CNY, USD), an
    archived scenario, edits in the history, a computed run, a run that reused it, a failed run,
    a run still queued, a finished sweep, and an amount with cents."""
    cpt = program_create_from_blueprint(user=owner, organization=organization, key="cpt-7b-domain")
    baseline = cpt.scenarios.get()
    DatasetFactory(scenario=baseline, name="Exact amount", cost=Decimal("123456789012.37"))
    clone = scenario_clone(user=owner, scenario=baseline, name="B: archived copy")
    scenario_archive(user=owner, scenario=clone)
    rag = program_create(
        user=owner,
        organization=organization,
        name="Knowledge base (USD)",
        strategy="rag",
        currency="USD",
        usd_to_cny=Decimal("7.1234"),
    )
    program_archive(user=owner, program=rag)
    first = plan_run_create(user=owner, scenario=baseline, trials=40, seed=3)
    plan_run_execute(run_id=first.pk, worker="w1")
    reused = plan_run_create(user=owner, scenario=baseline, trials=40, seed=3, idempotency_key="k1")
    assert reused.reused_from_id == first.pk
    PlanRun.objects.create(
        organization=organization,
        scenario=clone,
        scenario_version=clone.version,
        status=RunStatus.FAILED,
        inputs={"name": "x"},
        input_hash="f" * 64,
        core_version="0.1.0",
        error="The plan was rejected: cluster.gpu_count: must be greater than zero",
    )
    plan_run_create(user=owner, scenario=baseline, trials=41)  # queued: not in a backup
    sweep = sweep_create(
        user=owner, scenario=baseline, axes={"gpu_count": [32, 64]}, trials=20, chunk_size=1
    )
    for chunk in sweep.chunks.all():
        sweep_chunk_execute(chunk_id=chunk.pk, worker="w1")
    return organization


@pytest.fixture
def stranger(outsider):
    """Another organization with a program and a run of its own."""
    organization = outsider.memberships.get().organization
    program = program_create_from_blueprint(
        user=outsider, organization=organization, key="sft-7b-10k-instructions", name="Secret SFT"
    )
    run = plan_run_create(user=outsider, scenario=program.scenarios.get(), trials=40)
    plan_run_execute(run_id=run.pk, worker="w1")
    return organization


# --- round trip ----------------------------------------------------------------------------


def test_it_round_trips_an_organization_into_a_fresh_one(filled):
    document = backup_loads(backup_dumps(organization_backup(filled)))
    report = backup_restore(document, into="fresh-lab")
    fresh = Organization.objects.get(slug="fresh-lab")
    assert report.created_organization and fresh.name == filled.name
    assert (report.programs, report.scenarios, report.runs, report.sweeps) == (2, 3, 3, 1)

    again = organization_backup(fresh)
    assert comparable(again) == comparable(document)
    assert again["organization"] == {"slug": "fresh-lab", "name": filled.name}
    # Not an empty comparison: everything the fixture made is in there.
    programs = {p["name"]: p for p in again["programs"]}
    assert programs["Knowledge base (USD)"]["archived_at"] is not None
    assert programs["Knowledge base (USD)"]["usd_to_cny"] == "7.1234"
    scenarios = programs["7B domain model by continued pretraining"]["scenarios"]
    assert [s["archived_at"] is not None for s in scenarios] == [False, True]
    exact = [d for d in scenarios[0]["data"] if d["name"] == "Exact amount"]
    assert exact[0]["cost"] == "123456789012.37"
    runs = [run for s in scenarios for run in s["runs"]]
    assert [r["status"] for r in runs] == ["succeeded", "succeeded", "failed"]
    assert runs[1]["reused_from"] == runs[0]["ref"] and runs[1]["idempotency_key"] == "k1"
    assert runs[0]["result"] and runs[2]["result"] is None and runs[2]["error"]
    assert {a["action"] for s in scenarios for a in s["activity"]} >= {"created", "archived"}
    assert scenarios[0]["sweeps"][0]["points"] and len(scenarios[0]["sweeps"][0]["chunks"]) == 2
    assert document["skipped"] == {"runs_in_flight": 1, "sweeps_in_flight": 0, "exports": 0}


def test_a_restored_run_keeps_its_dashboard(filled, owner):
    backup_restore(organization_backup(filled), into="fresh-lab")
    fresh = Organization.objects.get(slug="fresh-lab")
    run = PlanRun.objects.get(organization=fresh, status="succeeded", reused_from__isnull=True)
    assert run.scenario.program.organization == fresh and run.result
    page = login(owner).get(reverse("runs:plan_run_detail", args=[run.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('data-testid="chart"') == 8
    assert run.result["risks"][0]["title"] in html


def test_it_writes_every_field_of_every_model_it_restores():
    """A field added to a model later must be added to the backup too, or this fails. (An
    actual report's fields are read off its model; forecasts are derived, never written.)"""
    scenario_fields = {*SCENARIO_TOP.values(), *SCENARIO_EXTRA}
    for names in SCENARIO_SECTIONS.values():
        scenario_fields |= set(names.values())
    parents = {"id", "organization", "program", "scenario", "sweep", "created_at", "updated_at"}
    written = {
        Program: {*PROGRAM_FIELDS, "created_by"},
        Scenario: scenario_fields | {"created_by"},
        ScenarioActivity: {*ACTIVITY_FIELDS, "actor"},
        PlanRun: {*RUN_FIELDS, "created_by", "reused_from"},
        Sweep: {*SWEEP_FIELDS, "created_by"},
        SweepChunk: set(CHUNK_FIELDS),
        **{model: set(names) for model, names in LINE_FIELDS.values()},
        ApprovedBaseline: {*BASELINE_FIELDS, "approved_by", "run", "supersedes"},
        ActualReport: {*ACTUAL_FIELDS, "created_by", "baseline"},
        # Its forecast is named by the forecast's baseline and last report.
        Alert: {*ALERT_FIELDS, "forecast"},
        OrganizationCalibration: {*CALIBRATION_FIELDS, "changed_by"},
    }
    for model, names in written.items():
        fields = {f.name for f in model._meta.concrete_fields} - parents
        assert fields == names, model.__name__


def test_it_never_includes_another_organizations_data(filled, stranger):
    text = backup_dumps(organization_backup(filled))
    assert "Secret SFT" not in text
    theirs = PlanRun.objects.filter(organization=stranger)
    assert theirs.exists()
    for run in theirs:
        assert run.input_hash not in text
    assert stranger.slug not in text
    own = PlanRun.objects.filter(organization=filled, status__in=["succeeded", "failed"])
    assert own.count() == 3
    assert all(run.input_hash in text for run in own)


def test_it_lists_members_by_username_and_role_unless_told_not_to(filled, owner, viewer):
    document = organization_backup(filled)
    assert sorted(document["members"], key=lambda m: m["role"]) == [
        {"username": owner.username, "role": "owner"},
        {"username": viewer.username, "role": "viewer"},
    ]
    assert "members" not in organization_backup(filled, members=False)
    report = backup_restore(document, into="fresh-lab")
    assert sorted(report.members_added) == sorted([owner.username, viewer.username])
    assert Membership.objects.get(user=viewer, organization__slug="fresh-lab").role == "viewer"


def test_an_unknown_user_is_restored_as_nobody_and_reported(filled):
    document = organization_backup(filled)
    document["programs"][0]["created_by"] = "ghost"
    document["programs"][0]["scenarios"][0]["activity"][0]["actor"] = "ghost"
    report = backup_restore(document, into="fresh-lab")
    assert report.unknown_users == ["ghost"]
    name = document["programs"][0]["name"]
    assert Program.objects.get(organization__slug="fresh-lab", name=name).created_by is None


# --- bad files change nothing --------------------------------------------------------------


def _programs(d):
    return d["programs"]


CORRUPTIONS = {
    "a newer format version": (
        lambda d: d.update(format_version=FORMAT_VERSION + 1),
        f"format_version: {FORMAT_VERSION + 1} is not a version this llmplanner reads "
        "(it reads 1, 2)",
    ),
    "another kind of file": (
        lambda d: d.update(format="llmplanner-scenario"),
        "format: must be 'llmplanner-backup'",
    ),
    "a missing field": (
        lambda d: _programs(d)[1].pop("currency"),
        "programs[1].currency: missing field",
    ),
    "an unknown field": (
        lambda d: _programs(d)[0]["scenarios"][0].update(colour="red"),
        "programs[0].scenarios[0].colour: unknown field",
    ),
    "an unknown GPU type": (
        lambda d: _programs(d)[0]["scenarios"][1]["gpu_budget"][0].update(gpu_type="h900-1tb"),
        "programs[0].scenarios[1].gpu_budget[0].gpu_type: unknown key 'h900-1tb'",
    ),
    "an amount that is not a number (in the last program)": (
        lambda d: _programs(d)[1].update(budget_cap="lots"),
        "programs[1].budget_cap: “lots” value must be a decimal number.",
    ),
    "a bad timestamp": (
        lambda d: _programs(d)[0]["scenarios"][0]["activity"][0].update(created_at="yesterday"),
        "programs[0].scenarios[0].activity[0].created_at: must be a date and time",
    ),
    "a run still running": (
        lambda d: _programs(d)[0]["scenarios"][0]["runs"][0].update(status="running"),
        "programs[0].scenarios[0].runs[0].status: 'running': only finished runs",
    ),
    "a reused run that is not in the file": (
        lambda d: _programs(d)[0]["scenarios"][0]["runs"][1].update(reused_from=99),
        "programs[0].scenarios[0].runs[1].reused_from: 99 is not the ref of a run",
    ),
    "two chunks of a sweep with one index": (
        lambda d: _programs(d)[0]["scenarios"][0]["sweeps"][0]["chunks"][1].update(index="0"),
        "programs[0].scenarios[0].sweeps[0].chunks[1].index: 0 is used by another chunk",
    ),
    "two baselines": (
        lambda d: _programs(d)[0]["scenarios"][1].update(is_baseline=True),
        "programs[0].scenarios: more than one scenario is the baseline",
    ),
}


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_a_corrupted_backup_is_refused_with_its_path_and_changes_nothing(filled, name):
    corrupt, expected = CORRUPTIONS[name]
    document = organization_backup(filled)
    corrupt(document)
    before = counts()
    with pytest.raises(BackupError) as caught:
        backup_restore(document, into="fresh-lab")
    assert expected in caught.value.message
    assert counts() == before


OPAQUE = {"inputs", "result", "points", "changes", "variants", "axes", "ladder"}


def leaves(value, path=()):
    """Paths to every scalar of a document, not descending into stored JSON blobs."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in OPAQUE:
                yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from leaves(item, (*path, i))
    else:
        yield path


def test_no_odd_value_anywhere_gets_past_validation_as_a_crash(filled):
    """Any field set to a value of the wrong type or sign is a BackupError naming a path, or a
    value the field accepts — never another exception (a crash mid-restore)."""
    document = organization_backup(filled)
    paths = list(leaves(document))
    rng = random.Random(0)
    odd = [None, "", "x", -1, 1.5, True, [], {}, "2027-13-45", "9" * 30, "nul\x00"]
    for path in rng.sample(paths, 120):
        broken = copy.deepcopy(document)
        parent = broken
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = rng.choice(odd)
        try:
            with transaction.atomic():
                backup_restore(broken, into="fuzz-lab")
                transaction.set_rollback(True)
        except BackupError as exc:
            assert exc.errors and all(": " in line for line in exc.errors), path


def test_a_truncated_file_names_the_line_and_column():
    with pytest.raises(BackupError) as caught:
        backup_loads('{\n  "format": "llmplanner-backup",\n  "programs": [\n')
    assert caught.value.message.startswith("line 4 column 1: not valid JSON")


def test_a_failure_after_replace_deleted_programs_rolls_the_deletion_back(filled, owner):
    """The idempotency-key check runs after ``--replace`` deleted the old programs: its failure
    must leave them (one transaction), not half a restore."""
    document = organization_backup(filled)
    other = program_create(user=owner, organization=filled, name="Unrelated")
    PlanRun.objects.filter(idempotency_key="k1").update(idempotency_key="kept")
    clash = plan_run_create(user=owner, scenario=other.scenarios.get(), trials=40, seed=3)
    PlanRun.objects.filter(pk=clash.pk).update(idempotency_key="k1")
    before = counts()
    ids = set(Program.objects.values_list("id", flat=True))
    with pytest.raises(BackupError, match="idempotency key 'k1' is used by a run of"):
        backup_restore(document, replace=True)
    assert counts() == before
    assert set(Program.objects.values_list("id", flat=True)) == ids


# --- existing programs: refuse, or replace -------------------------------------------------


def test_it_refuses_to_overwrite_programs_with_the_same_names(filled):
    document = organization_backup(filled)
    before = counts()
    with pytest.raises(RestoreRefused, match="7B domain model by continued pretraining"):
        backup_restore(document)
    assert counts() == before


def test_replace_swaps_the_programs_and_keeps_the_others(filled, owner):
    document = organization_backup(filled)
    kept = program_create(user=owner, organization=filled, name="Made after the backup")
    old_ids = set(Program.objects.filter(organization=filled).values_list("id", flat=True))
    # An edit after the backup, which the restore must undo.
    Program.objects.filter(name="Knowledge base (USD)").update(goal="changed since")
    report = backup_restore(document, replace=True)
    assert report.replaced == ["7B domain model by continued pretraining", "Knowledge base (USD)"]
    assert not report.created_organization
    programs = Program.objects.filter(organization=filled)
    assert programs.count() == 3 and programs.filter(pk=kept.pk).exists()
    assert set(programs.values_list("id", flat=True)) & old_ids == {kept.pk}
    assert programs.get(name="Knowledge base (USD)").goal == ""
    after = organization_backup(filled)
    after["programs"] = [p for p in after["programs"] if p["name"] != "Made after the backup"]
    assert comparable(after) == comparable(document)


# --- the command ---------------------------------------------------------------------------


def command(*args: str) -> tuple[str, CommandError | None]:
    """``call_command`` in this process: (stdout, the CommandError raised or None)."""
    out = io.StringIO()
    try:
        call_command("backup_organization", *args, stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def test_the_command_dumps_to_a_file_and_restores_it(filled, tmp_path):
    target = tmp_path / "lab.json"
    out, error = command("dump", filled.slug, "-o", str(target))
    assert error is None
    assert out.strip() == f"Wrote {target}: 2 programs, 3 scenarios, 3 runs of {filled.slug}."
    assert json.loads(target.read_text())["organization"]["slug"] == filled.slug
    assert [p.name for p in tmp_path.iterdir()] == ["lab.json"]  # no temporary file left

    out, error = command("restore", str(target), "--into", "copy-lab")
    assert error is None
    assert out.startswith("Restored into copy-lab (new organization): 2 programs, 3 scenarios, ")
    assert Program.objects.filter(organization__slug="copy-lab").count() == 2


def test_the_command_writes_json_to_stdout_and_warns_of_a_copy_nobody_can_see(filled, tmp_path):
    out, error = command("dump", filled.slug, "--no-members")
    assert error is None and "members" not in json.loads(out)
    target = tmp_path / "lab.json"
    target.write_text(out)
    out, error = command("restore", str(target), "--into", "copy-lab")
    assert error is None
    assert "Warning: copy-lab has no members yet, so nobody can see it" in out


def test_the_command_fails_with_status_2_naming_the_field_of_an_invalid_backup(filled, tmp_path):
    document = organization_backup(filled)
    document["programs"][0]["scenarios"][0]["gpu_budget"][0]["gpu_type"] = "h900-1tb"
    target = tmp_path / "bad.json"
    target.write_text(backup_dumps(document))
    before = counts()
    out, error = command("restore", str(target), "--into", "x-lab")
    assert out == "" and error is not None and error.returncode == 2
    assert str(error).startswith(f"{target} is not a valid backup; nothing was written:")
    assert "programs[0].scenarios[0].gpu_budget[0].gpu_type: unknown key 'h900-1tb'" in str(error)
    assert counts() == before


def test_the_command_refuses_existing_programs_and_replaces_them_with_the_flag(filled, tmp_path):
    target = tmp_path / "lab.json"
    target.write_text(backup_dumps(organization_backup(filled)))
    _out, error = command("restore", str(target))
    assert error is not None and error.returncode == 1
    assert "nothing was written (--replace deletes them" in str(error)
    out, error = command("restore", str(target), "--replace")
    assert error is None and "Replaced: 7B domain model by continued pretraining" in out


def test_the_command_fails_for_an_unknown_organization_or_file(db, tmp_path):
    _out, error = command("dump", "no-such-lab")
    assert error is not None and str(error) == "No organization with the slug 'no-such-lab'."
    _out, error = command("restore", str(tmp_path / "none.json"))
    assert error is not None and str(error).startswith("Cannot read")


def manage(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    """``python manage.py …`` as its own process on the test database."""
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": settings.SECRET_KEY}
    return subprocess.run(
        [sys.executable, "manage.py", "backup_organization", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.django_db(transaction=True)
def test_manage_py_exits_0_1_and_2(filled, tmp_path):
    """The real exit statuses, from a separate process that sees only committed data."""
    url = database_url_of_test_db()
    target = tmp_path / "lab.json"
    done = manage("dump", filled.slug, "-o", str(target), database_url=url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Wrote {target}: 2 programs")

    before = counts()
    refused = manage("restore", str(target), database_url=url)
    assert refused.returncode == 1
    assert refused.stderr.startswith(f"CommandError: {filled.slug} already has programs named")

    document = json.loads(target.read_text())
    document["programs"][1].pop("currency")
    document["format_version"] = "1"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    invalid = manage("restore", str(bad), "--into", "x-lab", database_url=url)
    assert invalid.returncode == 2
    assert "format_version: must be a whole number, got '1'" in invalid.stderr
    assert counts() == before

    restored = manage("restore", str(target), "--into", "copy-lab", database_url=url)
    assert restored.returncode == 0, restored.stderr
    assert Program.objects.filter(organization__slug="copy-lab").count() == 2


def test_restoring_into_an_existing_organization_never_changes_its_members(filled, viewer):
    """Members come along only into a new organization: the backup's viewer must not gain a
    look at the target's other programs, nor an existing member lose or change their role."""
    target = Organization.objects.create(slug="fresh-lab", name="Fresh")
    Membership.objects.create(organization=target, user=viewer, role="owner")
    report = backup_restore(organization_backup(filled), into="fresh-lab")
    assert report.members_added == [] and not report.created_organization
    assert list(target.memberships.values_list("user__username", "role")) == [
        (viewer.username, "owner")
    ]
