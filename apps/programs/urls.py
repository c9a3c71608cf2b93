from django.urls import path, register_converter

from apps.programs import views


class _Choice:
    """A path segment from a fixed set (anything else is a 404 before the view runs)."""

    choices: tuple[str, ...] = ()

    @property
    def regex(self) -> str:
        return "|".join(self.choices)

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class TabConverter(_Choice):
    choices = views.TABS


class KindConverter(_Choice):
    choices = views.LINE_KINDS


class FormatConverter(_Choice):
    choices = ("json", "yaml")


register_converter(TabConverter, "tab")
register_converter(KindConverter, "kind")
register_converter(FormatConverter, "fmt")

app_name = "programs"

urlpatterns = [
    path("", views.program_list, name="program_list"),
    path("new/", views.program_create, name="program_create"),
    path("from-template/", views.program_from_template, name="program_from_template"),
    path("<int:program_id>/", views.program_detail, name="program_detail"),
    path("<int:program_id>/edit/", views.program_edit, name="program_edit"),
    path("<int:program_id>/archive/", views.program_archive, name="program_archive"),
    path("<int:program_id>/scenarios/new/", views.scenario_create, name="scenario_create"),
    path("<int:program_id>/import/", views.scenario_import, name="scenario_import"),
    path("scenarios/<int:scenario_id>/", views.scenario_detail, name="scenario_detail"),
    path("scenarios/<int:scenario_id>/<tab:tab>/", views.scenario_tab, name="scenario_tab"),
    path("scenarios/<int:scenario_id>/rename/", views.scenario_rename, name="scenario_rename"),
    path("scenarios/<int:scenario_id>/clone/", views.scenario_clone, name="scenario_clone"),
    path("scenarios/<int:scenario_id>/archive/", views.scenario_archive, name="scenario_archive"),
    path(
        "scenarios/<int:scenario_id>/baseline/", views.scenario_baseline, name="scenario_baseline"
    ),
    path(
        "scenarios/<int:scenario_id>/export.<fmt:fmt>",
        views.scenario_export,
        name="scenario_export",
    ),
    path("scenarios/<int:scenario_id>/<kind:kind>/add/", views.line_add, name="line_add"),
    path("scenarios/<int:scenario_id>/<kind:kind>/<int:line_id>/", views.line_row, name="line_row"),
    path(
        "scenarios/<int:scenario_id>/<kind:kind>/<int:line_id>/edit/",
        views.line_edit,
        name="line_edit",
    ),
    path(
        "scenarios/<int:scenario_id>/<kind:kind>/<int:line_id>/delete/",
        views.line_delete,
        name="line_delete",
    ),
]
