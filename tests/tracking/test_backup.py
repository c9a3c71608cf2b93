"""The organization backup carries execution tracking (format 2): approved baselines with their
chain, actual reports, alerts and the calibration come back from ``restore --replace`` as they
were; forecasts are not in the file and the Tracking page computes the current one again; a
format 1 file still restores; a bad tracking section is refused by path and writes nothing.

Runs are computed for real (``succeeded_run``); the baselines are approved by the service."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import random
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import models, transaction
from django.urls import reverse

from apps.accounts.models import Organization, User
from apps.programs.backup import (
    ACTUAL_FIELDS,
    BackupError,
    backup_dumps,
    backup_loads,
    backup_restore,
    organization_backup,
)
from apps.programs.backup.format import ACTUAL_FIELDS_ADDED, ACTUAL_FIELDS_V2
from apps.programs.backup.restore import ANCHOR_ONLY
from apps.programs.models import Program, Scenario
from apps.runs.models import PlanRun, RunStatus
from apps.tracking.forecasting import forecast_current, forecast_execute
from apps.tracking.models import (
    ActualReport,
    Alert,
    ApprovedBaseline,
    Forecast,
    OrganizationCalibration,
)
from apps.tracking.selectors import baseline_current
from apps.tracking.services import baseline_approve
from tests.conftest import login

from .conftest import START, succeeded_run
from .factories import ActualReportFactory, OrganizationCalibrationFactory

pytestmark = pytest.mark.django_db

TRACKED = (ApprovedBaseline, ActualReport, Alert, OrganizationCalibration)
COUNTED = (Organization, Program, Scenario, PlanRun, *TRACKED, Forecast)


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


def command(*args: str) -> tuple[str, CommandError | None]:
    """``manage.py backup_organization …`` in this process: (stdout, the CommandError or None)."""
    out = io.StringIO()
    try:
        call_command("backup_organization", *args, stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def label(obj: models.Model) -> object:
    """A row named by what it is rather than by its id, which a restore changes."""
    if isinstance(obj, User):
        return obj.get_username()
    if isinstance(obj, Organization):
        return obj.slug
    if isinstance(obj, Scenario):
        return (obj.program.name, obj.name)
    if isinstance(obj, PlanRun):
        return ("run", obj.created_at, obj.input_hash, obj.seed)
    if isinstance(obj, ApprovedBaseline):
        return ("baseline", obj.approved_at)
    if isinstance(obj, ActualReport):
        return ("report", obj.date, obj.created_at)
    if isinstance(obj, Forecast):
        last = obj.last_actual
        return ("forecast", label(obj.baseline), label(last) if last else None)
    raise AssertionError(type(obj))


def rows(model: type[models.Model], organization: Organization) -> list[dict]:
    """Every field of the organization's rows of ``model``, links by ``label``, ids left out."""
    out = []
    for row in model.objects.filter(organization=organization).order_by("created_at", "id"):
        item = {}
        for field in model._meta.concrete_fields:
            if field.name != "id":
                value = getattr(row, field.name)
                item[field.name] = label(value) if isinstance(value, models.Model) else value
        if model is OrganizationCalibration:
            used = ApprovedBaseline.objects.filter(pk__in=item["fitted"]["baselines"])
            item["fitted"] = {**item["fitted"], "baselines": sorted(map(label, used))}
        out.append(item)
    return out


def tracking_rows(organization: Organization) -> dict[str, list[dict]]:
    return {model.__name__: rows(model, organization) for model in TRACKED}


def comparable(document: dict) -> dict:
    document = copy.deepcopy(document)
    del document["created_at"], document["organization"], document["skipped"]
    return document


def scenario_of(document: dict) -> dict:
    return document["programs"][0]["scenarios"][0]


