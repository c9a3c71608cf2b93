from django.contrib import admin
from django.urls import include, path

from apps.common.views import healthz

urlpatterns = [
    path("", include("apps.runs.urls")),
    path("accounts/", include("apps.accounts.urls")),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
