"""Walk every URL pattern of the site and the API as an anonymous visitor, an outsider (an owner
of another organization), a viewer, an editor and an owner, and check each gets what its role is
due: anonymous → the login page (API: 401); outsider → 404 for any of the organization's
objects, nothing of it in lists, nothing changed; viewer → reads, but every write is a 403 and
changes nothing; editor → writes plans but not members or tokens.

The table below must name every pattern: a new URL fails ``test_every_url_pattern_is_walked``
until its access rule is written down here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from unittest import mock

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from apps.accounts.models import ApiToken, Membership
from apps.accounts.services import api_token_create
from apps.programs.models import Program, Scenario
from apps.programs.services import program_create_from_blueprint
from apps.reports.models import Export
from apps.runs.models import PlanRun, ShareLink, Sweep
from apps.runs.services import plan_run_create, plan_run_execute
from apps.runs.sharing import share_link_create
from apps.tracking.models import ActualReport, ApprovedBaseline, OrganizationCalibration
from apps.webhooks.models import Webhook, WebhookDelivery
from tests.accounts.factories import InvitationFactory, MembershipFactory
from tests.conftest import login
from tests.tracking.factories import ActualReportFactory, ApprovedBaselineFactory
from tests.webhooks.factories import WebhookFactory

pytestmark = pytest.mark.django_db

# Who may POST: "editor" (owner or editor), "owner", "member" (any member: a read such as a PDF
# export), or None (GET only). Object routes take the organization's ids; list routes none.
READ, MEMBER, EDITOR, OWNER = None, "member", "editor", "owner"


@dataclass(frozen=True)
class Route:
    name: str
    kwargs: tuple[str, ...]  # names of the world's ids this route takes
    post: str | None  # who may POST (None: GET only, or a POST that is not a write)
    get: bool = True  # answers GET
    form_only: bool = False  # its GET is the form of the POST: same role needed


ROUTES = [
    Route("portfolio:home", (), None),
    Route("runs:plan_run_detail", ("run_id",), None),
    Route("runs:plan_run_status", ("run_id",), None),
    Route("runs:plan_run_start", ("scenario_id",), EDITOR, get=False),
    Route("runs:scenario_dashboard", ("scenario_id",), None),
    Route("runs:sweep_start", ("scenario_id",), EDITOR, get=False),
    Route("runs:sweep_detail", ("sweep_id",), None),
    Route("runs:sweep_variant_save", ("sweep_id", "index"), EDITOR, get=False),
    Route("runs:compare", ("program_id",), None),
    Route("runs:run_share", ("run_id",), EDITOR),
    Route("runs:run_share_revoke", ("run_id", "link_id"), EDITOR, get=False),
    Route("programs:program_list", (), None),
    Route("programs:program_create", (), EDITOR, form_only=True),
    Route("programs:program_from_template", (), EDITOR, form_only=True),
    Route("programs:program_detail", ("program_id",), None),
    Route("programs:program_edit", ("program_id",), EDITOR, form_only=True),
    Route("programs:program_archive", ("program_id",), EDITOR, get=False),
    Route("programs:scenario_create", ("program_id",), EDITOR, get=False),
    Route("programs:scenario_import", ("program_id",), EDITOR, form_only=True),
    Route("programs:scenario_detail", ("scenario_id",), None),
    Route("programs:scenario_tab", ("scenario_id", "tab"), EDITOR),
    Route("programs:scenario_rename", ("scenario_id",), EDITOR, get=False),
    Route("programs:scenario_clone", ("scenario_id",), EDITOR, get=False),
    Route("programs:scenario_archive", ("scenario_id",), EDITOR, get=False),
    Route("programs:scenario_baseline", ("scenario_id",), EDITOR, get=False),
    Route("programs:scenario_export", ("scenario_id", "fmt"), None),
    Route("programs:line_add", ("scenario_id", "kind"), EDITOR, form_only=True),
    Route("programs:line_row", ("scenario_id", "kind", "line_id"), None),
    Route("programs:line_edit", ("scenario_id", "kind", "line_id"), EDITOR, form_only=True),
    Route("programs:line_delete", ("scenario_id", "kind", "line_id"), EDITOR, get=False),
    Route("tracking:run_approve", ("run_id",), EDITOR, get=False),
    Route("tracking:scenario_tracking", ("scenario_id",), None),
    Route("tracking:forecast_status", ("scenario_id",), None),
    Route("tracking:status_export", ("scenario_id",), MEMBER, get=False),
    Route("tracking:actual_add", ("scenario_id",), EDITOR, get=False),
    Route("tracking:actuals_import", ("scenario_id",), EDITOR, get=False),
    Route("tracking:actual_withdraw", ("scenario_id", "report_id"), EDITOR, get=False),
    Route("tracking:actuals_template", (), None),  # the same blank CSV for everyone
    Route("reports:export_start", ("run_id",), MEMBER, get=False),
    Route("reports:export_detail", ("export_id",), None),
    Route("reports:export_status", ("export_id",), None),
    Route("reports:export_download", ("export_id",), None),
    Route("accounts:members", (), OWNER),
    Route("accounts:member_role", ("membership_id",), OWNER, get=False),
    Route("accounts:member_remove", ("membership_id",), OWNER, get=False),
    Route("accounts:api_tokens", (), OWNER),
    Route("accounts:api_token_revoke", ("token_id",), OWNER, get=False),
    Route("accounts:invitation_cancel", ("invitation_id",), OWNER, get=False),
    # Webhooks: only owners see them (the list shows a member none; a log is a 403 to them).
    Route("webhooks:webhook_list", (), OWNER),
    Route("webhooks:webhook_detail", ("webhook_id",), None, form_only=True),
    Route("webhooks:webhook_ping", ("webhook_id",), OWNER, get=False),
    Route("webhooks:webhook_activate", ("webhook_id",), OWNER, get=False),
    Route("webhooks:webhook_deactivate", ("webhook_id",), OWNER, get=False),
    Route("webhooks:webhook_delete", ("webhook_id",), OWNER, get=False),
    # Calibration: every member reads the fit; only owners switch it or refit it.
    Route("calibration:calibration", (), None),
    Route("calibration:calibration_use", ("organization_id",), OWNER, get=False),
    Route("calibration:calibration_refit", ("organization_id",), OWNER, get=False),
    # The invitee's own pages: every other user gets an empty list and 404 for the answers.
    Route("accounts:invitations", (), None),
    Route("accounts:invitation_accept", ("invitation_id",), None, get=False),
    Route("accounts:invitation_decline", ("invitation_id",), None, get=False),
    # Any signed-in user's own password.
    Route("accounts:password_change", (), None),
    Route("accounts:password_change_done", (), None),
]
# Routes anyone may open (the sign-in page, the language switch, the health probe, the API's
# documentation) and the admin (Django's own staff check) are checked separately below.
# A share link's page opens with its token alone (tests/runs/test_sharing.py: a wrong, expired or
# revoked token is a 404, and the page is read-only).
PUBLIC = {"accounts:login", "accounts:logout", "set_language", "healthz", "runs:shared_run"} | {
    f"accounts:password_reset{step}" for step in ("", "_done", "_confirm", "_complete")
}
API_DOCS = {"api:schema", "api:docs", "api:redoc", "api:api-root"}


def _named_patterns(patterns: list[Any], namespace: str | None = None) -> set[str]:
    names: set[str] = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace
            ns = f"{namespace}:{inner}" if namespace and inner else inner or namespace
            if ns != "admin":
                names |= _named_patterns(pattern.url_patterns, ns)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)
    return names


def test_every_url_pattern_is_walked():
    site = {n for n in _named_patterns(get_resolver().url_patterns) if not n.startswith("api:")}
    assert site == {r.name for r in ROUTES} | PUBLIC


@pytest.fixture
def world(organization, owner):
    """The organization with one of everything, its members, and an outsider."""
    editor = MembershipFactory(organization=organization, role="editor").user
    viewer = MembershipFactory(organization=organization, role="viewer").user
    outsider = MembershipFactory(role="owner").user
    with mock.patch("apps.runs.tasks.plan_run_task.delay"):
        program = program_create_from_blueprint(
            user=owner, organization=organization, key="cpt-7b-domain"
        )
        # a name no template shares, to look for in the outsider's pages
        Program.objects.filter(pk=program.pk).update(name="Falcon-confidential plan")
        program.refresh_from_db()
        scenario = program.scenarios.get()
        run = plan_run_execute(
            run_id=plan_run_create(user=owner, scenario=scenario, trials=100).pk, worker="t"
        )
    sweep = Sweep.objects.create(
        organization=organization, scenario=scenario, inputs={}, axes={}, created_by=owner
    )
    export = Export.objects.create(
        organization=organization, run=run, created_by=owner, content_hash="x" * 64
    )
    token, _ = api_token_create(user=owner, organization=organization, name="ERP", scope="write")
    link, _ = share_link_create(user=owner, run=run, days=7)
    invitation = InvitationFactory(organization=organization, invited_by=owner)
    webhook = WebhookFactory(organization=organization, created_by=owner)
    baseline = ApprovedBaselineFactory(run=run, approved_by=owner)
    report = ActualReportFactory(baseline=baseline)
    ids = {
        "program_id": program.pk,
        "scenario_id": scenario.pk,
        "run_id": run.pk,
        "sweep_id": sweep.pk,
        "index": 0,
        "export_id": export.pk,
        "token_id": token.pk,
        "invitation_id": invitation.pk,
        "membership_id": Membership.objects.get(user=viewer, organization=organization).pk,
        "tab": "team",
        "kind": "team",
        "line_id": scenario.team_lines.first().pk,
        "fmt": "json",
        "link_id": link.pk,
        "webhook_id": webhook.pk,
        "report_id": report.pk,
        "organization_id": organization.pk,
    }
    return {
        "ids": ids,
        "owner": owner,
        "editor": editor,
        "viewer": viewer,
        "outsider": outsider,
        "program": program,
    }


def snapshot(organization) -> dict[str, Any]:
    """Everything a request could have changed of the organization."""
    scenarios = Scenario.objects.filter(program__organization=organization)
    return {
        "programs": list(
            Program.objects.filter(organization=organization).values_list(
                "id", "name", "archived_at"
            )
        ),
        "scenarios": list(
            scenarios.order_by("id").values_list(
                "id", "name", "version", "is_baseline", "archived_at"
            )
        ),
        "runs": PlanRun.objects.filter(organization=organization).count(),
        "sweeps": Sweep.objects.filter(organization=organization).count(),
        "exports": Export.objects.filter(organization=organization).count(),
        "share_links": list(
            ShareLink.objects.filter(organization=organization).values_list("id", "revoked_at")
        ),
        "members": list(
            Membership.objects.filter(organization=organization)
            .order_by("id")
            .values_list("id", "role")
        ),
        "tokens": list(
            ApiToken.objects.filter(organization=organization).values_list("id", "revoked_at")
        ),
        "webhooks": list(
            Webhook.objects.filter(organization=organization).values_list("id", "active")
        ),
        "webhook_deliveries": WebhookDelivery.objects.filter(
            webhook__organization=organization
        ).count(),
        "baselines": ApprovedBaseline.objects.filter(organization=organization).count(),
        "actuals": ActualReport.objects.filter(organization=organization).count(),
        "calibration": list(
            OrganizationCalibration.objects.filter(organization=organization).values_list(
                "enabled", "fitted", "fitted_at"
            )
        ),
    }


def _url(route: Route, ids: dict[str, Any]) -> str:
    return reverse(route.name, kwargs={k: ids[k] for k in route.kwargs})


def test_anonymous_visitors_are_sent_to_the_login_page(world):
    client = Client()
    for route in ROUTES:
        for method in ("get", "post"):
            response = getattr(client, method)(_url(route, world["ids"]))
            assert response.status_code == 302, (method, route.name, response.status_code)
            assert response["Location"].startswith(reverse("accounts:login")), route.name


def test_an_outsider_gets_404_for_every_object_and_changes_nothing(world, organization):
    client = login(world["outsider"])
    before = snapshot(organization)
    for route in ROUTES:
        url = _url(route, world["ids"])
        get, post = client.get(url), client.post(url, {"role": "owner", "name": "x"})
        if route.kwargs:
            statuses = {get.status_code, post.status_code}
            assert statuses <= {404, 405} and 404 in statuses, (route.name, statuses)
        else:  # a list or a form of the outsider's own: nothing of the organization in it
            assert get.status_code == 200, route.name
            page = get.content.decode()
            assert world["program"].name not in page, route.name
            assert world["viewer"].username not in page, route.name
    assert snapshot(organization) == before


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_a_member_reads_everything_and_writes_only_what_the_role_allows(world, organization, role):
    client = login(world[role])
    allowed = {"viewer": {MEMBER}, "editor": {MEMBER, EDITOR}}[role]
    for route in ROUTES:
        url = _url(route, world["ids"])
        if route.get:
            response = client.get(url)
            due = 403 if route.form_only and route.post not in allowed else 200
            assert response.status_code in (due, 302), (route.name, response.status_code)
        else:
            assert client.get(url).status_code == 405, route.name
        if route.post is None or route.post in allowed:
            continue
        before = snapshot(organization)
        response = client.post(url, {"role": "owner", "name": "x", "username": "x"})
        assert response.status_code == 403, (role, route.name, response.status_code)
        assert snapshot(organization) == before, route.name


def test_public_pages_need_no_login(db):
    client = Client()
    assert client.get(reverse("accounts:login")).status_code == 200
    assert client.get(reverse("healthz")).status_code in (200, 503)
    assert client.post(reverse("set_language"), {"language": "zh-hans"}).status_code == 302
    for name in API_DOCS - {"api:api-root", "api:redoc"}:
        assert client.get(reverse(name)).status_code == 200, name
    assert client.get(reverse("api:redoc")).status_code == 301  # to Swagger UI


def test_the_admin_is_closed_to_members_who_are_not_staff(world):
    for role in ("owner", "viewer", "outsider"):
        response = login(world[role]).get(f"/admin/programs/program/{world['ids']['program_id']}/")
        assert response.status_code == 302 and "/admin/login/" in response["Location"], role


# ---- the API ------------------------------------------------------------------------------


# Routes over the token's whole organization, with no object of their own (the portfolio): an
# outsider's token reads its own organization there, and nothing of this one.
ORGANIZATION_WIDE = {"api:portfolio", "api:portfolio-budget"}


def _api_routes() -> list[tuple[str, str]]:
    """(name, kind) of every API route: "list", "organization" (``ORGANIZATION_WIDE``) or
    "detail"/actions taking the object's pk."""
    names = {n for n in _named_patterns(get_resolver().url_patterns) if n.startswith("api:")}

    def kind(name: str) -> str:
        if name in ORGANIZATION_WIDE:
            return "organization"
        return "list" if name.endswith("-list") else "detail"

    return sorted((n, kind(n)) for n in names - API_DOCS)