@pytest.fixture
def tracked(owner, organization, scenario, run, baseline):
    """A scenario in execution: a first approval superseded by a second, two reports (one with
    every optional field set), an alert raised by the forecast of the first report, and the
    organization's calibration switched on with a fit that used the current baseline."""
    second = baseline_approve(
        user=owner, scenario=scenario, run=succeeded_run(owner, scenario), note="re-plan"
    )
    assert second.supersedes == baseline
    first_report = ActualReportFactory(
        baseline=second,
        date=START + dt.timedelta(days=10),
        tokens_trained=1.2e10,
        observed_mfu=0.41,
        spend={"gpu_compute": "1234567.89", "storage": "1000.00"},
        currency="USD",
        spend_sent={"gpu_compute": "171467.76", "storage": "138.89"},
        usd_to_cny=Decimal("7.2000"),
        note="first week",
        source=ActualReport.Source.FORM,
        created_by=owner,
        idempotency_scope=f"user:{owner.pk}",
        idempotency_key="week-1",
        request_hash="a" * 64,
    )
    ActualReportFactory(
        baseline=second,
        date=START + dt.timedelta(days=20),
        tokens_trained=2.5e10,
        elapsed_days=20.0,
        gpu_hours=90_000.0,
        interruptions=3,
        loss_spikes=1,
        progress=0.25,
        created_by=owner,
    )
    anchor = Forecast.objects.create(
        organization=organization,
        scenario=scenario,
        baseline=second,
        last_actual=first_report,
        status=RunStatus.SUCCEEDED,
        answer={"p_miss_deadline": 0.42},
    )
    Alert.objects.create(
        organization=organization,
        scenario=scenario,
        forecast=anchor,
        kind="p_miss_deadline",
        value=0.42,
        previous=0.08,
        threshold=0.2,
    )
    calibration = OrganizationCalibrationFactory(
        organization=organization, enabled=True, changed_by=owner
    )
    calibration.fitted["baselines"] = [second.pk]
    calibration.save()
    return scenario


# --- round trip ----------------------------------------------------------------------------


