from django.urls import path

from apps.runs import views

app_name = "runs"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("demo-jobs/<int:job_id>/", views.demo_job_detail, name="demo_job_detail"),
]