API_OBJECTS = {
    "program": "program_id",
    "scenario": "scenario_id",
    "run": "run_id",
    "export": "export_id",
    "budget-line": "budget_line_id",
    "team-line": "line_id",
    "dataset": "dataset_id",
}


def _api_url(name: str, kind: str, ids: dict[str, Any]) -> str:
    if kind in ("list", "organization"):
        return reverse(name)
    resource = name.removeprefix("api:").split("-")
    for n in range(len(resource), 0, -1):
        key = "-".join(resource[:n])
        if key in API_OBJECTS:
            return reverse(name, args=[ids[API_OBJECTS[key]]])
    raise AssertionError(f"{name}: add its object to API_OBJECTS")


def test_every_api_route_answers_an_outsiders_token_with_404_and_changes_nothing(
    world, organization
):
    scenario = Scenario.objects.get(pk=world["ids"]["scenario_id"])
    ids = {
        **world["ids"],
        "budget_line_id": scenario.budget_lines.first().pk,
        "dataset_id": scenario.datasets.first().pk,
    }
    _, secret = api_token_create(
        user=world["outsider"],
        organization=world["outsider"].memberships.get().organization,
        name="other",
        scope="write",
    )
    api = Client(headers={"Authorization": f"Bearer {secret}", "If-Match": "*"})
    before = snapshot(organization)
    routes = _api_routes()
    assert len(routes) >= 15
    assert {name for name, kind in routes if kind == "organization"} == ORGANIZATION_WIDE
    for name, kind in routes:
        url = _api_url(name, kind, ids)
        if kind == "organization":
            response = api.get(url)
            assert response.status_code == 200, name
            assert world["program"].name not in response.content.decode(), name
            for method in ("post", "patch", "delete"):
                refused = getattr(api, method)(url, {}, content_type="application/json")
                assert refused.status_code == 405, (name, method, refused.status_code)
            continue
        if kind == "list":
            body = api.get(url).json()
            assert body["count"] == 0 or all(
                r.get("id") not in ids.values() or name == "api:program-list"
                for r in body["results"]
            ), name
            continue
        for method in ("get", "post", "patch", "delete"):
            response = getattr(api, method)(url, {}, content_type="application/json")
            assert response.status_code in (404, 405), (name, method, response.status_code)
    assert snapshot(organization) == before


def test_api_routes_need_a_token(world):
    for name, kind in _api_routes():
        if kind in ("list", "organization"):
            assert Client().get(reverse(name)).status_code == 401, name
