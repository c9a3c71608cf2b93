"""Tracking over the API: approving, the baselines, actuals (idempotent, refused field by field)
and the approved budget. Owner, viewer, read-only token and outsider for each write."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.accounts.services import api_token_create
from apps.api.budget import BudgetQuery, budget_table
from apps.programs.services import program_create_from_blueprint
from apps.tracking.models import ActualReport, ApprovedBaseline
from apps.tracking.services import baseline_approve
from tests.accounts.factories import MembershipFactory
from tests.conftest import login
from tests.tracking.conftest import START, ApiClient, succeeded_run

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


def _post(client, url, body, **headers):
    return client.post(url, json.dumps(body), content_type="application/json", headers=headers)


def approve_url(scenario):
    return reverse("api:scenario-approve", args=[scenario.pk])


def actuals_url(scenario):
    return reverse("api:scenario-actuals", args=[scenario.pk])


def report(days_ago=10, **overrides):
    body = {
        "date": (TODAY - dt.timedelta(days=days_ago)).isoformat(),
        "tokens_trained": 30e9,
        "elapsed_days": 12,
        "gpu_hours": 50_000,
        "interruptions": 2,
        "loss_spikes": 1,
        "observed_mfu": 0.4,
        "spend": {"gpu_compute": "1500000.00", "people": "300000.00"},
        "note": "week 2",
    }
    body.update(overrides)
    return body


@pytest.fixture
def outsider_api(db):
    membership = MembershipFactory(role="owner")
    token = api_token_create(
        user=membership.user, organization=membership.organization, name="x", scope="write"
    )[1]
    return ApiClient(token)


# --- approving -----------------------------------------------------------------------------


def test_an_owner_s_token_approves_a_run(writer, owner, scenario, run):
    response = _post(writer, approve_url(scenario), {"run": run.pk, "note": "board said yes"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["run"] == run.pk and body["current"] is True and body["note"] == "board said yes"
    assert body["approved_by"] == owner.username and body["hash_of"] == "report"
    stored = ApprovedBaseline.objects.get()
    assert body["id"] == stored.pk and stored.report == run.result
    assert body["cost_p50"]["amount"] == f"{run.result['totals']['cost']['p50']:.2f}"


def test_a_read_only_token_and_a_viewer_cannot_approve(reader, viewer, scenario, run):
    assert _post(reader, approve_url(scenario), {"run": run.pk}).status_code == 403
    response = _post(login(viewer), approve_url(scenario), {"run": run.pk})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert not ApprovedBaseline.objects.exists()


def test_another_organization_gets_404_and_approves_nothing(outsider_api, scenario, run):
    response = _post(outsider_api, approve_url(scenario), {"run": run.pk})
    assert response.status_code == 404
    assert (
        outsider_api.get(reverse("api:scenario-baselines", args=[scenario.pk])).status_code == 404
    )
    assert not ApprovedBaseline.objects.exists()


def test_a_run_of_another_scenario_is_a_400_naming_run(writer, owner, organization, scenario):
    other = program_create_from_blueprint(
        user=owner, organization=organization, key="sft-7b-10k-instructions"
    ).scenarios.get()
    other_run = succeeded_run(owner, other)
    response = _post(writer, approve_url(scenario), {"run": other_run.pk})
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["run"]
    assert not ApprovedBaseline.objects.exists()


def test_a_run_of_another_organization_is_refused_like_a_missing_one(
    writer, outsider, scenario, run
):
    theirs = program_create_from_blueprint(
        user=outsider, organization=outsider.memberships.get().organization, key="cpt-7b-domain"
    ).scenarios.get()
    their_run = succeeded_run(outsider, theirs)
    foreign = _post(writer, approve_url(scenario), {"run": their_run.pk})
    missing = _post(writer, approve_url(scenario), {"run": their_run.pk + 10_000})
    for response in (foreign, missing):
        assert response.status_code == 400 and list(response.json()["error"]["fields"]) == ["run"]
    assert foreign.json()["error"]["message"] == missing.json()["error"]["message"]
    assert not ApprovedBaseline.objects.exists()


def test_the_baselines_are_listed_newest_first_with_the_current_one(
    writer, owner, scenario, run, baseline
):
    newer = succeeded_run(owner, scenario, contingency_pct=25)
    assert _post(writer, approve_url(scenario), {"run": newer.pk}).status_code == 201
    body = writer.get(reverse("api:scenario-baselines", args=[scenario.pk])).json()
    assert [b["run"] for b in body["results"]] == [newer.pk, run.pk]
    assert [b["current"] for b in body["results"]] == [True, False]
    old = body["results"][1]
    assert old["superseded_by"] == body["results"][0]["id"] and old["superseded_at"]
    assert body["results"][0]["supersedes"] == baseline.pk


# --- actuals -------------------------------------------------------------------------------


def test_a_report_is_stored_against_the_current_baseline(writer, scenario, baseline):
    response = _post(writer, actuals_url(scenario), report())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["baseline"] == baseline.pk and body["tokens_trained"] == 30e9
    assert body["spend"]["gpu_compute"] == {"amount": "1500000.00", "currency": "CNY"}
    assert body["as_sent"] is None and body["source"] == "api" and body["stage"] == "main"
    stored = ActualReport.objects.get()
    assert stored.spend == {"gpu_compute": "1500000.00", "people": "300000.00"}


def test_the_same_key_and_body_twice_store_one_report(writer, scenario, baseline):
    first = _post(writer, actuals_url(scenario), report(), **{"Idempotency-Key": "job-42-step-9"})
    again = _post(writer, actuals_url(scenario), report(), **{"Idempotency-Key": "job-42-step-9"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert ActualReport.objects.count() == 1


def test_the_same_key_with_another_body_is_a_422(writer, scenario, baseline):
    key = {"Idempotency-Key": "job-42-step-9"}
    assert _post(writer, actuals_url(scenario), report(), **key).status_code == 201
    response = _post(writer, actuals_url(scenario), report(tokens_trained=31e9), **key)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert list(ActualReport.objects.values_list("tokens_trained", flat=True)) == [30e9]


def test_tokens_going_backwards_are_refused_naming_tokens_trained(writer, scenario, baseline):
    assert _post(writer, actuals_url(scenario), report(days_ago=10)).status_code == 201
    response = _post(writer, actuals_url(scenario), report(days_ago=3, tokens_trained=29e9))
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert list(fields) == ["tokens_trained"] and "backwards" in fields["tokens_trained"][0]
    assert ActualReport.objects.count() == 1


def test_a_report_dated_before_another_must_not_exceed_it(writer, scenario, baseline):
    assert _post(writer, actuals_url(scenario), report(days_ago=3)).status_code == 201
    response = _post(writer, actuals_url(scenario), report(days_ago=8, gpu_hours=60_000))
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["gpu_hours"]
    # Below the later report on every figure: accepted, and listed by date.
    assert (
        _post(writer, actuals_url(scenario), report(days_ago=8, tokens_trained=1e9)).status_code
        == 201
    )
    listed = writer.get(actuals_url(scenario)).json()["results"]
    assert [r["tokens_trained"] for r in listed] == [1e9, 30e9]


def test_a_spend_category_going_backwards_is_refused_naming_it(writer, scenario, baseline):
    assert _post(writer, actuals_url(scenario), report(days_ago=10)).status_code == 201
    later = report(days_ago=2, tokens_trained=40e9, spend={"people": "200000.00"})
    response = _post(writer, actuals_url(scenario), later)
    assert list(response.json()["error"]["fields"]) == ["spend.people"]


def test_a_date_before_the_plan_start_is_refused_naming_date(writer, scenario, baseline):
    days = (TODAY - START).days + 1
    response = _post(writer, actuals_url(scenario), report(days_ago=days))
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert list(fields) == ["date"] and START.isoformat() in fields["date"][0]
    assert not ActualReport.objects.exists()


def test_a_date_in_the_future_is_refused_naming_date(writer, scenario, baseline):
    response = _post(writer, actuals_url(scenario), report(days_ago=-1))
    assert list(response.json()["error"]["fields"]) == ["date"]


def test_without_a_plan_start_the_approval_day_is_the_first_date(writer, owner, scenario):
    from apps.programs.models import Scenario

    run = succeeded_run(owner, scenario, start_date=None)
    assert "start_date" not in run.inputs
    baseline_approve(user=owner, scenario=scenario, run=run)
    refused = _post(writer, actuals_url(scenario), report(days_ago=1))
    assert list(refused.json()["error"]["fields"]) == ["date"]
    assert "approved" in refused.json()["error"]["fields"]["date"][0]
    assert _post(writer, actuals_url(scenario), report(days_ago=0)).status_code == 201
    assert Scenario.objects.get(pk=scenario.pk).start_date is None


def test_usd_spend_for_a_cny_program_needs_a_rate(writer, scenario, baseline):
    body = report(currency="USD", spend={"gpu_compute": "1000.00"})
    response = _post(writer, actuals_url(scenario), body)
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["usd_to_cny"]
    assert not ActualReport.objects.exists()


def test_usd_spend_with_a_rate_is_stored_in_cny_with_the_original_kept(writer, scenario, baseline):
    body = report(currency="USD", usd_to_cny="7.1", spend={"gpu_compute": "1000.50"})
    response = _post(writer, actuals_url(scenario), body)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["spend"]["gpu_compute"] == {"amount": "7103.55", "currency": "CNY"}
    assert body["as_sent"] == {
        "currency": "USD",
        "usd_to_cny": "7.1000",
        "spend": {"gpu_compute": "1000.50"},
    }


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"stage": "nope"}, "stage"),
        ({"stage": "serving"}, "stage"),
        ({"progress": 0.5}, "progress"),
        ({"stage": "data", "progress": 1.5}, "progress"),
        ({"stage": "data", "elapsed_days": 0, "progress": 0.5}, "elapsed_days"),
        ({"stage": "sft", "observed_mfu": 0.4}, "observed_mfu"),
        ({"spend": {"gpus": "10.00"}}, "spend.gpus"),
        ({"spend": {"people": "-5.00"}}, "spend.people"),
        ({"spend": {"people": 12.5}}, "spend.people"),
        ({"observed_mfu": 1.5}, "observed_mfu"),
        ({"interruptions": 2.5}, "interruptions"),
        ({"tokens_trained": "NaN"}, "tokens_trained"),
        ({"gpu_hours": -1}, "gpu_hours"),
        ({"tokenz_trained": 5}, "tokenz_trained"),
        ({"note": "a\x00b"}, "note"),
    ],
)
def test_a_bad_field_is_refused_by_name_and_nothing_is_saved(
    writer, scenario, baseline, overrides, field
):
    response = _post(writer, actuals_url(scenario), report(**overrides))
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"], response.json()
    assert not ActualReport.objects.exists()


def test_a_stage_report_needs_only_its_date_and_days_and_is_listed_with_its_share_done(
    writer, scenario, baseline
):
    body = {"date": report()["date"], "stage": "data", "elapsed_days": 12, "progress": "0.75"}
    response = _post(writer, actuals_url(scenario), body)
    assert response.status_code == 201, response.content
    saved = ActualReport.objects.get()
    assert (saved.stage, saved.progress, saved.tokens_trained, saved.interruptions) == (
        "data",
        0.75,
        0.0,
        0,
    )
    listed = writer.get(actuals_url(scenario)).json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert rows[0]["stage"] == "data" and rows[0]["progress"] == 0.75
    # The main run's figures stay required for the main run.
    response = _post(writer, actuals_url(scenario), {"date": body["date"], "elapsed_days": 3})
    assert response.status_code == 400
    assert {"tokens_trained", "gpu_hours"} <= set(response.json()["error"]["fields"])


def test_an_unknown_stage_names_the_plans_stages(writer, scenario, baseline):
    response = _post(writer, actuals_url(scenario), report(stage="pretraining"))
    message = response.json()["error"]["fields"]["stage"][0]
    assert "main, data, burn_in" in message and "serving" not in message
    assert "cluster" not in message and "team" not in message


def test_each_stage_goes_forward_on_its_own_and_spend_across_stages(writer, scenario, baseline):
    first = report()
    assert _post(writer, actuals_url(scenario), first).status_code == 201
    # A data-stage report of the same day with fewer tokens (it trains none) is not "backwards".
    data = {"date": first["date"], "stage": "data", "elapsed_days": 30, "progress": 1}
    assert _post(writer, actuals_url(scenario), data).status_code == 201
    # Its share done cannot go back, nor can the program's spend, whichever stage reports it.
    worse = data | {"progress": 0.5}
    response = _post(writer, actuals_url(scenario), worse)
    assert response.status_code == 400 and "progress" in response.json()["error"]["fields"]
    spent = first["spend"]
    less = {c: "0.00" for c in spent}
    response = _post(writer, actuals_url(scenario), data | {"spend": less})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {f"spend.{c}" for c in spent}


def test_without_an_approved_baseline_a_report_is_a_409(writer, scenario, run):
    response = _post(writer, actuals_url(scenario), report())
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_approved_baseline"
    assert not ActualReport.objects.exists()


def test_a_viewer_and_a_read_only_token_cannot_report(reader, viewer, scenario, baseline):
    assert _post(reader, actuals_url(scenario), report()).status_code == 403
    assert _post(login(viewer), actuals_url(scenario), report()).status_code == 403
    assert not ActualReport.objects.exists()
    assert reader.get(actuals_url(scenario)).status_code == 200


def test_another_organization_gets_404_for_actuals(outsider_api, scenario, baseline):
    assert _post(outsider_api, actuals_url(scenario), report()).status_code == 404
    assert outsider_api.get(actuals_url(scenario)).status_code == 404
    assert not ActualReport.objects.exists()


def test_a_signed_in_editor_may_report(editor, scenario, baseline):
    response = _post(login(editor), actuals_url(scenario), report())
    assert response.status_code == 201
    assert ActualReport.objects.get().created_by == editor


# --- the approved budget -------------------------------------------------------------------


def test_the_approved_budget_stays_the_approved_run_s_after_a_newer_run(
    writer, owner, scenario, run, baseline
):
    newer = succeeded_run(owner, scenario, contingency_pct=30)
    url = reverse("api:scenario-budget", args=[scenario.pk])
    latest = writer.get(url).json()
    approved = writer.get(url, {"baseline": "approved"}).json()
    assert latest["run"] == newer.pk and "baseline" not in latest
    assert approved["run"] == run.pk and approved["baseline"] == baseline.pk
    expected = budget_table(run, BudgetQuery())
    assert approved["totals"] == expected["totals"] and approved["rows"] == expected["rows"]
    assert approved["totals"]["program_p50"] != latest["totals"]["program_p50"]


def test_the_approved_budget_without_an_approval_is_a_409(writer, scenario, run):
    url = reverse("api:scenario-budget", args=[scenario.pk])
    response = writer.get(url, {"baseline": "approved"})
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "no_approved_baseline" and "approve" in error["message"]
    assert writer.get(url, {"baseline": "latest"}).json()["run"] == run.pk
    assert writer.get(url, {"baseline": "signed"}).status_code == 400


def withdraw(client, scenario, report_id, **body):
    url = reverse("api:scenario-actual-withdraw", args=[scenario.pk])
    return _post(client, url, {"report": report_id, **body})


def test_a_typo_is_withdrawn_and_lower_figures_can_follow(writer, scenario, baseline):
    first = _post(writer, actuals_url(scenario), report(days_ago=12, tokens_trained=20e9))
    typo = _post(writer, actuals_url(scenario), report(days_ago=10, tokens_trained=30e12))
    assert typo.status_code == 201
    # The typo blocks an honest report after it...
    honest = report(days_ago=8, tokens_trained=40e9)
    assert _post(writer, actuals_url(scenario), honest).status_code == 400
    # ...only the latest report can be withdrawn...
    refused = withdraw(writer, scenario, first.json()["id"], note="x")
    assert refused.status_code == 400 and "report" in refused.json()["error"]["fields"]
    taken = withdraw(writer, scenario, typo.json()["id"], note="a zero too many")
    assert taken.status_code == 200, taken.content
    assert taken.json()["withdrawn_at"] and taken.json()["withdrawal_note"] == "a zero too many"
    again = withdraw(writer, scenario, typo.json()["id"])
    assert again.status_code == 400
    # ...and then the honest one is accepted; the withdrawn one stays listed, for the record.
    assert _post(writer, actuals_url(scenario), honest).status_code == 201
    listed = writer.get(actuals_url(scenario)).json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [bool(r["withdrawn_at"]) for r in rows] == [False, True, False]


def test_a_reader_cannot_withdraw_and_an_unknown_report_is_named(
    reader, writer, scenario, baseline
):
    made = _post(writer, actuals_url(scenario), report())
    assert withdraw(reader, scenario, made.json()["id"]).status_code == 403
    unknown = withdraw(writer, scenario, 999_999)
    assert unknown.status_code == 400 and "report" in unknown.json()["error"]["fields"]
    assert not ActualReport.objects.exclude(withdrawn_at=None).exists()
