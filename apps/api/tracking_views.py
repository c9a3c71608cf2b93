"""Tracking over the API: approve a run as the scenario's baseline, list the baselines, report
and list actuals (``apps.tracking`` holds the rules; the Tracking page uses the same services).

Routes (``apps/api/urls.py``): ``POST /scenarios/{id}/approve/``, ``GET
/scenarios/{id}/baselines/``, ``GET``/``POST /scenarios/{id}/actuals/``. Another organization's
scenario is a 404; a viewer or a read-only token may read but not write (403, before the body is
read). ``Idempotency-Key`` on a report makes a training job's retries safe: the same key and body
store one report.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.access import api_access
from apps.api.exceptions import (
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    NoApprovedBaseline,
)
from apps.api.idempotency import idempotency_key, idempotency_scope, request_fingerprint
from apps.api.serializers import ErrorSerializer
from apps.api.tracking_serializers import (
    ActualReportRequestSerializer,
    ActualReportSerializer,
    ApproveRequestSerializer,
    BaselineSerializer,
    ForecastPendingSerializer,
    ForecastSerializer,
    WithdrawRequestSerializer,
)
from apps.api.views import ERROR_EXAMPLE, ERRORS, MONEY
from apps.programs.models import Scenario
from apps.programs.selectors import can_edit
from apps.runs.models import RunStatus
from apps.tracking import services
from apps.tracking.forecasting import alerts_active, forecast_current
from apps.tracking.models import ActualReport
from apps.tracking.selectors import actual_report_list, baseline_list, run_for_approval


class ForecastFailed(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The forecast could not be computed."
    default_code = "forecast_failed"


class ApprovalConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Another approval of this scenario was saved at the same moment."
    default_code = "conflict"


NO_BASELINE = OpenApiResponse(
    ErrorSerializer,
    description="`no_approved_baseline`: nothing has been approved for this scenario yet.",
)
BASELINE_EXAMPLE = {
    "id": 4,
    "scenario": 1,
    "run": 7,
    "current": True,
    "approved_by": "alice",
    "approved_at": "2027-01-02T09:30:00Z",
    "note": "Approved by the steering committee; budget P90.",
    "core_version": "0.4.0",
    "pdf_sha256": "9f2c…",
    "hash_of": "pdf",
    "supersedes": 2,
    "superseded_by": None,
    "superseded_at": None,
    "currency": "CNY",
    "cost_p50": MONEY,
    "cost_p90": MONEY,
    "finish_date_p50": "2027-05-20",
    "finish_date_p90": "2027-06-18",
}
REPORT_BODY = {
    "date": "2027-02-08",
    "tokens_trained": 45_000_000_000,
    "elapsed_days": 14,
    "gpu_hours": 86016,
    "interruptions": 3,
    "loss_spikes": 1,
    "observed_mfu": 0.43,
    "spend": {"gpu_compute": "2400000.00", "people": "820000.00"},
    "note": "week 2",
}
REPORT_EXAMPLE = {
    "id": 12,
    "scenario": 1,
    "baseline": 4,
    **{k: v for k, v in REPORT_BODY.items() if k != "spend"},
    "stage": "main",
    "spend": {
        "gpu_compute": {"amount": "2400000.00", "currency": "CNY"},
        "people": {"amount": "820000.00", "currency": "CNY"},
    },
    "as_sent": None,
    "source": "api",
    "created_by": "alice",
    "created_at": "2027-02-08T18:00:00Z",
}


def _require_editor(request: Request, scenario: Scenario) -> None:
    """The role first: a viewer is refused (403) whatever the body says."""
    user = api_access(request).user
    if not can_edit(user=user, organization=scenario.program.organization):
        raise PermissionDenied("You need the owner or editor role to change plans here.")


class ScenarioTrackingViewSet(viewsets.GenericViewSet):  # type: ignore[type-arg]
    queryset = Scenario.objects.none()  # for the schema: ids are integers
    lookup_value_regex = r"\d+"
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Scenario]:
        return Scenario.objects.filter(
            program__organization__in=api_access(self.request).organizations()
        ).select_related("program__organization")

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:  # type: ignore[type-arg]
        return {
            "approve": ApproveRequestSerializer,
            "baselines": BaselineSerializer,
            "actuals_create": ActualReportRequestSerializer,
        }.get(self.action or "", ActualReportSerializer)

    @extend_schema(
        summary="Approve a run as the baseline",
        description="Freezes a succeeded run of this scenario as its approved baseline: a copy "
        "of the run's inputs and report, the approver, the time, the note and the SHA-256 of "
        "the approved document (the run's latest ready PDF export, else the report's canonical "
        "JSON: `hash_of`). A baseline never changes; a new approval supersedes the current one, "
        "which stays in the history (`GET /scenarios/{id}/baselines/`). Owners and editors "
        "(a read-write token); a run of another scenario, one that has not succeeded or the "
        "current baseline's own run is a 400 naming `run`.",
        request=ApproveRequestSerializer,
        responses={
            201: BaselineSerializer,
            **ERRORS,
            409: OpenApiResponse(
                ErrorSerializer,
                description="`conflict`: another approval of the scenario won a race.",
            ),
        },
        examples=[
            OpenApiExample(
                "Approve run 7",
                request_only=True,
                value={"run": 7, "note": "Approved by the steering committee; budget P90."},
            ),
            OpenApiExample(
                "Approved", response_only=True, status_codes=["201"], value=BASELINE_EXAMPLE
            ),
            ERROR_EXAMPLE,
        ],
    )
    def approve(self, request: Request, pk: str | None = None) -> Response:
        scenario = self.get_object()
        _require_editor(request, scenario)
        body = ApproveRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            baseline = services.baseline_approve(
                user=api_access(request).user,
                scenario=scenario,
                run=run_for_approval(scenario=scenario, run_id=body.validated_data["run"]),
                note=body.validated_data.get("note", ""),
            )
        except services.ApprovalConflict as exc:
            raise ApprovalConflict(exc.message) from exc
        return Response(BaselineSerializer(baseline).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Approved baselines",
        description="Every baseline approved for the scenario, newest first; `current` marks "
        "the one in force (the others were superseded: `superseded_by`, `superseded_at`). "
        "`GET /scenarios/{id}/budget/?baseline=approved` gives the current one's budget.",
        responses={200: BaselineSerializer(many=True), **ERRORS},
        examples=[
            OpenApiExample("A baseline", response_only=True, value=[BASELINE_EXAMPLE]),
        ],
    )
    def baselines(self, request: Request, pk: str | None = None) -> Response:
        scenario = self.get_object()
        page = self.paginate_queryset(baseline_list(scenario=scenario))
        return self.get_paginated_response(BaselineSerializer(page, many=True).data)

    @extend_schema(
        summary="Actuals",
        description="The reports of actuals of the scenario, by date (then in the order they "
        "were posted). Figures are cumulative from the start of the report's `stage`; `spend` "
        "is the program's to date, in its currency when the report was posted. A withdrawn "
        "report is listed with `withdrawn_at` and read by nothing else.",
        responses={200: ActualReportSerializer(many=True), **ERRORS},
        examples=[OpenApiExample("A report", response_only=True, value=[REPORT_EXAMPLE])],
    )
    def actuals(self, request: Request, pk: str | None = None) -> Response:
        scenario = self.get_object()
        page = self.paginate_queryset(actual_report_list(scenario=scenario))
        return self.get_paginated_response(ActualReportSerializer(page, many=True).data)

    @extend_schema(
        summary="Report actuals",
        description="One dated report of a stage against the current approved baseline. The "
        "main run (`stage` `main`, the default): tokens trained, days since it started, "
        "GPU-hours, interruptions and loss spikes (all cumulative), optionally the observed "
        "MFU. Another stage of the plan (`data`, `sft`, `eval`, …): the days since it started "
        "and its `progress` (share done, 0–1). Any report may carry the money spent to date by "
        "category. Refused field by field, nothing saved: a date before the approved plan's "
        "start (or the approval day) or in the future, a cumulative figure below an earlier "
        "report's of the stage (or above a later one's), an unknown category or stage, an "
        "amount that is not a decimal string ≥ 0, amounts in the other currency without "
        "`usd_to_cny`. Owners and editors (a read-write token). Send an "
        "`Idempotency-Key` header from a training job: the same key and body answer 200 with "
        "the report already stored (one report, however many retries); the key with another "
        "body is a 422.",
        request=ActualReportRequestSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", str, OpenApiParameter.HEADER, description="≤ 100 characters"
            )
        ],
        responses={
            201: ActualReportSerializer,
            200: OpenApiResponse(
                ActualReportSerializer, description="A replay: the report stored under the key."
            ),
            **ERRORS,
            409: OpenApiResponse(
                ErrorSerializer,
                description="`no_approved_baseline`: approve a run first; "
                "`idempotency_key_in_flight`: a request with this key did not finish.",
            ),
            422: OpenApiResponse(
                ErrorSerializer,
                description="`idempotency_key_reused`: the key was used for another request.",
            ),
        },
        examples=[
            OpenApiExample("Week 2", request_only=True, value=REPORT_BODY),
            OpenApiExample(
                "Stored", response_only=True, status_codes=["201"], value=REPORT_EXAMPLE
            ),
            ERROR_EXAMPLE,
        ],
    )
    def actuals_create(self, request: Request, pk: str | None = None) -> Response:
        scenario = self.get_object()
        _require_editor(request, scenario)
        key = idempotency_key(request)
        claim = None
        if key is not None:
            claim = services.Idempotency(
                scope=idempotency_scope(request),
                key=key,
                request_hash=request_fingerprint(request),
            )
        try:
            report, created = services.actual_report_create(
                user=api_access(request).user,
                scenario=scenario,
                data=request.data,
                source=ActualReport.Source.API,
                idempotency=claim,
            )
        except services.NoApprovedBaseline as exc:
            raise NoApprovedBaseline(exc.message) from exc
        except services.IdempotencyKeyReused as exc:
            raise IdempotencyKeyReused(exc.message) from exc
        except services.IdempotencyKeyInFlight as exc:
            raise IdempotencyKeyInFlight(exc.message) from exc
        return Response(
            ActualReportSerializer(report).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(
        summary="Withdraw the latest report",
        description="Takes back the scenario's latest report (a typo that would block every "
        "lower figure after it): it stays in the list with `withdrawn_at`, and the forecast, "
        "the alerts and the own calibration no longer read it. Only the latest report can be "
        "withdrawn (400 naming `report` otherwise: withdraw the later ones first; also for a "
        "report of another scenario). Owners and editors (a read-write token).",
        request=WithdrawRequestSerializer,
        responses={200: ActualReportSerializer, **ERRORS},
    )
    def actual_withdraw(self, request: Request, pk: str | None = None) -> Response:
        scenario = self.get_object()
        _require_editor(request, scenario)
        body = WithdrawRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        report = ActualReport.objects.filter(
            scenario=scenario, pk=body.validated_data["report"]
        ).first()
        if report is None:
            raise ValidationError({"report": [_("not a report of this scenario")]})
        report = services.actual_report_withdraw(
            user=api_access(request).user, report=report, note=body.validated_data.get("note", "")
        )
        return Response(ActualReportSerializer(report).data)

    @extend_schema(
        summary="Forecast from the actuals",
        description="The re-forecast of the current approved baseline as of the last report: "
        "the core simulates the approved plan again with its own trials and seed, updates the "
        "main run's throughput (normal prior on the log rate, the calibration's error as its "
        "spread), failure and loss-spike rates (gamma priors) from the reports, re-dates the "
        "main run per trial and re-simulates what follows it; money reported as spent is fact. "
        "Computed on a worker and kept per (baseline, last report): the first request after a "
        "report answers 202 with `Retry-After`, later ones 200. `variance` is forecast P50 − "
        "approved P50; `estimate_at_completion` the forecast cost P50, `cost_to_complete` what "
        "is left of it after the spend reported. `alerts`: probabilities above the program's "
        "alert threshold. README *Forecast method* has the sources.",
        responses={
            200: ForecastSerializer,
            202: ForecastPendingSerializer,
            **ERRORS,
            409: NO_BASELINE,
            422: OpenApiResponse(
                ErrorSerializer,
                description="`forecast_failed`: the core refused the plan (e.g. no start date "
                "or no main run), the message says why.",
            ),
        },
    )
    def forecast(self, request: Request, pk: str | None = None) -> Response:
        scenario = self.get_object()
        row = forecast_current(scenario=scenario)
        if row is None:
            raise NoApprovedBaseline()
        ids = {"baseline_id": row.baseline_id, "last_actual": row.last_actual_id}
        if row.status == RunStatus.FAILED:
            raise ForecastFailed(row.error or None)
        if row.status != RunStatus.SUCCEEDED:
            return Response(
                {"status": row.status, **ids},
                status=status.HTTP_202_ACCEPTED,
                headers={"Retry-After": "2"},
            )
        alerts = [
            {k: a[k] for k in ("kind", "value", "threshold", "as_of")}
            for a in alerts_active(scenario=scenario)
        ]
        return Response({"status": row.status, **ids, **row.answer, "alerts": alerts})
