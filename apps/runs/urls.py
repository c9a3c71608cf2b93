from django.urls import path

from apps.runs import plan_views, share_views

app_name = "runs"

urlpatterns = [
    path("runs/<int:run_id>/", plan_views.plan_run_detail, name="plan_run_detail"),
    path("runs/<int:run_id>/status/", plan_views.plan_run_status, name="plan_run_status"),
    path("runs/<int:run_id>/share/", share_views.run_share, name="run_share"),
    path(
        "runs/<int:run_id>/share/<int:link_id>/revoke/",
        share_views.run_share_revoke,
        name="run_share_revoke",
    ),
    # A read-only link for someone without an account (``apps.runs.sharing``).
    path("shared/<str:token>/", share_views.shared_run, name="shared_run"),
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
