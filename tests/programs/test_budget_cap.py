"""A budget cap is below 10^13: on SQLite a 16-digit cap made its program unreadable (found by
the backup's fuzzing); the largest allowed cap is stored and read back exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.programs.forms import ProgramForm
from apps.programs.models import Program
from apps.programs.models.scenarios import BUDGET_CAP_MAX

pytestmark = pytest.mark.django_db


def _form(cap: str) -> ProgramForm:
    return ProgramForm(
        data={"name": "Cap", "budget_cap": cap, "currency": "CNY", "usd_to_cny": "7.2"}
    )


def test_a_cap_of_16_digits_is_refused_naming_the_field():
    form = _form("99999999999999.99")
    assert not form.is_valid() and "budget_cap" in form.errors


def test_the_largest_cap_is_stored_and_read_back_exactly(organization):
    form = _form(str(BUDGET_CAP_MAX))
    assert form.is_valid(), form.errors
    program = form.save(commit=False)
    program.organization = organization
    program.save()
    assert Program.objects.get(pk=program.pk).budget_cap == Decimal("9999999999999.99")


def test_why_the_limit_sqlite_cannot_read_back_a_16_digit_cap(organization, settings):
    from django.db import connection

    program = Program.objects.create(organization=organization, name="Too big")
    Program.objects.filter(pk=program.pk).update(budget_cap=Decimal("99999999999999.99"))
    if connection.vendor != "sqlite":
        assert Program.objects.get(pk=program.pk).budget_cap == Decimal("99999999999999.99")
        return
    with pytest.raises(Exception):  # noqa: B017 — decimal.InvalidOperation inside the converter
        Program.objects.get(pk=program.pk)
