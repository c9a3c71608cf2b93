"""Invitations instead of silent adds: an owner invites by user name or e-mail, the answer is the
same whether or not the account exists, the invitee accepts or declines after signing in, an
invitation lapses after 14 days, and nobody else can answer it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Invitation, Membership
from apps.accounts.services import INVITATION_DAYS, invitation_accept
from apps.common.errors import ApplicationError
from tests.accounts.factories import InvitationFactory, MembershipFactory, UserFactory
from tests.conftest import login

pytestmark = pytest.mark.django_db


def _invite(client, organization, invitee, role="editor"):
    return client.post(
        reverse("accounts:members"),
        {"organization": organization.pk, "invitee": invitee, "role": role},
        follow=True,
    )


def test_an_owner_invites_and_the_invitee_joins_only_on_accepting(owner, organization):
    carol = UserFactory(username="carol")
    _invite(login(owner), organization, " carol ", role="editor")
    assert not Membership.objects.filter(user=carol, organization=organization).exists()
    invitee = login(carol)
    page = invitee.get(reverse("accounts:invitations")).content.decode()
    assert organization.name in page and owner.username in page
    invitation = Invitation.objects.get(user=carol)
    response = invitee.post(reverse("accounts:invitation_accept", args=[invitation.pk]))
    assert response.status_code == 302
    assert Membership.objects.get(user=carol, organization=organization).role == "editor"
    invitation.refresh_from_db()
    assert invitation.status == "accepted"
    page = invitee.get(reverse("accounts:invitations")).content.decode()
    assert 'data-testid="no-invitations"' in page


def test_an_invitation_by_e_mail_reaches_the_account_with_that_address(owner, organization):
    carol = UserFactory(username="carol", email="Carol@Example.com")
    _invite(login(owner), organization, "carol@example.com", role="viewer")
    assert Invitation.objects.get().user == carol
    invitation_accept(user=carol, invitation_id=Invitation.objects.get().pk)
    assert Membership.objects.get(user=carol, organization=organization).role == "viewer"


def test_a_look_alike_spelling_of_the_name_reaches_the_same_account(owner, organization):
    carol = UserFactory(username="carol")
    _invite(login(owner), organization, "ＣＡＲＯＬ")
    assert Invitation.objects.get().user == carol


def test_the_answer_is_the_same_whether_or_not_the_account_exists(owner, organization):
    UserFactory(username="carol")
    client = login(owner)
    answers = []
    for name in ["carol", "nobody-at-all", "someone@nowhere.example"]:
        response = _invite(client, organization, name)
        assert response.redirect_chain == [(reverse("accounts:members"), 302)]
        answers.append([str(m) for m in response.context["messages"]])
    assert answers[0] == answers[1] == answers[2] == ["Invitation sent if the account exists."]
    # the owner's list shows every invitation alike, as typed, each waiting for an answer
    page = client.get(reverse("accounts:members")).content.decode()
    for name in ["carol", "nobody-at-all", "someone@nowhere.example"]:
        assert name in page
    assert page.count("Waiting for an answer until") == 3


def test_the_invitee_declines_and_stays_out(owner, organization):
    carol = UserFactory(username="carol")
    invitation = InvitationFactory(organization=organization, invited_by=owner, user=carol)
    client = login(carol)
    client.post(reverse("accounts:invitation_decline", args=[invitation.pk]))
    invitation.refresh_from_db()
    assert invitation.status == "declined"
    client.post(reverse("accounts:invitation_accept", args=[invitation.pk]))
    assert not Membership.objects.filter(user=carol, organization=organization).exists()


def test_an_invitation_lapses_after_fourteen_days(owner, organization):
    carol = UserFactory(username="carol")
    _invite(login(owner), organization, "carol")
    invitation = Invitation.objects.get()
    lifetime = invitation.expires_at - invitation.created_at
    assert timedelta(days=INVITATION_DAYS) - timedelta(seconds=5) < lifetime
    assert lifetime <= timedelta(days=INVITATION_DAYS)
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    client = login(carol)
    assert (
        "No invitations are waiting" in client.get(reverse("accounts:invitations")).content.decode()
    )
    response = client.post(reverse("accounts:invitation_accept", args=[invitation.pk]), follow=True)
    assert "expired" in response.content.decode()
    assert not Membership.objects.filter(user=carol, organization=organization).exists()


def test_nobody_but_the_invitee_can_answer(owner, organization, outsider):
    carol = UserFactory(username="carol")
    invitation = InvitationFactory(
        organization=organization, invited_by=owner, user=carol, role="owner"
    )
    for intruder in (outsider, owner, MembershipFactory(organization=organization).user):
        client = login(intruder)
        page = client.get(reverse("accounts:invitations")).content.decode()
        assert 'data-testid="no-invitations"' in page
        for action in ("accounts:invitation_accept", "accounts:invitation_decline"):
            assert client.post(reverse(action, args=[invitation.pk])).status_code == 404
    invitation.refresh_from_db()
    assert invitation.status == "pending"
    assert not Membership.objects.filter(user=outsider, organization=organization).exists()


def test_an_invitation_from_someone_no_longer_an_owner_is_withdrawn(owner, organization):
    second = MembershipFactory(organization=organization, role="owner").user
    carol = UserFactory(username="carol")
    invitation = InvitationFactory(
        organization=organization, invited_by=second, user=carol, role="owner"
    )
    Membership.objects.filter(user=second).update(role="viewer")
    with pytest.raises(ApplicationError, match="withdrawn"):
        invitation_accept(user=carol, invitation_id=invitation.pk)
    assert not Membership.objects.filter(user=carol, organization=organization).exists()
    invitation.refresh_from_db()
    assert invitation.status == "cancelled"


def test_a_new_invitation_replaces_the_pending_one_whether_or_not_the_name_exists(
    owner, organization
):
    carol = UserFactory(username="carol")
    client = login(owner)
    for name in ("carol", "nobody-at-all"):
        _invite(client, organization, name, role="viewer")
        _invite(client, organization, name, role="editor")
    open_ones = Invitation.objects.filter(user=carol, status="pending")
    assert [i.role for i in open_ones] == ["editor"]
    made_up = Invitation.objects.filter(invitee="nobody-at-all", status="pending")
    assert [i.role for i in made_up] == ["editor"]


def _sent_rows(page: str) -> list[str]:
    table = page.split('data-testid="invitations-sent"', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr><td>(.*?)</td>", table)


def test_inviting_twice_shows_the_same_rows_for_an_existing_and_a_made_up_name(owner, organization):
    # The finding: a second invitation replaced the first only when the name matched an
    # account, so the Members page showed 1 row for an existing name and 2 for a made-up one.
    UserFactory(username="carol", email="carol@example.com")
    client = login(owner)
    for name in ("carol", "nobody", "carol", "nobody", "CAROL@example.com", "nobody@example.com"):
        _invite(client, organization, name)
    for name in ("ｃａｒｏｌ", "NOBODY", "carol@EXAMPLE.com", "Nobody@Example.com"):
        _invite(client, organization, name, role="viewer")
    rows = _sent_rows(client.get(reverse("accounts:members")).content.decode())
    assert sorted(rows) == sorted(
        ["ｃａｒｏｌ", "NOBODY", "carol@EXAMPLE.com", "Nobody@Example.com"]
    )
    pending = Invitation.objects.filter(status="pending")
    assert {i.role for i in pending} == {"viewer"}


def test_replacing_an_invitation_runs_the_same_queries_whether_or_not_the_name_exists(
    owner, organization
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.accounts.services import invitation_send

    UserFactory(username="carol")
    statements = {}
    for name in ("carol", "nobody"):
        invitation_send(user=owner, organization=organization, invitee=name, role="editor")
        with CaptureQueriesContext(connection) as queries:
            invitation_send(user=owner, organization=organization, invitee=name, role="viewer")
        statements[name] = [q["sql"].split()[0] for q in queries.captured_queries]
    assert statements["carol"].count("UPDATE") == 1
    assert statements["carol"] == statements["nobody"]


def test_accepting_one_invitation_closes_the_others_to_the_same_organization(owner, organization):
    carol = UserFactory(username="carol", email="carol@example.com")
    client = login(owner)
    _invite(client, organization, "carol", role="viewer")
    _invite(client, organization, "carol@example.com", role="editor")
    first, second = Invitation.objects.filter(user=carol, status="pending").order_by("pk")
    invitation_accept(user=carol, invitation_id=second.pk)
    first.refresh_from_db()
    assert first.status == "cancelled"
    assert Membership.objects.get(user=carol, organization=organization).role == "editor"


def test_an_owner_withdraws_an_invitation_and_a_non_owner_cannot(owner, organization):
    carol = UserFactory(username="carol")
    invitation = InvitationFactory(organization=organization, invited_by=owner, user=carol)
    editor = MembershipFactory(organization=organization, role="editor").user
    url = reverse("accounts:invitation_cancel", args=[invitation.pk])
    assert login(editor).post(url).status_code == 403
    assert login(UserFactory()).post(url).status_code == 404
    invitation.refresh_from_db()
    assert invitation.status == "pending"
    login(owner).post(url)
    invitation.refresh_from_db()
    assert invitation.status == "cancelled"
    with pytest.raises(ApplicationError):
        invitation_accept(user=carol, invitation_id=invitation.pk)


def test_members_of_other_organizations_cannot_be_added_without_their_consent(owner, outsider):
    # The finding: an owner used to add any user of any organization by name, silently.
    organization = owner.memberships.get().organization
    _invite(login(owner), organization, outsider.username, role="owner")
    assert not Membership.objects.filter(user=outsider, organization=organization).exists()
    assert Invitation.objects.get().user == outsider


def test_the_invite_form_offers_the_least_power_by_default_and_roles_are_translated(
    owner, organization
):
    client = login(owner)
    page = client.get(reverse("accounts:members")).content.decode()
    invite_role = re.search(r'<select name="role"[^>]*id="id_role".*?</select>', page, re.S)
    assert invite_role, "the invite form's role select"
    assert '<option value="viewer" selected>' in invite_role.group(0)
    assert '<option value="owner" selected>' not in invite_role.group(0)
    InvitationFactory(organization=organization, invited_by=owner, role="owner")
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("accounts:members"), headers={"accept-language": "zh-hans"})
    assert "所有者" in page.content.decode()
