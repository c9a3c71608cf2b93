from django.urls import path

from apps.tracking import views

app_name = "tracking"

urlpatterns = [
    path("runs/<int:run_id>/approve/", views.run_approve, name="run_approve"),
    path(
        "scenarios/<int:scenario_id>/tracking/",
        views.scenario_tracking,
        name="scenario_tracking",
    ),
    path(
        "scenarios/<int:scenario_id>/tracking/forecast/",
        views.forecast_status,
        name="forecast_status",
    ),
    path(
        "scenarios/<int:scenario_id>/tracking/status-report/",
        views.status_export,
        name="status_export",
    ),
    path(
        "scenarios/<int:scenario_id>/tracking/actuals/",
        views.actual_add,
        name="actual_add",
    ),
    path(
        "scenarios/<int:scenario_id>/tracking/actuals/import/",
        views.actuals_import,
        name="actuals_import",
    ),
    path(
        "scenarios/<int:scenario_id>/tracking/actuals/<int:report_id>/withdraw/",
        views.actual_withdraw,
        name="actual_withdraw",
    ),
    path("tracking/actuals-template.csv", views.actuals_template, name="actuals_template"),
]
