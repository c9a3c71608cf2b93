"""The Calibration page, in the account area beside Members, API tokens and Webhooks."""

from django.urls import path

from apps.tracking import calibration_views as views

app_name = "calibration"

urlpatterns = [
    path("", views.calibration, name="calibration"),
    path("<int:organization_id>/use/", views.calibration_use, name="calibration_use"),
    path("<int:organization_id>/refit/", views.calibration_refit_view, name="calibration_refit"),
]
