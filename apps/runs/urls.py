from django.urls import path

from apps.runs import plan_views, views

app_name = "runs"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("demo-jobs/<int:job_id>/", views.demo_job_detail, name="demo_job_detail"),
    path("runs/<int:run_id>/", plan_views.plan_run_detail, name="plan_run_detail"),
    path("runs/<int:run_id>/status/", plan_views.plan_run_status, name="plan_run_status"),
    path("scenarios/<int:scenario_id>/run/", plan_views.plan_run_start, name="plan_run_start"),
    path(
        "scenarios/<int:scenario_id>/dashboard/",
        plan_views.scenario_dashboard,
        name="scenario_dashboard",
    ),
    path("scenarios/<int:scenario_id>/sweep/", plan_views.sweep_start, name="sweep_start"),
    path("sweeps/<int:sweep_id>/", plan_views.sweep_detail, name="sweep_detail"),
    path(
        "sweeps/<int:sweep_id>/variants/<int:index>/save/",
        plan_views.sweep_save_variant,
        name="sweep_variant_save",
    ),
    path("programs/<int:program_id>/compare/", plan_views.compare, name="compare"),
]
