from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import RedirectView
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularSwaggerSplitView,
)
from rest_framework.routers import DefaultRouter

from apps.api import portfolio_views, run_views, tracking_views, views

app_name = "api"

router = DefaultRouter()
router.register("programs", views.ProgramViewSet, basename="program")
router.register("scenarios", views.ScenarioViewSet, basename="scenario")
router.register("runs", run_views.RunViewSet, basename="run")
router.register("exports", run_views.ExportViewSet, basename="export")
router.register("budget-lines", views.BudgetLineViewSet, basename="budget-line")
router.register("team-lines", views.TeamLineViewSet, basename="team-line")
router.register("datasets", views.DatasetViewSet, basename="dataset")

TRACKING = tracking_views.ScenarioTrackingViewSet

# The API authenticates by itself (token or session); the site-wide login page must not get in
# the way of a finance tool, nor of the schema and its documentation pages.
for pattern in router.urls:
    pattern.callback.login_required = False  # type: ignore[union-attr]


@csrf_exempt  # it never acts, so a POST to a wrong address gets the same JSON 404
@login_not_required
def not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Any other /api/ address: a JSON 404 in the error envelope, not the site's HTML page."""
    message = "No such API address; see /api/docs/."
    return JsonResponse(
        {"error": {"code": "not_found", "message": message, "fields": {}}}, status=404
    )


urlpatterns = [
    # The organization's whole portfolio: no object behind it, so plain views beside the router.
    path(
        "v1/portfolio/",
        login_not_required(portfolio_views.PortfolioView.as_view()),
        name="portfolio",
    ),
    path(
        "v1/portfolio/budget/",
        login_not_required(portfolio_views.PortfolioBudgetView.as_view()),
        name="portfolio-budget",
    ),
    # A scenario's approved baselines and actuals (``tracking_views``): extra routes of
    # /scenarios/{id}/, beside the router's (a second viewset there would replace its root entry).
    re_path(
        r"^v1/scenarios/(?P<pk>\d+)/approve/$",
        login_not_required(TRACKING.as_view({"post": "approve"})),
        name="scenario-approve",
    ),
    re_path(
        r"^v1/scenarios/(?P<pk>\d+)/baselines/$",
        login_not_required(TRACKING.as_view({"get": "baselines"})),
        name="scenario-baselines",
    ),
    re_path(
        r"^v1/scenarios/(?P<pk>\d+)/forecast/$",
        login_not_required(TRACKING.as_view({"get": "forecast"})),
        name="scenario-forecast",
    ),
    re_path(
        r"^v1/scenarios/(?P<pk>\d+)/actuals/$",
        login_not_required(TRACKING.as_view({"get": "actuals", "post": "actuals_create"})),
        name="scenario-actuals",
    ),
    re_path(
        r"^v1/scenarios/(?P<pk>\d+)/actuals/withdraw/$",
        login_not_required(TRACKING.as_view({"post": "actual_withdraw"})),
        name="scenario-actual-withdraw",
    ),
    path("v1/", include(router.urls)),
    path("schema/", login_not_required(SpectacularAPIView.as_view()), name="schema"),
    # Swagger UI's start-up script is served as a file of its own (the "split" view), so the
    # site's Content-Security-Policy holds. ReDoc is not served: its bundle fetches a logo and
    # fonts from CDNs, which the policy (and a machine without internet) refuses.
    path(
        "docs/",
        login_not_required(SpectacularSwaggerSplitView.as_view(url_name="api:schema")),
        name="docs",
    ),
    path(
        "redoc/",
        login_not_required(RedirectView.as_view(pattern_name="api:docs", permanent=True)),
        name="redoc",
    ),
    re_path(r"^(?P<rest>[\s\S]*)\Z", not_found),  # [\s\S]: an id with a newline too
]
