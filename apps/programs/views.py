"""Pages of the planning workspace. Thin: parse a form, call one service or selector, render.

Every object comes through a selector scoped to the user (another organization's → 404); a
viewer who posts gets 403. Line edits are htmx fragments (``programs/_lines.html#…``) with a
full-page fallback; each fragment response also carries the scenario's new version
out-of-band (``#scenario-version``), which every htmx form on the page includes.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts.selectors import organization_list_editable
from apps.common.errors import ApplicationError
from apps.programs import selectors, services
from apps.programs.blueprints import blueprint_list
from apps.programs.documents import DocumentError, document_dump, scenario_document
from apps.programs.forms import (
    LINE_FORMS,
    TAB_FORMS,
    BlueprintForm,
    ImportForm,
    ProgramCreateForm,
    ProgramForm,
    RenameForm,
    ScenarioCreateForm,
)
from apps.programs.models import Program, Scenario
from apps.programs.plan_adapter import chinchilla_tokens, model_params

TABS = ("overview", "strategy", "model", "gpus", "team", "data", "history")
LINE_KINDS = tuple(LINE_FORMS)


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _user(request: HttpRequest) -> Any:
    return request.user


def _require_edit(request: HttpRequest, program: Program) -> None:
    """403 for a viewer before any form is read (outsiders never get this far: 404)."""
    if not selectors.can_edit(user=_user(request), organization=program.organization):
        raise PermissionDenied


class _Denied:
    """Turns a viewer's attempt to write into a 403 (the page never offered it)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
        if isinstance(exc, services.EditDenied):
            raise PermissionDenied(exc.message) from exc
        return False


denied_is_403 = _Denied


# --- programs ------------------------------------------------------------------------------


@require_GET
def program_list(request: HttpRequest) -> HttpResponse:
    archived = request.GET.get("archived") == "1"
    return render(
        request,
        "programs/program_list.html",
        {
            "programs": selectors.program_list(user=_user(request), archived=archived),
            "archived": archived,
            "can_create": organization_list_editable(user=_user(request)).exists(),
            "blueprints": blueprint_list(),
        },
    )


@require_http_methods(["GET", "POST"])
def program_create(request: HttpRequest) -> HttpResponse:
    organizations = organization_list_editable(user=_user(request))
    if not organizations.exists():
        raise PermissionDenied
    form = ProgramCreateForm(request.POST or None, organizations=organizations)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("loaded_at", None)
        try:
            with denied_is_403():
                program = services.program_create(user=_user(request), **data)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Program created with a first scenario."))
            return redirect("programs:program_detail", program.pk)
    return render(request, "programs/program_form.html", {"form": form, "program": None})


@require_http_methods(["GET", "POST"])
def program_from_template(request: HttpRequest) -> HttpResponse:
    organizations = organization_list_editable(user=_user(request))
    if not organizations.exists():
        raise PermissionDenied
    form = BlueprintForm(
        request.POST or None,
        organizations=organizations,
        initial={"blueprint": request.GET.get("template")},
    )
    if request.method == "POST" and form.is_valid():
        try:
            with denied_is_403():
                program = services.program_create_from_blueprint(
                    user=_user(request),
                    organization=form.cleaned_data["organization"],
                    key=form.cleaned_data["blueprint"],
                    name=form.cleaned_data["name"] or None,
                )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Program created from the template."))
            return redirect("programs:program_detail", program.pk)
    return render(
        request,
        "programs/program_from_template.html",
        {"form": form, "blueprints": blueprint_list()},
    )


@require_GET
def program_detail(request: HttpRequest, program_id: int) -> HttpResponse:
    program = selectors.program_get(user=_user(request), program_id=program_id)
    return render(
        request,
        "programs/program_detail.html",
        {
            "program": program,
            "scenarios": selectors.scenario_list(program=program),
            "archived_scenarios": selectors.scenario_list(program=program, archived=True),
            "can_edit": selectors.can_edit(user=_user(request), organization=program.organization),
            "create_form": ScenarioCreateForm(
                initial={"name": _("B: another plan"), "strategy": "cpt"}
            ),
        },
    )


