"""Validators of the planning models' fields (referenced by the migrations: keep the names)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError

from apps.programs import rules
from apps.programs.findings import message


def validate_plan_date(value: object) -> None:
    """A plan's date lies in the core's window (``rules.check_date_window``): every model date
    field carries this, so forms, the API's services and the import all refuse it by name."""
    if isinstance(value, dt.date):
        finding = rules.check_date_window(value)
        if finding is not None:
            raise ValidationError(message(finding), code="date_window")
