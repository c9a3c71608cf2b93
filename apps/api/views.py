"""The finance API v1: thin views over the same services and selectors the pages use."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import SAFE_METHODS
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.selectors import membership_get
from apps.api.access import api_access
from apps.api.budget import MONTH, BudgetQuery, budget_table
from apps.api.exceptions import NoApprovedBaseline, PreconditionFailed, PreconditionRequired
from apps.api.filters import (
    ActivityFilter,
    BudgetLineFilter,
    DatasetFilter,
    ProgramFilter,
    ScenarioFilter,
    TeamLineFilter,
)
from apps.api.idempotency import idempotency_key, run_create_once
from apps.api.renderers import BudgetCSVRenderer, BudgetXLSXRenderer
from apps.api.serializers import (
    ActivitySerializer,
    BudgetLineSerializer,
    BudgetLineWriteSerializer,
    BudgetSerializer,
    DatasetSerializer,
    ErrorSerializer,
    ProgramSerializer,
    RunCreateSerializer,
    RunSerializer,
    ScenarioSerializer,
    TeamLineSerializer,
    parse_if_match,
    scenario_etag,
)
from apps.programs.models import (
    Dataset,
    GPUBudgetLine,
    GPUType,
    Program,
    Scenario,
    ScenarioActivity,
    TeamLine,
)
from apps.programs.services import line_create, line_delete, line_update
from apps.runs.models import PlanRun
from apps.runs.selectors import plan_run_latest
from apps.runs.services import plan_run_create
from apps.tracking.selectors import baseline_current
from llmplanner.simulation.program import CATEGORIES

ERRORS = {
    400: OpenApiResponse(
        ErrorSerializer, description="Bad input: `fields` names each offending field."
    ),
    401: OpenApiResponse(
        ErrorSerializer,
        description="No API token, an unknown or revoked one, or one whose creator lost the "
        "access it acts with (deactivated, no longer a member, or no longer an editor for a "
        "read-write token): such a token is revoked, and the message says why.",
    ),
    403: OpenApiResponse(
        ErrorSerializer, description="A read-only token, or a role that may not write."
    ),
    404: OpenApiResponse(ErrorSerializer, description="Not found, or another organization's."),
}
ERROR_EXAMPLE = OpenApiExample(
    "Bad input",
    value={
        "error": {
            "code": "invalid",
            "message": "gpu_count: Ensure this value is greater than or equal to 1.",
            "fields": {"gpu_count": ["Ensure this value is greater than or equal to 1."]},
        }
    },
    response_only=True,
    status_codes=["400"],
)
MONEY = {"amount": "12500000.00", "currency": "CNY"}
CATEGORY_LIST = r"^(" + "|".join(CATEGORIES) + r")(,(" + "|".join(CATEGORIES) + r"))*$"
# The filters and spreadsheet answers every budget table shares (scenario and portfolio).
BUDGET_FILTERS = [
    OpenApiParameter(
        "month_from", str, description="YYYY-MM", pattern=MONTH.pattern, allow_blank=False
    ),
    OpenApiParameter(
        "month_to", str, description="YYYY-MM", pattern=MONTH.pattern, allow_blank=False
    ),
    OpenApiParameter(
        "category",
        str,
        description="e.g. gpu_compute,people",
        pattern=CATEGORY_LIST,
        allow_blank=False,
    ),
    OpenApiParameter("format", str, enum=["json", "csv", "xlsx"]),
]
SPREADSHEET_RESPONSES = {
    (200, "text/csv"): OpenApiTypes.STR,
    (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiTypes.BINARY,
}


def _orgs(request: Request) -> Any:
    return api_access(request).organizations()


@extend_schema_view(
    list=extend_schema(
        summary="List programs",
        description="Programs of the token's organization (a browser session: of all the "
        "user's organizations).",
        examples=[
            OpenApiExample(
                "A program",
                response_only=True,
                value={
                    "id": 1,
                    "organization": "demo-lab",
                    "name": "GPT-3-class 175B from scratch",
                    "goal": "",
                    "deadline": "2027-12-31",
                    "budget_cap": MONEY,
                    "currency": "CNY",
                    "usd_to_cny": "7.2000",
                    "archived": False,
                    "created_at": "2026-11-24T05:00:00Z",
                    "updated_at": "2026-11-24T05:00:00Z",
                },
            )
        ],
        responses={200: ProgramSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(
        summary="A program",
        description="One program.",
        responses={200: ProgramSerializer, **ERRORS},
    ),
)
class ProgramViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    queryset = Program.objects.none()  # for the schema: ids are integers
    lookup_value_regex = r"\d+"
    serializer_class = ProgramSerializer
    filterset_class = ProgramFilter

    def get_queryset(self) -> QuerySet[Program]:
        return (
            Program.objects.filter(organization__in=_orgs(self.request))
            .select_related("organization")
            .order_by("id")
        )


class BudgetQuerySerializer(serializers.Serializer):  # type: ignore[type-arg]
    currency = serializers.ChoiceField(choices=["CNY", "USD"], required=False)
    month_from = serializers.RegexField(MONTH, required=False)
    month_to = serializers.RegexField(MONTH, required=False)
    category = serializers.CharField(required=False)

    def validate_category(self, value: str) -> tuple[str, ...]:
        names = tuple(part.strip() for part in value.split(",") if part.strip())
        unknown = [n for n in names if n not in CATEGORIES]
        if unknown or not names:
            raise serializers.ValidationError(
                f"unknown category {', '.join(unknown) or '(none)'}; use {', '.join(CATEGORIES)}"
            )
        return names


class ScenarioBudgetQuerySerializer(BudgetQuerySerializer):
    # latest: the scenario's latest successful run; approved: its current approved baseline.
    baseline = serializers.ChoiceField(choices=["latest", "approved"], required=False)


@extend_schema_view(
    list=extend_schema(
        summary="List scenarios",
        description="Scenarios, filterable by program, strategy, baseline.",
        responses={200: ScenarioSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(
        summary="A scenario",
        description="One scenario; its `ETag` header is the version to send "
        "as `If-Match` when changing its budget lines.",
        responses={200: ScenarioSerializer, **ERRORS},
    ),
)
class ScenarioViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    queryset = Scenario.objects.none()  # for the schema: ids are integers
    lookup_value_regex = r"\d+"
    serializer_class = ScenarioSerializer
    filterset_class = ScenarioFilter

    def get_queryset(self) -> QuerySet[Scenario]:
        return Scenario.objects.filter(program__organization__in=_orgs(self.request)).order_by("id")

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        scenario = self.get_object()
        return Response(
            self.get_serializer(scenario).data, headers={"ETag": scenario_etag(scenario.version)}
        )

    @extend_schema(
        summary="Budget by month and category",
        description=(
            "The scenario's latest successful run: cost per month × category (gpu_compute, "
            "storage, people, data, inference, contingency) at P50 and P90, in the plan's "
            "currency or converted (`currency`). A row's `p50`/`p90` are per-month "
            "percentiles — that month's spend on that category on its own — and do not add "
            "up. `cumulative_p50`/`cumulative_p90` are percentiles of the spend from the start "
            "to the month's end over all categories; the last month's equal the total cost "
            "P50/P90 (`totals.program_p50/p90`). `months` gives each month's total once: "
            "per month (`month_p50/p90`) and cumulative. The months are the run's own (YYYY-MM "
            "with a start date, M1… without). Filter by `month_from`/`month_to` and "
            "`category` (comma-separated; the cumulative columns stay the whole program's). "
            "Rows are ordered by month, then category. `?format=csv` or `?format=xlsx` (or "
            "the Accept header) gives the rows for a spreadsheet: month, category, p50, p90, "
            "currency, then cumulative_p50, cumulative_p90 (repeated on each category row of a "
            "month: do not sum them). `?baseline=approved` reads the scenario's current "
            "approved baseline (`POST /scenarios/{id}/approve/`) instead of its latest run: "
            "the budget finance signed off, whatever was simulated since (`baseline` gives its "
            "id; 409 `no_approved_baseline` when nothing is approved)."
        ),
        parameters=[
            OpenApiParameter("currency", str, enum=["CNY", "USD"]),
            OpenApiParameter(
                "baseline",
                str,
                enum=["latest", "approved"],
                description="latest (default): the latest successful run; approved: the "
                "current approved baseline.",
            ),
            *BUDGET_FILTERS,
        ],
        responses={
            200: BudgetSerializer,
            **SPREADSHEET_RESPONSES,
            **ERRORS,
            409: OpenApiResponse(
                ErrorSerializer,
                description="`no_approved_baseline`: `baseline=approved`, nothing approved.",
            ),
        },
        examples=[
            OpenApiExample(
                "Budget",
                response_only=True,
                value={
                    "scenario": 1,
                    "run": 7,
                    "run_finished_at": "2026-11-24T05:10:00Z",
                    "core_version": "0.1.0",
                    "currency": "CNY",
                    "plan_currency": "CNY",
                    "usd_to_cny": "7.2",
                    "rows": [
                        {
                            "month": "2027-01",
                            "category": "gpu_compute",
                            "p50": MONEY,
                            "p90": MONEY,
                            "cumulative_p50": MONEY,
                            "cumulative_p90": MONEY,
                        }
                    ],
                    "months": [
                        {
                            "month": "2027-01",
                            "month_p50": MONEY,
                            "month_p90": MONEY,
                            "cumulative_p50": MONEY,
                            "cumulative_p90": MONEY,
                        }
                    ],
                    "totals": {
                        "rows_p50_sum": MONEY,
                        "rows_p90_sum": MONEY,
                        "program_p50": MONEY,
                        "program_p90": MONEY,
                        "by_category": {"gpu_compute": {"p50": MONEY, "p90": MONEY}},
                    },
                },
            ),
            ERROR_EXAMPLE,
        ],
    )
    @action(
        detail=True,
        methods=["get"],
        renderer_classes=[
            JSONRenderer,
            BrowsableAPIRenderer,
            BudgetCSVRenderer,
            BudgetXLSXRenderer,
        ],
    )
    def budget(self, request: Request, pk: str | None = None) -> Response:
        scenario = self.get_object()
        params = {k: v for k, v in request.query_params.items() if k != "format"}
        query = ScenarioBudgetQuerySerializer(data=params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        approved = None
        if data.get("baseline") == "approved":
            approved = baseline_current(scenario=scenario)
            if approved is None:
                raise NoApprovedBaseline(
                    f"Scenario {scenario.pk} has no approved baseline: POST "
                    f"/api/v1/scenarios/{scenario.pk}/approve/ with a succeeded run, or leave "
                    f"out baseline=approved for the latest run."
                )
        run = approved.run if approved is not None else plan_run_latest(scenario=scenario)
        if run is None:
            raise NotFound(
                f"Scenario {scenario.pk} has no successful run yet: POST "
                f"/api/v1/scenarios/{scenario.pk}/runs/."
            )
        try:
            table = budget_table(
                run,
                BudgetQuery(
                    currency=data.get("currency"),
                    month_from=data.get("month_from"),
                    month_to=data.get("month_to"),
                    categories=data.get("category") or CATEGORIES,
                ),
                # The approved copy of the report: what was signed off is what is read.
                report=approved.report if approved is not None else None,
            )
        except ValueError as exc:
            raise ValidationError({f"month_{exc.args[0]}": ["not a month of this plan"]}) from exc
        filename = f"budget-scenario-{scenario.pk}-run-{run.pk}"
        if approved is not None:
            table["baseline"] = approved.pk
            filename = f"budget-scenario-{scenario.pk}-baseline-{approved.pk}"
        headers = {}
        if request.accepted_renderer.format in ("csv", "xlsx"):
            headers["Content-Disposition"] = (
                f'attachment; filename="{filename}.{request.accepted_renderer.format}"'
            )
        return Response(table, headers=headers)

    @extend_schema(
        summary="Audit log",
        description="Who changed what in the scenario (budget lines, team, data, inputs) and "
        "when: each entry lists the fields with their old and new values. Newest "
        "first; `since` filters by time.",
        responses={200: ActivitySerializer(many=True), **ERRORS},
        parameters=[OpenApiParameter("since", OpenApiTypes.DATETIME)],
        examples=[
            OpenApiExample(
                "A change",
                response_only=True,
                value=[
                    {
                        "id": 12,
                        "scenario": 1,
                        "actor": "alice",
                        "action": "line_changed",
                        "summary": "1024 × A800 (training)",
                        "changes": [{"field": "price_per_gpu_hour", "old": "5.71", "new": "5.20"}],
                        "version": 4,
                        "created_at": "2026-11-24T05:20:00Z",
                    }
                ],
            )
        ],
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def activity(self, request: Request, pk: str | None = None) -> Response:
        scenario = self.get_object()
        qs = ActivityFilter(
            request.query_params,
            ScenarioActivity.objects.filter(scenario=scenario)
            .select_related("actor")
            .order_by("-created_at", "-id"),
        ).qs
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(ActivitySerializer(page, many=True).data)

    @extend_schema(
        summary="Start a run",
        description="Snapshot the scenario and simulate it on a worker. Poll `GET "
        "/api/v1/runs/{id}/` until `status` is succeeded or failed. Send an "
        "`Idempotency-Key` header: the same request with the same key returns the same "
        "run, never a second one; the key with another body or scenario is a 422. Keys are "
        "per token. Unchanged inputs reuse a stored result (`reused_from`).",
        request=RunCreateSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", str, OpenApiParameter.HEADER, description="≤ 100 characters"
            )
        ],
        responses={
            202: RunSerializer,
            **ERRORS,
            409: OpenApiResponse(
                ErrorSerializer,
                description="`idempotency_key_in_flight`: a request with this key did not "
                "finish; send it again.",
            ),
            422: OpenApiResponse(
                ErrorSerializer,
                description="`idempotency_key_reused`: the key was used for another request.",
            ),
        },
        examples=[
            OpenApiExample(
                "Run queued",
                response_only=True,
                status_codes=["202"],
                value={
                    "id": 7,
                    "scenario": 1,
                    "scenario_version": 3,
                    "status": "queued",
                    "progress": 0,
                    "phase": "",
                    "trials": 2000,
                    "seed": 0,
                    "core_version": "0.1.0",
                    "error": "",
                    "reused_from": None,
                    "created_at": "2026-11-24T05:00:00Z",
                    "started_at": None,
                    "finished_at": None,
                },
            ),
            ERROR_EXAMPLE,
        ],
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="runs",
        serializer_class=RunCreateSerializer,
        filter_backends=[],
    )
    def start_run(self, request: Request, pk: str | None = None) -> Response:
        scenario = self.get_object()
        user = api_access(request).user
        organization = scenario.program.organization
        # The role first: a viewer is refused (403) whatever the body says.
        membership = membership_get(user=user, organization=organization)
        if membership is None or not membership.can_edit:
            raise PermissionDenied("You need the owner or editor role to run plans here.")
        key = idempotency_key(request)
        body = RunCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)

        def create() -> PlanRun:
            return plan_run_create(user=user, scenario=scenario, **body.validated_data)

        if key is None:
            run = create()
        else:
            run = run_create_once(
                request=request, organization=organization, key=key, create=create
            )
        location = reverse("api:run-detail", args=[run.pk])
        return Response(
            RunSerializer(run).data, status=status.HTTP_202_ACCEPTED, headers={"Location": location}
        )


def _expected_version(request: Request, scenario: Scenario) -> int:
    header = request.headers.get("If-Match")
    if header is not None and header.strip() == "*":  # RFC 9110: any current representation
        return scenario.version
    expected = parse_if_match(header)
    if expected is None:
        raise PreconditionRequired()
    if expected < 0:
        raise ValidationError({"If-Match": ['an ETag like "v3", as sent by GET /scenarios/{id}/']})
    if header is not None and header.strip().startswith("W/"):
        # RFC 9110 §13.1.1: If-Match compares strongly, so a weak tag never matches.
        raise PreconditionFailed(
            f"A weak ETag never matches If-Match; send the strong one, as GET "
            f"/scenarios/{{id}}/ gives it ({scenario_etag(scenario.version)})."
        )
    if expected != scenario.version:
        raise PreconditionFailed(
            f"The scenario is at version {scenario.version} (ETag "
            f"{scenario_etag(scenario.version)}), not the one you read; read it again before "
            f"changing it."
        )
    return expected


def _line_values(data: dict[str, Any]) -> dict[str, Any]:
    values = {k: v for k, v in data.items() if k != "scenario"}
    if "gpu_type" in values:
        gpu = GPUType.objects.filter(key=values["gpu_type"], is_active=True).first()
        if gpu is None:
            raise ValidationError({"gpu_type": [f"unknown GPU type {values['gpu_type']!r}"]})
        values["gpu_type"] = gpu
    return values


IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=True,
    pattern=r'^(\*|(W/)?"v[0-9]+")$',
    description='The scenario\'s ETag, e.g. "v3" (or * to overwrite whatever is there). A weak '
    'one (W/"v3") never matches: If-Match compares strongly (RFC 9110), so it is a 412.',
)
WRITE_DESCRIPTION = (
    "Needs a read-write token and `If-Match` with the scenario's ETag (from GET "
    "/scenarios/{id}/ or a budget line); a stale one is refused with 412 and nothing changes. "
    "The change is checked by the same rules as in the browser and recorded in the audit log."
)


@extend_schema_view(
    list=extend_schema(
        summary="List GPU budget lines",
        description="Budget lines; filter by scenario, purpose, mode.",
        responses={200: BudgetLineSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(
        summary="A GPU budget line",
        description="One line; `ETag` is its scenario's version.",
        responses={200: BudgetLineSerializer, **ERRORS},
    ),
    create=extend_schema(
        summary="Add a GPU budget line",
        description=WRITE_DESCRIPTION,
        request=BudgetLineWriteSerializer,
        parameters=[IF_MATCH],
        responses={201: BudgetLineSerializer, 412: ErrorSerializer, 428: ErrorSerializer, **ERRORS},
        examples=[
            OpenApiExample(
                "New line",
                request_only=True,
                value={
                    "scenario": 1,
                    "purpose": "training",
                    "gpu_type": "h800-80gb",
                    "gpu_count": 512,
                    "mode": "rent",
                    "price_per_gpu_hour": "14.00",
                    "months": "3.0",
                },
            ),
            ERROR_EXAMPLE,
        ],
    ),
    partial_update=extend_schema(
        summary="Change a GPU budget line (e.g. its price)",
        description=WRITE_DESCRIPTION,
        request=BudgetLineWriteSerializer,
        parameters=[IF_MATCH],
        responses={200: BudgetLineSerializer, 412: ErrorSerializer, 428: ErrorSerializer, **ERRORS},
        examples=[
            OpenApiExample("New price", request_only=True, value={"price_per_gpu_hour": "5.20"}),
            ERROR_EXAMPLE,
        ],
    ),
    destroy=extend_schema(
        summary="Remove a GPU budget line",
        description=WRITE_DESCRIPTION,
        parameters=[IF_MATCH],
        responses={204: None, 412: ErrorSerializer, 428: ErrorSerializer, **ERRORS},
    ),
)
class BudgetLineViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    queryset = GPUBudgetLine.objects.none()  # for the schema: ids are integers
    lookup_value_regex = r"\d+"
    filterset_class = BudgetLineFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[GPUBudgetLine]:
        return (
            GPUBudgetLine.objects.filter(scenario__program__organization__in=_orgs(self.request))
            .select_related("gpu_type", "scenario__program")
            .order_by("id")
        )

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:  # type: ignore[type-arg]
        return (
            BudgetLineWriteSerializer
            if self.action in ("create", "partial_update")
            else BudgetLineSerializer
        )

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        line = self.get_object()
        return Response(
            BudgetLineSerializer(line).data, headers={"ETag": scenario_etag(line.scenario.version)}
        )

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # A write without If-Match is 428 before any id is looked up, so the answer does not
        # depend on whether the scenario or line exists. (An unrouted method stays a 405.)
        method = request.method.lower()
        routed = method in self.http_method_names and hasattr(self, method)
        writes = routed and request.method not in SAFE_METHODS
        if writes and request.headers.get("If-Match") is None:
            raise PreconditionRequired()

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = BudgetLineWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        if "scenario" not in data:
            raise ValidationError({"scenario": ["is required"]})
        for name in ("gpu_type", "gpu_count"):
            if name not in data:
                raise ValidationError({name: ["is required"]})
        scenario = get_object_or_404(
            Scenario.objects.filter(program__organization__in=_orgs(request)), pk=data["scenario"]
        )
        expected = _expected_version(request, scenario)
        line = line_create(
            user=api_access(request).user,
            scenario=scenario,
            kind="gpus",
            expected_version=expected,
            values=_line_values(data),
        )
        line = self.get_queryset().get(pk=line.pk)
        return Response(
            BudgetLineSerializer(line).data,
            status=status.HTTP_201_CREATED,
            headers={"ETag": scenario_etag(line.scenario.version)},
        )

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        line = self.get_object()
        body = BudgetLineWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        if "scenario" in body.validated_data:
            raise ValidationError({"scenario": ["a line cannot move to another scenario"]})
        expected = _expected_version(request, line.scenario)
        line_update(
            user=api_access(request).user,
            line=line,
            expected_version=expected,
            values=_line_values(dict(body.validated_data)),
        )
        line = self.get_queryset().get(pk=line.pk)
        return Response(
            BudgetLineSerializer(line).data, headers={"ETag": scenario_etag(line.scenario.version)}
        )

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.partial_update(request, *args, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        line = self.get_object()
        expected = _expected_version(request, line.scenario)
        line_delete(user=api_access(request).user, line=line, expected_version=expected)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        summary="List team lines",
        description="Team lines (role, headcount, monthly cost); filter by scenario.",
        responses={200: TeamLineSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(
        summary="A team line",
        description="One team line.",
        responses={200: TeamLineSerializer, **ERRORS},
    ),
)
class TeamLineViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    queryset = TeamLine.objects.none()  # for the schema: ids are integers
    lookup_value_regex = r"\d+"
    serializer_class = TeamLineSerializer
    filterset_class = TeamLineFilter

    def get_queryset(self) -> QuerySet[TeamLine]:
        return (
            TeamLine.objects.filter(scenario__program__organization__in=_orgs(self.request))
            .select_related("role", "scenario__program")
            .order_by("id")
        )


@extend_schema_view(
    list=extend_schema(
        summary="List datasets",
        description="The data inventory; filter by scenario, stage, kind, licence.",
        responses={200: DatasetSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(
        summary="A dataset",
        description="One dataset.",
        responses={200: DatasetSerializer, **ERRORS},
    ),
)
class DatasetViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    queryset = Dataset.objects.none()  # for the schema: ids are integers
    lookup_value_regex = r"\d+"
    serializer_class = DatasetSerializer
    filterset_class = DatasetFilter

    def get_queryset(self) -> QuerySet[Dataset]:
        return (
            Dataset.objects.filter(scenario__program__organization__in=_orgs(self.request))
            .select_related("scenario__program")
            .order_by("id")
        )