@require_http_methods(["GET", "POST"])
def program_edit(request: HttpRequest, program_id: int) -> HttpResponse:
    program = selectors.program_get(user=_user(request), program_id=program_id)
    _require_edit(request, program)
    form = ProgramForm(request.POST or None, instance=Program.objects.get(pk=program.pk))
    if request.method == "POST" and form.is_valid():
        try:
            with denied_is_403():
                data = dict(form.cleaned_data)
                services.program_update(
                    user=_user(request),
                    program=program,
                    expected_updated_at=data.pop("loaded_at"),
                    **data,
                )
        except ApplicationError as exc:
            # Next to the field when the service names one of the form's (the budget cap).
            errors = exc.extra.get("errors")
            named = list(errors) if isinstance(errors, dict) else []
            field = named[0] if len(named) == 1 and named[0] in form.fields else None
            form.add_error(field, exc.message)
        else:
            messages.success(request, _("Program saved."))
            return redirect("programs:program_detail", program.pk)
    return render(request, "programs/program_form.html", {"form": form, "program": program})


@require_POST
def program_archive(request: HttpRequest, program_id: int) -> HttpResponse:
    program = selectors.program_get(user=_user(request), program_id=program_id)
    archive = request.POST.get("archive") != "0"
    with denied_is_403():
        services.program_archive(user=_user(request), program=program, archive=archive)
    messages.success(request, _("Program archived.") if archive else _("Program restored."))
    return redirect("programs:program_detail", program.pk)


# --- scenarios -----------------------------------------------------------------------------


@require_POST
def scenario_create(request: HttpRequest, program_id: int) -> HttpResponse:
    program = selectors.program_get(user=_user(request), program_id=program_id)
    _require_edit(request, program)
    form = ScenarioCreateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("A scenario needs a name and a strategy."))
        return redirect("programs:program_detail", program.pk)
    try:
        with denied_is_403():
            scenario = services.scenario_create(
                user=_user(request), program=program, **form.cleaned_data
            )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("programs:program_detail", program.pk)
    return redirect("programs:scenario_tab", scenario.pk, "strategy")


@require_http_methods(["GET", "POST"])
def scenario_import(request: HttpRequest, program_id: int) -> HttpResponse:
    program = selectors.program_get(user=_user(request), program_id=program_id)
    _require_edit(request, program)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            with denied_is_403():
                scenario = services.scenario_import(
                    user=_user(request), program=program, text=form.cleaned_data["text"]
                )
        except DocumentError as exc:
            form.add_error(None, _("Nothing was imported: %(errors)s") % {"errors": exc.message})
        except ApplicationError as exc:
            form.add_error(None, _("Nothing was imported: %(errors)s") % {"errors": exc.message})
        else:
            messages.success(request, _("Scenario imported."))
            return redirect("programs:scenario_tab", scenario.pk, "overview")
    return render(request, "programs/scenario_import.html", {"form": form, "program": program})


def _scenario_context(request: HttpRequest, scenario: Scenario, tab: str) -> dict[str, Any]:
    context: dict[str, Any] = {
        "scenario": scenario,
        "program": scenario.program,
        "tab": tab,
        "tabs": TABS,
        "can_edit": selectors.can_edit(
            user=_user(request), organization=scenario.program.organization
        ),
        "findings": selectors.scenario_findings(scenario=scenario),
        "rename_form": RenameForm(initial={"name": scenario.name, "version": scenario.version}),
    }
    if tab == "overview":
        context["summary"] = selectors.scenario_summary(scenario=scenario)
        context["params"] = model_params(scenario)
    elif tab == "model":
        context["chinchilla"] = chinchilla_tokens(scenario)
        context["params"] = model_params(scenario)
    elif tab in LINE_KINDS:
        context["lines"] = selectors.line_list(scenario=scenario, kind=tab)
        context["kind"] = tab
        context["totals"] = selectors.line_totals(scenario=scenario, kind=tab)
    elif tab == "history":
        context["activities"] = selectors.activity_list(scenario=scenario)[:200]
    return context


@require_GET
def scenario_detail(request: HttpRequest, scenario_id: int) -> HttpResponse:
    scenario = selectors.scenario_get(user=_user(request), scenario_id=scenario_id)
    return redirect("programs:scenario_tab", scenario.pk, "overview")


