from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from apps.accounts import views as accounts_views
from apps.common.views import healthz

urlpatterns = [
    path("", include("apps.portfolio.urls")),
    path("", include("apps.runs.urls")),
    path("", include("apps.tracking.urls")),
    path("programs/", include("apps.programs.urls")),
    path("reports/", include("apps.reports.urls")),
    path("api/", include("apps.api.urls")),
    path("accounts/webhooks/", include("apps.webhooks.urls")),
    path("accounts/calibration/", include("apps.tracking.calibration_urls")),
    path("accounts/", include("apps.accounts.urls")),
    # The language switch in the header; also on the login page, hence no login needed.
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("healthz", healthz, name="healthz"),
    # The admin's sign-in, throttled like the site's (answers 429 while a name is locked).
    path("admin/login/", accounts_views.admin_login),
    path("admin/", admin.site.urls),
]
