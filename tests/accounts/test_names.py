"""User names are one account per normal form (NFKC + case folding): a look-alike of an existing
name is refused at sign-up — the admin's user creation, ``create_user`` and ``createsuperuser`` —
naming the field, and nothing is saved."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.accounts.models import User, username_key
from tests.accounts.factories import UserFactory
from tests.conftest import login

pytestmark = pytest.mark.django_db
PASSWORD = "a long and unusual passphrase 81"


def test_the_key_folds_width_and_case():
    assert username_key("ｖｉｃｔｉｍ") == username_key(" VICTIM ") == "victim"
    assert username_key("Straße") == username_key("STRASSE") == "strasse"
    assert username_key("vіctim") != "victim"  # a Cyrillic і is another name, not a spelling


@pytest.mark.parametrize(
    ("existing", "newcomer"),
    [("victim", "ｖｉｃｔｉｍ"), ("victim", "Victim"), ("strasse", "Straße"), ("Ärger", "äRGER")],
)
def test_the_admin_refuses_a_look_alike_of_an_existing_name(existing, newcomer):
    UserFactory(username=existing)
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    before = User.objects.count()
    response = login(admin).post(
        "/admin/accounts/user/add/",
        {
            "username": newcomer,
            "password1": PASSWORD,
            "password2": PASSWORD,
            "usable_password": "true",
        },
    )
    assert response.status_code == 200
    assert "username" in response.context["adminform"].form.errors
    assert User.objects.count() == before


def test_the_admin_still_creates_a_new_name():
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    login(admin).post(
        "/admin/accounts/user/add/",
        {
            "username": "carol",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "usable_password": "true",
        },
    )
    assert User.objects.filter(username="carol").exists()


def test_renaming_a_user_to_a_look_alike_is_refused_but_saving_it_unchanged_is_not():
    UserFactory(username="strasse")
    other = UserFactory(username="carol")
    other.username = "STRAßE"
    with pytest.raises(ValidationError) as refused:
        other.full_clean()
    assert "username" in refused.value.message_dict
    other.refresh_from_db()
    other.full_clean()  # its own name is no look-alike of itself


def test_create_user_and_createsuperuser_refuse_a_look_alike():
    UserFactory(username="victim")
    with pytest.raises(ValueError, match="already exists"):
        User.objects.create_user("ＶＩＣＴＩＭ", password=PASSWORD)
    with pytest.raises(CommandError, match="already taken"):
        call_command("createsuperuser", username="Victim", email="v@example.com", interactive=False)
    assert User.objects.count() == 1


def test_an_old_look_alike_pair_can_still_be_edited():
    UserFactory(username="twin")
    upper = UserFactory(username="Twin")  # from before names were normalised
    upper.is_active = False
    upper.full_clean()
    upper.save()
    assert not User.objects.get(pk=upper.pk).is_active