@require_http_methods(["GET", "POST"])
def scenario_tab(request: HttpRequest, scenario_id: int, tab: str) -> HttpResponse:
    """One tab of a scenario; the strategy and model tabs are forms."""
    scenario = selectors.scenario_get(user=_user(request), scenario_id=scenario_id)
    if tab not in TABS:
        raise Http404
    form = None
    if request.method == "POST":
        _require_edit(request, scenario.program)
    if tab in TAB_FORMS:
        form = TAB_FORMS[tab](request.POST or None, instance=Scenario.objects.get(pk=scenario.pk))
        if request.method == "POST" and form.is_valid():
            data = dict(form.cleaned_data)
            version = data.pop("version")
            try:
                with denied_is_403():
                    services.scenario_update(
                        user=_user(request),
                        scenario=scenario,
                        expected_version=version,
                        values=data,
                    )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Saved."))
                return redirect("programs:scenario_tab", scenario.pk, tab)
    elif request.method == "POST":
        raise Http404
    context = _scenario_context(request, scenario, tab)
    context["form"] = form
    template = "programs/scenario.html"
    if _is_htmx(request) and request.method == "GET":
        template += "#tab-content"
    return render(request, template, context)


@require_POST
def scenario_rename(request: HttpRequest, scenario_id: int) -> HttpResponse:
    scenario = selectors.scenario_get(user=_user(request), scenario_id=scenario_id)
    _require_edit(request, scenario.program)
    form = RenameForm(request.POST)
    error = None
    if form.is_valid():
        try:
            with denied_is_403():
                services.scenario_rename(
                    user=_user(request),
                    scenario=scenario,
                    name=form.cleaned_data["name"],
                    expected_version=form.cleaned_data["version"],
                )
        except ApplicationError as exc:
            error = exc.message
    else:
        error = _("A scenario needs a name.")
    if _is_htmx(request):
        context = _scenario_context(request, scenario, "overview")
        context["rename_error"] = error
        return render(request, "programs/scenario.html#title", context)
    if error:
        messages.error(request, error)
    return redirect("programs:scenario_tab", scenario.pk, "overview")


@require_POST
def scenario_clone(request: HttpRequest, scenario_id: int) -> HttpResponse:
    scenario = selectors.scenario_get(user=_user(request), scenario_id=scenario_id)
    with denied_is_403():
        copy = services.scenario_clone(user=_user(request), scenario=scenario)
    messages.success(request, _("Scenario cloned: you are editing the copy."))
    return redirect("programs:scenario_tab", copy.pk, "overview")


@require_POST
def scenario_archive(request: HttpRequest, scenario_id: int) -> HttpResponse:
    scenario = selectors.scenario_get(user=_user(request), scenario_id=scenario_id)
    archive = request.POST.get("archive") != "0"
    with denied_is_403():
        services.scenario_archive(user=_user(request), scenario=scenario, archive=archive)
    messages.success(request, _("Scenario archived.") if archive else _("Scenario restored."))
    return redirect("programs:program_detail", scenario.program_id)


@require_POST
def scenario_baseline(request: HttpRequest, scenario_id: int) -> HttpResponse:
    scenario = selectors.scenario_get(user=_user(request), scenario_id=scenario_id)
    try:
        with denied_is_403():
            services.scenario_set_baseline(user=_user(request), scenario=scenario)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Baseline set."))
    return redirect("programs:program_detail", scenario.program_id)


@require_GET
def scenario_export(request: HttpRequest, scenario_id: int, fmt: str) -> HttpResponse:
    scenario = selectors.scenario_get(user=_user(request), scenario_id=scenario_id)
    text = document_dump(scenario_document(scenario), fmt)
    content_type = "application/json" if fmt == "json" else "application/yaml"
    response = HttpResponse(text, content_type=f"{content_type}; charset=utf-8")
    name = slugify(f"{scenario.program.name}-{scenario.name}") or f"scenario-{scenario.pk}"
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


# --- lines ---------------------------------------------------------------------------------


def _line_response(
    request: HttpRequest,
    scenario: Scenario,
    kind: str,
    partial: str,
    **context: Any,
) -> HttpResponse:
    context.update(
        {
            "scenario": scenario,
            "program": scenario.program,
            "kind": kind,
            "can_edit": True,
            "findings": selectors.scenario_findings(scenario=scenario),
            "oob_version": True,
            "totals": selectors.line_totals(scenario=scenario, kind=kind),
        }
    )
    return render(request, f"programs/_lines.html#{partial}", context)


