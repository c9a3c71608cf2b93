"""The Django admin of tracking's computed rows — forecasts, alerts, organizations' calibrations:
a superuser lists and reads them, and can neither add, change nor delete one."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.html import escape

from apps.tracking.forecasting import forecast_current
from apps.tracking.models import Alert, Forecast, OrganizationCalibration
from tests.accounts.factories import OrganizationFactory
from tests.tracking.factories import OrganizationCalibrationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(baseline, organization) -> dict[type, object]:
    """One of each: the baseline's first forecast (queued, as the approval left it), an alert of
    it and the organization's calibration."""
    forecast = forecast_current(scenario=baseline.scenario)
    assert forecast is not None
    alert = Alert.objects.create(
        organization=organization,
        scenario=baseline.scenario,
        forecast=forecast,
        kind=Alert.Kind.MISS_DEADLINE,
        value=0.4,
        previous=0.1,
        threshold=0.2,
    )
    calibration = OrganizationCalibrationFactory(organization=organization)
    return {Forecast: forecast, Alert: alert, OrganizationCalibration: calibration}


# What each list must show of its row, besides the link to it: a column of list_display.
SHOWN = {
    Forecast: lambda row: escape(row.scenario.name),
    Alert: lambda row: escape(row.scenario.name),
    OrganizationCalibration: lambda row: escape(row.organization.name),
}
# A change the admin must refuse, as a form would post it.
CHANGE = {
    Forecast: {"status": "failed", "error": "edited by hand", "attempts": "9"},
    Alert: {"kind": "p_over_budget", "value": "0.9", "threshold": "0.5"},
    OrganizationCalibration: {"enabled": "on"},
}


def admin_url(model: type, view: str, *args: object) -> str:
    return reverse(f"admin:tracking_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", [Forecast, Alert, OrganizationCalibration])
def test_a_superuser_lists_and_reads_the_computed_rows(admin_client, rows, model):
    row = rows[model]
    response = admin_client.get(admin_url(model, "changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count == model.objects.count() == 1
    page = response.content.decode()
    assert admin_url(model, "change", row.pk) in page and SHOWN[model](row) in page
    assert not response.context["has_add_permission"]
    assert admin_url(model, "add") not in page

    detail = admin_client.get(admin_url(model, "change", row.pk))
    assert detail.status_code == 200
    assert not detail.context["has_change_permission"]
    assert not detail.context["has_delete_permission"]
    assert 'name="_save"' not in detail.content.decode()


@pytest.mark.parametrize("model", [Forecast, Alert, OrganizationCalibration])
def test_the_admin_refuses_to_add_change_or_delete_them(admin_client, rows, model):
    row = rows[model]
    before = model.objects.values().get(pk=row.pk)
    assert admin_client.post(admin_url(model, "change", row.pk), CHANGE[model]).status_code == 403
    assert admin_client.post(admin_url(model, "delete", row.pk), {"post": "yes"}).status_code == 403
    assert admin_client.get(admin_url(model, "add")).status_code == 403
    assert model.objects.values().get(pk=row.pk) == before
    assert model.objects.count() == 1
    # Nor in bulk: the list offers no "delete selected" action.
    response = admin_client.get(admin_url(model, "changelist"))
    assert "delete_selected" not in response.content.decode()


def test_the_forecast_and_alert_lists_filter_by_organization_and_status(admin_client, rows):
    organization = rows[Forecast].organization
    other = {"organization__id__exact": OrganizationFactory().pk}  # one without forecasts
    forecasts = admin_url(Forecast, "changelist")
    assert admin_client.get(forecasts, {"status__exact": "queued"}).context["cl"].result_count == 1
    assert admin_client.get(forecasts, {"status__exact": "failed"}).context["cl"].result_count == 0
    # The sidebar offers both filters, the organization by its name.
    page = admin_client.get(forecasts).content.decode()
    assert (
        f"?organization__id__exact={organization.pk}" in page and escape(organization.name) in page
    )
    assert "?status__exact=queued" in page
    mine = {"organization__id__exact": organization.pk}
    assert admin_client.get(forecasts, mine).context["cl"].result_count == 1
    assert admin_client.get(forecasts, other).context["cl"].result_count == 0
    alerts = admin_url(Alert, "changelist")
    page = admin_client.get(alerts).content.decode()
    assert f"?organization__id__exact={organization.pk}" in page and "?kind__exact=" in page
    assert admin_client.get(alerts, mine).context["cl"].result_count == 1
    assert admin_client.get(alerts, other).context["cl"].result_count == 0
    assert (
        admin_client.get(alerts, {"kind__exact": "p_over_budget"}).context["cl"].result_count == 0
    )
