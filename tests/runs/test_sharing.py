"""Read-only share links of a run's dashboard (issue 18: "share a read-only view with someone
outside the tool"): made by owners and editors, shown once, stored hashed, expiring, revocable,
opening the one dashboard without signing in and nothing else."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.common.errors import ApplicationError
from apps.programs.services import program_create_from_blueprint
from apps.runs.models import PlanRun, RunStatus, ShareLink
from apps.runs.services import demo_runs_load
from apps.runs.sharing import (
    SHARE_DAYS_MAX,
    share_link_create,
    share_link_open,
    share_link_revoke,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(owner, organization):
    program = program_create_from_blueprint(
        user=owner, organization=organization, key="cpt-7b-domain", name="Legal <b>7B</b>"
    )
    (made,) = demo_runs_load(user=owner, programs=[program])  # computed in-process by the core
    assert made.status == RunStatus.SUCCEEDED
    return made


def test_a_link_is_shown_once_stored_hashed_and_opens_until_it_expires(owner, run):
    link, token = share_link_create(user=owner, run=run, days=3, label="board")
    assert len(token) >= 40 and token not in link.token_hash
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert timedelta(days=3) - (link.expires_at - timezone.now()) < timedelta(minutes=1)
    assert share_link_open(token=token) == link
    link.refresh_from_db()
    assert link.views == 1 and link.last_viewed_at is not None
    assert share_link_open(token=token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert share_link_open(token=token) is None


def test_a_revoked_link_or_a_rerun_away_result_opens_nothing(owner, run):
    link, token = share_link_create(user=owner, run=run)
    share_link_revoke(user=owner, link=link)
    assert share_link_open(token=token) is None
    other, token2 = share_link_create(user=owner, run=run)
    PlanRun.objects.filter(pk=run.pk).update(result=None)
    assert share_link_open(token=token2) is None


def test_a_link_follows_its_maker_like_an_api_token(owner, organization, run):
    from apps.accounts.models import Membership
    from tests.accounts.factories import MembershipFactory

    editor = MembershipFactory(organization=organization, role="editor").user
    link, token = share_link_create(user=editor, run=run)
    assert share_link_open(token=token) == link
    Membership.objects.filter(user=editor).update(role="viewer")
    assert share_link_open(token=token) is None
    Membership.objects.filter(user=editor).update(role="editor")
    assert share_link_open(token=token) == link
    editor.is_active = False
    editor.save()
    assert share_link_open(token=token) is None


def test_only_owners_and_editors_share_and_only_finished_runs(viewer, owner, run):
    with pytest.raises(ApplicationError, match="owners and editors"):
        share_link_create(user=viewer, run=run)
    with pytest.raises(ApplicationError) as bad:
        share_link_create(user=owner, run=run, days=SHARE_DAYS_MAX + 1)
    assert bad.value.extra["field"] == "days"
    PlanRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED)
    run.refresh_from_db()
    with pytest.raises(ApplicationError, match="finished run"):
        share_link_create(user=owner, run=run)
    assert not ShareLink.objects.exists()


def test_the_public_page_is_the_dashboard_read_only_without_signing_in(owner_client, run):
    page = owner_client.post(
        reverse("runs:run_share", args=[run.pk]), {"days": 7, "label": "finance"}
    )
    assert page.status_code == 200
    html = page.content.decode()
    address = html.split('readonly value="')[1].split('"')[0]
    path = address.split("testserver", 1)[1]
    assert path.startswith("/shared/")
    stranger = Client()  # no session at all
    shared = stranger.get(path)
    assert shared.status_code == 200
    body = shared.content.decode()
    assert shared["X-Robots-Tag"] == "noindex, nofollow"
    assert "no-store" in shared["Cache-Control"] or "max-age=0" in shared["Cache-Control"]
    assert 'data-testid="cost-p50"' in body and 'data-testid="chart"' in body
    # Read-only: no run, export, sweep or share actions; the program's name is escaped.
    for action in (
        "export-pdf",
        reverse("runs:plan_run_start", args=[run.scenario_id]),
        reverse("runs:run_share", args=[run.pk]),
        reverse("reports:export_start", args=[run.pk]),
        reverse("runs:compare", args=[run.scenario.program_id]),
    ):
        assert action not in body, action
    assert "Legal <b>7B</b>" not in body
    # The link opens nothing else: the scenario, the workspace and the API stay closed.
    assert stranger.get(reverse("runs:plan_run_detail", args=[run.pk])).status_code == 302
    assert (
        stranger.get(reverse("programs:scenario_detail", args=[run.scenario_id])).status_code == 302
    )
    assert stranger.get("/shared/" + "x" * 43 + "/").status_code == 404


def test_the_share_page_lists_and_revokes_links_and_refuses_viewers(
    owner_client, viewer_client, outsider_client, run
):
    url = reverse("runs:run_share", args=[run.pk])
    owner_client.post(url, {"days": 7, "label": "board"})
    link = ShareLink.objects.get()
    assert "board" in owner_client.get(url).content.decode()
    # A viewer sees the list but cannot make or revoke links; an outsider sees nothing.
    assert viewer_client.get(url).status_code == 200
    assert 'data-testid="share-create"' not in viewer_client.get(url).content.decode()
    assert viewer_client.post(url, {"days": 7}).status_code == 403
    revoke = reverse("runs:run_share_revoke", args=[run.pk, link.pk])
    assert viewer_client.post(revoke).status_code == 403
    assert outsider_client.get(url).status_code == 404
    assert outsider_client.post(revoke).status_code == 404
    link.refresh_from_db()
    assert link.revoked_at is None
    owner_client.post(revoke)
    link.refresh_from_db()
    assert link.revoked_at is not None
    # Bad input names the field and saves nothing.
    response = owner_client.post(url, {"days": 0, "label": "x"})
    assert response.status_code == 200 and ShareLink.objects.count() == 1
    assert "days" in response.content.decode().lower()


def test_the_dashboard_offers_the_budget_as_a_spreadsheet_and_a_share_link(
    owner_client, viewer_client, run
):
    # Issue 18: finance could only get the budget with an API token; the page links it (the
    # signed-in session is enough) and offers the read-only share to editors.
    page = owner_client.get(reverse("runs:plan_run_detail", args=[run.pk])).content.decode()
    xlsx = page.split('data-testid="budget-xlsx"')[0].rsplit('href="', 1)[1].split('"')[0]
    response = owner_client.get(xlsx.replace("&amp;", "&"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml"
    )
    assert f"budget-scenario-{run.scenario_id}-run-{run.pk}.xlsx" in response["Content-Disposition"]
    assert reverse("runs:run_share", args=[run.pk]) in page
    assert 'data-testid="run-plan"' in page  # an editor can run it again from here
    viewer_page = viewer_client.get(reverse("runs:plan_run_detail", args=[run.pk])).content.decode()
    assert 'data-testid="budget-csv"' in viewer_page and 'data-testid="run-plan"' not in viewer_page
    # Probabilities as percentages, the strategy by its name, not "0.00" and "cpt".
    assert "probability over budget: 0.00" not in page
    assert "Continued pretraining" in page