@require_http_methods(["GET", "POST"])
def line_add(request: HttpRequest, scenario_id: int, kind: str) -> HttpResponse:
    scenario = selectors.scenario_get(user=_user(request), scenario_id=scenario_id)
    if kind not in LINE_KINDS:
        raise Http404
    _require_edit(request, scenario.program)
    form = LINE_FORMS[kind](request.POST or None, scenario=scenario)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        version = data.pop("version")
        try:
            with denied_is_403():
                line = services.line_create(
                    user=_user(request),
                    scenario=scenario,
                    kind=kind,
                    expected_version=version,
                    values=data,
                )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            if _is_htmx(request):
                scenario.refresh_from_db()
                return _line_response(
                    request,
                    scenario,
                    kind,
                    "added",
                    line=selectors.line_get(scenario=scenario, kind=kind, line_id=line.pk),
                )
            messages.success(request, _("Line added."))
            return redirect("programs:scenario_tab", scenario.pk, kind)
    if _is_htmx(request):
        return _line_response(request, scenario, kind, "form-row", form=form, line=None)
    return render(
        request,
        "programs/line_form.html",
        {"scenario": scenario, "program": scenario.program, "kind": kind, "form": form},
    )


@require_GET
def line_row(request: HttpRequest, scenario_id: int, kind: str, line_id: int) -> HttpResponse:
    """One line as a table row (htmx: what "Cancel" swaps back in)."""
    scenario = selectors.scenario_get(user=_user(request), scenario_id=scenario_id)
    line = selectors.line_get(scenario=scenario, kind=kind, line_id=line_id)
    return _line_response(request, scenario, kind, "row", line=line)


@require_http_methods(["GET", "POST"])
def line_edit(request: HttpRequest, scenario_id: int, kind: str, line_id: int) -> HttpResponse:
    scenario = selectors.scenario_get(user=_user(request), scenario_id=scenario_id)
    line = selectors.line_get(scenario=scenario, kind=kind, line_id=line_id)
    _require_edit(request, scenario.program)
    form = LINE_FORMS[kind](
        request.POST or None,
        instance=type(line).objects.get(pk=line.pk),
        scenario=scenario,
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        version = data.pop("version")
        try:
            with denied_is_403():
                services.line_update(
                    user=_user(request), line=line, expected_version=version, values=data
                )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            if _is_htmx(request):
                scenario.refresh_from_db()
                line = selectors.line_get(scenario=scenario, kind=kind, line_id=line_id)
                return _line_response(request, scenario, kind, "row", line=line)
            messages.success(request, _("Line saved."))
            return redirect("programs:scenario_tab", scenario.pk, kind)
    if _is_htmx(request):
        return _line_response(request, scenario, kind, "form-row", form=form, line=line)
    return render(
        request,
        "programs/line_form.html",
        {
            "scenario": scenario,
            "program": scenario.program,
            "kind": kind,
            "form": form,
            "line": line,
        },
    )


@require_POST
def line_delete(request: HttpRequest, scenario_id: int, kind: str, line_id: int) -> HttpResponse:
    scenario = selectors.scenario_get(user=_user(request), scenario_id=scenario_id)
    line = selectors.line_get(scenario=scenario, kind=kind, line_id=line_id)
    raw = request.POST.get("version", "").strip()
    try:
        # No version (a form without it) deletes from the current one; a version that is not a
        # plain number is refused rather than read as the current one, which would bypass the
        # lock. ASCII digits only: int() also reads "٣" and "３" as 3.
        if raw and not (raw.isascii() and raw.isdigit() and len(raw) <= 10):
            raise ApplicationError(_("The form's scenario version is not a number; reload."))
        version = int(raw) if raw else scenario.version
        with denied_is_403():
            services.line_delete(user=_user(request), line=line, expected_version=version)
    except ApplicationError as exc:
        if _is_htmx(request):
            return _line_response(request, scenario, kind, "row", line=line, error=exc.message)
        messages.error(request, exc.message)
        return redirect("programs:scenario_tab", scenario.pk, kind)
    if _is_htmx(request):
        scenario.refresh_from_db()
        return _line_response(request, scenario, kind, "removed")
    messages.success(request, _("Line removed."))
    return redirect(reverse("programs:scenario_tab", args=[scenario.pk, kind]))
