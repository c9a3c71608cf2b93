"""Runs and their PDF exports over the API: read runs, ask for a run's PDF, watch it, download it.

An export is rendered by a worker (``apps.reports``), as from the dashboard's button: ``POST
/runs/{id}/exports/`` answers 202 with the export (201 when the same document is already there
and is reused), ``GET /exports/{id}/`` shows its status, ``GET /exports/{id}/download/`` the PDF
(409 until it is ready). Exporting changes no plan, so read-only tokens may do it.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.access import api_access
from apps.api.exceptions import NotReady
from apps.api.filters import ExportFilter, RunFilter
from apps.api.renderers import PDFRenderer
from apps.api.serializers import (
    ErrorSerializer,
    ExportCreateSerializer,
    ExportSerializer,
    RunDetailSerializer,
    RunSerializer,
)
from apps.api.views import ERRORS
from apps.common.errors import ApplicationError
from apps.reports.models import Export
from apps.reports.selectors import export_file_get
from apps.reports.services import export_create
from apps.runs.models import PlanRun, RunStatus

NOT_READY_EXAMPLE = OpenApiExample(
    "Not ready",
    value={
        "error": {
            "code": "not_ready",
            "message": "The export is rendering, not ready.",
            "fields": {},
        }
    },
    response_only=True,
    status_codes=["409"],
)


def _orgs(request: Request) -> Any:
    return api_access(request).organizations()


@extend_schema_view(
    list=extend_schema(
        summary="List runs",
        description="Simulation runs, newest first; filter by scenario, status.",
        responses={200: RunSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(
        summary="A run",
        description="Status, progress and — once succeeded — the core's full report in `result`.",
        responses={200: RunDetailSerializer, **ERRORS},
    ),
)
class RunViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    queryset = PlanRun.objects.none()  # for the schema: ids are integers
    lookup_value_regex = r"\d+"
    filterset_class = RunFilter
    read_actions = ("export",)  # a PDF changes no plan: read-only tokens may ask for one

    def get_queryset(self) -> QuerySet[PlanRun]:
        qs = PlanRun.objects.filter(organization__in=_orgs(self.request)).order_by(
            "-created_at", "-id"
        )
        return qs if self.action in ("retrieve", "export") else qs.defer("result", "inputs")

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:  # type: ignore[type-arg]
        return RunDetailSerializer if self.action == "retrieve" else RunSerializer

    @extend_schema(
        summary="Export the run as a PDF plan",
        description="Asks a worker to render the run's plan document (cover, executive summary, "
        "compute, budget, milestones, risks, assumptions, inputs) on `paper` (a4, letter) in "
        "`language` (en, zh-hans). Answers 202 with the export to poll at `Location`; 201 "
        "when the same document (unchanged run, paper and language) is already rendered and is "
        "reused. Only a succeeded run can be exported (409 otherwise). Read-only tokens may "
        "export.",
        request=ExportCreateSerializer,
        responses={
            201: ExportSerializer,
            202: ExportSerializer,
            409: OpenApiResponse(ErrorSerializer, description="The run has not succeeded."),
            **ERRORS,
        },
        examples=[
            OpenApiExample(
                "Chinese, on Letter",
                request_only=True,
                value={"paper": "letter", "language": "zh-hans"},
            ),
        ],
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="exports",
        serializer_class=ExportCreateSerializer,
        filter_backends=[],
    )
    def export(self, request: Request, pk: str | None = None) -> Response:
        run = self.get_object()
        body = ExportCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if run.status != RunStatus.SUCCEEDED:
            raise NotReady(f"Run {run.pk} is {run.status}; only a succeeded run can be exported.")
        try:
            export = export_create(user=api_access(request).user, run=run, **body.validated_data)
        except ApplicationError as exc:  # e.g. the token's creator left the organization
            raise NotReady(exc.message) from exc
        ready = export.status == Export.Status.READY
        return Response(
            ExportSerializer(export).data,
            status=status.HTTP_201_CREATED if ready else status.HTTP_202_ACCEPTED,
            headers={"Location": reverse("api:export-detail", args=[export.pk])},
        )


@extend_schema_view(
    list=extend_schema(
        summary="List PDF exports",
        description="PDF exports of runs, newest first; filter by run, status.",
        responses={200: ExportSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(
        summary="A PDF export",
        description="Its status (queued → rendering → ready or failed, with `error`); once "
        "ready, `download` is where to GET the PDF.",
        responses={200: ExportSerializer, **ERRORS},
    ),
)
class ExportViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    queryset = Export.objects.none()  # for the schema: ids are integers
    serializer_class = ExportSerializer
    lookup_value_regex = r"\d+"
    filterset_class = ExportFilter

    def get_queryset(self) -> QuerySet[Export]:
        return Export.objects.filter(organization__in=_orgs(self.request)).order_by(
            "-created_at", "-id"
        )

    @extend_schema(
        summary="Download a PDF export",
        description="The PDF itself (`Content-Disposition: attachment` with a file name of "
        "program, scenario, run, language and paper). 409 while it is queued or rendering, "
        "when it failed, or when its file is gone (export again).",
        responses={
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="The PDF.",
                examples=[OpenApiExample("A PDF", value="%PDF-1.7 …", response_only=True)],
            ),
            409: OpenApiResponse(ErrorSerializer, description="Not ready.", examples=[]),
            **ERRORS,
        },
        examples=[NOT_READY_EXAMPLE],
    )
    @action(
        detail=True,
        methods=["get"],
        renderer_classes=[JSONRenderer, PDFRenderer],  # errors are JSON
        filter_backends=[],
    )
    def download(self, request: Request, pk: str | None = None) -> FileResponse:
        export = self.get_object()  # 404 for another organization's
        try:
            pdf = export_file_get(user=api_access(request).user, export_id=export.pk)
        except ApplicationError as exc:
            raise NotReady(exc.message) from exc
        return FileResponse(
            pdf.open(), as_attachment=True, filename=pdf.filename, content_type=pdf.content_type
        )
