"""Hostile values typed into the accounts forms: sign-in (the site's and the admin's), the
invitation form, password change and reset. Each answer is a redirect after a legitimate action
or the form again with a 4xx naming the field (429 when throttled), never a 5xx, and a refused
post changes no user, membership or invitation."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from apps.accounts.models import Invitation, Membership, User
from tests.security.test_hostile_common import HOSTILE, hostile_text, post_form

pytestmark = pytest.mark.django_db


def accounts_snapshot() -> dict[str, list[dict[str, Any]]]:
    return {
        model.__name__: list(model.objects.order_by("pk").values())
        for model in (User, Membership, Invitation)
    }


@HOSTILE
@given(username=hostile_text, password=hostile_text, admin=st.booleans())
def test_hostile_sign_ins_are_refused_without_a_5xx(client, owner, username, password, admin):
    cache.clear()
    before = accounts_snapshot()
    url = "/admin/login/" if admin else reverse("accounts:login")
    response = post_form(client, url, {"username": username, "password": password})
    assert response.status_code in (200, 429), response.status_code
    assert "_auth_user_id" not in client.session
    assert accounts_snapshot() == before


@HOSTILE
@given(
    invitee=hostile_text,
    role=st.one_of(hostile_text, st.sampled_from(["owner", "editor", "viewer"])),
    which=st.one_of(hostile_text, st.just("mine")),
)
def test_hostile_invitations_send_one_invitation_or_nothing(
    owner_client, organization, invitee, role, which
):
    with transaction.atomic():  # each example leaves nothing behind
        before = accounts_snapshot()
        response = post_form(
            owner_client,
            reverse("accounts:members"),
            {
                "organization": str(organization.pk) if which == "mine" else which,
                "invitee": invitee,
                "role": role,
            },
        )
        if response.status_code == 302:
            after = accounts_snapshot()
            assert len(after["Invitation"]) == len(before["Invitation"]) + 1
            assert after["User"] == before["User"]
            assert after["Membership"] == before["Membership"]
        else:
            assert response.status_code == 400, response.status_code
            errors = response.context["form"].errors
            assert errors and set(errors) <= {"invitee", "role", "organization"}
            assert accounts_snapshot() == before
        transaction.set_rollback(True)


@HOSTILE
@given(email=hostile_text)
def test_hostile_reset_requests_are_refused_or_answered_alike(client, owner, email):
    cache.clear()
    before = accounts_snapshot()
    response = post_form(client, reverse("accounts:password_reset"), {"email": email})
    if response.status_code == 302:
        assert response["Location"] == reverse("accounts:password_reset_done")
    else:
        assert response.status_code == 400, response.status_code
        assert "email" in response.context["form"].errors
    assert accounts_snapshot() == before


@HOSTILE
@given(old=hostile_text, new1=hostile_text, new2=hostile_text)
def test_hostile_password_changes_are_refused_naming_the_field(
    owner_client, owner, old, new1, new2
):
    cache.clear()  # each example starts with no failed sign-ins (the throttle counts them)
    before = accounts_snapshot()
    response = post_form(
        owner_client,
        reverse("accounts:password_change"),
        {"old_password": old, "new_password1": new1, "new_password2": new2},
    )
    assert response.status_code == 400, response.status_code  # the old password is never right
    assert set(response.context["form"].errors) & {"old_password", "new_password1", "new_password2"}
    assert accounts_snapshot() == before
