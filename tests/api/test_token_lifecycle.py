"""Tokens follow their creator: a deactivated, removed or demoted creator's token stops working
on its next request, however the change was made, and the revocation is recorded with its reason."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.models import ApiToken, Membership
from apps.accounts.services import api_token_create
from apps.programs.models import GPUBudgetLine
from apps.runs.models import PlanRun
from tests.api.conftest import ApiClient
from tests.conftest import login

pytestmark = pytest.mark.django_db


def start_run(client, scenario):
    return client.post(
        reverse("api:scenario-start-run", args=[scenario.pk]),
        {"trials": 100},
        content_type="application/json",
    )


def patch_line(client, scenario):
    line = scenario.budget_lines.first()
    return client.patch(
        reverse("api:budget-line-detail", args=[line.pk]),
        {"gpu_count": 4096},
        content_type="application/json",
        headers={"If-Match": f'"v{scenario.version}"'},
    )


def assert_refused(response, words):
    assert response.status_code == 401, response.content
    error = response.json()["error"]
    assert error["code"] == "authentication_failed"
    assert words in error["message"], error["message"]


def test_a_deactivated_creators_token_is_refused_and_revoked_with_the_reason(
    writer, owner, scenario
):
    owner.is_active = False
    owner.save()
    lines = list(GPUBudgetLine.objects.values())
    response = start_run(writer, scenario)
    assert_refused(response, "deactivated")
    assert_refused(patch_line(writer, scenario), "deactivated")  # later requests say why too
    assert not PlanRun.objects.exists() and list(GPUBudgetLine.objects.values()) == lines
    token = ApiToken.objects.get(name="ERP write")
    assert token.revoked_at is not None
    assert token.revoked_reason == ApiToken.RevokedReason.CREATOR_INACTIVE


def test_reactivating_the_creator_does_not_bring_a_revoked_token_back(writer, owner, scenario):
    owner.is_active = False
    owner.save()
    assert_refused(writer.get(reverse("api:scenario-list")), "deactivated")
    owner.is_active = True
    owner.save()
    assert_refused(writer.get(reverse("api:scenario-list")), "deactivated")


def test_a_creator_removed_from_the_organization_loses_every_token(
    reader, writer, owner, organization, scenario
):
    Membership.objects.filter(user=owner, organization=organization).delete()
    assert_refused(reader.get(reverse("api:scenario-list")), "no longer a member")
    assert_refused(start_run(writer, scenario), "no longer a member")
    assert not PlanRun.objects.exists()
    reasons = set(ApiToken.objects.values_list("revoked_reason", flat=True))
    assert reasons == {ApiToken.RevokedReason.CREATOR_NOT_MEMBER}


def test_a_creator_demoted_to_viewer_loses_the_write_token_but_keeps_the_read_one(
    reader, writer, owner, organization, scenario
):
    Membership.objects.filter(user=owner, organization=organization).update(role="viewer")
    lines = list(GPUBudgetLine.objects.values())
    assert_refused(patch_line(writer, scenario), "no longer an owner or editor")
    assert_refused(start_run(writer, scenario), "no longer an owner or editor")
    assert list(GPUBudgetLine.objects.values()) == lines and not PlanRun.objects.exists()
    listed = reader.get(reverse("api:scenario-list"))
    assert listed.status_code == 200 and listed.json()["results"][0]["id"] == scenario.pk
    write = ApiToken.objects.get(name="ERP write")
    assert write.revoked_reason == ApiToken.RevokedReason.CREATOR_CANNOT_EDIT
    assert ApiToken.objects.get(name="ERP read").revoked_at is None


def test_a_creator_demoted_to_editor_keeps_a_working_write_token(
    writer, owner, organization, scenario
):
    Membership.objects.filter(user=owner, organization=organization).update(role="editor")
    response = start_run(writer, scenario)
    assert response.status_code == 202, response.json()
    assert PlanRun.objects.get().created_by == owner


def admin_form_data(page) -> dict[str, object]:
    """The POST an admin change page would send unchanged: the main form and every inline."""
    data: dict[str, object] = {}

    def add(form, prefix=None):
        for name, field in form.fields.items():
            key = form.add_prefix(name) if prefix is None else f"{prefix}-{name}"
            value = form.initial.get(name, field.initial)
            if hasattr(value, "pk"):
                value = value.pk
            if value is not None:
                data[key] = value

    add(page.context["adminform"].form)
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        data[f"{formset.prefix}-TOTAL_FORMS"] = str(len(formset.forms))
        data[f"{formset.prefix}-INITIAL_FORMS"] = str(formset.initial_form_count())
        for sub in formset.forms:
            add(sub, sub.prefix)
    return data


def test_a_membership_demoted_in_the_admin_inline_refuses_the_write_token(
    writer, owner, organization, scenario
):
    from tests.accounts.factories import MembershipFactory, UserFactory

    MembershipFactory(organization=organization, role="owner")  # the admin keeps an owner
    admin = login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse("admin:accounts_organization_change", args=[organization.pk])
    page = admin.get(url)
    data = admin_form_data(page)
    membership = Membership.objects.get(user=owner, organization=organization)
    (role_key,) = [
        k[: -len("-id")] + "-role"
        for k, v in data.items()
        if k.endswith("-id") and str(v) == str(membership.pk)
    ]
    data[role_key] = "viewer"
    saved = admin.post(url, data)
    assert saved.status_code == 302, saved.context["errors"] if saved.context else saved
    assert Membership.objects.get(pk=membership.pk).role == "viewer"
    assert_refused(start_run(writer, scenario), "no longer an owner or editor")
    assert not PlanRun.objects.exists()


def test_the_api_tokens_page_shows_the_owner_why_a_token_was_revoked(organization, owner, scenario):
    from tests.accounts.factories import MembershipFactory

    colleague = MembershipFactory(organization=organization, role="editor").user
    Membership.objects.filter(user=colleague, organization=organization).update(role="owner")
    _, secret = api_token_create(
        user=colleague, organization=organization, name="Colleague's ERP", scope="write"
    )
    Membership.objects.filter(user=colleague, organization=organization).update(role="viewer")
    assert_refused(start_run(ApiClient(secret), scenario), "no longer an owner or editor")
    page = login(owner).get(reverse("accounts:api_tokens"))
    text = page.content.decode()
    row = text[text.index("Colleague&#x27;s ERP") :]
    row = row[: row.index("</tr>")]
    assert "its creator is no longer an owner or editor of the organization" in row


def test_a_creator_deactivated_in_the_admin_loses_the_token(writer, owner, scenario):
    from tests.accounts.factories import UserFactory

    admin = login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse("admin:accounts_user_change", args=[owner.pk])
    data = admin_form_data(admin.get(url))
    joined = data.pop("date_joined")
    data.update(
        {
            "date_joined_0": joined.strftime("%Y-%m-%d"),
            "date_joined_1": joined.strftime("%H:%M:%S"),
        }
    )
    # An unticked checkbox is absent from the form's POST: "Active" is cleared.
    dropped = {"password", "last_login", "is_active"}
    data = {k: v for k, v in data.items() if k not in dropped and v not in ([], "")}
    saved = admin.post(url, data)
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    owner.refresh_from_db()
    assert owner.is_active is False
    assert_refused(start_run(writer, scenario), "deactivated")
    assert not PlanRun.objects.exists()


@pytest.mark.parametrize(
    "change, words",
    [("remove", "no longer a member"), ("demote", "stepped down as an owner")],
)
def test_the_members_page_records_why_it_revoked_a_token(
    owner, organization, scenario, change, words
):
    from apps.accounts.services import membership_remove, membership_role_set
    from tests.accounts.factories import MembershipFactory

    colleague = MembershipFactory(organization=organization, role="owner")
    _, secret = api_token_create(
        user=colleague.user, organization=organization, name="Theirs", scope="read"
    )
    if change == "remove":
        membership_remove(user=owner, membership=colleague)
    else:
        membership_role_set(user=owner, membership=colleague, role="editor")
    assert_refused(ApiClient(secret).get(reverse("api:scenario-list")), words)
    page = login(owner).get(reverse("accounts:api_tokens")).content.decode()
    assert words in page
