"""Hostile values posted to the calibration switch: the answer is always the page again (a
redirect), never a 5xx; the fit is never touched, and without a completed run nothing is
switched on or stored."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from apps.tracking.models import OrganizationCalibration
from tests.security.test_hostile_common import HOSTILE, hostile_text, post_form
from tests.tracking.factories import OrganizationCalibrationFactory

pytestmark = pytest.mark.django_db


def rows() -> list[dict]:
    return list(OrganizationCalibration.objects.order_by("pk").values())


@HOSTILE
@given(enabled=st.lists(hostile_text, max_size=3), fitted=st.booleans())
def test_hostile_switches_change_the_switch_alone_or_nothing(
    owner_client, organization, enabled, fitted
):
    with transaction.atomic():  # each example leaves nothing behind
        if fitted:
            OrganizationCalibrationFactory(organization=organization)
        before = rows()
        url = reverse("calibration:calibration_use", args=[organization.pk])
        response = post_form(owner_client, url, {"enabled": enabled})
        assert response.status_code == 302, response.status_code
        after = rows()
        if not fitted:
            assert after == before == []
        else:
            [old], [new] = before, after
            assert isinstance(new["enabled"], bool)
            assert {
                k: v for k, v in new.items() if k not in ("enabled", "changed_by_id", "updated_at")
            } == {
                k: v for k, v in old.items() if k not in ("enabled", "changed_by_id", "updated_at")
            }
        transaction.set_rollback(True)
