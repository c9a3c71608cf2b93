from django.urls import path

from apps.reports import views

app_name = "reports"

urlpatterns = [
    path("runs/<int:run_id>/export/", views.export_start, name="export_start"),
    path("exports/<int:export_id>/", views.export_detail, name="export_detail"),
    path("exports/<int:export_id>/status/", views.export_status, name="export_status"),
    path("exports/<int:export_id>/download/", views.export_download, name="export_download"),
]