def test_restore_replace_brings_the_tracking_history_back_as_it_was(
    tracked, organization, owner, tmp_path, django_capture_on_commit_callbacks
):
    target = tmp_path / "lab.json"
    _out, error = command("dump", organization.slug, "-o", str(target))
    assert error is None
    document = json.loads(target.read_text())
    before = tracking_rows(organization)
    # What the file holds: the chain by refs, every report field (``progress`` too), the alert
    # by its forecast's baseline and report, no forecast.
    written = scenario_of(document)
    assert [(b["ref"], b["supersedes"]) for b in written["baselines"]] == [(1, None), (2, 1)]
    assert [b["note"] for b in written["baselines"]] == ["go", "re-plan"]
    assert [a["baseline"] for a in written["actuals"]] == [2, 2]
    assert written["actuals"][1]["progress"] == 0.25
    assert written["actuals"][0]["usd_to_cny"] == "7.2000"
    assert written["alerts"] == [
        {
            "baseline": 2,
            "last_actual": 1,
            "kind": "p_miss_deadline",
            "value": 0.42,
            "previous": 0.08,
            "threshold": 0.2,
            "created_at": written["alerts"][0]["created_at"],
            "updated_at": written["alerts"][0]["updated_at"],
        }
    ]
    assert document["calibration"]["enabled"] is True
    assert document["calibration"]["fitted"]["baselines"] == [2]
    assert "forecast" not in target.read_text()

    # Changes after the backup, which the restore must undo.
    current = baseline_current(scenario=tracked)
    ActualReportFactory(baseline=current, date=START + dt.timedelta(days=30), tokens_trained=4e10)
    OrganizationCalibration.objects.filter(organization=organization).update(enabled=False)
    old_ids = set(ApprovedBaseline.objects.values_list("id", flat=True))

    with django_capture_on_commit_callbacks() as sent:
        out, error = command("restore", str(target), "--replace")
    assert error is None, error
    assert "2 approved baselines, 2 actual reports, 1 alerts." in out
    assert "Calibration: the backup's (its opt-in and fit)." in out
    assert sent == []  # the restore queues nothing

    assert tracking_rows(organization) == before
    assert comparable(organization_backup(organization)) == comparable(document)
    # The chain, rebuilt with new rows.
    scenario = Scenario.objects.get(program__organization=organization)
    current = baseline_current(scenario=scenario)
    assert current.note == "re-plan" and current.pk not in old_ids
    assert current.supersedes.note == "go" and current.supersedes.supersedes is None
    assert current.supersedes.superseded_by == current
    assert current.run.scenario == scenario and current.report == current.run.result
    calibration = OrganizationCalibration.objects.get(organization=organization)
    assert calibration.enabled and calibration.fitted["baselines"] == [current.pk]
    # The only forecast is the alert's anchor (the first report's): never computed.
    anchor = Forecast.objects.get(scenario=scenario)
    assert anchor.status == RunStatus.FAILED and anchor.error == ANCHOR_ONLY
    assert anchor.last_actual.note == "first week" and anchor.alerts.count() == 1

    # The Tracking page asks for the current forecast and, as none exists, queues it.
    with django_capture_on_commit_callbacks() as sent:
        page = login(owner).get(reverse("tracking:scenario_tracking", args=[scenario.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "re-plan" in html and "first week" in html
    assert 'data-status="queued"' in html
    asked = Forecast.objects.get(scenario=scenario, status=RunStatus.QUEUED)
    assert asked.baseline == current and asked.last_actual.progress == 0.25
    assert len(sent) == 1  # its task, sent once the request commits


def test_an_alert_on_the_current_forecast_leaves_that_forecast_queued_for_the_page(
    tracked, organization, owner, django_capture_on_commit_callbacks
):
    """Its forecast is the one the page asks for: restored queued (not sent), it is what the page
    shows, and a worker computes it, the alert staying on it."""
    current = baseline_current(scenario=tracked)
    latest = ActualReport.objects.filter(scenario=tracked).order_by("date").last()
    forecast = Forecast.objects.create(
        organization=organization, scenario=tracked, baseline=current, last_actual=latest
    )
    Alert.objects.create(
        organization=organization,
        scenario=tracked,
        forecast=forecast,
        kind="p_over_budget",
        value=0.5,
        previous=0.1,
        threshold=0.2,
    )
    document = organization_backup(organization)
    with django_capture_on_commit_callbacks() as sent:
        report = backup_restore(document, replace=True)
    assert sent == [] and report.alerts == 2
    scenario = Scenario.objects.get(program__organization=organization)
    queued = Forecast.objects.get(scenario=scenario, status=RunStatus.QUEUED)
    assert queued.last_actual.date == latest.date and queued.dispatched_at is None
    assert list(queued.alerts.values_list("kind", flat=True)) == ["p_over_budget"]

    page = login(owner).get(reverse("tracking:scenario_tracking", args=[scenario.pk]))
    assert page.status_code == 200 and 'data-status="queued"' in page.content.decode()
    assert forecast_current(scenario=scenario) == queued
    assert Forecast.objects.filter(scenario=scenario).count() == 2  # no other was queued

    computed = forecast_execute(forecast_id=queued.pk, worker="test")
    assert computed is not None and computed.status == RunStatus.SUCCEEDED, computed.error
    assert Alert.objects.get(scenario=scenario, kind="p_over_budget").forecast == computed


def test_a_restore_into_a_new_organization_takes_the_calibration_and_keeps_an_existing_one(
    tracked, organization, tmp_path
):
    document = organization_backup(organization)
    report = backup_restore(document, into="copy-lab")
    assert report.calibration == "restored" and report.baselines == 2
    copy_lab = Organization.objects.get(slug="copy-lab")
    current = baseline_current(scenario=Scenario.objects.get(program__organization=copy_lab))
    assert OrganizationCalibration.objects.get(organization=copy_lab).fitted["baselines"] == [
        current.pk
    ]
    assert rows(ApprovedBaseline, copy_lab) == [
        {**row, "organization": "copy-lab"} for row in rows(ApprovedBaseline, organization)
    ]

    other = Organization.objects.create(slug="other-lab", name="Other")
    own = OrganizationCalibrationFactory(organization=other, enabled=False)
    target = tmp_path / "lab.json"
    target.write_text(backup_dumps(document))
    out, error = command("restore", str(target), "--into", "other-lab")
    assert error is None
    assert "Calibration: other-lab's own, kept (--replace restores the backup's)." in out
    assert OrganizationCalibration.objects.get(organization=other) == own
    assert not OrganizationCalibration.objects.get(organization=other).enabled


# --- older files ---------------------------------------------------------------------------


def as_version_1(document: dict) -> dict:
    """The document as a format 1 backup wrote it: no tracking data at all."""
    old = copy.deepcopy(document)
    old["format_version"] = 1
    del old["calibration"]
    for program in old["programs"]:
        for scenario in program["scenarios"]:
            for key in ("baselines", "actuals", "alerts"):
                del scenario[key]
    return old


def test_a_format_1_backup_restores_without_tracking_and_leaves_the_calibration(
    tracked, organization, tmp_path
):
    document = as_version_1(organization_backup(organization))
    target = tmp_path / "old.json"
    target.write_text(backup_dumps(document))
    calibration = list(OrganizationCalibration.objects.values())
    runs = PlanRun.objects.filter(organization=organization).count()

    out, error = command("restore", str(target), "--replace")
    assert error is None, error
    assert "format version 1, which holds no tracking data" in out
    assert PlanRun.objects.filter(organization=organization).count() == runs == 2
    # The replaced program's tracking went with it, as the file has none to put back …
    assert not ApprovedBaseline.objects.filter(organization=organization).exists()
    assert not ActualReport.objects.exists() and not Alert.objects.exists()
    # … and the organization's calibration is not the file's to change.
    assert list(OrganizationCalibration.objects.values()) == calibration


def test_a_format_1_backup_with_tracking_fields_is_refused(tracked, organization):
    document = organization_backup(organization)
    document["format_version"] = 1
    with pytest.raises(BackupError) as caught:
        backup_restore(document, into="x-lab")
    assert "calibration: unknown field (format version 1 has no tracking data)" in (
        caught.value.message
    )
    del document["calibration"]
    with pytest.raises(BackupError) as caught:
        backup_restore(document, into="x-lab")
    for key in ("actuals", "alerts", "baselines"):
        assert f"programs[0].scenarios[0].{key}: unknown field" in caught.value.message
    assert not Organization.objects.filter(slug="x-lab").exists()


def test_a_report_written_before_a_field_was_added_restores_with_its_default(tracked, organization):
    """An actual report's fields are read off the model, so a new one is written at once; a file
    written before it still restores (the field's default or null)."""
    assert "progress" in ACTUAL_FIELDS and set(ACTUAL_FIELDS_V2) <= set(ACTUAL_FIELDS)
    for name in ACTUAL_FIELDS_ADDED:
        field = ActualReport._meta.get_field(name)
        assert field.has_default() or field.null, name
    document = organization_backup(organization)
    for report in scenario_of(document)["actuals"]:
        for name in ACTUAL_FIELDS_ADDED:
            del report[name]
    backup_restore(document, into="older-lab")
    restored = ActualReport.objects.filter(organization__slug="older-lab")
    assert restored.count() == 2
    assert [r.progress for r in restored] == [None, None]


# --- bad tracking sections change nothing ----------------------------------------------------


def _tracking(d: dict) -> dict:
    return scenario_of(d)


AT = "programs[0].scenarios[0]"
CORRUPTIONS = {
    "a superseded baseline not in the file": (
        lambda d: _tracking(d)["baselines"][1].update(supersedes=99),
        f"{AT}.baselines[1].supersedes: 99 is not the ref of an earlier baseline",
    ),
    "two first approvals": (
        lambda d: _tracking(d)["baselines"][1].update(supersedes=None),
        f"{AT}.baselines[1].supersedes: null on a second baseline",
    ),
    "a baseline of a run not in the file": (
        lambda d: _tracking(d)["baselines"][0].update(run=99),
        f"{AT}.baselines[0].run: 99 is not the ref of a succeeded run of this scenario",
    ),
    "an approval time without its offset": (
        lambda d: _tracking(d)["baselines"][0].update(approved_at="2026-01-05T10:00:00"),
        f"{AT}.baselines[0].approved_at: must be a date and time with its UTC offset",
    ),
    "a missing report field": (
        lambda d: _tracking(d)["actuals"][0].pop("gpu_hours"),
        f"{AT}.actuals[0].gpu_hours: missing field",
    ),
    "negative tokens": (
        lambda d: _tracking(d)["actuals"][0].update(tokens_trained=-5),
        f"{AT}.actuals[0].tokens_trained: -5.0 is outside what this field accepts",
    ),
    "a progress above 1": (
        lambda d: _tracking(d)["actuals"][1].update(progress=1.5),
        f"{AT}.actuals[1].progress: 1.5 is outside what this field accepts",
    ),
    "GPU-hours that are not a number": (
        lambda d: _tracking(d)["actuals"][1].update(gpu_hours=float("nan")),
        f"{AT}.actuals[1].gpu_hours: must be a finite number",
    ),
    "an unknown spend category": (
        lambda d: _tracking(d)["actuals"][0]["spend"].update(snacks="1.00"),
        f"{AT}.actuals[0].spend.snacks: unknown spend category",
    ),
    "a report under a baseline not in the file": (
        lambda d: _tracking(d)["actuals"][0].update(baseline=7),
        f"{AT}.actuals[0].baseline: 7 is not the ref of a baseline of this scenario",
    ),
    "an alert of a report not in the file": (
        lambda d: _tracking(d)["alerts"][0].update(last_actual=99),
        f"{AT}.alerts[0].last_actual: 99 is not the ref of an actual report of this scenario",
    ),
    "an unknown alert kind": (
        lambda d: _tracking(d)["alerts"][0].update(kind="p_fun"),
        f"{AT}.alerts[0].kind: Value 'p_fun' is not a valid choice.",
    ),
    "a scenario without its baselines": (
        lambda d: _tracking(d).pop("baselines"),
        f"{AT}.baselines: missing field",
    ),
    "a calibration switch that is not true or false": (
        lambda d: d["calibration"].update(enabled="yes"),
        "calibration.enabled: must be true or false",
    ),
    "a fit naming a baseline not in the file": (
        lambda d: d["calibration"]["fitted"].update(baselines=[99]),
        "calibration.fitted.baselines[0]: 99 is not the ref of a baseline in this backup",
    ),
    "a fit without its factor": (
        lambda d: d["calibration"]["fitted"].pop("throughput_factor"),
        "calibration.fitted.throughput_factor: must be a number greater than 0",
    ),
    "two reports with one idempotency key": (
        lambda d: _tracking(d)["actuals"][1].update(
            idempotency_scope=_tracking(d)["actuals"][0]["idempotency_scope"],
            idempotency_key="week-1",
        ),
        "programs: idempotency key 'week-1' of user:",
    ),
    "no calibration field": (
        lambda d: d.pop("calibration"),
        "calibration: missing field",
    ),
}


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_a_bad_tracking_section_is_refused_by_path_and_changes_nothing(tracked, organization, name):
    corrupt, expected = CORRUPTIONS[name]
    document = backup_loads(backup_dumps(organization_backup(organization)))
    corrupt(document)
    before, kept = counts(), tracking_rows(organization)
    with pytest.raises(BackupError) as caught:
        backup_restore(document, replace=True)
    assert expected in caught.value.message
    assert counts() == before and tracking_rows(organization) == kept


def test_a_report_key_held_by_a_report_the_restore_keeps_is_refused(tracked, organization):
    """An actual report's idempotency key is unique in its organization: one already used there
    by a report of another program is named, and nothing is written."""
    document = organization_backup(organization)
    backup_restore(document, into="copy-lab")
    document["programs"][0]["name"] = "Another program"
    before = counts()
    with pytest.raises(BackupError) as caught:
        backup_restore(document, into="copy-lab")
    scope = scenario_of(document)["actuals"][0]["idempotency_scope"]
    assert caught.value.errors == [
        f"actuals: idempotency key 'week-1' of {scope} is used by a report of copy-lab"
    ]
    assert counts() == before


def test_the_command_names_the_tracking_field_and_exits_2(tracked, organization, tmp_path):
    document = organization_backup(organization)
    scenario_of(document)["actuals"][1]["interruptions"] = -1
    target = tmp_path / "bad.json"
    target.write_text(backup_dumps(document))
    before = counts()
    out, error = command("restore", str(target), "--replace")
    assert out == "" and error is not None and error.returncode == 2
    assert (
        f"{AT}.actuals[1].interruptions: Ensure this value is greater than or equal to 0."
        in str(error)
    )
    assert counts() == before


OPAQUE = {"inputs", "report"}


def leaves(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in OPAQUE:
                yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from leaves(item, (*path, i))
    else:
        yield path


def test_no_odd_value_in_the_tracking_sections_gets_past_validation_as_a_crash(
    tracked, organization
):
    """Any tracking value set to one of the wrong type, sign or size is a ``BackupError``
    naming a path, or a value the field takes — never another exception mid-restore."""
    document = organization_backup(organization)
    tracking = {key: scenario_of(document)[key] for key in ("baselines", "actuals", "alerts")}
    paths = [("programs", 0, "scenarios", 0, *path) for path in leaves(tracking)] + [
        ("calibration", *path) for path in leaves(document["calibration"])
    ]
    assert len(paths) > 60
    rng = random.Random(0)
    odd = [None, "", "x", -1, 0, 1.5, 1e300, True, [], {}, "2027-13-45", "9" * 30, float("inf")]
    refused = 0
    for path in rng.sample(paths, 60):
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
            assert not any(line.startswith("(database)") for line in exc.errors), exc.errors
            refused += 1
    assert refused > 30
